import Synchronization

/// Counts the large request bodies held at once, so that many clients each sending a body near the cap
/// cannot make the process hold all of them together.
final class LargeBodyGate: Sendable {
    private let inUse = Mutex(0)
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes a place if one is free (a caller that gets none answers 503 instead of waiting).
    func tryEnter() -> Bool {
        inUse.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func leave() {
        inUse.withLock { $0 -= 1 }
    }
}
