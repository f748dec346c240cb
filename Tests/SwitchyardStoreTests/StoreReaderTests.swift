import Foundation
import PostgresNIO
import SwitchyardCore
import Testing

@testable import SwitchyardStore

@Suite("Store reads")
struct StoreReaderTests {
    /// Backends come in batches of `StoreReader.backendBatchSize` rows of column arrays; every
    /// selection (one, a page, all) reads the same rows in the same order whether inside a write or not.
    @Test("backend reads across batch boundaries: one, a page, all, in batches, and inside a write")
    func backendsAcrossBatches() async throws {
        try await TestDatabase.withStore { store, _ in
            let context = WriteContext(actor: "test", request: "reads")
            let count = StoreReader.backendBatchSize * 2 + 345
            let names = (0..<count).map { String(format: "b%05d", $0) }
            @Sendable func spec(_ index: Int) -> BackendSpec {
                BackendSpec(
                    address: "10.0.\(index / 250).\(index % 250)", port: 1000 + index, weight: index % 7, backup: index % 3 == 0,
                    adminState: index % 5 == 0 ? .draining : .enabled)
            }
            _ = try await store.write(context) { locks in
                let transaction = locks.done()
                try await transaction.apply(ConfigChange(resource: .pool("web"), before: nil, after: .pool(.defaults)))
                try await transaction.apply(ConfigChange(resource: .pool("api"), before: nil, after: .pool(.defaults)))
                try await transaction.apply(
                    names.enumerated().map { ConfigChange(resource: .backend($1, in: "web"), before: nil, after: .backend(spec($0))) })
                try await transaction.apply(ConfigChange(resource: .backend("a1", in: "api"), before: nil, after: .backend(spec(1))))
            }

            let web = try await store.read { try await $0.backends(in: "web") }
            #expect(web.map(\.name) == names)
            #expect(web.map(\.spec) == (0..<count).map(spec))
            #expect(web.allSatisfy { $0.pool == "web" })

            let page = try await store.read { try await $0.backends(in: "web", after: names[999], limit: 1200) }
            #expect(page.map(\.name) == Array(names[1000..<2200]))

            let one = try await store.read { try await $0.backend(names[2001], in: "web") }
            #expect(one?.spec == spec(2001))
            #expect(try await store.read { try await $0.backend("nope", in: "web") } == nil)

            let all = try await store.read { try await $0.allBackends() }
            #expect(all.map { "\($0.pool)/\($0.name)" } == ["api/a1"] + names.map { "web/\($0)" })
            #expect(try await store.read { try await $0.pool("web")?.backendCount } == count)

            var batches: [[BackendRecord]] = []
            for try await batch in store.backendBatches(in: "web", after: nil, limit: Int(Int32.max)) { batches.append(batch) }
            #expect(batches.map(\.count) == [1000, 1000, 345])
            #expect(batches.flatMap { $0 }.map(\.name) == names)

            let (inside, _) = try await store.write(context) { locks in
                try await locks.done().read.backends(in: "web", after: names[1998], limit: 3)
            }
            #expect(inside.map(\.name) == Array(names[1999..<2002]))
        }
    }

    /// A follower's query in a fresh database was planned above `jit_above_cost` and compiled with
    /// LLVM on every reload; the store's connections turn JIT off.
    @Test("the store's connections run with JIT off")
    func connectionsRunWithoutJIT() async throws {
        try await TestDatabase.withStore { store, _ in
            let setting = try await store.withConnection { connection in
                var values: [String] = []
                for try await value in try await connection.query("SHOW jit", logger: store.logger).decode(String.self) {
                    values.append(value)
                }
                return values
            }
            #expect(setting == ["off"])
        }
    }
}
