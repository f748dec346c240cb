import Synchronization

/// Holds the snapshot in force. The data plane reads it once per new connection; the change feed swaps
/// it atomically, so connections in flight finish on the snapshot they started with.
public final class RuntimeConfigBox: Sendable {
    private let current = Mutex(RuntimeConfig.empty)

    public init() {}

    public var config: RuntimeConfig { current.withLock { $0 } }

    /// The generation of the snapshot in force (0 before the first one).
    public var generation: Int64 { current.withLock { $0.generation } }

    public func swap(_ config: RuntimeConfig) {
        current.withLock { $0 = config }
    }
}
