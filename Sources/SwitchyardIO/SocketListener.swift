#if os(Linux)
    import CSwitchyardIO
    import Glibc
    import NIOCore

    /// A listening TCP socket on an `EpollEventLoop`; each accepted connection goes to `accept`, on the
    /// loop. Several loops may listen on one port with `reusePort` (the kernel spreads connections).
    /// `@unchecked Sendable` so that it can be handed back from its loop: `loop` and `localAddress` may
    /// be read anywhere, everything else happens on the loop.
    public final class SocketListener: EpollHandler, @unchecked Sendable {
        public let loop: EpollEventLoop
        public let localAddress: SocketAddress
        private let fd: Int32
        private let accept: (SocketConnection) -> Void
        public private(set) var isOpen = true

        /// Binds and listens; must be called on the loop.
        public init(
            bindingTo address: SocketAddress, reusePort: Bool = false, backlog: Int32 = 4096, on loop: EpollEventLoop,
            accept: @escaping (SocketConnection) -> Void
        ) throws {
            loop.preconditionInEventLoop()
            let fd = socket(
                Int32(address.protocol.rawValue), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw SocketError(operation: "socket", errno: errno) }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if reusePort { setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size)) }
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
            self.loop = loop
            self.localAddress = bound
            self.accept = accept
            // Level-triggered: connections left in the backlog (a burst, or out of descriptors) are
            // reported again on the next turn.
            do {
                try loop.register(self, fd: fd, events: EPOLLIN.rawValue)
            } catch {
                Glibc.close(fd)
                throw error
            }
        }

        public func close() {
            guard isOpen else { return }
            isOpen = false
            loop.deregister(fd: fd)
            Glibc.close(fd)
        }

        func handleEvents(_ events: UInt32) {
            // A bounded batch, so that a flood of connections does not starve established ones.
            for _ in 0..<64 {
                guard isOpen else { return }
                let client = c_switchyard_accept_nonblocking(fd)
                guard client >= 0 else { return }
                var one: Int32 = 1
                setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
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
