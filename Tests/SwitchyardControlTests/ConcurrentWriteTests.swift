import Foundation
import Testing

/// Writers take pool locks before the generation lock (see `WriteTransaction`). These tests run many
/// writers at once and check what must hold whatever the interleaving.
@Suite("Concurrent writes")
struct ConcurrentWriteTests {
    @Test("concurrent registrations, deregistrations, pool and config writes: no error, one generation and audit row each")
    func mixedWriters() async throws {
        try await TestServer.with { server in
            try await server.makePool("a")
            try await server.makePool("b", backends: ["b-0"])
            let start = try #require(Int(try await server.sql("SELECT generation::text FROM config_state").first.flatMap { $0 } ?? ""))
            let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        var statuses: [Int] = []
                        for round in 0..<6 {
                            let pool = writer % 2 == 0 ? "a" : "b"
                            let name = "w\(writer)-\(round)"
                            statuses.append(
                                try await server.post("/v1/pools/\(pool)/backends", ["name": name, "address": "127.0.0.\(writer + 1)", "port": 80])
                                    .status)
                            statuses.append(try await server.patch("/v1/pools/\(pool)/backends/\(name)", ["weight": 2]).status)
                            statuses.append(try await server.delete("/v1/pools/\(pool)/backends/\(name)").status)
                        }
                        return statuses
                    }
                }
                group.addTask {
                    // Writers of whole pools and of the whole configuration lock every pool row they touch.
                    var statuses: [Int] = []
                    for round in 0..<4 {
                        statuses.append(try await server.patch("/v1/pools/a", ["retries": round % 3]).status)
                        statuses.append(
                            try await server.post("/v1/listeners", ["name": "l\(round)", "port": 20_000 + round, "default_pool": "b"]).status)
                        statuses.append(try await server.delete("/v1/listeners/l\(round)").status)
                    }
                    return statuses
                }
                var all: [Int] = []
                for try await statuses in group { all += statuses }
                return all
            }
            #expect(statuses.count == 8 * 18 + 12)
            #expect(statuses.allSatisfy { [200, 201, 204].contains($0) }, "statuses: \(Set(statuses))")

            // Every write took exactly one generation, without gaps, and wrote its audit row(s) under it.
            let end = try #require(Int(try await server.sql("SELECT generation::text FROM config_state").first.flatMap { $0 } ?? ""))
            #expect(end - start == statuses.count)
            let generations = try await server.sql(
                "SELECT g::text FROM (SELECT DISTINCT generation AS g FROM audit_log WHERE generation > \(start)) s ORDER BY g")
            #expect(generations.compactMap { $0.flatMap(Int.init) }.sorted() == Array((start + 1)...end))
            #expect(try await server.get("/v1/pools/a/backends").json["items"] as? [Any] != nil)
            #expect(try await server.sql("SELECT count(*)::text FROM backends").first == "1")
        }
    }

    @Test("two drains racing in one pool: the min_healthy_percent guardrail sees the other's result")
    func racingDrains() async throws {
        try await TestServer.with { server in
            try await server.makePool("web", ["min_healthy_percent": 50], backends: ["a", "b", "c", "d"])
            // Draining any two of four keeps 50 %; a third must be refused, whichever order they commit in.
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for name in ["a", "b", "c"] {
                    group.addTask { try await server.patch("/v1/pools/web/backends/\(name)", ["admin_state": "draining"]).status }
                }
                var all: [Int] = []
                for try await status in group { all.append(status) }
                return all
            }
            #expect(statuses.sorted() == [200, 200, 409])
            let drained = try await server.sql("SELECT count(*)::text FROM backends WHERE admin_state = 'draining'")
            #expect(drained.first == "2")
        }
    }
}
