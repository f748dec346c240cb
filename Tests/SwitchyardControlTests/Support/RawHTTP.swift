import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Sends raw bytes to a port and reads until the peer closes or `timeout` passes: for requests no HTTP
/// client would send (hardening tests) and for watching exactly what the proxy answers.
enum RawHTTP {
    static func exchange(port: Int, _ request: String, timeout: Double = 5, closeWrite: Bool = false) async throws -> String {
        try await exchange(port: port, Array(request.utf8), timeout: timeout, closeWrite: closeWrite)
    }

    static func exchange(port: Int, _ request: [UInt8], timeout: Double = 5, closeWrite: Bool = false) async throws -> String {
        try await Task.detached {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw TestSetupError("socket failed") }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { throw TestSetupError("connect to \(port) failed") }
            var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var sent = 0
            while sent < request.count {
                let written = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if written <= 0 { break }
                sent += written
            }
            if closeWrite { shutdown(fd, Int32(SHUT_WR)) }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count <= 0 { break }
                received += buffer[0..<count]
            }
            return String(decoding: received, as: UTF8.self)
        }.value
    }
}
