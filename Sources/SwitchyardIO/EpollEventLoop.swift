#if os(Linux)
    import CSwitchyardIO
    import Dispatch
    import Foundation
    import Glibc
    import NIOCore
    import Synchronization

    /// Something registered with an `EpollEventLoop`: told the epoll events of its descriptor.
    protocol EpollHandler: AnyObject {
        func handleEvents(_ events: UInt32)
        /// The loop is stopping: close the descriptor, tell whoever owns it.
        func loopStopped()
    }

    /// One thread around an edge-triggered epoll set, for the data plane's sockets. SwiftNIO's channels
    /// cost several µs of user CPU per proxied request beyond the bare syscalls (lifecycle copies,
    /// retains, exclusivity checks, the pipeline; measured in docs/architecture.md, "Own epoll loops instead of SwiftNIO channels"); this loop
    /// gives the proxy sockets with nothing between its handlers and `recv`/`send`.
    ///
    /// It is a NIO `EventLoop` (tasks, timers, futures), so the proxy's workers, timers and promises work
    /// on it unchanged. Sockets are registered once, for input and output, edge-triggered: no `epoll_ctl`
    /// per request.
    public final class EpollEventLoop: EventLoop, @unchecked Sendable {
        private let epollFD: Int32
        private let wakeFD: Int32
        /// Tasks from other threads; `wakePending` says the eventfd was already written for them.
        private let remoteTasks = Mutex<(tasks: [@Sendable () -> Void], wakePending: Bool)>(([], false))
        private let threadID = Atomic<UInt>(0)
        private let stopped = Atomic<Bool>(false)
        private let finished = DispatchSemaphore(value: 0)

        // Confined to the loop's thread:
        private var localTasks: [() -> Void] = []
        /// The time this turn of the loop began (after `epoll_wait`): one clock read per batch of
        /// events, for deadlines that a few milliseconds do not matter to (moved on every read).
        public private(set) var turnTime = NIODeadline.now()
        private var timers = TimerQueue()
        private var handlers: [(any EpollHandler)?] = []
        /// Per descriptor, the tag of its registration, also carried by its epoll events: an event
        /// still in the batch for a descriptor closed meanwhile (and perhaps reused by a new socket)
        /// carries the old tag and is dropped instead of reaching the new socket's handler.
        private var tags: [UInt32] = []
        private var nextTag: UInt32 = 1
        /// The buffer reads land in; a handler that keeps what it was given makes the next `clear()`
        /// allocate anew (the kept bytes stay with it), otherwise the same memory is reused. It grows to
        /// the largest read size a connection asks for (64 KiB at most).
        var readBuffer: ByteBuffer
        let allocator = ByteBufferAllocator()

        /// Starts the loop's thread.
        public init(name: String = "switchyard-io", readBufferSize: Int = 64 * 1024) throws {
            epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
            guard epollFD >= 0 else { throw SocketError(operation: "epoll_create1", errno: errno) }
            wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
            guard wakeFD >= 0 else {
                let error = SocketError(operation: "eventfd", errno: errno)
                Glibc.close(epollFD)
                throw error
            }
            readBuffer = allocator.buffer(capacity: readBufferSize)
            var event = epoll_event()
            event.events = EPOLLIN.rawValue
            event.data.u64 = UInt64(UInt32(bitPattern: wakeFD))  // tag 0
            epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &event)
            let started = DispatchSemaphore(value: 0)
            let thread = Thread { [self] in
                threadID.store(UInt(pthread_self()), ordering: .releasing)
                started.signal()
                run()
                finished.signal()
            }
            thread.name = name
            thread.start()
            started.wait()
        }

        // MARK: Registration (on the loop)

        func register(_ handler: any EpollHandler, fd: Int32, events: UInt32) throws {
            let tag = nextTag
            nextTag = nextTag == UInt32.max ? 1 : nextTag + 1
            var event = epoll_event()
            event.events = events
            event.data.u64 = UInt64(UInt32(bitPattern: fd)) | UInt64(tag) << 32
            guard epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0 else {
                throw SocketError(operation: "epoll_ctl", errno: errno)
            }
            let index = Int(fd)
            if index >= handlers.count {
                handlers.append(contentsOf: repeatElement(nil, count: index + 1 - handlers.count))
                tags.append(contentsOf: repeatElement(0, count: index + 1 - tags.count))
            }
            handlers[index] = handler
            tags[index] = tag
        }

        /// Forgets `fd` (closing the descriptor takes it out of the epoll set).
        func deregister(fd: Int32) {
            let index = Int(fd)
            if index < handlers.count {
                handlers[index] = nil
                tags[index] = 0
            }
        }

        /// Takes `fd` out of the epoll set and forgets it, for a descriptor that stays open (shared).
        func remove(fd: Int32) {
            var event = epoll_event()
            epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &event)
            deregister(fd: fd)
        }

        /// Gives `fd` another handler (its epoll registration stays as it is).
        func replaceHandler(_ handler: any EpollHandler, fd: Int32) {
            handlers[Int(fd)] = handler
        }

        /// A timer without a promise or `Sendable` closure, for handlers confined to the loop (cheaper
        /// than `scheduleTask`); `cancel()` it on the loop. On the loop only.
        public func scheduleTimer(at deadline: NIODeadline, _ task: @escaping () -> Void) -> ScheduledTimer {
            timers.schedule(at: deadline, task)
        }

        /// Runs `task` on this loop after the current event (not re-entrantly); on the loop only.
        func executeLater(_ task: @escaping () -> Void) {
            localTasks.append(task)
        }

        // MARK: The loop

        private func run() {
            var events = [epoll_event](repeating: epoll_event(), count: 256)
            while !stopped.load(ordering: .relaxed) {
                let timeout = waitTimeout()
                let count = epoll_wait(epollFD, &events, Int32(events.count), timeout)
                if count < 0 && errno != EINTR { fatalError("epoll_wait failed: errno \(errno)") }
                turnTime = NIODeadline.now()
                for index in 0..<max(0, Int(count)) {
                    let data = events[index].data.u64
                    let fd = Int(UInt32(truncatingIfNeeded: data))
                    let tag = UInt32(truncatingIfNeeded: data >> 32)
                    if tag == 0 {
                        var value: UInt64 = 0
                        _ = read(wakeFD, &value, 8)
                        continue
                    }
                    if fd < handlers.count, tags[fd] == tag, let handler = handlers[fd] {
                        handler.handleEvents(events[index].events)
                    }
                }
                runDueTimers()
                runTasks()
            }
            for handler in handlers { handler?.loopStopped() }
            handlers.removeAll()
            tags.removeAll()
            // Tasks may schedule timers (a `scheduleTask` from another thread arrives as one) and
            // dropped timers may queue tasks: go on until neither is left.
            repeat {
                runTasks()
                for timer in timers.removeAll() where timer.task != nil {
                    timer.task = nil
                    timer.dropped?()
                }
            } while !localTasks.isEmpty || remoteTasks.withLock({ !$0.tasks.isEmpty })
            Glibc.close(wakeFD)
            Glibc.close(epollFD)
        }

        /// Milliseconds until the next timer (rounded up), 0 when tasks wait, -1 when nothing is due.
        private func waitTimeout() -> Int32 {
            if !localTasks.isEmpty { return 0 }
            let remotePending = remoteTasks.withLock { !$0.tasks.isEmpty }
            if remotePending { return 0 }
            guard let deadline = timers.nextDeadline else { return -1 }
            let now = NIODeadline.now()
            guard deadline > now else { return 0 }
            return Int32(clamping: ((deadline - now).nanoseconds + 999_999) / 1_000_000)
        }

        private func runDueTimers() {
            guard !timers.isEmpty else { return }
            let now = turnTime
            while let timer = timers.popDue(now: now) {
                if let task = timer.task {
                    timer.task = nil
                    task()
                }
            }
        }

        private func runTasks() {
            // Tasks queued while these run wait for the next turn, after the sockets had theirs.
            if !localTasks.isEmpty {
                let tasks = localTasks
                localTasks.removeAll(keepingCapacity: true)
                for task in tasks { task() }
            }
            let remote = remoteTasks.withLock { state -> [@Sendable () -> Void] in
                state.wakePending = false
                defer { state.tasks.removeAll(keepingCapacity: true) }
                return state.tasks
            }
            for task in remote { task() }
        }

        // MARK: EventLoop

        public var inEventLoop: Bool {
            UInt(pthread_self()) == threadID.load(ordering: .acquiring)
        }

        public func execute(_ task: @escaping @Sendable () -> Void) {
            if inEventLoop {
                localTasks.append(task)
                return
            }
            let wake = remoteTasks.withLock { state -> Bool in
                state.tasks.append(task)
                defer { state.wakePending = true }
                return !state.wakePending
            }
            if wake {
                var one: UInt64 = 1
                _ = write(wakeFD, &one, 8)
            }
        }

        public func scheduleTask<T>(deadline: NIODeadline, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
            let promise: EventLoopPromise<T> = makePromise()
            let box = TimerBox()
            let schedule: @Sendable () -> Void = { [self] in
                guard !box.cancelled else { return }
                box.timer = timers.schedule(at: deadline) {
                    do { promise.succeed(try task()) } catch { promise.fail(error) }
                } dropped: {
                    promise.fail(EventLoopError.shutdown)
                }
            }
            if inEventLoop { schedule() } else { execute(schedule) }
            return Scheduled(promise: promise) { [self] in
                let cancel: @Sendable () -> Void = {
                    box.cancelled = true
                    if let timer = box.timer, timer.task != nil {
                        timer.task = nil
                        promise.fail(EventLoopError.cancelled)
                    } else if box.timer == nil {
                        promise.fail(EventLoopError.cancelled)
                    }
                }
                if inEventLoop { cancel() } else { execute(cancel) }
            }
        }

        public func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
            scheduleTask(deadline: .now() + delay, task)
        }

        public func preconditionInEventLoop(file: StaticString, line: UInt) {
            precondition(inEventLoop, "not on the event loop", file: file, line: line)
        }

        public func preconditionNotInEventLoop(file: StaticString, line: UInt) {
            precondition(!inEventLoop, "on the event loop", file: file, line: line)
        }

        // MARK: EventLoopGroup

        public func next() -> any EventLoop { self }
        public func any() -> any EventLoop { self }
        public func makeIterator() -> EventLoopIterator { EventLoopIterator([self]) }

        /// Stops the loop: registered sockets are closed (their owners are told), timers not yet due fail
        /// with `EventLoopError.shutdown`, and `callback` runs once the thread has ended.
        public func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
            guard !stopped.exchange(true, ordering: .relaxed) else {
                queue.async { callback(nil) }
                return
            }
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
            let finished = self.finished
            DispatchQueue.global().async {
                finished.wait()
                queue.async { callback(nil) }
            }
        }
    }

    /// A scheduled task's timer, shared between the scheduling and the cancelling (both on the loop).
    private final class TimerBox: @unchecked Sendable {
        var timer: ScheduledTimer?
        var cancelled = false
    }
#endif
