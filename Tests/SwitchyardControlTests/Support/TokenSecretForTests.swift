import Crypto
import Foundation

/// The SHA-256 hex the server stores for a token secret (as `TokenSecret.hash` computes it).
enum TokenSecretForTests {
    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
        }.joined()
    }
}
