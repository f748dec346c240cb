import Foundation
import Testing

@Suite("Data plane: health, failover and live changes")
struct ProxyResilienceTests {
    /// Fast probes so that health moves within a test's patience.
    static var fastChecks: [String: Any] {
        [
            "health_check": ["type": "http", "path": "/", "interval_ms": 100, "timeout_ms": 1000, "rise": 2, "fall": 1],
            "passive": ["max_failures": 1, "eject_ms": 60_000],
        ]
    }

    func health(_ server: TestServer, _ pool: String, _ backend: String) async throws -> (status: String, reason: String) {
        let health = try await server.get("/v1/pools/\(pool)/backends/\(backend)").json["health"] as? [String: Any]
        return (health?["status"] as? String ?? "?", health?["reason"] as? String ?? "")
    }

    @Test("a killed backend is ejected and traffic goes on without a failed request; it rejoins after rise probes")
    func killedBackend() async throws {
        let a = try await TestBackend.start("a")
        let b = try await TestBackend.start("b")
        defer { Task { await b.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", settings: Self.fastChecks, backends: [("a", a.port), ("b", b.port)])
            try await server.waitUntil("both healthy") {
                let a = try await health(server, "web", "a").status
                let b = try await health(server, "web", "b").status
                return a == "healthy" && b == "healthy"
            }
            let load = LoadClient(port: port)
            try await Task.sleep(for: .milliseconds(200))
            await a.stop()
            try await Task.sleep(for: .milliseconds(500))
            let result = await load.stop()
            #expect(result.failed.isEmpty, "failed: \(result.failed.prefix(5))")
            #expect(result.ok > 0)
            // Traffic goes on: counted by requests, not by how many a loaded machine fits in 700 ms.
            for _ in 0..<20 { #expect(try await TestServer.through(port).status == 200) }
            let (status, reason) = try await health(server, "web", "a")
            #expect(status == "unhealthy")
            #expect(!reason.isEmpty)
            let metrics = try await server.get("/metrics", token: nil).text
            #expect(metrics.contains("switchyard_backend_up{pool=\"web\",backend=\"a\"} 0"))
            #expect(metrics.contains("switchyard_backend_health_transitions_total{pool=\"web\",backend=\"a\",to=\"unhealthy\"}"))

            // Back on the same port: `rise` passing probes, then traffic again.
            let revived = try await TestBackend.start("a", port: a.port)
            defer { Task { await revived.stop() } }
            try await server.waitUntil("a healthy again") { try await health(server, "web", "a").status == "healthy" }
            for _ in 0..<20 { _ = try await TestServer.through(port) }
            #expect(revived.requests > 0)
        }
    }

    @Test("active_passive: the backup serves only while no primary is healthy")
    func activePassive() async throws {
        let primary = try await TestBackend.start("primary")
        let backup = try await TestBackend.start("backup")
        defer { Task { await backup.stop() } }
        try await TestServer.with { server in
            var settings = Self.fastChecks
            settings["mode"] = "active_passive"
            let port = try await server.proxy(pool: "db", settings: settings, backends: [("primary", primary.port)])
            try await server.addBackend(pool: "db", name: "backup", port: backup.port, extra: ["backup": true])
            for _ in 0..<20 { #expect(try await TestServer.through(port)[header: "X-Backend"] == "primary") }
            #expect(backup.requests == 0)

            await primary.stop()
            // Requests keep succeeding: connect failures retry, and the primary is ejected.
            for _ in 0..<20 { #expect(try await TestServer.through(port).status == 200) }
            #expect(try await TestServer.through(port)[header: "X-Backend"] == "backup")

            let revived = try await TestBackend.start("primary", port: primary.port)
            defer { Task { await revived.stop() } }
            try await server.waitUntil("primary healthy") { try await health(server, "db", "primary").status == "healthy" }
            try await server.waitUntil("traffic back on the primary") {
                try await TestServer.through(port)[header: "X-Backend"] == "primary"
            }
        }
    }

    @Test("drain, maintenance and deregistration under load lose no request")
    func drainUnderLoad() async throws {
        let backends = try await [TestBackend.start("a"), TestBackend.start("b"), TestBackend.start("c"), TestBackend.start("d")]
        defer { Task { for backend in backends { await backend.stop() } } }
        try await TestServer.with { server in
            let port = try await server.proxy(
                pool: "web", settings: ["drain_timeout_ms": 5000],
                backends: [("a", backends[0].port), ("b", backends[1].port), ("c", backends[2].port)])
            let load = LoadClient(port: port, path: "/sleep/5")
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await server.patch("/v1/pools/web/backends/a?wait=applied", ["admin_state": "draining"]).status == 200)
            try await Task.sleep(for: .milliseconds(100))
            let drained = backends[0].requests
            try await Task.sleep(for: .milliseconds(300))
            #expect(backends[0].requests == drained, "a draining backend got new requests")
            #expect(try await server.patch("/v1/pools/web/backends/b?wait=applied", ["admin_state": "maintenance"]).status == 200)
            try await Task.sleep(for: .milliseconds(200))
            try await server.addBackend(pool: "web", name: "d", port: backends[3].port)
            #expect(try await server.delete("/v1/pools/web/backends/a?wait=applied").status == 204)
            #expect(try await server.delete("/v1/pools/web/backends/c?wait=applied").status == 204)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await server.patch("/v1/pools/web/backends/b?wait=applied", ["admin_state": "enabled"]).status == 200)
            try await Task.sleep(for: .milliseconds(200))
            let result = await load.stop()
            #expect(result.failed.isEmpty, "failed: \(result.failed.prefix(5))")
            #expect(result.ok > 50)
            #expect(backends[3].requests > 0)
        }
    }

    @Test("100 configuration changes while a load client runs: zero failed requests")
    func changesUnderLoad() async throws {
        let backends = try await [TestBackend.start("a"), TestBackend.start("b"), TestBackend.start("c")]
        defer { Task { for backend in backends { await backend.stop() } } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backends[0].port), ("b", backends[1].port)])
            let load = LoadClient(port: port)
            let algorithms = ["round_robin", "least_connections", "random_two_choices", "source_hash", "consistent_hash"]
            for change in 0..<100 {
                let response: TestServer.Response
                switch change % 4 {
                case 0: response = try await server.patch("/v1/pools/web/backends/a", ["weight": 1 + change % 7])
                case 1: response = try await server.patch("/v1/pools/web", ["algorithm": algorithms[change % algorithms.count]])
                // Applied before it goes again: under a stream of writes reloads take in several at once,
                // and c must be live at times for the last expectation.
                case 2:
                    response = try await server.post(
                        "/v1/pools/web/backends?wait=applied", ["name": "c", "address": "127.0.0.1", "port": backends[2].port])
                default: response = try await server.delete("/v1/pools/web/backends/c")
                }
                #expect((200..<300).contains(response.status), "change \(change): \(response.text)")
            }
            try await Task.sleep(for: .milliseconds(200))
            let result = await load.stop()
            #expect(result.failed.isEmpty, "failed: \(result.failed.prefix(5))")
            #expect(result.ok > 100)
            #expect(backends[2].requests > 0)
        }
    }

