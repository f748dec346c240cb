import Foundation
import PostgresNIO
import SwitchyardCore

/// A certificate and its plain private key that migration 0006 took out of an https listener, waiting
/// to be sealed under the master key (`CertificateImport` in the control plane).
public struct PendingCertificateImport: Sendable {
    public var name: String
    public var certificatePem: String
    public var privateKeyPem: String
}

extension Store {
    /// The imports not yet done, by name.
    public func pendingCertificateImports() async throws -> [PendingCertificateImport] {
        try await withConnection { connection in
            let rows = try await connection.query(
                "SELECT name, certificate_pem, private_key_pem FROM certificate_imports ORDER BY name", logger: self.logger)
            var imports: [PendingCertificateImport] = []
            for try await (name, certificate, key) in rows.decode((String, String, String).self) {
                imports.append(PendingCertificateImport(name: name, certificatePem: certificate, privateKeyPem: key))
            }
            return imports
        }
    }
}

extension WriteTransaction {
    /// Deletes the import row of `name` (holding it until the transaction ends); false when another
    /// instance took it first.
    public func takeCertificateImport(_ name: String) async throws -> Bool {
        let rows = try await query("DELETE FROM certificate_imports WHERE name = \(name) RETURNING name")
        for try await _ in rows { return true }
        return false
    }
}
