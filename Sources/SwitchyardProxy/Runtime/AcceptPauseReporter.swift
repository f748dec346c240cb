import Logging
import NIOCore
import SwitchyardIO
import Synchronization

/// Counts each pause of a listener's accepting (`switchyard_listener_accept_paused_total`) and logs it
/// at most once per `logInterval` per listener and reason: at a connection cap a listener pauses a
/// hundred times a second, and the log must not follow it.
final class AcceptPauseReporter: Sendable {
    static let logInterval = TimeAmount.seconds(10)
    private let logger: Logger
    /// When each "listener|reason" was last logged.
    private let lastLogged = Mutex<[String: NIODeadline]>([:])

    init(logger: Logger) {
        self.logger = logger
    }

    func paused(listener: String, _ reason: AcceptPause, counters: TrafficCounters) {
        let key: String
        let message: Logger.Message
        switch reason {
        case .connectionLimit:
            counters.acceptPaused(.connectionLimit)
            key = "\(listener)|limit"
            message = "listener at its connection limit: new connections wait in the backlog"
        case .outOfResources(let code):
            counters.acceptPaused(.outOfResources)
            key = "\(listener)|resources"
            message = "listener cannot accept (errno \(code): out of descriptors or memory): accepting pauses with backoff"
        }
        let now = NIODeadline.now()
        let due = lastLogged.withLock { last in
            guard let previous = last[key], now - previous < Self.logInterval else {
                last[key] = now
                return true
            }
            return false
        }
        if due { logger.warning(message, metadata: ["listener": "\(listener)"]) }
    }
}
