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
    /// is bounded by `configuration.connectionWaitTimeout`.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = self.client
        let timeout = configuration.connectionWaitTimeout
        // nil once answered; `started` once a connection was had (then the body may take its time).
        let pending = PendingAnswer<T>()
        return try await withCheckedThrowingContinuation { continuation in
            pending.state.withLock { $0.continuation = continuation }
            let finish: @Sendable (Result<T, any Error>) -> Void = { result in
                pending.state.withLock { state in
                    state.continuation?.resume(with: result)
                    state.continuation = nil
                }
            }
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
                        return try await body(connection)
                    }
                    finish(.success(value))
                } catch {
                    finish(.failure(StoreError.from(error)))
                }
            }
            let watchdog = Task {
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                // Decide and answer under one lock, so that the work either started or never will.
                let timedOut = pending.state.withLock { state -> Bool in
                    guard !state.started, let continuation = state.continuation else { return false }
                    state.continuation = nil
                    continuation.resume(throwing: StoreError.unavailable("no database connection within \(timeout)"))
                    return true
                }
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

    /// One write: bumps the generation (which also serialises writers), runs `body`, NOTIFYs, commits.
    /// Returns `body`'s value and the new generation.
    public func write<T: Sendable>(
        _ context: WriteContext, _ body: @escaping @Sendable (WriteTransaction) async throws -> T
    ) async throws -> (value: T, generation: Int64) {
        try await withTransaction { connection in
            var generation: Int64 = 0
            // Bump and NOTIFY in one round trip: the notification is delivered only if this commits.
            let rows = try await connection.query(
                """
                WITH bumped AS (UPDATE config_state SET generation = generation + 1 RETURNING generation)
                SELECT generation, pg_notify(\(Store.changeChannel), generation::text)::text FROM bumped
                """, logger: self.logger)
            for try await (value, _) in rows.decode((Int64, String).self) { generation = value }
            let transaction = WriteTransaction(connection: connection, generation: generation, context: context, logger: self.logger)
            let value = try await body(transaction)
            return (value, generation)
        }
    }
}

/// One store call's answer, given once: by the call itself or by the connection-wait deadline.
private final class PendingAnswer<T: Sendable>: Sendable {
    /// The caller while unanswered; `started` once a connection was had.
    let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, started: Bool, watchdog: Task<Void, Never>?)>((nil, false, nil))
}
