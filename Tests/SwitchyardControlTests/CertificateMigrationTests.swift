import Foundation
import SwitchyardCore
import SwitchyardStore
import Testing

/// Migration 0006 on a database whose https listener carries its certificate and key inline, as before
/// certificates were a resource: the start that follows finishes the move.
@Suite("Certificates: migration of inline listener TLS", .serialized)
struct CertificateMigrationTests {
    /// The migrations up to `last` (a copy of the repository's files), to make a database of an earlier version.
    static func migrations(through last: String) throws -> URL {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/SwitchyardStore/Migrations")
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: source.path) where file.hasSuffix(".sql") && file <= last {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: target.appendingPathComponent(file))
        }
        return target
    }

    @Test("an inline certificate becomes '<listener>-cert', its key sealed; no plain key is left in listeners or the audit log")
    func inlineListenerTLS() async throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.leaf("secure.test", dnsNames: ["secure.test"])
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        let database = try await TestServer.createDatabase()
        do {
            // A database of the version before: its migrations, a pool and an https listener with inline TLS.
            let old = try Self.migrations(through: "0004_idempotency_by_token.sql")
            defer { try? FileManager.default.removeItem(at: old) }
            let store = Store(configuration: database, logger: TestServer.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                try await Migrator(directory: old).migrate(store)
                group.cancelAll()
            }
            let port = try TestServer.freePort()
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            var pool = PoolSpec.defaults
            pool.healthCheck.type = .none
            let poolSettings = String(decoding: try encoder.encode(pool), as: UTF8.self)
            let tls = "jsonb_build_object('certificate_pem', '\(leaf.certificate)', 'private_key_pem', '\(leaf.key)')"
            let listener =
                "jsonb_build_object('bind', '127.0.0.1', 'port', \(port), 'protocol', 'https', 'default_pool', 'web', 'routes', '[]'::jsonb, 'allow', '[]'::jsonb, 'deny', '[]'::jsonb, 'tls', \(tls))"
            for statement in [
                "UPDATE config_state SET generation = 2",
                """
                INSERT INTO pools (name, protocol, settings, version) VALUES ('web', 'http', '\(poolSettings)', 1)
                """,
                "INSERT INTO backends (pool, name, address, port, weight, backup, admin_state, version) VALUES ('web', 'a', '127.0.0.1', \(backend.port), 1, false, 'enabled', 1)",
                "INSERT INTO listeners (name, bind, port, protocol, default_pool, settings, version) VALUES ('secure', '127.0.0.1', \(port), 'https', 'web', jsonb_build_object('tls', \(tls), 'allow', '[]'::jsonb, 'deny', '[]'::jsonb), 2)",
                "INSERT INTO audit_log (generation, actor, request, action, resource_type, resource, before, after) VALUES (2, 'admin', 'POST /v1/listeners', 'create', 'listener', 'secure', NULL, \(listener))",
            ] {
                _ = try await TestServer.sql(statement, in: database)
            }

            // Without a master key the start is refused (plain keys wait), but the listener rows are clean already.
            await #expect(throws: (any Error).self) {
                let server = try await TestServer.start(storeConfiguration: database, masterKey: nil)
                try? await server.stop()
            }
            #expect(try await TestServer.sql("SELECT count(*)::text FROM certificate_imports", in: database) == ["1"])

            let (logger, lines) = RecordingLogHandler.logger()
            let server = try await TestServer.start(storeConfiguration: database, logger: logger)
            do {
                let certificate = try await server.get("/v1/certificates/secure-cert")
                #expect(certificate.status == 200, "\(certificate.text)")
                #expect(certificate.json["fingerprint_sha256"] as? String == (try fixture.fingerprint(leaf.certificate)))
                #expect(certificate.json["san_names"] as? [String] == ["secure.test"])
                let listenerRead = try await server.get("/v1/listeners/secure")
                #expect((listenerRead.json["tls"] as? [String: Any])?["certificates"] as? [String] == ["secure-cert"], "\(listenerRead.text)")
                let changes = try await server.get("/v1/changes")
                #expect(changes.text.contains("migration 0006_listener_certificates"), "\(changes.text)")

                // The listener serves the moved certificate.
                try await server.waitUntil("listener bound") { server.proxy?.listenerStates()["secure"]?.bound == true }
                #expect(try await ProxyTLSTests.servedSubject(port: port, serverName: "secure.test") == "CN = secure.test")

                let raw =
                    try await server.sql("SELECT settings::text FROM listeners") + server.sql("SELECT settings::text FROM certificates")
                    + server.sql("SELECT coalesce(before::text, '') || coalesce(after::text, '') FROM audit_log")
                    + server.sql("SELECT name || certificate_pem || private_key_pem FROM certificate_imports")
                #expect(!raw.isEmpty)
                #expect(!raw.contains { leaks(leaf, in: $0 ?? "") })
                #expect(!raw.contains { ($0 ?? "").contains("PRIVATE KEY") })
                #expect(try await server.sql("SELECT count(*)::text FROM certificate_imports") == ["0"])
                // The import and the handshakes are logged (at trace), never with the key.
                #expect(lines.all.contains { $0.contains("moved a listener's certificate") && $0.contains("certificate=secure-cert") })
                #expect(!lines.all.contains { leaks(leaf, in: $0) })
                // The history names the certificate too: a rollback to before the move restores a valid listener.
                let history = try await server.sql("SELECT after->'tls'->>'certificates' FROM audit_log WHERE resource = 'secure'")
                #expect(history == ["[\"secure-cert\"]"])
                // A rollback to before the import would leave the listener naming no certificate: refused.
                let rollback = try await server.post("/v1/config/rollback", ["generation": 2])
                #expect(rollback.status == 409, "\(rollback.text)")
                #expect(rollback.errorFields == ["listeners[secure].tls.certificates"], "\(rollback.text)")
                try await server.stop()
            } catch {
                try? await server.stop()
                throw error
            }
            try await TestServer.dropDatabase(database)
        } catch {
            try? await TestServer.dropDatabase(database)
            throw error
        }
    }
}
