/// A TLS certificate as stored: the PEM chain (leaf first), what was read from the leaf when it was
/// written, and its private key sealed under the master key. The plain key is never part of it: it
/// exists only in the request that brings it and in the data plane's snapshot.
public struct CertificateSpec: Codable, Equatable, Sendable {
    public var certificatePem: String
    public var details: CertificateDetails
    public var sealedKey: SealedPrivateKey

    public init(certificatePem: String, details: CertificateDetails, sealedKey: SealedPrivateKey) {
        self.certificatePem = certificatePem
        self.details = details
        self.sealedKey = sealedKey
    }

    /// The most a certificate chain or a private key may hold, in bytes.
    public static let maxPEMBytes = 65536
}

/// What the leaf certificate says, read on write (the API shows these; they are never taken as input).
public struct CertificateDetails: Codable, Equatable, Sendable {
    /// The subject's distinguished name, RFC 2253 form ("CN=example.com,O=Example").
    public var subject: String
    /// The subject alternative names: DNS names and IP addresses, in the certificate's order.
    public var sanNames: [String]
    public var issuer: String
    /// RFC 3339, UTC.
    public var notBefore: String
    public var notAfter: String
    /// "ecdsa-p256", "rsa-2048", "ed25519", ...
    public var keyType: String
    /// SHA-256 of the leaf's DER encoding, lower-case hex.
    public var fingerprintSha256: String

    public init(
        subject: String, sanNames: [String], issuer: String, notBefore: String, notAfter: String, keyType: String, fingerprintSha256: String
    ) {
        self.subject = subject
        self.sanNames = sanNames
        self.issuer = issuer
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.keyType = keyType
        self.fingerprintSha256 = fingerprintSha256
    }
}

/// A private key encrypted under the master key (AES-256-GCM): which key, and the sealed bytes.
public struct SealedPrivateKey: Codable, Equatable, Sendable {
    /// The format: 1 is AES-256-GCM with a 12-byte nonce, the leaf's fingerprint as associated data.
    public var version: Int
    /// Names the master key it was sealed under (a hash of it, not the key).
    public var keyId: String
    /// Base64 of nonce, ciphertext and tag.
    public var sealed: String

    public init(version: Int, keyId: String, sealed: String) {
        self.version = version
        self.keyId = keyId
        self.sealed = sealed
    }
}
