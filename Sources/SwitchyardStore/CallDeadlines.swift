import PostgresNIO
import Synchronization

/// The deadlines of in-flight store calls, checked by one loop (`run`) instead of a timer task per
/// call: two `Task.sleep` timers and their cancellation cost more CPU than the query they guarded.
///
/// A call is added with its connection-wait deadline; once it has a connection it moves to its query
/// deadline. A call that passes its deadline is expired once (`expire` gets the connection, if any) and
/// forgotten; a call that ends removes itself.
final class CallDeadlines: Sendable {
    typealias Expiry = @Sendable (_ connection: PostgresConnection?) -> Void

    private struct Call {
        var deadline: ContinuousClock.Instant
        var connection: PostgresConnection?
        var operation: Task<Void, Never>?
        let expire: Expiry
    }

    private let calls = Mutex<(nextID: Int, byID: [Int: Call])>((0, [:]))
    /// How often deadlines are checked: the precision of every timeout.
    let tick: Duration

    init(tick: Duration) {
        self.tick = tick
    }

    /// Adds a call waiting for a connection until `deadline`; its id.
    func add(deadline: ContinuousClock.Instant, expire: @escaping Expiry) -> Int {
        calls.withLock { calls in
            calls.nextID &+= 1
            calls.byID[calls.nextID] = Call(deadline: deadline, expire: expire)
            return calls.nextID
        }
    }

    /// The task doing the call, cancelled when the connection wait expires.
    func attach(_ operation: Task<Void, Never>, to id: Int) {
        calls.withLock { $0.byID[id]?.operation = operation }
    }

    /// The call has `connection` and must be answered by `deadline`.
    func connected(_ id: Int, _ connection: PostgresConnection, deadline: ContinuousClock.Instant) {
        calls.withLock { calls in
            calls.byID[id]?.connection = connection
            calls.byID[id]?.deadline = deadline
        }
    }

    func remove(_ id: Int) {
        _ = calls.withLock { $0.byID.removeValue(forKey: id) }
    }

    /// Expires calls past their deadline every `tick`, until cancelled.
    func run() async {
        while (try? await Task.sleep(for: tick)) != nil {
            let now = ContinuousClock.now
            let expired = calls.withLock { calls in
                let expired = calls.byID.filter { $0.value.deadline <= now }
                for id in expired.keys { calls.byID.removeValue(forKey: id) }
                return expired.values
            }
            for call in expired {
                call.expire(call.connection)
                if call.connection == nil { call.operation?.cancel() }
            }
        }
    }
}
