import Foundation
import Testing

let testCertificate = """
    -----BEGIN CERTIFICATE-----
    MIIBszCCAVmgAwIBAgIUEXAMPLE
    -----END CERTIFICATE-----
    """
let testKey = """
    -----BEGIN PRIVATE KEY-----
    MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgEXAMPLE
    -----END PRIVATE KEY-----
    """

@Suite("Listeners API")
struct ListenerAPITests {
    @Test("create with routes and firewall lists; read back; delete")
    func lifecycle() async throws {
        try await TestServer.with { server in
            try await server.makePool("web")
            try await server.makePool("api")
            let created = try await server.post(
                "/v1/listeners",
                [
                    "name": "public", "port": 8080, "default_pool": "web",
                    "routes": [["host": "*.example.com", "path_prefix": "/api", "pool": "api"]],
                    "allow": ["10.0.0.0/8", "2001:db8::/32"], "deny": ["10.6.6.6"],
                ])
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["bind"] as? String == "0.0.0.0")
            #expect(created.json["protocol"] as? String == "http")
            let routes = created.json["routes"] as? [[String: Any]] ?? []
            #expect(routes.first?["pool"] as? String == "api")
            #expect(routes.first?["path_prefix"] as? String == "/api")

            let read = try await server.get("/v1/listeners/public")
            #expect(read.status == 200)
            #expect(read.json["allow"] as? [String] == ["10.0.0.0/8", "2001:db8::/32"])
            #expect((try await server.get("/v1/listeners").json["items"] as? [Any])?.count == 1)

            #expect(try await server.delete("/v1/listeners/public").status == 204)
            #expect(try await server.get("/v1/listeners/public").status == 404)
        }
    }

    @Test("references, protocols, sockets, TLS and CIDRs are checked")
    func validation() async throws {
        try await TestServer.with { server in
            try await server.makePool("web")
            try await server.makePool("db", ["protocol": "tcp"])

            let bad = try await server.post(
                "/v1/listeners",
                [
                    "name": "x", "bind": "not-an-ip", "port": 8080, "default_pool": "missing",
                    "routes": [["pool": "db", "path_prefix": "api"]], "deny": ["10.0.0.0/33"],
                ])
            #expect(bad.status == 400)
            #expect(Set(bad.errorFields) == ["bind", "routes[0].path_prefix", "deny[0]"])

            // Well-formed, but naming a missing pool and a pool of the wrong protocol: 409, every field named.
            let dangling = try await server.post(
                "/v1/listeners", ["name": "x", "port": 8080, "default_pool": "missing", "routes": [["pool": "db", "path_prefix": "/api"]]])
            #expect(dangling.status == 409)
            #expect(Set(dangling.errorFields) == ["default_pool", "routes[0].pool"])

            let tcpNoPool = try await server.post("/v1/listeners", ["name": "t", "port": 5432, "protocol": "tcp"])
            #expect(tcpNoPool.status == 400)
            #expect(tcpNoPool.errorFields == ["default_pool"])

            let tcpWrongPool = try await server.post("/v1/listeners", ["name": "t", "port": 5432, "protocol": "tcp", "default_pool": "web"])
            #expect(tcpWrongPool.status == 409)
            #expect(tcpWrongPool.errorFields == ["default_pool"])
            #expect(try await server.post("/v1/listeners", ["name": "t", "port": 5432, "protocol": "tcp", "default_pool": "db"]).status == 201)

            let httpsNoTLS = try await server.post("/v1/listeners", ["name": "s", "port": 8443, "protocol": "https", "default_pool": "web"])
            #expect(httpsNoTLS.status == 400)
            #expect(httpsNoTLS.errorFields == ["tls"])

            #expect(try await server.post("/v1/listeners", ["name": "a", "bind": "127.0.0.1", "port": 8080, "default_pool": "web"]).status == 201)
            let clash = try await server.post("/v1/listeners", ["name": "b", "bind": "0.0.0.0", "port": 8080, "default_pool": "web"])
            #expect(clash.status == 409)
            #expect(clash.errorFields == ["port"])
            let taken = try await server.post("/v1/listeners", ["name": "a", "port": 9090, "default_pool": "web"])
            #expect(taken.status == 409)
            #expect(try await server.post("/v1/listeners", ["name": "b", "bind": "127.0.0.2", "port": 8080, "default_pool": "web"]).status == 201)
        }
    }

    @Test("the TLS private key is stored but never returned, and kept by a PUT that omits it")
    func tlsKey() async throws {
        try await TestServer.with { server in
            try await server.makePool("web")
            let listener: [String: Any] = [
                "name": "secure", "port": 8443, "protocol": "https", "default_pool": "web",
                "tls": ["certificate_pem": testCertificate, "private_key_pem": testKey],
            ]
            let created = try await server.post("/v1/listeners", listener)
            #expect(created.status == 201, "\(created.text)")
            #expect(!created.text.contains("PRIVATE KEY"))
            #expect(!(try await server.get("/v1/listeners/secure").text.contains("PRIVATE KEY")))
            #expect(!(try await server.get("/v1/config").text.contains("PRIVATE KEY")))
            #expect(!(try await server.get("/v1/changes").text.contains("PRIVATE KEY")))

            let replaced = try await server.put(
                "/v1/listeners/secure",
                ["port": 9443, "protocol": "https", "default_pool": "web", "tls": ["certificate_pem": testCertificate]])
            #expect(replaced.status == 200, "\(replaced.text)")
            let stored = try await server.sql("SELECT settings->'tls'->>'private_key_pem' FROM listeners WHERE name = 'secure'")
            #expect(stored.first??.contains("PRIVATE KEY") == true)

            let newCertNoKey = try await server.put(
                "/v1/listeners/secure",
                [
                    "port": 9443, "protocol": "https", "default_pool": "web",
                    "tls": ["certificate_pem": testCertificate.replacingOccurrences(of: "EXAMPLE", with: "OTHER")],
                ])
            #expect(newCertNoKey.status == 400)
            #expect(newCertNoKey.errorFields == ["tls.private_key_pem"])
        }
    }
}
