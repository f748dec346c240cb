import Foundation
import Testing

@Suite("Data plane: routing and forwarding")
struct ProxyRoutingTests {
    @Test("a listener created through the API routes by host and path prefix, with X-Forwarded-* set and hop-by-hop fields removed")
    func routing() async throws {
        let api = try await TestBackend.start("api")
        let web = try await TestBackend.start("web")
        let files = try await TestBackend.start("static")
        defer { Task { for backend in [api, web, files] { await backend.stop() } } }
        try await TestServer.with { server in
            for (pool, backend) in [("api", api), ("static", files)] {
                #expect(try await server.post("/v1/pools", ["name": pool]).status == 201)
                try await server.addBackend(pool: pool, name: "b", port: backend.port)
            }
            let port = try await server.proxy(
                pool: "web", backends: [("b", web.port)],
                listener: [
                    "name": "front",
                    "routes": [["host": "api.example.com", "pool": "api"], ["path_prefix": "/static/", "pool": "static"]],
                    "default_pool": "web",
                ])

            let viaHost = try await TestServer.through(port, "/anything", headers: ["Host": "API.example.com:8080"])
            #expect(viaHost.status == 200)
            #expect(viaHost[header: "X-Backend"] == "api")
            #expect(try await TestServer.through(port, "/static/app.js")[header: "X-Backend"] == "static")
            let fallback = try await TestServer.through(port, "/index.html", headers: ["Host": "www.example.com"])
            #expect(fallback[header: "X-Backend"] == "web")
            #expect(fallback.text == "web\n")
            #expect(fallback[header: "X-Seen-XFF"] == "127.0.0.1")
            #expect(fallback[header: "X-Seen-Proto"] == "http")
            #expect(fallback[header: "X-Seen-Host"] == "www.example.com")

            // The client is not a trusted proxy: the forwarding fields it sent are replaced.
            let chained = try await TestServer.through(port, "/", headers: ["X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"])
            #expect(chained[header: "X-Seen-XFF"] == "127.0.0.1")
            #expect(chained[header: "X-Seen-Proto"] == "http")

            // Keep-Alive and fields named in Connection are hop-by-hop: the backend never sees them.
            let raw = try await RawHTTP.exchange(
                port: port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: X-Hop, close\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\n\r\n")
            #expect(raw.hasPrefix("HTTP/1.1 200"))
            #expect(raw.contains("X-Seen-Hop: \r\n"))
            #expect(raw.contains("Connection: close"))
        }
    }

    @Test("bodies stream both ways: a POST body is echoed, big and chunked responses arrive whole, pipelined requests in order")
    func bodies() async throws {
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)])
            let payload = String(repeating: "0123456789", count: 100_000)
            let echoed = try await TestServer.through(port, "/echo", method: .POST, body: payload)
            #expect(echoed.status == 200)
            #expect(echoed.text == payload)
            let big = try await TestServer.through(port, "/big/3000000")
            #expect(big.body.count == 3_000_000)
            #expect(try await TestServer.through(port, "/chunked").text == "first second a")
            let untilClose = try await TestServer.through(port, "/until-close")
            #expect(untilClose.text == "a\n")
            // The backend's close ended that response: it is counted as answered, not left in flight.
            let metrics = try await server.get("/metrics", token: nil).text
            #expect(metrics.contains("switchyard_backend_requests_in_flight{pool=\"web\",backend=\"a\"} 0"))

            let chunkedRequest = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"
            let pipelined = try await RawHTTP.exchange(
                port: port, chunkedRequest + "GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\nGET /big/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let statuses = pipelined.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
            #expect(statuses == ["200", "204", "200"])
            #expect(pipelined.contains("hello world"))
            #expect(pipelined.hasSuffix("xxx"))
        }
    }

    @Test("weights divide traffic (3:1), and a backend registered later takes traffic at once")
    func weights() async throws {
        let heavy = try await TestBackend.start("heavy")
        let light = try await TestBackend.start("light")
        let late = try await TestBackend.start("late")
        defer { Task { for backend in [heavy, light, late] { await backend.stop() } } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("heavy", heavy.port)])
            try await server.addBackend(pool: "web", name: "light", port: light.port, extra: ["weight": 1])
            #expect(try await server.patch("/v1/pools/web/backends/heavy?wait=applied", ["weight": 3]).status == 200)
            for _ in 0..<400 { #expect(try await TestServer.through(port).status == 200) }
            #expect(heavy.requests + light.requests == 400)
            #expect((270...330).contains(heavy.requests), "heavy got \(heavy.requests) of 400")

            try await server.addBackend(pool: "web", name: "late", port: late.port)
            for _ in 0..<50 { _ = try await TestServer.through(port) }
            #expect(late.requests > 0)
        }
    }

    @Test("502 when the backend fails, 503 when the pool has none, 504 when it is too slow; small bodies, never a hang")
    func errors() async throws {
        let slow = try await TestBackend.start("slow")
        defer { Task { await slow.stop() } }
        let closedPort = try TestServer.freePort()
        try await TestServer.with { server in
            let port = try await server.proxy(
                pool: "web", settings: ["retries": 0, "timeouts": ["response_ms": 300]], backends: [("gone", closedPort)])
            let failed = try await TestServer.through(port)
            #expect(failed.status == 502)
            #expect(failed.text.hasPrefix("502 Bad Gateway"))

            #expect(try await server.delete("/v1/pools/web/backends/gone?wait=applied").status == 204)
            let empty = try await TestServer.through(port)
            #expect(empty.status == 503)
            #expect(empty.text.contains("no healthy backend"))

            try await server.addBackend(pool: "web", name: "slow", port: slow.port)
            let started = ContinuousClock.now
            let timedOut = try await TestServer.through(port, "/sleep/3000")
            #expect(timedOut.status == 504)
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(try await TestServer.through(port, "/").status == 200)
            // Every exchange was accounted for exactly once: nothing is left in flight.
            let metrics = try await server.get("/metrics", token: nil).text
            #expect(metrics.contains("switchyard_listener_requests_in_flight{listener=\"web-listener\"} 0"))
            #expect(metrics.contains("switchyard_pool_requests_in_flight{pool=\"web\"} 0"))
            #expect(metrics.contains("switchyard_backend_requests_in_flight{pool=\"web\",backend=\"slow\"} 0"))
            #expect(metrics.contains("switchyard_listener_responses_total{listener=\"web-listener\",class=\"5xx\"} 3"))
        }
    }

    @Test("wait=applied answers once the change is live; a bad timeout_ms is a 400 naming it")
    func waitApplied() async throws {
        try await TestServer.with { server in
            let created = try await server.post("/v1/pools?wait=applied&timeout_ms=2000", ["name": "web"])
            #expect(created.status == 201)
            #expect(created[header: "Switchyard-Applied"] == "true")
            let instances = try await server.get("/v1/instances")
            let applied = (instances.json["items"] as? [[String: Any]])?.first?["applied_generation"] as? Int
            #expect(applied ?? 0 >= created.generation ?? Int.max)
            let bad = try await server.post("/v1/pools?wait=applied&timeout_ms=0", ["name": "other"])
            #expect(bad.status == 400)
            #expect(bad.errorFields == ["timeout_ms"])
            let alone = try await server.post("/v1/pools?timeout_ms=60001&wait=soon", ["name": "other"])
            #expect(alone.status == 400)
            #expect(alone.errorFields == ["wait", "timeout_ms"])
        }
    }
}
