import Logging
import PostgresNIO
import ServiceLifecycle
import SwitchyardCore

/// Follows the stored configuration: LISTENs for the NOTIFY every write sends, polls as a fallback
/// (a notification can be lost while reconnecting), and reloads after every reconnect. Hands each new
/// generation's whole configuration to `onChange`, in order, never the same generation twice
/// (`ConfigFollower` keeps it up to date from the audit log between whole loads).
///
/// A lone write is loaded at once. Under a stream of writes, reloads start at most once per
/// `minimumReloadInterval`, and no sooner than the last one's duration after it ended, and each takes
/// in every write before it: at 500 writes/s, one reload per write had cost more queries than the
/// writes themselves, and reloads of 10,000 backends back to back starved the writes.
public struct ConfigChangeFeed: Service {
    let store: Store
    let pollInterval: Duration
    let minimumReloadInterval: Duration
    let logger: Logger
    let onChange: @Sendable (StoredConfiguration) async -> Void

    public init(
        store: Store, pollInterval: Duration = .seconds(5), minimumReloadInterval: Duration = .milliseconds(10), logger: Logger,
        onChange: @escaping @Sendable (StoredConfiguration) async -> Void
    ) {
        self.store = store
        self.pollInterval = pollInterval
        self.minimumReloadInterval = minimumReloadInterval
        self.logger = logger
        self.onChange = onChange
    }

    public func run() async throws {
        let loader = ConfigFollower(store: store, onChange: onChange)
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await store.client.withConnection { connection in
                        try await connection.listen(on: Store.changeChannel) { notifications in
                            // Changes may have been missed while not listening: start again from a whole load.
                            try await loader.refresh(whole: true)
                            // Notifications only mark the configuration stale; one reload at a time follows,
                            // and whatever arrived during it gives one more.
                            let (stale, markStale) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
                            try await withThrowingTaskGroup(of: Void.self) { group in
                                group.addTask {
                                    defer { markStale.finish() }
                                    for try await _ in notifications { markStale.yield() }
                                }
                                group.addTask {
                                    for await _ in stale {
                                        let started = ContinuousClock.now
                                        try await loader.refresh()
                                        // A reload of a large configuration takes long: rest as long as it
                                        // took, so that reloads take at most half the time under a stream
                                        // of writes, and the writes the rest.
                                        let took = ContinuousClock.now - started
                                        try await Task.sleep(until: started + max(minimumReloadInterval, took * 2))
                                    }
                                }
                                group.addTask {
                                    while true {
                                        try await Task.sleep(for: pollInterval)
                                        markStale.yield()
                                    }
                                }
                                try await group.next()
                                group.cancelAll()
                            }
                        }
                    }
                } catch is CancellationError {
                    return
                } catch {
                    if Task.isCancelled { return }
                    // Fail static: keep the last configuration, retry, and reload once back.
                    logger.warning("configuration feed interrupted; retrying", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }
}
