import Foundation
import SwitchyardCore

#if os(Linux)
    import CSwitchyardTLS
#endif

/// Reads a certificate chain and its private key with OpenSSL (`CSwitchyardTLS`, the library that
/// serves them): the chain in order, the key the leaf's, and what the leaf says.
enum CertificateInspector {
    /// What the leaf says, and its validity as dates (to check expiry against).
    struct Facts {
        var details: CertificateDetails
        var notAfter: Date
    }

    /// A chain or key that cannot be used; `field` is the request field at fault.
    struct Problem: Error {
        var field: String
        var message: String
    }

    static func inspect(certificatePEM: String, privateKeyPEM: String) throws(Problem) -> Facts {
        #if os(Linux)
            var report: UnsafeMutablePointer<CChar>?
            var error = [CChar](repeating: 0, count: 512)
            let certificateBytes = Array(certificatePEM.utf8)
            let keyBytes = Array(privateKeyPEM.utf8)
            let code = certificateBytes.withUnsafeBytes { certificate in
                keyBytes.withUnsafeBytes { key in
                    c_switchyard_tls_inspect(
                        certificate.baseAddress?.assumingMemoryBound(to: CChar.self), certificate.count,
                        key.baseAddress?.assumingMemoryBound(to: CChar.self), key.count, &report, &error, error.count)
                }
            }
            defer { c_switchyard_tls_report_free(report) }
            guard code == 0, let report else {
                let message = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                let keyProblem = code == C_SWITCHYARD_TLS_INSPECT_BAD_KEY || code == C_SWITCHYARD_TLS_INSPECT_KEY_MISMATCH
                throw Problem(field: keyProblem ? "private_key_pem" : "certificate_pem", message: message)
            }
            return try facts(fromReport: String(cString: report))
        #else
            throw Problem(field: "certificate_pem", message: "certificates are read with OpenSSL, which this build (not Linux) lacks")
        #endif
    }

    /// Parses the shim's "field=value" lines.
    private static func facts(fromReport report: String) throws(Problem) -> Facts {
        var fields: [String: String] = [:]
        var names: [String] = []
        for line in report.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals])
            let value = String(line[line.index(after: equals)...])
            if key == "san" { names.append(value) } else { fields[key] = value }
        }
        guard let subject = fields["subject"], let issuer = fields["issuer"], let keyType = fields["key_type"],
            let fingerprint = fields["fingerprint_sha256"], let notBefore = fields["not_before"].flatMap(Int64.init),
            let notAfter = fields["not_after"].flatMap(Int64.init)
        else {
            throw Problem(field: "certificate_pem", message: "the leaf certificate could not be described")
        }
        let notBeforeDate = Date(timeIntervalSince1970: TimeInterval(notBefore))
        let notAfterDate = Date(timeIntervalSince1970: TimeInterval(notAfter))
        let details = CertificateDetails(
            subject: subject, sanNames: names, issuer: issuer, notBefore: rfc3339(notBeforeDate), notAfter: rfc3339(notAfterDate),
            keyType: keyType, fingerprintSha256: fingerprint)
        return Facts(details: details, notAfter: notAfterDate)
    }

    static func rfc3339(_ date: Date) -> String {
        var style = Date.ISO8601FormatStyle()
        style.timeZone = TimeZone(identifier: "UTC")!
        return date.formatted(style)
    }
}
