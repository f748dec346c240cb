import Foundation
import SwitchyardAPI
import SwitchyardCore
import Testing

@testable import SwitchyardControl
@testable import SwitchyardStore

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

    /// Active connections as a data plane would count them; no health of its own (the view carries it).
    struct StubDataPlane: DataPlane {
        func apply(_ config: RuntimeConfig) async {}
        func backendHealth() -> [String: BackendHealthReport] { [:] }
        func backendHealth(backend key: String) -> BackendHealthReport? { nil }
        func activeConnections(backend key: String) -> Int { key.utf8.count * 3 }
        func activeConnections() -> [String: Int] { [:] }
        func listenerStates() -> [String: ListenerBindState] { [:] }
        func metrics() -> DataPlaneMetrics { DataPlaneMetrics() }
    }

    static func record(_ index: Int, name: String) -> BackendRecord {
        BackendRecord(
            pool: "web/\"pool\"", name: name,
            spec: BackendSpec(
                address: "10.0.\(index % 256).1", port: 8000 + index, weight: index % 7, backup: index % 2 == 0,
                adminState: index % 3 == 0 ? .draining : .enabled),
            version: Int64(index) * 1_000_000_007,
            createdAt: Date(timeIntervalSince1970: 1_700_000_000.999_9), updatedAt: Date(timeIntervalSince1970: 1_795_709_187.25))
    }

    /// This instance's health for even backends, and reports from up to two other instances.
    /// `copied`: connection counts copied once, as for a list; otherwise asked of the data plane.
    static func view(for records: [BackendRecord], copied: Bool = false) -> ObservedState.BackendView {
        var local: [String: BackendHealthReport] = [:]
        var reported: [[String: BackendHealthReport]] = [[:], [:]]
        for (index, record) in records.enumerated() {
            let key = ObservedState.BackendView.key(pool: record.pool, backend: record.name)
            let since = Date(timeIntervalSince1970: 1_795_709_187 + Double(index))
            if index % 2 == 0 { local[key] = BackendHealthReport(status: .healthy, reason: "probe \"ok\" / fine", since: since) }
            for instance in 0..<(index % 3) {
                reported[instance][key] = BackendHealthReport(
                    status: .unhealthy, reason: instance % 2 == 0 ? "connect: \\ refused\t\n" : "", since: since)
            }
        }
        let instances = reported.enumerated().map { instance, health in
            InstanceRecord(
                id: UUID(), name: "vm \(instance) ü", host: "h", version: "v", startedAt: Date(), heartbeatAt: Date(), appliedGeneration: 1,
                stopped: false, listeners: [:], backendHealth: health)
        }
        // Even backends have connections in the copy a list takes; the others count as none.
        let connections = Dictionary(
            uniqueKeysWithValues: records.enumerated().filter { $0.offset % 2 == 0 }.map { _, record in
                let key = ObservedState.BackendView.key(pool: record.pool, backend: record.name)
                return (key, key.utf8.count * 5)
            })
        return ObservedState.BackendView(
            local: local, instances: instances.map { ($0, $0.id.uuidString.lowercased()) }, dataPlane: StubDataPlane(),
            connections: copied ? connections : nil)
    }

    static func written(_ items: [BackendRecord], view: ObservedState.BackendView, cursor: String?) -> String {
        String(decoding: BackendListWriter.encode(items, view: view, nextCursor: cursor).joined(), as: UTF8.self)
    }

    @Test("writes exactly the bytes of the generated encoding: escapes, health, reports, empty arrays, cursors")
    func matchesGeneratedEncoding() throws {
        let names = ["a", "b-1", "quote\"d", "back\\slash", "ctl\u{01}\u{1F}", "ünï", "sl/ash", "emoji 🚀"]
        let records = names.enumerated().map { index, name in Self.record(index, name: name) }
        for view in [Self.view(for: records), Self.view(for: records, copied: true)] {
            for (items, cursor) in [(records, "YmFja2VuZA=="), (records, nil), ([], nil)] as [([BackendRecord], String?)] {
                let list = Schemas.BackendList(items: items.map { Schemas.Backend($0, observed: view) }, nextCursor: cursor)
                let generated = String(decoding: try Self.generatedEncoding(list), as: UTF8.self)
                #expect(Self.written(items, view: view, cursor: cursor) == generated)
            }
        }
    }

    @Test("a long page comes in chunks of at least the chunk size, which together are the generated encoding")
    func longPageInChunks() throws {
        let records = (0..<600).map { Self.record($0, name: String(format: "backend-%04d", $0)) }
        let view = Self.view(for: records, copied: true)
        let chunks = BackendListWriter.encode(records, view: view, nextCursor: "bmV4dA==")
        #expect(chunks.count > 3)
        #expect(chunks.dropLast().allSatisfy { $0.count >= BackendListWriter.chunkSize })
        let list = Schemas.BackendList(items: records.map { Schemas.Backend($0, observed: view) }, nextCursor: "bmV4dA==")
        #expect(Array(chunks.joined()) == Array(try Self.generatedEncoding(list)))
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
