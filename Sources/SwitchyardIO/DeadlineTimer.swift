#if os(Linux)
    import NIOCore

    /// Told by a `DeadlineTimer` that its deadline has passed.
    public protocol DeadlineTimerOwner: AnyObject {
        func deadlineReached()
    }

    /// One deadline per connection, moved lazily: setting a later deadline only records it, and the
    /// scheduled timer, when it fires early, schedules itself again for the recorded one. So a deadline
    /// moved on every read costs no timer allocation; only an earlier one reschedules. On its loop only.
    ///
    /// The owner holds its timer and outlives it; the timer does not retain the owner. The reference is
    /// `unowned(unsafe)`, not `weak`: a weak reference gives the owner (a connection's handler, retained
    /// and released many times per request) a side table, which sends every one of those retains and
    /// releases down the runtime's slow path (measured: about 5 % of the proxy's CPU per request).
    public final class DeadlineTimer {
        private let loop: EpollEventLoop
        private unowned(unsafe) let owner: any DeadlineTimerOwner
        private var timer: ScheduledTimer?
        /// When the scheduled timer fires (distantFuture: none is scheduled).
        private var firesAt = NIODeadline.distantFuture
        /// The deadline in force; distantFuture: none.
        public private(set) var deadline = NIODeadline.distantFuture

        public init(loop: EpollEventLoop, owner: any DeadlineTimerOwner) {
            self.loop = loop
            self.owner = owner
        }

        deinit {
            // The scheduled task refers to this timer without retaining it: it must never run after this.
            timer?.cancel()
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
            // Not `weak` (a side table again, see above): `deinit` cancels the task before this goes away.
            timer = loop.scheduleTimer(at: when) { [unowned(unsafe) self] in
                // A strong reference for the call: the owner's reaction may drop the last one to both.
                let timer = self
                timer.fired()
            }
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
            // Likewise held for the call (the owner may close, and release itself, from it).
            let owner = self.owner
            owner.deadlineReached()
        }
    }
#endif
