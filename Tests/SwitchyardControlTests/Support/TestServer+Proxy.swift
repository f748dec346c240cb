import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension TestServer {
    /// A TCP port that was free a moment ago (the kernel picks it; listeners need a fixed port).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw TestSetupError("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Creates pool `pool` (with `settings`) and its backends, then a listener on a free port routing to
    /// it; returns the port once the listener is bound.
    func proxy(
        pool: String, settings: [String: Any] = [:], backends: [(name: String, port: Int)], listener: [String: Any] = [:],
        protocol listenerProtocol: String = "http"
    ) async throws -> Int {
        var poolBody = settings
        poolBody["name"] = pool
        if listenerProtocol == "tcp" { poolBody["protocol"] = "tcp" }
        let created = try await post("/v1/pools", poolBody)
        #expect(created.status == 201, "create pool: \(created.text)")
        for backend in backends { try await addBackend(pool: pool, name: backend.name, port: backend.port) }
        let port = try Self.freePort()
        var listenerBody = listener
        listenerBody["name"] = listenerBody["name"] ?? "\(pool)-listener"
        listenerBody["bind"] = "127.0.0.1"
        listenerBody["port"] = port
        listenerBody["protocol"] = listenerProtocol
        if listenerBody["routes"] == nil { listenerBody["default_pool"] = pool }
        let response = try await post("/v1/listeners?wait=applied", listenerBody)
        #expect(response.status == 201, "create listener: \(response.text)")
        #expect(response[header: "Switchyard-Applied"] == "true")
        let name = listenerBody["name"] as! String
        try await waitUntil("listener \(name) bound") { proxy?.listenerStates()[name]?.bound == true }
        return port
    }

    func addBackend(pool: String, name: String, port: Int, extra: [String: Any] = [:]) async throws {
        var body = extra
        body["name"] = name
        body["address"] = "127.0.0.1"
        body["port"] = port
        let response = try await post("/v1/pools/\(pool)/backends?wait=applied", body)
        #expect(response.status == 201, "create backend \(name): \(response.text)")
    }

    /// Polls `condition` every 10 ms until it holds, failing after `timeout`.
    func waitUntil(_ what: String, timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw TestSetupError("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// One request through a listener of the data plane.
    static func through(
        _ port: Int, _ path: String = "/", method: HTTPMethod = .GET, headers: [String: String] = [:], body: String? = nil
    ) async throws -> Response {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let body { request.body = .bytes(Data(body.utf8)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let collected = try await response.body.collect(upTo: 64 << 20)
        return Response(status: Int(response.status.code), headers: response.headers, body: Data(buffer: collected))
    }
}

/// A load client: `concurrency` loops sending requests through a listener until stopped, counting
/// every response that is not a 2xx and every transport error.
final class LoadClient: Sendable {
    private let task: Task<(ok: Int, failed: [String]), Never>
    private let stopFlag: StopFlag

    final class StopFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.withLock { value } }
        func set() { lock.withLock { value = true } }
    }

    init(port: Int, path: String = "/", concurrency: Int = 8) {
        let stopFlag = StopFlag()
        self.stopFlag = stopFlag
        task = Task {
            await withTaskGroup(of: (Int, [String]).self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        var ok = 0
                        var failed: [String] = []
                        while !stopFlag.isSet {
                            do {
                                let response = try await TestServer.through(port, path)
                                if (200..<300).contains(response.status) { ok += 1 } else { failed.append("\(response.status) \(response.text)") }
                            } catch {
                                failed.append("\(error)")
                            }
                        }
                        return (ok, failed)
                    }
                }
                var ok = 0
                var failed: [String] = []
                for await (count, failures) in group {
                    ok += count
                    failed += failures
                }
                return (ok, failed)
            }
        }
    }

    /// Stops the loops and returns how many requests succeeded and what failed.
    func stop() async -> (ok: Int, failed: [String]) {
        stopFlag.set()
        return await task.value
    }
}
