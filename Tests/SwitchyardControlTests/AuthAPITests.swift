import Foundation
import Testing

@Suite("Tokens and authorization")
struct AuthAPITests {
    @Test("no token or a bad token is 401; public endpoints need none")
    func unauthenticated() async throws {
        try await TestServer.with { server in
            let none = try await server.get("/v1/pools", token: nil)
            #expect(none.status == 401)
            #expect(none[header: "WWW-Authenticate"]?.hasPrefix("Bearer") == true)
            #expect(try await server.get("/v1/pools", token: "wrong").status == 401)
            #expect(try await server.request(.GET, "/v1/pools", token: nil, headers: ["Authorization": "Basic Zm9vOmJhcg=="]).status == 401)
            for path in ["/healthz", "/readyz", "/metrics", "/openapi.yaml"] {
                #expect(try await server.get(path, token: nil).status == 200, "\(path)")
            }
        }
    }

    @Test("scopes: read reads, write writes, only admin manages tokens")
    func scopes() async throws {
        try await TestServer.with { server in
            let reader = try await server.post("/v1/tokens", ["name": "reader", "scopes": ["read"]])
            #expect(reader.status == 201)
            let readSecret = try #require(reader.json["secret"] as? String)
            let writer = try await server.post("/v1/tokens", ["name": "deployer", "scopes": ["write"]])
            let writeSecret = try #require(writer.json["secret"] as? String)

            #expect(try await server.get("/v1/pools", token: readSecret).status == 200)
            let denied = try await server.post("/v1/pools", ["name": "web"], token: readSecret)
            #expect(denied.status == 403)
            #expect(try await server.post("/v1/pools", ["name": "web"], token: writeSecret).status == 201)
            #expect(try await server.get("/v1/pools/web", token: writeSecret).status == 200)
            #expect(try await server.get("/v1/tokens", token: writeSecret).status == 403)
            #expect(try await server.post("/v1/tokens", ["name": "x", "scopes": ["admin"]], token: writeSecret).status == 403)

            let audit = try await server.get("/v1/changes").json["items"] as? [[String: Any]] ?? []
            #expect(audit.last?["actor"] as? String == "deployer")
        }
    }

    @Test("tokens are stored as hashes, listed without secrets, and stop working when revoked")
    func lifecycle() async throws {
        try await TestServer.with { server in
            let created = try await server.post("/v1/tokens", ["name": "ci", "scopes": ["write", "read"]])
            #expect(created.status == 201)
            let secret = try #require(created.json["secret"] as? String)
            #expect(try await server.post("/v1/tokens", ["name": "ci", "scopes": ["read"]]).status == 409)
            #expect(try await server.post("/v1/tokens", ["name": "Bad!", "scopes": ["read"]]).status == 400)

            let stored = try await server.sql("SELECT secret_hash FROM tokens WHERE name = 'ci'")
            #expect(stored.count == 1 && stored[0] != secret && stored[0]?.count == 64)
            let list = try await server.get("/v1/tokens")
            #expect(!list.text.contains(secret))
            #expect((list.json["items"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["admin", "ci"])

            #expect(try await server.get("/v1/pools", token: secret).status == 200)
            #expect(try await server.delete("/v1/tokens/ci").status == 204)
            #expect(try await server.get("/v1/pools", token: secret).status == 401)
            #expect(try await server.delete("/v1/tokens/ci").status == 404)

            let lastAdmin = try await server.delete("/v1/tokens/admin")
            #expect(lastAdmin.status == 409)
            #expect(try await server.get("/v1/pools").status == 200)
        }
    }

    @Test("a token's scopes are named once each, as the contract says (uniqueItems)")
    func repeatedScopes() async throws {
        try await TestServer.with { server in
            let repeated = try await server.post("/v1/tokens", ["name": "ci", "scopes": ["read", "write", "read", "admin", "write"]])
            #expect(repeated.status == 400)
            #expect(repeated.errorFields == ["scopes"])
            #expect(try await server.post("/v1/tokens", ["name": "ci", "scopes": ["read", "read"]]).status == 400)
            let tokens = try await server.get("/v1/tokens").json["items"] as? [Any] ?? []
            #expect(tokens.count == 1)
            #expect(try await server.post("/v1/tokens", ["name": "ci", "scopes": ["admin", "read", "write"]]).status == 201)
        }
    }

    @Test("a scope this version does not know grants nothing, and the log names it")
    func unknownStoredScope() async throws {
        let (logger, lines) = RecordingLogHandler.logger()
        let database = try await TestServer.createDatabase()
        defer { Task { try? await TestServer.dropDatabase(database) } }
        let server = try await TestServer.start(storeConfiguration: database, dataPlane: false, logger: logger)
        do {
            // As a newer version sharing the database might write it.
            let secret = "sy_scope_from_elsewhere"
            _ = try await server.sql(
                "INSERT INTO tokens (name, secret_hash, scopes, created_by) "
                    + "VALUES ('newer', '\(TokenSecretForTests.hash(secret))', '{read,superuser}', 'admin')")
            #expect(try await server.get("/v1/pools", token: secret).status == 200)
            #expect(try await server.post("/v1/pools", ["name": "web"], token: secret).status == 403)
            let listed = (try await server.get("/v1/tokens").json["items"] as? [[String: Any]] ?? []).first { $0["name"] as? String == "newer" }
            #expect(listed?["scopes"] as? [String] == ["read"])
            let warnings = lines.all.filter { $0.hasPrefix("warning") && $0.contains("unknown_scopes=superuser") && $0.contains("token=newer") }
            #expect(!warnings.isEmpty, "no warning names the scope: \(lines.all)")
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
    }
}
