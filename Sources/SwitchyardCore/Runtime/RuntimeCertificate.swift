/// A certificate as the data plane serves it: the chain and its plain private key, opened from the
/// sealed one when the snapshot was built. Lives in memory only.
public struct RuntimeCertificate: Equatable, Sendable {
    public let name: String
    public let spec: CertificateSpec
    public let privateKeyPem: String

    public init(name: String, spec: CertificateSpec, privateKeyPem: String) {
        self.name = name
        self.spec = spec
        self.privateKeyPem = privateKeyPem
    }

    /// Opens a certificate's sealed private key (the control plane holds the master key); throws why not.
    public typealias KeyOpener = @Sendable (_ name: String, _ spec: CertificateSpec) throws -> String
}
