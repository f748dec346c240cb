import Foundation
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardIO
import Testing

@testable import SwitchyardProxy

#if canImport(Glibc)
    import Glibc
#endif

/// The differential fuzz test's streams sent through a running data plane (real sockets, one event
/// loop) to a backend that parses strictly: for every stream, the backend must see exactly the
/// requests that the proxy's own path accepts for it, in order, with the same bodies, and never a
/// byte it cannot parse.
@Suite struct RequestPathProxyFuzzTests {
    /// Ends every stream, so that the proxy closes the connection once it got there.
    static let sentinel = Array("GET /end HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Sends `pieces` on a new connection (each in its own send) and reads until the proxy closes it;
    /// returns what the proxy answered.
    static func exchange(port: Int, _ pieces: [[UInt8]]) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return "" }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        for piece in pieces where !piece.isEmpty {
            _ = piece.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        var answered: [UInt8] = []
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count <= 0 { break }
            answered += buffer[0..<count]
        }
        return String(decoding: answered, as: UTF8.self)
    }

    @Test("10,000 random, mutated and split streams through a running proxy: the strict backend sees exactly the accepted requests")
    func throughTheProxy() async throws {
        let backend = try await StrictBackend.start()
        defer { Task { await backend.stop() } }
        let port = try Self.freePort()
        var pool = PoolSpec.defaults
        pool.healthCheck.type = .none
        pool.retries = 0  // a retried request would reach the backend twice
        let document = ConfigDocument(
            pools: ["web": PoolEntry(spec: pool, backends: ["a": BackendSpec(address: "127.0.0.1", port: backend.port)])],
            listeners: ["fuzz": ListenerSpec(bind: "127.0.0.1", port: port, defaultPool: "web")])
        let box = RuntimeConfigBox()
        box.swap(try RuntimeConfig(document: document, generation: 1))
        // Short head and body timeouts: a stream that ends inside a request is answered 408 at once.
        let limits = HTTPLimits(headTimeout: .milliseconds(100), bodyTimeout: .milliseconds(100))
        OpenFileLimit.raiseToHardLimit()  // as `serve` does: the suite shares one process
        let service = try ProxyService(configuration: .init(eventLoops: 1, limits: limits), box: box, logger: Logger(label: "fuzz"))
        let running = Task { try await service.run() }
        defer { running.cancel() }
        let started = ContinuousClock.now
        while service.listenerStates()["fuzz"]?.bound != true {
            guard ContinuousClock.now - started < .seconds(10) else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(10))
        }

        let seed: UInt64 = 20_261_205
        var random = RequestPathFuzzTests.SplitMix64(state: seed)
        var failures: [String] = []
        var accepted = 0
        for index in 0..<10_000 {
            var pieces = RequestPathFuzzTests.stream(&random)
            pieces.append(Self.sentinel)
            let expected = RequestPathFuzzTests.forward(pieces).exchanges.filter(\.complete)
            let stream = pieces
            let answered = await Task.detached { Self.exchange(port: port, stream) }.value
            // A 408 means the proxy's clock cut a request the model (which has no clock) would have
            // waited for: on a loaded machine a piece can come later than the 100 ms timeouts.
            // Then the backend must have seen a prefix of the accepted requests.
            let timedOut = answered.contains("HTTP/1.1 408 ")
            // The backend answers before the proxy closes the client: what it parsed is recorded by now.
            let (received, refusals) = backend.take()
            accepted += received.count
            if !refusals.isEmpty { failures.append("stream \(index): the backend refused what it got (\(refusals))") }
            let seen = received.map { "\($0.method) \($0.target) \($0.body.count)B" }
            let predicted = expected.map { "\($0.method) \($0.originTarget) \($0.body.count)B" }
            let matches = timedOut ? predicted.starts(with: seen) : seen == predicted
            if !matches || zip(received, expected).contains(where: { $0.body != $1.body }) {
                failures.append("stream \(index): the backend saw \(seen), the proxy's path accepts \(predicted)")
            }
            if failures.count >= 3 {
                let input = pieces.map { String(decoding: $0, as: UTF8.self).debugDescription }.joined(separator: " | ")
                Issue.record("seed \(seed): \(failures.joined(separator: "; ")); last input: \(input)")
                return
            }
        }
        #expect(failures.isEmpty, "seed \(seed): \(failures.joined(separator: "; "))")
        #expect(accepted > 2_000, "only \(accepted) requests reached the backend")
    }
}
