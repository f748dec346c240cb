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
    }

    /// A connect that did not finish in time.
    public struct ConnectTimeoutError: Error, Equatable, CustomStringConvertible {
        public var description: String { "connect timeout" }
    }
#endif
