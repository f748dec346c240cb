import Foundation
import Testing

/// Slow peers, one per phase: each expiry gives its answer (408, 504 or a close), counts in /metrics,
/// and frees both sides.
@Suite("Data plane: a timeout for every phase")
struct ProxyTimeoutTests {
    static func timeouts(in metrics: String, _ phase: String, listener: String = "web-listener") -> Int {
        MetricsText.value(of: "switchyard_listener_timeouts_total{listener=\"\(listener)\",phase=\"\(phase)\"}", in: metrics)
    }

    @Test("a request body trickled below the minimum rate, or gone silent, is answered 408 and the backend connection freed")
    func slowRequestBody() async throws {
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(
                pool: "web", backends: [("a", backend.port)], listener: ["timeouts": ["client_body_ms": 300, "client_body_min_rate": 100]])
            // One byte every 50 ms: 20 B/s, far below 100 B/s, yet never silent for 300 ms.
            let trickled = try RawConnection(port: port)
            trickled.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
            let started = ContinuousClock.now
            var answer = ""
            for _ in 0..<100 {
                if !trickled.send("x") { break }
                try await Task.sleep(for: .milliseconds(50))
                trickled.setTimeout(0.01)
                answer += await trickled.receive(until: "\r\n\r\n")
                if answer.contains("\r\n\r\n") { break }
            }
            #expect(answer.hasPrefix("HTTP/1.1 408 "), "\(answer.debugDescription)")
            #expect(ContinuousClock.now - started < .seconds(3))

            // Silent after ten bytes, with no minimum rate: cut after 300 ms of silence.
            let changed = try await server.put(
                "/v1/listeners/web-listener?wait=applied",
                ["bind": "127.0.0.1", "port": port, "default_pool": "web", "timeouts": ["client_body_ms": 300, "client_body_min_rate": 0]])
            #expect(changed.status == 200, "\(changed.text)")
            let silent = try RawConnection(port: port)
            silent.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789")
            #expect(await silent.receive(until: "\r\n\r\n").hasPrefix("HTTP/1.1 408 "))
            #expect(await silent.closedByPeer())

            let metrics = try await server.get("/metrics", token: nil).text
            #expect(Self.timeouts(in: metrics, "client_body") == 2)
            #expect(metrics.contains("switchyard_pool_requests_in_flight{pool=\"web\"} 0\n"))
            #expect(metrics.contains("switchyard_backend_requests_in_flight{pool=\"web\",backend=\"a\"} 0\n"))
        }
    }

    @Test("a client that never reads its response is disconnected after client_send_ms, freeing the backend")
    func clientNotReading() async throws {
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)], listener: ["timeouts": ["client_send_ms": 300]])
            let lazy = try RawConnection(port: port)
            lazy.send("GET /big/50000000 HTTP/1.1\r\nHost: x\r\n\r\n")
            try await server.waitUntil("the send timeout", timeout: .seconds(10)) {
                Self.timeouts(in: try await server.get("/metrics", token: nil).text, "client_send") == 1
            }
            let metrics = try await server.get("/metrics", token: nil).text
            #expect(metrics.contains("switchyard_listener_active_connections{listener=\"web-listener\"} 0\n"))
            #expect(metrics.contains("switchyard_backend_requests_in_flight{pool=\"web\",backend=\"a\"} 0\n"))
            #expect(try await TestServer.through(port).status == 200)
        }
    }

    @Test("a backend that stalls mid-body: the client gets what came, then a close, after response_ms of silence")
    func backendStallsMidBody() async throws {
        let backend = try await RawBackend.start(response: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(
                pool: "web", settings: ["timeouts": ["response_ms": 300]], backends: [("a", backend.port)])
            let started = ContinuousClock.now
            let reply = try await RawHTTP.exchange(port: port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout: 5)
            #expect(reply.hasPrefix("HTTP/1.1 200 ") && reply.hasSuffix("0123456789"), "\(reply.debugDescription)")
            #expect(ContinuousClock.now - started < .seconds(3))
            let metrics = try await server.get("/metrics", token: nil).text
            #expect(Self.timeouts(in: metrics, "backend_body") == 1)
            #expect(metrics.contains("switchyard_backend_requests_in_flight{pool=\"web\",backend=\"a\"} 0\n"))
        }
    }

    @Test("an idle TCP session is closed after tcp_idle_ms; one with traffic stays")
    func tcpIdle() async throws {
        let echo = try await TCPEchoServer.start("echo")
        defer { Task { await echo.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(
                pool: "db", backends: [("a", echo.port)], listener: ["timeouts": ["tcp_idle_ms": 1500]], protocol: "tcp")
            let busy = try RawConnection(port: port)
            let idle = try RawConnection(port: port)
            idle.send("hello\n")
            #expect(await idle.receive(until: "hello\n").contains("hello"))
            // The busy session talks every 100 ms, well past the idle timeout of the other (a generous
            // one: a loaded machine can pause a test for a few hundred milliseconds).
            for index in 0..<25 {
                busy.send("\(index)\n")
                #expect(await busy.receive(until: "\(index)\n").contains("\(index)"))
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(await idle.closedByPeer())
            busy.send("still here\n")
            #expect(await busy.receive(until: "still here\n").contains("still here"))
            let metrics = try await server.get("/metrics", token: nil).text
            #expect(Self.timeouts(in: metrics, "tcp_idle", listener: "db-listener") == 1)
        }
    }

    @Test("listener timeouts are validated and shown as stored")
    func validation() async throws {
        try await TestServer.with { server in
            let port = try TestServer.freePort()
            #expect(try await server.post("/v1/pools", ["name": "web"]).status == 201)
            let bad = try await server.post(
                "/v1/listeners",
                ["name": "l", "bind": "127.0.0.1", "port": port, "default_pool": "web",
                 "timeouts": ["client_body_ms": 0, "tcp_idle_ms": 1000]])
            #expect(bad.status == 400)
            #expect(bad.text.contains("timeouts.client_body_ms") && bad.text.contains("timeouts.tcp_idle_ms"))
            let good = try await server.post(
                "/v1/listeners", ["name": "l", "bind": "127.0.0.1", "port": port, "default_pool": "web", "timeouts": ["client_send_ms": 5000]])
            #expect(good.status == 201, "\(good.text)")
            #expect(good.text.replacingOccurrences(of: " ", with: "").contains("\"client_send_ms\":5000"))
        }
    }
}
