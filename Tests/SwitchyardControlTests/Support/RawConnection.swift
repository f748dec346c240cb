import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A client socket kept open across calls, driven step by step (send part of a request, wait, read):
/// for tests of caps and of slow or idle clients. Blocking calls run off the cooperative thread pool.
final class RawConnection: @unchecked Sendable {
    let fd: Int32

    /// Connects to 127.0.0.1:`port`; reads wait at most `timeout` seconds each.
    init(port: Int, timeout: Double = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSetupError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestSetupError("connect to \(port) failed")
        }
        setTimeout(timeout)
    }

    deinit { close(fd) }

    func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends all of `text`; false if the peer is gone.
    @discardableResult
    func send(_ text: String) -> Bool { send(bytes: Array(text.utf8)) }

    /// Sends all of `bytes`; false if the peer is gone.
    @discardableResult
    func send(bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return false }
            sent += written
        }
        return true
    }

    /// Reads until `marker` has arrived, the peer closes, or a read times out; returns what came.
    func receive(until marker: String) async -> String {
        let fd = fd
        return await Task.detached {
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !String(decoding: received, as: UTF8.self).contains(marker) {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count <= 0 { break }
                received += buffer[0..<count]
            }
            return String(decoding: received, as: UTF8.self)
        }.value
    }

    /// Everything until the peer closes, or a read times out.
    func receiveUntilClosed() async -> String {
        let fd = fd
        return await Task.detached {
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

    /// Whether the peer closed the connection (a read returns end of file) within the read timeout.
    func closedByPeer() async -> Bool {
        let fd = fd
        return await Task.detached {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(fd, &buffer, buffer.count, 0)
                if count == 0 { return true }
                if count < 0 { return errno == ECONNRESET }
            }
        }.value
    }

    /// What arrives within `timeout` seconds (stopping early once `until` is in it), and whether the peer closed.
    func read(timeout: Double, until marker: String? = nil) async -> (text: String, closed: Bool) {
        let fd = self.fd
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let deadline = Date().addingTimeInterval(timeout)
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65536)
                var closed = false
                while Date() < deadline {
                    var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    let ready = poll(&descriptor, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
                    if ready <= 0 { continue }
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count <= 0 {
                        closed = true
                        break
                    }
                    received += buffer[0..<count]
                    if let marker, String(decoding: received, as: UTF8.self).contains(marker) { break }
                }
                continuation.resume(returning: (String(decoding: received, as: UTF8.self), closed))
            }
        }
    }
}
