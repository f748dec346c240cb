#if os(Linux)
    import CSwitchyardIO
    import Glibc
    import NIOCore

    /// Opens non-blocking TCP connections on an `EpollEventLoop`. Addresses come resolved (the proxy's
    /// backends are addresses, or names resolved off the request path).
    public enum SocketConnector {
        /// Connects to `address` within `timeout`; `completion` runs on the loop, never from inside this
        /// call. Must be called on the loop.
        public static func connect(
            to address: SocketAddress, on loop: EpollEventLoop, timeout: TimeAmount,
            _ completion: @escaping (Result<SocketConnection, any Error>) -> Void
        ) {
            loop.preconditionInEventLoop()
            guard DescriptorBudget.acquire() else {
                loop.executeLater { completion(.failure(SocketError(operation: "socket", errno: EMFILE))) }
                return
            }
            let fd = SocketConnection.openStreamSocket(for: address)
            guard fd >= 0 else {
                let error = SocketError(operation: "socket", errno: errno)
                DescriptorBudget.release()
                loop.executeLater { completion(.failure(error)) }
                return
            }
            SocketConnection.disableNagle(fd)
            let result = address.withSockAddr { Glibc.connect(fd, $0, socklen_t($1)) }
            guard result == 0 || errno == EINPROGRESS else {
                let error = SocketError(operation: "connect", errno: errno)
                Glibc.close(fd)
                DescriptorBudget.release()
                loop.executeLater { completion(.failure(error)) }
                return
            }
            let pending = PendingConnect(fd: fd, loop: loop, completion: completion)
            do {
                try loop.register(pending, fd: fd, events: SocketConnection.events)
            } catch {
                Glibc.close(fd)
                DescriptorBudget.release()
                loop.executeLater { completion(.failure(error)) }
                return
            }
            // Registering reports a connection already made (loopback often is) as an output edge.
            pending.timer = loop.scheduleTimer(at: .now() + timeout) { [weak pending] in pending?.fail(ConnectTimeoutError()) }
        }
    }

    /// A connect in progress: its first output edge says how it went.
    private final class PendingConnect: EpollHandler {
        let fd: Int32
        let loop: EpollEventLoop
        var completion: ((Result<SocketConnection, any Error>) -> Void)?
        var timer: ScheduledTimer?

        init(fd: Int32, loop: EpollEventLoop, completion: @escaping (Result<SocketConnection, any Error>) -> Void) {
            self.fd = fd
            self.loop = loop
            self.completion = completion
        }

        func handleEvents(_ events: UInt32) {
            guard let completion else { return }
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            if code != 0 {
                fail(SocketError(operation: "connect", errno: code))
                return
            }
            guard events & (EPOLLOUT.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 else { return }
            self.completion = nil
            timer?.cancel()
            // The descriptor stays in the epoll set with the same events; only its handler changes.
            let connection = SocketConnection(fd: fd, loop: loop)
            loop.replaceHandler(connection, fd: fd)
            completion(.success(connection))
            // Whatever else this edge said (bytes already there, a close) is the connection's now.
            let rest = events & ~EPOLLOUT.rawValue
            if rest != 0 { connection.handleEvents(rest) }
        }

        func fail(_ error: any Error) {
            guard let completion else { return }
            self.completion = nil
            timer?.cancel()
            loop.deregister(fd: fd)
            Glibc.close(fd)
            DescriptorBudget.release()
            loop.executeLater { completion(.failure(error)) }
        }

        func loopStopped() {
            fail(SocketError(operation: "connect", errno: ECANCELED))
        }
    }
#endif
