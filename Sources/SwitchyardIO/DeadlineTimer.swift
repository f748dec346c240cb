#if os(Linux)
    import NIOCore

    /// Told by a `DeadlineTimer` that its deadline has passed.
    public protocol DeadlineTimerOwner: AnyObject {
        func deadlineReached()
    }

    /// One deadline per connection, moved lazily: setting a later deadline only records it, and the
    /// scheduled timer, when it fires early, schedules itself again for the recorded one. So a deadline
    /// moved on every read costs no timer allocation; only an earlier one reschedules. On its loop only.
    public final class DeadlineTimer {
        private let loop: EpollEventLoop
        private weak var owner: (any DeadlineTimerOwner)?
        private var timer: ScheduledTimer?
        /// When the scheduled timer fires (distantFuture: none is scheduled).
        private var firesAt = NIODeadline.distantFuture
        /// The deadline in force; distantFuture: none.
        public private(set) var deadline = NIODeadline.distantFuture

        public init(loop: EpollEventLoop, owner: any DeadlineTimerOwner) {
            self.loop = loop
            self.owner = owner
        }

        /// Sets the deadline (earlier or later than the one before).
        @inline(__always)
        public func set(_ deadline: NIODeadline) {
            self.deadline = deadline
            if firesAt > deadline {
                timer?.cancel()
                schedule(at: deadline)
            }
        }

        /// No deadline until the next `set` (a scheduled timer stays, and finds nothing due).
        public func clear() {
            deadline = .distantFuture
        }

        /// Cancels the scheduled timer: for a connection that closed.
        public func cancel() {
            deadline = .distantFuture
            timer?.cancel()
            timer = nil
            firesAt = .distantFuture
        }

        private func schedule(at when: NIODeadline) {
            firesAt = when
            timer = loop.scheduleTimer(at: when) { [weak self] in self?.fired() }
        }

        private func fired() {
            timer = nil
            firesAt = .distantFuture
            guard deadline != .distantFuture else { return }
            if NIODeadline.now() < deadline {
                schedule(at: deadline)
                return
            }
            deadline = .distantFuture
            owner?.deadlineReached()
        }
    }
#endif
