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
        public private(set) var isOpen = true

        /// Binds and listens; must be called on the loop.
        public init(
            bindingTo address: SocketAddress, backlog: Int32 = 4096, on loop: EpollEventLoop,
            accept: @escaping (SocketConnection) -> Void
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
            do {
                try loop.register(self, fd: fd, events: Self.events)
            } catch {
                Glibc.close(fd)
                throw error
            }
        }

        /// Accepts from `primary`'s socket on another loop; must be called on `loop`. Close it before
        /// `primary` (which closes the socket).
        public init(sharing primary: SocketListener, on loop: EpollEventLoop, accept: @escaping (SocketConnection) -> Void) throws {
            loop.preconditionInEventLoop()
            self.fd = primary.fd
            self.ownsDescriptor = false
            self.loop = loop
            self.localAddress = primary.localAddress
            self.accept = accept
            try loop.register(self, fd: fd, events: Self.events)
        }

        /// Level-triggered: connections left in the backlog (a burst, or out of descriptors) are
        /// reported again on the next turn. Exclusive: one loop is woken per connection, not all.
        private static let events = EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue

        public func close() {
            guard isOpen else { return }
            isOpen = false
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
                guard isOpen else { return }
                let client = c_switchyard_accept_nonblocking(fd)
                guard client >= 0 else { return }
                SocketConnection.disableNagle(client)
                let connection = SocketConnection(fd: client, loop: loop)
                do {
                    try loop.register(connection, fd: client, events: SocketConnection.events)
                } catch {
                    Glibc.close(client)
                    continue
                }
                accept(connection)
            }
        }

        func loopStopped() {
            close()
        }
    }
#endif
