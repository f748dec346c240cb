import Crypto
import Foundation
import SwitchyardCore

/// The 256-bit key that seals certificates' private keys at rest (AES-256-GCM). Every instance of one
/// database needs the same key: a key sealed under another is reported by its id, never guessed at.
public struct MasterKey: Sendable {
    /// The key's bytes (a `SymmetricKey` is not `Sendable`; one is made per use).
    private let bytes: Data
    private var key: SymmetricKey { SymmetricKey(data: bytes) }
    /// Names the key in each sealed private key: the first 16 hex digits of a SHA-256 of the key.
    public let id: String

    /// 32 bytes of key.
    public init(bytes: some ContiguousBytes) throws(MasterKeyError) {
        let data = bytes.withUnsafeBytes { Data($0) }
        guard data.count == 32 else { throw MasterKeyError("the master key must be 32 bytes (256 bits), not \(data.count)") }
        self.bytes = data
        let digest = SHA256.hash(data: Data("switchyard-master-key-id".utf8) + data)
        id = digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Reads the key file: 32 bytes as base64 (what `openssl rand -base64 32` writes), or 32 raw bytes.
    public init(contentsOfFile path: String) throws(MasterKeyError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw MasterKeyError("cannot read the master key file \(path): \(error.localizedDescription)")
        }
        if data.count == 32 {
            try self.init(bytes: data)
            return
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let decoded = Data(base64Encoded: text), decoded.count == 32 else {
            throw MasterKeyError("the master key file \(path) must hold 32 bytes as base64 (openssl rand -base64 32)")
        }
        try self.init(bytes: decoded)
    }

    /// Seals `privateKeyPEM`, bound to the certificate's fingerprint (associated data): a sealed key
    /// copied beside another certificate does not open.
    public func seal(_ privateKeyPEM: String, fingerprint: String) throws -> SealedPrivateKey {
        let box = try AES.GCM.seal(Data(privateKeyPEM.utf8), using: key, authenticating: Data(fingerprint.utf8))
        // A 12-byte nonce (the default) always gives the combined form.
        return SealedPrivateKey(version: 1, keyId: id, sealed: box.combined!.base64EncodedString())
    }

    /// The plain private key, or an error that says why not (another master key, damaged data).
    public func open(_ sealed: SealedPrivateKey, fingerprint: String) throws(MasterKeyError) -> String {
        guard sealed.version == 1 else { throw MasterKeyError("sealed with format \(sealed.version), which this version does not know") }
        guard sealed.keyId == id else {
            throw MasterKeyError("sealed under master key \(sealed.keyId), but this instance's master key is \(id)")
        }
        guard let combined = Data(base64Encoded: sealed.sealed) else { throw MasterKeyError("the sealed key is not base64") }
        do {
            let box = try AES.GCM.SealedBox(combined: combined)
            let plain = try AES.GCM.open(box, using: key, authenticating: Data(fingerprint.utf8))
            return String(decoding: plain, as: UTF8.self)
        } catch {
            throw MasterKeyError("the sealed key does not open (damaged, or not this certificate's)")
        }
    }
}

public struct MasterKeyError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
