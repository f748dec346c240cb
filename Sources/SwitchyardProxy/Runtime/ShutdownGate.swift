import Synchronization

/// Keeps snapshot applications and the data plane's shutdown apart: once closed, no application starts,
/// and closing waits for the ones under way. Without it a snapshot arriving during shutdown could bind a
/// socket or start a probe on an event loop group that was just shut down (a leaked promise, which
/// SwiftNIO's debug builds turn into a crash).
final class ShutdownGate: Sendable {
    private let state = Mutex<(closed: Bool, inside: Int, waiter: CheckedContinuation<Void, Never>?)>((false, 0, nil))

    /// Whether the caller may go in; it must `leave()` after.
    func enter() -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.inside += 1
            return true
        }
    }

    func leave() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.inside -= 1
            guard state.inside == 0 else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Closes the gate and returns once everyone inside has left. Called once.
    func close() async {
        await withCheckedContinuation { continuation in
            let empty = state.withLock { state in
                state.closed = true
                if state.inside == 0 { return true }
                state.waiter = continuation
                return false
            }
            if empty { continuation.resume() }
        }
    }
}
