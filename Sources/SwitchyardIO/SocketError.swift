#if os(Linux)
    import Glibc

    /// A failed system call on a socket: which one, and errno.
    public struct SocketError: Error, Equatable, CustomStringConvertible {
        public let operation: String
        public let errno: Int32

        public init(operation: String, errno: Int32) {
            self.operation = operation
            self.errno = errno
        }

        public var description: String {
            "\(operation): \(String(cString: strerror(errno))) (errno \(errno))"
        }

        /// A failure of this process, not of the peer: out of descriptors, memory or local ports
        /// (a socket that could not be made or registered; a connect without a free ephemeral port).
        public var isLocalResourceShortage: Bool {
            switch errno {
            case EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL: true
            default: operation == "socket" || operation == "epoll_ctl"
            }
        }
    }

    /// A connect that did not finish in time.
    public struct ConnectTimeoutError: Error, Equatable, CustomStringConvertible {
        public var description: String { "connect timeout" }
    }
#endif
