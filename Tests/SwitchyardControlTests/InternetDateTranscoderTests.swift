import Foundation
import OpenAPIRuntime
import Testing

@testable import SwitchyardControl

@Suite("Internet date transcoder")
struct InternetDateTranscoderTests {
    @Test("writes what Foundation's ISO 8601 formatter writes, across eras, leap days and second boundaries")
    func matchesFoundation() throws {
        let reference = ISO8601DateFormatter()
        let transcoder = InternetDateTranscoder()
        var generator = SystemRandomNumberGenerator()
        var samples: [TimeInterval] = [
            0, -1, -0.25, 0.999, 86_399.5, 951_782_400, 951_868_799, 4_107_542_400, 1_795_132_800.75, -2_208_988_800,
            -62_135_596_800, 253_402_300_799,
        ]
        for _ in 0..<5_000 { samples.append(Double.random(in: -62_000_000_000...253_000_000_000, using: &generator)) }
        for seconds in samples {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(try transcoder.encode(date) == reference.string(from: date), "\(seconds)")
        }
    }

    @Test("reads RFC 3339 timestamps back")
    func decodes() throws {
        let date = try InternetDateTranscoder().decode("2026-11-26T16:06:27Z")
        #expect(date.timeIntervalSince1970 == 1_795_709_187)
        #expect(throws: (any Error).self) { try InternetDateTranscoder().decode("yesterday") }
    }
}
