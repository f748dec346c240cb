import Foundation
import Testing

@Suite("Data plane: per-client rate limits")
struct ProxyRateLimitTests {
    @Test("requests over a client's rate get 429 with Retry-After; the limit changes live")
    func requestRate() async throws {
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(
                pool: "web", backends: [("a", backend.port)], listener: ["rate_limit": ["requests_per_second": 1, "request_burst": 3]])
            let connection = try RawConnection(port: port)
            for _ in 0..<3 {
                connection.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(await connection.receive(until: "a\n").hasPrefix("HTTP/1.1 200 "))
            }
            connection.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            let refused = await connection.receive(until: "client\n")
            #expect(refused.hasPrefix("HTTP/1.1 429 Too Many Requests\r\n") && refused.contains("\r\nRetry-After: 1\r\n"), "\(refused)")
            #expect(backend.requests == 3)
            let metrics = try await server.get("/metrics", token: nil).text
            #expect(MetricsText.value(of: "switchyard_listener_rate_limited_total{listener=\"web-listener\",kind=\"request\"}", in: metrics) == 1)
            #expect(metrics.contains("switchyard_listener_responses_total{listener=\"web-listener\",class=\"4xx\"} 1\n"))

            // Raised through the API: the new limit holds at once.
            let raised = try await server.put(
                "/v1/listeners/web-listener?wait=applied",
                ["bind": "127.0.0.1", "port": port, "default_pool": "web", "rate_limit": ["requests_per_second": 1000]])
            #expect(raised.status == 200, "\(raised.text)")
            for _ in 0..<20 { #expect(try await TestServer.through(port).status == 200) }
        }
    }

    @Test("connections over a client's rate: 429 on an http listener, refused on a tcp listener")
    func connectionRate() async throws {
        let backend = try await TestBackend.start("a")
        let echo = try await TCPEchoServer.start("echo")
        defer { Task { await backend.stop(); await echo.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(
                pool: "web", backends: [("a", backend.port)], listener: ["rate_limit": ["connections_per_second": 1, "connection_burst": 2]])
            for _ in 0..<2 {
                #expect(try await RawHTTP.exchange(port: port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").hasPrefix("HTTP/1.1 200 "))
            }
            let refused = try await RawHTTP.exchange(port: port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(refused.hasPrefix("HTTP/1.1 429 ") && refused.contains("Retry-After: "), "\(refused)")
            #expect(backend.requests == 2)

            let tcpPort = try await server.proxy(
                pool: "db", backends: [("e", echo.port)], listener: ["rate_limit": ["connections_per_second": 1, "connection_burst": 1]],
                protocol: "tcp")
            let first = try RawConnection(port: tcpPort)
            first.send("one\n")
            #expect(await first.receive(until: "one\n").contains("one"))
            let second = try RawConnection(port: tcpPort)
            #expect(await second.closedByPeer())
            let metrics = try await server.get("/metrics", token: nil).text
            #expect(MetricsText.value(of: "switchyard_listener_rate_limited_total{listener=\"web-listener\",kind=\"connection\"}", in: metrics) == 1)
            #expect(MetricsText.value(of: "switchyard_listener_rate_limited_total{listener=\"db-listener\",kind=\"connection\"}", in: metrics) == 1)
        }
    }

    @Test func validation() async throws {
        try await TestServer.with { server in
            #expect(try await server.post("/v1/pools", ["name": "db", "protocol": "tcp"]).status == 201)
            let bad = try await server.post(
                "/v1/listeners",
                ["name": "l", "bind": "127.0.0.1", "port": try TestServer.freePort(), "protocol": "tcp", "default_pool": "db",
                 "rate_limit": ["requests_per_second": 5, "connection_burst": 0]])
            #expect(bad.status == 400)
            #expect(bad.text.contains("rate_limit.requests_per_second") && bad.text.contains("rate_limit.connection_burst"), "\(bad.text)")
        }
    }
}
