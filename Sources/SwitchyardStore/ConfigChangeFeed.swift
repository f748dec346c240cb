import Logging
import PostgresNIO
import ServiceLifecycle
import SwitchyardCore

/// Follows the stored configuration: LISTENs for the NOTIFY every write sends, polls as a fallback
/// (a notification can be lost while reconnecting), and reloads after every reconnect. Hands each new
/// generation's whole configuration to `onChange`, in order, never the same generation twice.
public struct ConfigChangeFeed: Service {
    let store: Store
    let pollInterval: Duration
    let logger: Logger
    let onChange: @Sendable (ConfigDocument, Int64) async -> Void

    public init(
        store: Store, pollInterval: Duration = .seconds(5), logger: Logger,
        onChange: @escaping @Sendable (ConfigDocument, Int64) async -> Void
    ) {
        self.store = store
        self.pollInterval = pollInterval
        self.logger = logger
        self.onChange = onChange
    }

    public func run() async throws {
        let loader = GenerationLoader(store: store, onChange: onChange)
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await store.client.withConnection { connection in
                        try await connection.listen(on: Store.changeChannel) { notifications in
                            try await loader.refresh()
                            try await withThrowingTaskGroup(of: Void.self) { group in
                                group.addTask { for try await _ in notifications { try await loader.refresh() } }
                                group.addTask {
                                    while true {
                                        try await Task.sleep(for: pollInterval)
                                        try await loader.refresh()
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

/// Loads the configuration when its generation moved, one load at a time.
private actor GenerationLoader {
    let store: Store
    let onChange: @Sendable (ConfigDocument, Int64) async -> Void
    var lastGeneration: Int64 = -1

    init(store: Store, onChange: @escaping @Sendable (ConfigDocument, Int64) async -> Void) {
        self.store = store
        self.onChange = onChange
    }

    func refresh() async throws {
        let (document, generation) = try await store.document()
        guard generation != lastGeneration else { return }
        lastGeneration = generation
        await onChange(document, generation)
    }
}
