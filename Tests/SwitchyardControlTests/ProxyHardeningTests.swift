import Foundation
import Testing

@Suite("Data plane: hardening")
struct ProxyHardeningTests {
    static let cases: [(String, String)] = [
        ("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", "414"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 70_000) + "\r\n\r\n", "431"),
        ("GET / HTTP/1.1\r\nHost: x\r\n" + String(repeating: "X-F: 1\r\n", count: 101) + "\r\n", "431"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabc", "400"),
        ("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", "400"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", "400"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", "400"),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", "400"),
        ("GET / HTTP/1.1\r\nX-A: b\r\n\r\n", "400"),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "400"),
        ("GET / HTTP/3.0\r\nHost: x\r\n\r\n", "505"),
    ]

    @Test("each hardening case is refused with its status and a closed connection; the backend never sees it")
    func refusals() async throws {
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)])
            for (request, status) in Self.cases {
                let reply = try await RawHTTP.exchange(port: port, request)
                #expect(reply.hasPrefix("HTTP/1.1 \(status) "), "\(request.prefix(60).debugDescription) → \(reply.prefix(60).debugDescription)")
                #expect(reply.contains("Connection: close"))
            }
            #expect(backend.requests == 0)
            #expect(try await TestServer.through(port).status == 200)
            let metrics = try await server.get("/metrics", token: nil).text
            #expect(metrics.contains("switchyard_listener_requests_in_flight{listener=\"web-listener\"} 0"))
            #expect(metrics.contains("switchyard_pool_requests_in_flight{pool=\"web\"} 0"))
        }
    }

    @Test("a client that never finishes its head gets 408, while other clients are served meanwhile")
    func slowClient() async throws {
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)])
            // The test server's head timeout is 500 ms.
            async let stalled = RawHTTP.exchange(port: port, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", timeout: 5)
            async let garbage = RawHTTP.exchange(port: port, "\u{16}\u{03}\u{01}\u{02} not http\r\n\r\n", timeout: 5)
            for _ in 0..<20 { #expect(try await TestServer.through(port).status == 200) }
            let started = ContinuousClock.now
            #expect(try await stalled.hasPrefix("HTTP/1.1 408 "))
            #expect(ContinuousClock.now - started < .seconds(3))
            #expect(try await garbage.hasPrefix("HTTP/1.1 400 "))
            let metrics = try await server.get("/metrics", token: nil).text
            #expect(metrics.contains("switchyard_listener_responses_total{listener=\"web-listener\",class=\"4xx\"} 2"))
        }
    }

    @Test("the firewall: a denied client is closed before its request is read")
    func firewall() async throws {
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)], listener: ["deny": ["127.0.0.0/8"]])
            let reply = try await RawHTTP.exchange(port: port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(reply.isEmpty)
            #expect(backend.requests == 0)
            let replaced = try await server.put(
                "/v1/listeners/web-listener?wait=applied", ["bind": "127.0.0.1", "port": port, "default_pool": "web", "allow": ["127.0.0.1/32"]])
            #expect(replaced.status == 200)
            #expect(try await TestServer.through(port).status == 200)
        }
    }

    @Test("a client that half-closes after a complete request still gets its response")
    func halfClosedClient() async throws {
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)])
            let reply = try await RawHTTP.exchange(port: port, "GET /sleep/100 HTTP/1.1\r\nHost: x\r\n\r\n", closeWrite: true)
            #expect(reply.hasPrefix("HTTP/1.1 200 ") && reply.contains("Connection: close\r\n") && reply.hasSuffix("a\n"), "\(reply.debugDescription)")
            // Half-closed in the middle of a head: nothing to answer, the connection just closes.
            let partial = try await RawHTTP.exchange(port: port, "GET / HTTP/1.1\r\nHost:", closeWrite: true)
            #expect(partial.isEmpty)
        }
    }

    @Test("a pipelined request whose body is still to come when its turn arrives is read and answered")
    func pipelinedBodyLater() async throws {
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)])
            let client = try RawConnection(port: port, timeout: 5)
            #expect(client.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab"))
            let first = await client.read(timeout: 5, until: "a\n")
            #expect(first.text.hasPrefix("HTTP/1.1 200 "))
            // The rest of the second body, once the first response is out: well within the body timeout.
            #expect(client.send("cd"))
            let second = await client.read(timeout: 5, until: "abcd")
            #expect(second.text.hasPrefix("HTTP/1.1 200 ") && second.text.hasSuffix("abcd") && !second.closed, "\(second.text.debugDescription)")
        }
    }

    @Test("a response head the backend garbles is answered 502, and the client's connection stays usable")
    func invalidResponseHead() async throws {
        let backend = try await RawBackend.start(response: "HTTP/1.1 2x0 Nope\r\n\r\n")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)])
            let client = try RawConnection(port: port, timeout: 5)
            #expect(client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
            let reply = await client.read(timeout: 5, until: "invalid response from backend\n")
            #expect(reply.text.hasPrefix("HTTP/1.1 502 ") && !reply.closed, "\(reply.text.debugDescription)")
            // The same connection goes on (the backend may be ejected by now: 502 or 503).
            #expect(client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
            let again = await client.read(timeout: 1)
            #expect(again.text.hasPrefix("HTTP/1.1 50") && !again.closed, "\(again.text.debugDescription)")
        }
    }
}
