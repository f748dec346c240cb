import Foundation
import Logging
import ServiceLifecycle
import SwitchyardControl
import SwitchyardCore
import SwitchyardStore
import Testing

@Suite("Probes, metrics, contract, instances, restarts and outages")
struct SystemAPITests {
    @Test("healthz, readyz, openapi.yaml, unknown paths")
    func probes() async throws {
        try await TestServer.with { server in
            #expect(try await server.get("/healthz", token: nil).json["status"] as? String == "ok")
            let ready = try await server.get("/readyz", token: nil)
            #expect(ready.json["status"] as? String == "ready")
            #expect(ready.json["store"] as? String == "reachable")
            let contract = try await server.get("/openapi.yaml", token: nil)
            #expect(contract.text.hasPrefix("openapi: 3.1.0"))
            #expect(contract.text.contains("/v1/pools/{pool}/backends"))
            let wrongMethod = try await server.request(.DELETE, "/v1/pools")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod[header: "Allow"] == "GET, POST")
            #expect(try await server.request(.TRACE, "/healthz", token: nil).status == 405)
            let unknown = try await server.get("/v2/whatever")
            #expect(unknown.status == 404)
            #expect(unknown[header: "Content-Type"] == "application/problem+json")
        }
    }

    @Test("/metrics counts API requests by operation and status, with latency and the generation")
    func metrics() async throws {
        try await TestServer.with { server in
            try await server.makePool("web")
            _ = try await server.get("/v1/pools/nope")
            let text = try await server.get("/metrics", token: nil).text
            #expect(text.contains("switchyard_api_requests_total{operation=\"createPool\",status=\"201\"} 1"))
            #expect(text.contains("switchyard_api_requests_total{operation=\"getPool\",status=\"404\"} 1"))
            #expect(text.contains("switchyard_api_request_duration_seconds_count{operation=\"createPool\"} 1"))
            #expect(text.contains("switchyard_config_generation 2"))
        }
    }

    @Test("the instance registers and heartbeats")
    func instances() async throws {
        try await TestServer.with { server in
            try await server.makePool("web")
            var applied = 0
            for _ in 0..<50 {
                let items = try await server.get("/v1/instances").json["items"] as? [[String: Any]] ?? []
                applied = items.first?["applied_generation"] as? Int ?? 0
                if applied >= 2 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let items = try await server.get("/v1/instances").json["items"] as? [[String: Any]] ?? []
            #expect(items.count == 1)
            #expect(items.first?["name"] as? String == "test")
            #expect(items.first?["state"] as? String == "running")
            #expect(applied == 2)
        }
    }

    @Test("a heartbeat without backend health keeps the stored one; a changed one replaces it")
    func heartbeatKeepsUnchangedHealth() async throws {
        try await TestServer.with { server in
            try await server.withStore { store in
                let id = UUID()
                try await store.registerInstance(id: id, name: "probe", host: "h", version: "v")
                let since = Date(timeIntervalSince1970: 1_795_709_187)
                let first = ["web/a": BackendHealthReport(status: .healthy, reason: "probe ok", since: since)]
                try await store.heartbeat(instance: id, appliedGeneration: 1, backendHealth: first)
                #expect(try await store.instances().first { $0.id == id }?.backendHealth == first)
                try await store.heartbeat(instance: id, appliedGeneration: 1, backendHealth: nil)
                #expect(try await store.instances().first { $0.id == id }?.backendHealth == first)
                let second = ["web/a": BackendHealthReport(status: .unhealthy, reason: "connect refused", since: since)]
                try await store.heartbeat(instance: id, appliedGeneration: 1, backendHealth: second)
                #expect(try await store.instances().first { $0.id == id }?.backendHealth == second)
            }
        }
    }

    @Test("a restart keeps everything; migrating again is a no-op")
    func restart() async throws {
        let database = try await TestServer.createDatabase()
        defer { Task { try? await TestServer.dropDatabase(database) } }
        let first = try await TestServer.start(storeConfiguration: database)
        try await first.makePool("web", backends: ["a"])
        #expect(try await first.post("/v1/listeners", ["name": "l", "port": 8080, "default_pool": "web"]).status == 201)
        let token = try await first.post("/v1/tokens", ["name": "ci", "scopes": ["read"]]).json["secret"] as? String
        let before = try await first.get("/v1/config").text
        try await first.stop()

        let second = try await TestServer.start(storeConfiguration: database)
        let after = try await second.get("/v1/config").text
        #expect(after == before, "before: \(before)\nafter: \(after)")
        #expect(try await second.get("/v1/pools", token: token).status == 200)
        // Each migration file once, however many starts.
        let migrations = try await second.sql("SELECT count(*)::text FROM schema_migrations")
        #expect(migrations == ["\(try Migrator().migrations.count)"])
        let tokens = try await second.sql("SELECT count(*)::text FROM tokens WHERE name = 'admin'")
        #expect(tokens == ["1"])
        try await second.stop()
    }

    @Test("without a data plane (--proxy-threads 0) the API serves, writes are applied, no listener is bound")
    func controlPlaneAlone() async throws {
        let database = try await TestServer.createDatabase()
        defer { Task { try? await TestServer.dropDatabase(database) } }
        let server = try await TestServer.start(storeConfiguration: database, dataPlane: false)
        try await server.makePool("web", backends: ["a"])
        let listener = try await server.post("/v1/listeners?wait=applied", ["name": "l", "port": 1, "default_pool": "web"])
        #expect(listener.status == 201)
        #expect(listener[header: "Switchyard-Applied"] == "true")
        let instance = try #require((try await server.get("/v1/instances").json["items"] as? [[String: Any]])?.first)
        #expect(instance["applied_generation"] as? Int == listener.generation)
        #expect((instance["listeners"] as? [String: Any])?.isEmpty ?? true)
        #expect(try await server.get("/v1/pools/web/backends/a").status == 200)
        try await server.stop()
    }

    @Test("a migration file changed after it was applied is refused")
    func changedMigration() async throws {
        try await TestServer.with { server in
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sy-migrations-\(UUID())")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let shipped = try Migrator()
            for migration in shipped.migrations {
                try (migration.sql + "\n-- edited\n").write(to: folder.appendingPathComponent(migration.file), atomically: true, encoding: .utf8)
            }
            let store = Store(configuration: server.storeConfiguration, logger: TestServer.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await store.client.run() }
                await #expect(throws: StoreError.self) { try await Migrator(directory: folder).migrate(store) }
                let again = try await shipped.migrate(store)
                #expect(again.isEmpty)
                group.cancelAll()
            }
        }
    }

    @Test("migration 0004 gives idempotency keys of today to the token holding their name, and changes nothing run again")
    func idempotencyMigration() async throws {
        let database = try await TestServer.createDatabase()
        defer { Task { try? await TestServer.dropDatabase(database) } }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sy-migrations-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let shipped = try Migrator()
        let byToken = try #require(shipped.migrations.first { $0.version == 4 })
        for migration in shipped.migrations where migration.version < 4 {
            try migration.sql.write(to: folder.appendingPathComponent(migration.file), atomically: true, encoding: .utf8)
        }
        let store = Store(configuration: database, logger: TestServer.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.client.run() }
            try await Migrator(directory: folder).migrate(store)
            group.cancelAll()
        }
        // Keys as the schema before 0004 kept them: by token name.
        for statement in [
            "INSERT INTO tokens (name, secret_hash, scopes, created_by) VALUES ('ci', 'h', '{write}', 'test')",
            "INSERT INTO idempotency_keys (actor, key, request_hash, status, response) VALUES ('ci', 'k', 'r', 200, '{}')",
            "INSERT INTO idempotency_keys (actor, key, request_hash, status, response) VALUES ('gone', 'k', 'r', 200, '{}')",
        ] {
            _ = try await TestServer.sql(statement, in: database)
        }

        let server = try await TestServer.start(storeConfiguration: database, dataPlane: false)
        let keys = "SELECT t.name || '/' || k.key FROM idempotency_keys k JOIN tokens t ON t.id = k.token_id ORDER BY 1"
        #expect(try await server.sql(keys) == ["ci/k"])
        let schema = """
            SELECT string_agg(table_name || '.' || column_name || ':' || data_type || ':' || is_nullable, ' ' ORDER BY table_name, column_name)
            FROM information_schema.columns WHERE table_name IN ('tokens', 'idempotency_keys')
            """
        let indexes = "SELECT string_agg(indexdef, ' ' ORDER BY indexname) FROM pg_indexes WHERE tablename IN ('tokens', 'idempotency_keys')"
        let before = try await server.sql(schema) + server.sql(indexes) + server.sql("SELECT string_agg(id::text, ' ' ORDER BY name) FROM tokens")
        for statement in SQLScript.statements(in: byToken.sql) { _ = try await server.sql(statement) }
        let after = try await server.sql(schema) + server.sql(indexes) + server.sql("SELECT string_agg(id::text, ' ' ORDER BY name) FROM tokens")
        #expect(after == before)
        #expect(try await server.sql(keys) == ["ci/k"])
        #expect(before[1]?.contains("(token_id, key)") == true, "\(before)")
        try await server.stop()
    }

    @Test("with PostgreSQL unreachable, readyz says degraded and API calls are 503 problems")
    func storeDown() async throws {
        // Port 1 on loopback refuses connections: a store that is down.
        let store = Store(configuration: try StoreConfiguration(url: "postgres://u:p@127.0.0.1:1/none"), logger: TestServer.logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = ControlServer(configuration: .init(host: "127.0.0.1", port: 0), store: store, logger: TestServer.logger)
        let application = try server.makeApplication { continuation.yield($0) }
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: store), .init(service: application)], logger: TestServer.logger))
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let client = TestServer(
            port: port, storeConfiguration: store.configuration, group: group, finished: running)

        let ready = try await client.get("/readyz", token: nil)
        #expect(ready.status == 503)
        #expect(ready.json["status"] as? String == "degraded")
        #expect(try await client.get("/healthz", token: nil).status == 200)
        let write = try await client.post("/v1/pools", ["name": "web"])
        #expect(write.status == 503)
        #expect(write[header: "Content-Type"] == "application/problem+json")
        try await client.stop()
    }
}

