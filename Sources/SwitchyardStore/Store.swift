import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import SwitchyardCore
import Synchronization

/// Switchyard's PostgreSQL store: the one source of truth for configuration, audit, tokens and instances.
/// Run it (it is a `Service`) for its connection pool to work.
public final class Store: Service, Sendable {
    public let client: PostgresClient
    public let configuration: StoreConfiguration
    let logger: Logger
    /// The connection-wait and query deadlines of in-flight calls.
    let deadlines: CallDeadlines
    /// Instances' decoded backend health, while unchanged.
    let observations = ObservationCache()

    /// NOTIFY channel that carries the new generation after every write.
    public static let changeChannel = "switchyard_config"

    public init(configuration: StoreConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let shortest = min(configuration.connectionWaitTimeout, configuration.queryTimeout)
        self.deadlines = CallDeadlines(tick: min(max(shortest / 20, .milliseconds(10)), .milliseconds(250)))
        self.client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: logger)
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.deadlines.run() }
            await client.run()
            group.cancelAll()
        }
    }

    /// Runs `body` on one connection, mapping connection failures to `StoreError.unavailable`. While
    /// PostgreSQL is down the pool queues requests instead of failing them, so waiting for a connection
    /// is bounded by `configuration.connectionWaitTimeout`, and the work on it by `queryTimeout`
    /// (both kept by `deadlines`).
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = self.client
        let deadlines = self.deadlines
        let waitTimeout = configuration.connectionWaitTimeout
        let queryTimeout = configuration.queryTimeout
        // The caller while unanswered; `started` once a connection was had.
        let pending = PendingAnswer<T>()
        return try await withCheckedThrowingContinuation { continuation in
            pending.state.withLock { $0.continuation = continuation }
            let id = deadlines.add(deadline: .now + waitTimeout) { connection in
                if let connection {
                    // The caller is answered at the deadline whatever the query does; closing the
                    // connection fails the query (or the pool drops the connection once it returns).
                    if pending.answer(.failure(StoreError.unavailable("no answer from PostgreSQL within \(queryTimeout)"))) {
                        _ = connection.close() as EventLoopFuture<Void>
                    }
                } else {
                    // Decided under one lock with the start, so that the work either started or never will.
                    pending.answer(.failure(StoreError.unavailable("no database connection within \(waitTimeout)")), onlyBeforeStart: true)
                }
            }
            let operation = Task {
                defer { deadlines.remove(id) }
                do {
                    let value = try await client.withConnection { connection in
                        // Connected: from now on the query deadline applies. But if the caller was already
                        // told "unavailable", the work must not happen behind its back.
                        let answered = pending.state.withLock { state in
                            if state.continuation != nil { state.started = true }
                            return state.continuation == nil
                        }
                        if answered { throw CancellationError() }
                        deadlines.connected(id, connection, deadline: .now + queryTimeout)
                        return try await body(connection)
                    }
                    pending.answer(.success(value))
                } catch {
                    pending.answer(.failure(StoreError.from(error)))
                }
            }
            deadlines.attach(operation, to: id)
        }
    }

    /// Runs `body` inside BEGIN … COMMIT, rolling back when it throws (its error is rethrown as is).
    func withTransaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { connection in
            try await connection.query("BEGIN", logger: self.logger)
            do {
                let value = try await body(connection)
                try await connection.query("COMMIT", logger: self.logger)
                return value
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    /// Whether PostgreSQL answers `SELECT 1` within `deadline`. The answer is bounded even when a
    /// query waits on a connection that was cut under postgres-nio (it then goes on alone).
    public func isReachable(within deadline: Duration = .seconds(3)) async -> Bool {
        let answered = Mutex(false)
        return await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer: @Sendable (Bool) -> Void = { reachable in
                let first = answered.withLock { done in
                    defer { done = true }
                    return !done
                }
                if first { continuation.resume(returning: reachable) }
            }
            let timer = Task {
                try? await Task.sleep(for: deadline)
                answer(false)
            }
            Task {
                do {
                    try await self.withConnection { connection in try await connection.query("SELECT 1", logger: self.logger) }
                    answer(true)
                } catch {
                    answer(false)
                }
                timer.cancel()
            }
        }
    }

    /// The current configuration generation.
    public func currentGeneration() async throws -> Int64 {
        try await withConnection { connection in
            let rows = try await connection.query("SELECT generation FROM config_state", logger: self.logger)
            for try await generation in rows.decode(Int64.self) { return generation }
            return 0
        }
    }

    /// One write: runs `body` in a transaction whose changes all carry one new generation, NOTIFYs,
    /// commits. Returns `body`'s value and the generation. `body` gets the write's first stage,
    /// `PoolLocks`, and reaches the second, `WriteTransaction`, through it (the lock order); a write
    /// PostgreSQL aborts as a deadlock or serialisation failure runs again (at most 3 times).
    public func write<T: Sendable>(
        _ context: WriteContext, _ body: @escaping @Sendable (consuming PoolLocks) async throws -> T
    ) async throws -> (value: T, generation: Int64) {
        try await write(context, body, then: { value, _ in value })
    }

    /// `write(_:_:)`, then `finish` with `body`'s value in the same transaction, at its second stage
    /// (for what every write of a kind does after its own changes, such as remembering its answer).
    public func write<T: Sendable, U: Sendable>(
        _ context: WriteContext, _ body: @escaping @Sendable (consuming PoolLocks) async throws -> T,
        then finish: @escaping @Sendable (T, WriteTransaction) async throws -> U
    ) async throws -> (value: U, generation: Int64) {
        var attempt = 1
        while true {
            do {
                return try await withTransaction { connection in
                    let transaction = WriteTransaction(connection: connection, context: context, logger: self.logger)
                    let value = try await finish(try await body(PoolLocks(transaction)), transaction)
                    // Every write moves the generation, even one whose body changed no row.
                    return (value, try await transaction.generation())
                }
            } catch let error as PSQLError where attempt < 3 && Self.isRetryable(error) {
                attempt += 1
                logger.debug("write retried", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }

    /// Registers a backend in one statement that is its own transaction, prepared once per connection
    /// (`RegisterBackendStatement`): no BEGIN, lookups or COMMIT round trips for the write deploy
    /// scripts make most. A taken name fails on the primary key (`StoreError.constraint` 23505). Nil
    /// when the pool does not exist (then nothing was written).
    public func register(
        backend name: String, in pool: String, _ spec: BackendSpec, context: WriteContext
    ) async throws -> (generation: Int64, stamp: Date)? {
        let statement = RegisterBackendStatement(pool: pool, name: name, spec: spec, context: context)
        return try await withConnection { connection in
            for try await (generation, stamp) in try await connection.execute(statement, logger: self.logger) {
                return (generation, stamp)
            }
            return nil
        }
    }

    /// 40P01 deadlock detected, 40001 serialization failure: nothing was written, run it again.
    private static func isRetryable(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40P01" || state == "40001"
    }
}

/// One store call's answer, given once: by the call itself or by its deadline (`CallDeadlines`).
private final class PendingAnswer<T: Sendable>: Sendable {
    /// The caller while unanswered; `started` once a connection was had.
    let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, started: Bool)>((nil, false))

    /// Answers the caller unless it was answered already (or, with `onlyBeforeStart`, unless the work
    /// has a connection). Whether this call was the one that answered.
    @discardableResult
    func answer(_ result: Result<T, any Error>, onlyBeforeStart: Bool = false) -> Bool {
        state.withLock { state in
            guard let continuation = state.continuation, !(onlyBeforeStart && state.started) else { return false }
            state.continuation = nil
            continuation.resume(with: result)
            return true
        }
    }
}
