import Foundation
import SwitchyardAPI
import Testing

@testable import SwitchyardControl

@Suite("Backend list writer")
struct BackendListWriterTests {
    /// The generated code's encoding, configured as `ControlServer` configures it.
    static func generatedEncoding(_ list: Schemas.BackendList) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try InternetDateTranscoder().encode(date))
        }
        return try encoder.encode(list)
    }

    static func backend(_ index: Int, name: String, reports: Int, reason: String?) -> Schemas.Backend {
        let since = reason == nil ? nil : Date(timeIntervalSince1970: 1_795_709_187 + Double(index))
        return Schemas.Backend(
            name: name, pool: "web/\"pool\"", address: "10.0.\(index % 256).1", port: 8000 + index, weight: index % 7,
            backup: index % 2 == 0, adminState: index % 3 == 0 ? .draining : .enabled,
            health: .init(status: reason == nil ? .unknown : .healthy, reason: reason, since: since),
            healthByInstance: (0..<reports).map { instance in
                .init(
                    instance: "instance-\(instance)", instanceName: "vm \(instance) ü", status: .unhealthy,
                    reason: instance % 2 == 0 ? "connect: \\ refused\t\n" : nil, since: instance % 2 == 0 ? since : nil)
            },
            activeConnections: index * 3, version: Int64(index) * 1_000_000_007,
            createdAt: Date(timeIntervalSince1970: 1_700_000_000.999_9), updatedAt: Date(timeIntervalSince1970: 1_795_709_187.25))
    }

    @Test("writes exactly the bytes of the generated encoding: escapes, optional fields, empty arrays, cursors")
    func matchesGeneratedEncoding() throws {
        let names = ["a", "b-1", "quote\"d", "back\\slash", "ctl\u{01}\u{1F}", "ünï", "sl/ash", "emoji 🚀"]
        let backends = names.enumerated().map { index, name in
            Self.backend(index, name: name, reports: index % 3, reason: index % 2 == 0 ? "probe \"ok\" / fine" : nil)
        }
        for list in [
            Schemas.BackendList(items: backends, nextCursor: "YmFja2VuZA=="),
            Schemas.BackendList(items: backends, nextCursor: nil),
            Schemas.BackendList(items: [], nextCursor: nil),
        ] {
            let written = String(decoding: BackendListWriter.encode(list), as: UTF8.self)
            let generated = String(decoding: try Self.generatedEncoding(list), as: UTF8.self)
            #expect(written == generated)
        }
    }

    @Test("the byte sink grows past its first capacity without losing or reordering bytes")
    func byteSinkGrows() {
        var sink = ByteSink(capacity: 1)
        var expected: [UInt8] = []
        for round in 0..<500 {
            sink.append(UInt8(round % 256))
            expected.append(UInt8(round % 256))
            sink.append("key\" : ")
            expected.append(contentsOf: Array("key\" : ".utf8))
            sink.append(repeating: UInt8(ascii: " "), count: round % 13)
            expected.append(contentsOf: repeatElement(UInt8(ascii: " "), count: round % 13))
            sink.write(upTo: 8) { room in
                for index in 0..<(round % 9) { room[index] = UInt8(ascii: "a") + UInt8(index) }
                return round % 9
            }
            expected.append(contentsOf: (0..<(round % 9)).map { UInt8(ascii: "a") + UInt8($0) })
        }
        #expect(sink.count == expected.count)
        #expect(sink.bytes == expected)
    }
}