@Suite("Store outages")
struct StoreOutageTests {
    @Test("PostgreSQL unreachable: readyz degrades and writes are 503; once it is back, everything recovers by itself")
    func recovery() async throws {
        let database = try await TestServer.createDatabase()
        defer { Task { try? await TestServer.dropDatabase(database) } }
        // Prepare the database (migrations, the admin token) directly.
        let setup = Store(configuration: database, logger: TestServer.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await setup.client.run() }
            try await Migrator().migrate(setup)
            _ = try await setup.bootstrapAdminToken(name: "admin", secretHash: TokenSecretForTests.hash(TestServer.adminToken))
            group.cancelAll()
        }

        // A forwarder whose port is known but closed: PostgreSQL is "down".
        let (forwarder, viaForwarder) = try await TCPForwarder.inFront(of: database)
        try await forwarder.cut()
        let store = Store(configuration: viaForwarder, logger: TestServer.logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let application = try ControlServer(configuration: .init(host: "127.0.0.1", port: 0), store: store, logger: TestServer.logger)
            .makeApplication { continuation.yield($0) }
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: store), .init(service: application)], logger: TestServer.logger))
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let server = TestServer(port: port, storeConfiguration: viaForwarder, group: group, finished: running)

        #expect(try await server.get("/readyz", token: nil).status == 503)
        #expect(try await server.post("/v1/pools", ["name": "web"]).status == 503)
        #expect(try await server.get("/healthz", token: nil).status == 200)

        try await forwarder.start()
        var ready = false
        for _ in 0..<100 where !ready {
            ready = try await server.get("/readyz", token: nil).status == 200
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(ready)
        #expect(try await server.post("/v1/pools", ["name": "web"]).status == 201)
        #expect(try await server.get("/v1/pools/web").status == 200)
        try await server.stop()
        try await forwarder.cut()
    }
}

