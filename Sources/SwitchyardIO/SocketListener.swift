#if os(Linux)
    import CSwitchyardIO
    import Glibc
    import NIOCore

    /// A listening TCP socket on an `EpollEventLoop`; each accepted connection goes to `accept`, on the
    /// loop. Other loops accept from the same socket through `init(sharing:on:accept:)` (the kernel wakes
    /// one of them per connection). One socket, not one per loop with SO_REUSEPORT: a port another
    /// process holds is then always a bind error, never a silent share.
    /// `@unchecked Sendable` so that it can be handed back from its loop: `loop` and `localAddress` may
    /// be read anywhere, everything else happens on the loop.
    public final class SocketListener: EpollHandler, @unchecked Sendable {
        public let loop: EpollEventLoop
        public let localAddress: SocketAddress
        private let fd: Int32
        /// The socket's first listener closes it; the ones sharing it only leave the epoll set.
        private let ownsDescriptor: Bool
        private let accept: (SocketConnection) -> Void
        /// Set for an https listener: each connection is a TLS server session, its handshake bounded by
        /// `handshakeTimeout` until the accept callback sets a deadline of its own.
        private var tls: TLSContext?
        private let handshakeTimeout: TimeAmount
        private let gate: (any AcceptGate)?
        private let paused: (AcceptPause) -> Void
        public private(set) var isOpen = true
        /// Out of the epoll set until `resumeTimer` fires.
        private var resumeTimer: ScheduledTimer?
        /// The next pause for want of descriptors: doubles up to a second while accepts keep failing.
        private var resourceBackoff = SocketListener.firstResourceBackoff

        /// A pause at the connection limit: a place may be free again soon (a connection on any loop closes).
        static let limitPause = TimeAmount.milliseconds(10)
        static let firstResourceBackoff = TimeAmount.milliseconds(10)
        static let maxResourceBackoff = TimeAmount.seconds(1)

        /// Binds and listens; must be called on the loop. `gate` (if any) is asked before each accept,
        /// and a connection it let in must `leave()` it when it closes. `paused` is told each time
        /// accepting pauses. With `tls`, connections are TLS server sessions.
        public init(
            bindingTo address: SocketAddress, backlog: Int32 = 4096, on loop: EpollEventLoop, gate: (any AcceptGate)? = nil,
            tls: TLSContext? = nil, handshakeTimeout: TimeAmount = .seconds(10),
            paused: @escaping (AcceptPause) -> Void = { _ in }, accept: @escaping (SocketConnection) -> Void
        ) throws {
            loop.preconditionInEventLoop()
            let fd = SocketConnection.openStreamSocket(for: address)
            guard fd >= 0 else { throw SocketError(operation: "socket", errno: errno) }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            guard address.withSockAddr({ bind(fd, $0, socklen_t($1)) }) == 0 else {
                let error = SocketError(operation: "bind", errno: errno)
                Glibc.close(fd)
                throw error
            }
            guard listen(fd, backlog) == 0, let bound = SocketConnection.address(of: fd, peer: false) else {
                let error = SocketError(operation: "listen", errno: errno)
                Glibc.close(fd)
                throw error
            }
            self.fd = fd
            self.ownsDescriptor = true
            self.loop = loop
            self.localAddress = bound
            self.accept = accept
            self.tls = tls
            self.handshakeTimeout = handshakeTimeout
            self.gate = gate
            self.paused = paused
            do {
                try loop.register(self, fd: fd, events: Self.events)
            } catch {
                Glibc.close(fd)
                throw error
            }
        }

        /// Accepts from `primary`'s socket on another loop; must be called on `loop`. Close it before
        /// `primary` (which closes the socket).
        public init(
            sharing primary: SocketListener, on loop: EpollEventLoop, gate: (any AcceptGate)? = nil,
            paused: @escaping (AcceptPause) -> Void = { _ in }, accept: @escaping (SocketConnection) -> Void
        ) throws {
            self.tls = primary.tls
            self.handshakeTimeout = primary.handshakeTimeout
            loop.preconditionInEventLoop()
            self.fd = primary.fd
            self.ownsDescriptor = false
            self.loop = loop
            self.localAddress = primary.localAddress
            self.accept = accept
            self.gate = gate
            self.paused = paused
            try loop.register(self, fd: fd, events: Self.events)
        }

        /// Level-triggered: connections left in the backlog (a burst, or out of descriptors) are
        /// reported again on the next turn. Exclusive: one loop is woken per connection, not all.
        private static let events = EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue

        /// The certificates new connections get from now on (on the listener's loop). Connections
        /// already accepted keep the context they began with.
        public func replaceTLS(_ context: TLSContext) {
            loop.preconditionInEventLoop()
            if tls != nil { tls = context }
        }

        public func close() {
            guard isOpen else { return }
            isOpen = false
            if resumeTimer != nil {
                resumeTimer?.cancel()
                resumeTimer = nil
                // Out of the epoll set already: only the descriptor is left to close.
                if ownsDescriptor { Glibc.close(fd) }
                return
            }
            if ownsDescriptor {
                loop.deregister(fd: fd)
                Glibc.close(fd)
            } else {
                loop.remove(fd: fd)
            }
        }

        func handleEvents(_ events: UInt32) {
            // A bounded batch, so that a flood of connections does not starve established ones.
            for _ in 0..<64 {
                guard isOpen, resumeTimer == nil else { return }
                if let gate, !gate.enter() {
                    pause(for: Self.limitPause, .connectionLimit)
                    return
                }
                guard DescriptorBudget.acquire() else {
                    gate?.leave()
                    pauseForResources(errno: EMFILE)
                    return
                }
                let client = c_switchyard_accept_nonblocking(fd)
                guard client >= 0 else {
                    let code = errno
                    gate?.leave()
                    DescriptorBudget.release()
                    switch code {
                    case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                        pauseForResources(errno: code)
                        return
                    case ECONNABORTED, EINTR, EPROTO:
                        continue  // that client gave up; others may wait behind it
                    default:
                        return  // EAGAIN: the backlog is empty
                    }
                }
                resourceBackoff = Self.firstResourceBackoff
                SocketConnection.disableNagle(client)
                let connection = SocketConnection(fd: client, loop: loop)
                do {
                    try loop.register(connection, fd: client, events: SocketConnection.events)
                } catch {
                    Glibc.close(client)
                    gate?.leave()
                    DescriptorBudget.release()
                    continue
                }
                // Events come on a later turn of the loop: the session is in place before the first.
                if let tls, !connection.beginServerTLS(tls, handshakeTimeout: handshakeTimeout) {
                    connection.close()
                    gate?.leave()
                    continue
                }
                accept(connection)
            }
        }

        /// Leaves the epoll set for `delay` (the socket is level-triggered: staying in it while
        /// connections cannot be taken would wake the loop at once, again and again).
        private func pause(for delay: TimeAmount, _ reason: AcceptPause) {
            loop.remove(fd: fd)
            resumeTimer = loop.scheduleTimer(at: .now() + delay) { [weak self] in self?.resume() }
            paused(reason)
        }

        /// Pauses for the current backoff, and doubles it (up to a second) for the next shortage.
        private func pauseForResources(errno code: Int32) {
            pause(for: resourceBackoff, .outOfResources(errno: code))
            resourceBackoff = min(resourceBackoff * 2, Self.maxResourceBackoff)
        }

        private func resume() {
            resumeTimer = nil
            guard isOpen else { return }
            do {
                try loop.register(self, fd: fd, events: Self.events)
            } catch {
                // No memory for the registration either: try again later.
                pauseForResources(errno: (error as? SocketError)?.errno ?? ENOMEM)
            }
        }

        func loopStopped() {
            close()
        }
    }
#endif
