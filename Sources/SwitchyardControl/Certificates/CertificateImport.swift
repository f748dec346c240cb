import Foundation
import Logging
import SwitchyardCore
import SwitchyardStore

/// Finishes what migration 0006 began: each certificate it took out of an https listener (with its plain
/// private key, in `certificate_imports`) becomes a certificate with its key sealed under the master
/// key, in one audited write that also deletes the import row. Runs at every start, after the
/// migrations; it has nothing to do once the rows are gone. Without a master key while rows wait, the
/// start is refused: serving on would leave plain keys in the database.
struct CertificateImport {
    let store: Store
    let masterKey: MasterKey?
    let logger: Logger

    func run() async throws {
        let pending = try await store.pendingCertificateImports()
        guard !pending.isEmpty else { return }
        guard let masterKey else { throw CertificateImportError.noMasterKey(count: pending.count) }
        for item in pending {
            // Certificates that served before the upgrade are taken as they are, expired or not.
            let spec: CertificateSpec
            do {
                spec = try APIHandler.sealedCertificate(
                    name: item.name, certificatePEM: item.certificatePem, privateKeyPEM: item.privateKeyPem, force: true,
                    masterKey: masterKey)
            } catch APIError.validation(let errors) {
                throw CertificateImportError.unusable(name: item.name, errors.map(\.description).joined(separator: "; "))
            }
            let imported = try await store.write(WriteContext(actor: "switchyard", request: "migration 0006_listener_certificates")) { locks in
                let transaction = locks.done()
                _ = try await transaction.generation()
                guard try await transaction.takeCertificateImport(item.name) else { return false }
                let before = try await transaction.read.certificate(item.name)
                try await transaction.apply(
                    ConfigChange(resource: .certificate(item.name), before: before.map { .certificate($0.spec) }, after: .certificate(spec)))
                return true
            }.value
            if imported {
                logger.notice(
                    "moved a listener's certificate into the certificates, its key sealed",
                    metadata: ["certificate": "\(item.name)", "fingerprint_sha256": "\(spec.details.fingerprintSha256)"])
            }
        }
    }
}

enum CertificateImportError: Error, CustomStringConvertible {
    case noMasterKey(count: Int)
    case unusable(name: String, String)

    var description: String {
        switch self {
        case .noMasterKey(let count):
            "\(count) certificate(s) moved out of https listeners wait to have their private keys encrypted: "
                + "set SWITCHYARD_MASTER_KEY_FILE or --master-key-file (every instance needs the same key)"
        case .unusable(let name, let reason):
            "the certificate moved out of a listener as '\(name)' cannot be read: \(reason)"
        }
    }
}