extension StoreOutageTests {
    @Test("PostgreSQL gone dark mid-connection: calls answer 503 at the query deadline instead of waiting forever, then recover")
    func darkNetwork() async throws {
        let database = try await TestServer.createDatabase()
        defer { Task { try? await TestServer.dropDatabase(database) } }
        let (forwarder, reachable) = try await TCPForwarder.inFront(of: database)
        var viaForwarder = reachable
        viaForwarder.queryTimeout = .seconds(2)
        let server = try await TestServer.start(storeConfiguration: viaForwarder)
        #expect(try await server.makePool("web").status == 201)

        // Connections stay open, nothing comes back: without the deadline these calls never return.
        forwarder.stall(true)
        let started = ContinuousClock.now
        let write = try await server.post("/v1/pools", ["name": "api"])
        #expect(write.status == 503)
        #expect(try await server.get("/v1/pools/web").status == 503)
        #expect(ContinuousClock.now - started < .seconds(10))

        forwarder.stall(false)
        try await server.waitUntil("writes work again", timeout: .seconds(10)) {
            try await server.post("/v1/pools", ["name": "api"]).status == 201
        }
        try await server.stop()
        try await forwarder.cut()
    }
}

@Suite("Configuration feed")
struct ConfigFeedTests {
    @Test("every write reaches the instance's snapshot through NOTIFY, not the poll")
    func appliedQuickly() async throws {
        // The poll would take 10 minutes: only the NOTIFY can make it in time. The bound is loose
        // because the whole suite shares two (often stolen) cores; a quiet run takes milliseconds.
        try await TestServer.with(pollInterval: .seconds(600)) { server in
            for index in 0..<3 {
                let created = try await server.makePool("pool-\(index)")
                let generation = try #require(created.generation)
                let started = ContinuousClock.now
                var applied = 0
                while applied < generation, ContinuousClock.now - started < .seconds(15) {
                    let items = try await server.get("/v1/instances").json["items"] as? [[String: Any]] ?? []
                    applied = items.first?["applied_generation"] as? Int ?? 0
                    if applied < generation { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(applied == generation)
                #expect(ContinuousClock.now - started < .seconds(10))
            }
            let metrics = try await server.get("/metrics", token: nil).text
            #expect(metrics.contains("switchyard_config_generation_applied 4"))
        }
    }
}
