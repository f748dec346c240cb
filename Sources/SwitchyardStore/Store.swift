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

    /// NOTIFY channel that carries the new generation after every write.
    public static let changeChannel = "switchyard_config"

    public init(configuration: StoreConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: logger)
    }

    public func run() async throws {
        await client.run()
    }

    /// Runs `body` on one connection, mapping connection failures to `StoreError.unavailable`. While
    /// PostgreSQL is down the pool queues requests instead of failing them, so waiting for a connection
    /// is bounded by `configuration.connectionWaitTimeout`, and the work on it by `queryTimeout`.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = self.client
        let timeout = configuration.connectionWaitTimeout
        let queryTimeout = configuration.queryTimeout
        // nil once answered; `started` once a connection was had (then the body may take its time).
        let pending = PendingAnswer<T>()
        return try await withCheckedThrowingContinuation { continuation in
            pending.state.withLock { $0.continuation = continuation }
            let operation = Task {
                do {
                    let value = try await client.withConnection { connection in
                        // Connected: the deadline no longer applies; stop its timer. But if the caller was
                        // already told "unavailable", the work must not happen behind its back.
                        let (answered, watchdog) = pending.state.withLock { state in
                            if state.continuation != nil { state.started = true }
                            return (state.continuation == nil, state.watchdog)
                        }
                        watchdog?.cancel()
                        if answered { throw CancellationError() }
                        // The caller is answered at the deadline whatever the query does; closing the
                        // connection fails the query (or the pool drops the connection once it returns).
                        let deadline = Task {
                            guard (try? await Task.sleep(for: queryTimeout)) != nil else { return }
                            let timedOut = pending.answer(.failure(StoreError.unavailable("no answer from PostgreSQL within \(queryTimeout)")))
                            if timedOut { try? await connection.close() }
                        }
                        defer { deadline.cancel() }
                        return try await body(connection)
                    }
                    pending.answer(.success(value))
                } catch {
                    pending.answer(.failure(StoreError.from(error)))
                }
            }
            let watchdog = Task {
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                // Decided under one lock with the start, so that the work either started or never will.
                let timedOut = pending.answer(
                    .failure(StoreError.unavailable("no database connection within \(timeout)")), onlyBeforeStart: true)
                if timedOut { operation.cancel() }
            }
            let alreadyStarted = pending.state.withLock { state in
                state.watchdog = watchdog
                return state.started
            }
            if alreadyStarted { watchdog.cancel() }
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
    /// commits. Returns `body`'s value and the generation. See `WriteTransaction` for the lock order;
    /// a write PostgreSQL aborts as a deadlock or serialisation failure runs again (at most 3 times).
    public func write<T: Sendable>(
        _ context: WriteContext, _ body: @escaping @Sendable (WriteTransaction) async throws -> T
    ) async throws -> (value: T, generation: Int64) {
        var attempt = 1
        while true {
            do {
                return try await withTransaction { connection in
                    let transaction = WriteTransaction(connection: connection, context: context, logger: self.logger)
                    let value = try await body(transaction)
                    // Every write moves the generation, even one whose body changed no row.
                    return (value, try await transaction.generation())
                }
            } catch let error as PSQLError where attempt < 3 && Self.isRetryable(error) {
                attempt += 1
                logger.debug("write retried", metadata: ["error": "\(String(reflecting: error))"])
            }
        }
    }

    /// Registers a backend in one statement that is its own transaction: no BEGIN, lookups or COMMIT
    /// round trips for the write deploy scripts make most. The pool is share-locked before the
    /// generation, as in `write`; a taken name fails on the primary key (`StoreError.constraint`
    /// 23505). Nil when the pool does not exist (then nothing was written).
    public func register(
        backend name: String, in pool: String, _ spec: BackendSpec, context: WriteContext
    ) async throws -> (generation: Int64, stamp: Date)? {
        var statement = ChangeStatement(generation: nil, requiringPool: pool)
        statement.describe(ConfigChange(resource: .backend(name, in: pool), before: nil, after: .backend(spec)), by: context)
        let query = statement.query
        return try await withConnection { connection in
            for try await (generation, stamp, _) in try await connection.query(query, logger: self.logger).decode((Int64, Date, String).self) {
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

/// One store call's answer, given once: by the call itself or by the connection-wait deadline.
private final class PendingAnswer<T: Sendable>: Sendable {
    /// The caller while unanswered; `started` once a connection was had.
    let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, started: Bool, watchdog: Task<Void, Never>?)>((nil, false, nil))

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
