import Foundation
import SwitchyardCore
import SwitchyardStore
import Testing

/// A write locks pool rows first and the generation last (`WriteTransaction`). The order is kept by
/// the types, so the wrong order is a build error rather than a test failure: `PoolLocks.done()`
/// consumes the write's first stage, and only the `WriteTransaction` it returns can take the
/// generation, so
///
///     let transaction = locks.done()
///     _ = try await transaction.generation()
///     try await locks.pool("web", locking: .pool)   // error: 'locks' used after consume
///
/// does not compile, and `WriteTransaction` has no method that locks a pool row. This test runs the
/// allowed order and checks that each stage does what it says.
@Suite("Write lock order")
struct WriteLockOrderTests {
    @Test("pool rows are locked in the first stage and held to COMMIT; the generation and changes follow")
    func allowedOrder() async throws {
        try await TestDatabase.withStore { store, database in
            let context = WriteContext(actor: "test", request: "lock order")
            _ = try await store.write(context) { locks in
                try await locks.done().apply(ConfigChange(resource: .pool("web"), before: nil, after: .pool(.defaults)))
            }
            let (taken, generation) = try await store.write(context) { locks in
                let pool = try #require(try await locks.pool("web", locking: .pool))
                try await locks.sharePools(["web"])
                try await locks.lockAllPools()
                // Another connection cannot take the row while this write holds it.
                await #expect(throws: (any Error).self) {
                    _ = try await TestDatabase.sql("SELECT name FROM pools WHERE name = 'web' FOR UPDATE NOWAIT", in: database)
                }
                let transaction = locks.done()
                #expect(try await transaction.read.pool("web")?.name == "web")
                let taken = try await transaction.generation()
                try await transaction.apply(ConfigChange(resource: .pool("web"), before: .pool(pool.spec), after: nil))
                return taken
            }
            #expect(taken == generation)
            #expect(try await store.read { try await $0.pool("web") } == nil)
            // Committed: the row lock is gone with the row, and another write can lock the pools.
            _ = try await store.write(context) { locks in try await locks.lockAllPools() }
        }
    }
}
