import Synchronization
import SwitchyardIO

/// A connection cap shared by every event loop: a listener's `max_connections`, inside the process-wide
/// cap (`parent`). A place is taken before `accept` and given back when the connection closes, with
/// atomics (no lock on the accept path); the limit can change while connections are open.
final class ConnectionGate: AcceptGate {
    private let parent: ConnectionGate?
    private let active = Atomic(0)
    private let limit: Atomic<Int>

    /// `limit` nil: no cap of its own (the parent's still holds).
    init(limit: Int?, parent: ConnectionGate? = nil) {
        self.limit = Atomic(limit ?? .max)
        self.parent = parent
    }

    /// Connections holding a place now.
    var count: Int { active.load(ordering: .relaxed) }

    /// A lower limit lets no new connection in until enough have closed; none is cut.
    func setLimit(_ limit: Int?) {
        self.limit.store(limit ?? .max, ordering: .relaxed)
    }

    func enter() -> Bool {
        var current = active.load(ordering: .relaxed)
        while true {
            guard current < limit.load(ordering: .relaxed) else { return false }
            let (exchanged, original) = active.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { break }
            current = original
        }
        if let parent, !parent.enter() {
            active.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leave() {
        active.wrappingSubtract(1, ordering: .relaxed)
        parent?.leave()
    }
}
