import Synchronization

/// Holds the snapshot in force. The data plane reads it per request (an atomic load tells each event loop
/// whether its cached copy is current); the change feed swaps it atomically, so exchanges in flight
/// finish on the snapshot they started with.
public final class RuntimeConfigBox: Sendable {
    private let current = Mutex(RuntimeConfig.empty)
    private let currentGeneration = Atomic<Int64>(0)

    public init() {}

    public var config: RuntimeConfig { current.withLock { $0 } }

    /// The generation of the snapshot in force (0 before the first one).
    public var generation: Int64 { currentGeneration.load(ordering: .acquiring) }

    public func swap(_ config: RuntimeConfig) {
        current.withLock { $0 = config }
        currentGeneration.store(config.generation, ordering: .releasing)
    }
}
