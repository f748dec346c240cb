import Foundation
import SwitchyardControl
import SwitchyardCore
import Testing

@Suite("Master key")
struct MasterKeyTests {
    static func file(_ contents: Data) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-master-key-\(UUID().uuidString)").path
        try contents.write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("the key file holds 32 bytes as base64 (with a newline) or raw; anything else is refused with the reason")
    func keyFile() throws {
        let bytes = (0..<32).map { UInt8($0) }
        let base64 = try Self.file(Data((Data(bytes).base64EncodedString() + "\n").utf8))
        let raw = try Self.file(Data(bytes))
        let short = try Self.file(Data(Data(bytes.prefix(16)).base64EncodedString().utf8))
        defer { for path in [base64, raw, short] { try? FileManager.default.removeItem(atPath: path) } }
        let fromBase64 = try MasterKey(contentsOfFile: base64)
        #expect(try MasterKey(contentsOfFile: raw).id == fromBase64.id)
        #expect(fromBase64.id.count == 16)
        #expect(throws: MasterKeyError.self) { try MasterKey(contentsOfFile: short) }
        #expect(throws: MasterKeyError.self) { try MasterKey(contentsOfFile: "/nonexistent/master-key") }
    }

    @Test("a sealed key opens under its master key and its certificate's fingerprint only")
    func sealAndOpen() throws {
        let key = try MasterKey(bytes: [UInt8](repeating: 1, count: 32))
        let other = try MasterKey(bytes: [UInt8](repeating: 2, count: 32))
        let pem = "-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n"
        let sealed = try key.seal(pem, fingerprint: "aa")
        #expect(sealed.keyId == key.id)
        #expect(!sealed.sealed.contains("secret"))
        #expect(try key.open(sealed, fingerprint: "aa") == pem)
        // A fresh nonce each time: the same key sealed twice differs.
        #expect(try key.seal(pem, fingerprint: "aa").sealed != sealed.sealed)
        #expect(throws: MasterKeyError.self) { try key.open(sealed, fingerprint: "bb") }
        #expect(throws: MasterKeyError.self) { try other.open(sealed, fingerprint: "aa") }
        var damaged = sealed
        damaged.sealed = Data(Data(base64Encoded: sealed.sealed)!.map { $0 ^ 1 }).base64EncodedString()
        #expect(throws: MasterKeyError.self) { try key.open(damaged, fingerprint: "aa") }
    }
}