    @Test("a listener on a taken port is reported in the instance state and /metrics, not a crash; it binds once the port is free")
    func portConflict() async throws {
        let squatter = try await TestBackend.start("squatter")
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            #expect(try await server.post("/v1/pools", ["name": "web"]).status == 201)
            try await server.addBackend(pool: "web", name: "a", port: backend.port)
            let created = try await server.post(
                "/v1/listeners?wait=applied", ["name": "taken", "bind": "127.0.0.1", "port": squatter.port, "default_pool": "web"])
            #expect(created.status == 201)
            try await server.waitUntil("the conflict in GET /v1/instances") {
                let items = try await server.get("/v1/instances").json["items"] as? [[String: Any]] ?? []
                let listeners = items.first?["listeners"] as? [String: [String: Any]]
                return listeners?["taken"]?["error"] as? String == "address already in use" && listeners?["taken"]?["bound"] as? Bool == false
            }
            #expect(try await server.get("/metrics", token: nil).text.contains("switchyard_listener_bound{listener=\"taken\"} 0"))
            await squatter.stop()
            try await server.waitUntil("the listener bound after the port freed") { server.proxy?.listenerStates()["taken"]?.bound == true }
            #expect(try await TestServer.through(squatter.port)[header: "X-Backend"] == "a")

            #expect(try await server.delete("/v1/listeners/taken?wait=applied").status == 204)
            try await server.waitUntil("the listener closed") { server.proxy?.listenerStates()["taken"] == nil }
            await #expect(throws: (any Error).self) { try await RawHTTP.exchange(port: squatter.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") }
        }
    }

    @Test("a tcp pool carries bytes both ways and passes a half-close on")
    func tcpPool() async throws {
        let echo = try await TCPEchoServer.start("echo")
        defer { Task { await echo.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "db", backends: [("echo", echo.port)], protocol: "tcp")
            let reply = try await RawHTTP.exchange(port: port, "hello through tcp", closeWrite: true)
            #expect(reply == "echo:hello through tcp:bye")
            let large = String(repeating: "z", count: 2_000_000)
            let bigReply = try await RawHTTP.exchange(port: port, large, timeout: 10, closeWrite: true)
            #expect(bigReply.count == large.count + "echo:".count + ":bye".count)
        }
    }

    @Test("drain_timeout_ms: a request still running when the drain time is up is cut, and answered, not left hanging")
    func drainTimeoutCuts() async throws {
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", settings: ["drain_timeout_ms": 300], backends: [("a", backend.port)])
            let started = ContinuousClock.now
            // The backend would answer after 12 s; the drain cuts at 300 ms (the bound leaves room
            // for a busy machine).
            async let slow = TestServer.through(port, "/sleep/12000")
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await server.patch("/v1/pools/web/backends/a?wait=applied", ["admin_state": "draining"]).status == 200)
            let answer = try await slow
            #expect(ContinuousClock.now - started < .seconds(8))
            #expect([502, 503].contains(answer.status), "\(answer.status) \(answer.text)")
        }
    }

    @Test("fail static: with PostgreSQL unreachable the data plane keeps serving the last snapshot")
    func failStatic() async throws {
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        let database = try await TestServer.createDatabase()
        defer { Task { try? await TestServer.dropDatabase(database) } }
        let (forwarder, viaForwarder) = try await TCPForwarder.inFront(of: database)
        let server = try await TestServer.start(storeConfiguration: viaForwarder)
        let port = try await server.proxy(pool: "web", backends: [("a", backend.port)])
        #expect(try await TestServer.through(port).status == 200)

        try await forwarder.cut()
        for _ in 0..<50 { #expect(try await TestServer.through(port).status == 200) }
        try await Task.sleep(for: .seconds(1))
        for _ in 0..<50 { #expect(try await TestServer.through(port).status == 200) }
        // The control side: cutting live connections can leave a postgres-nio query waiting (see
        // docs/operations.md); readyz then hangs instead of answering 503.
        await withKnownIssue("a query on a connection cut under postgres-nio may hang", isIntermittent: true) {
            try await server.waitUntil("readyz degraded", timeout: .seconds(5)) {
                try await server.get("/readyz", token: nil).status == 503
            }
        }
        // PostgreSQL back before shutting down, so that shutdown does not wait on it.
        try await forwarder.start()
        try await server.stop()
        try await forwarder.cut()
    }
}
