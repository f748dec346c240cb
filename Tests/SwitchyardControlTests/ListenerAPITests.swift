import Foundation
import Testing

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

    @Test("an https listener names certificates: none or an unknown one is 400 on tls.certificates; a named one cannot be deleted")
    func namedCertificates() async throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.leaf("site.test", dnsNames: ["site.test"])
        try await TestServer.with { server in
            try await server.makePool("web")
            for name in ["site", "spare"] {
                let created = try await server.post(
                    "/v1/certificates", ["name": name, "certificate_pem": leaf.certificate, "private_key_pem": leaf.key])
                #expect(created.status == 201, "\(created.text)")
            }
            let base: [String: Any] = ["name": "secure", "port": 8443, "protocol": "https", "default_pool": "web"]
            var body = base
            body["tls"] = ["certificates": [String]()]
            let none = try await server.post("/v1/listeners", body)
            #expect(none.status == 400)
            #expect(none.errorFields == ["tls.certificates"], "\(none.text)")
            body["tls"] = ["certificates": ["site", "missing"]]
            let unknown = try await server.post("/v1/listeners", body)
            #expect(unknown.status == 400)
            #expect(unknown.errorFields == ["tls.certificates"], "\(unknown.text)")
            #expect(unknown.text.contains("missing"))
            // The inline form of earlier versions is not taken.
            body["tls"] = ["certificate_pem": leaf.certificate, "private_key_pem": leaf.key]
            #expect(try await server.post("/v1/listeners", body).status == 400)

            body["tls"] = ["certificates": ["site", "spare"]]
            let created = try await server.post("/v1/listeners", body)
            #expect(created.status == 201, "\(created.text)")
            #expect((created.json["tls"] as? [String: Any])?["certificates"] as? [String] == ["site", "spare"])

            let refused = try await server.delete("/v1/certificates/spare")
            #expect(refused.status == 409)
            #expect(refused.text.contains("'secure'"), "\(refused.text)")
            var replacement = base
            replacement["name"] = nil
            replacement["tls"] = ["certificates": ["site"]]
            #expect(try await server.put("/v1/listeners/secure", replacement).status == 200)
            #expect(try await server.delete("/v1/certificates/spare").status == 204)

            // PUT /v1/config checks the names against the document's certificates.
            var document = try await server.get("/v1/config").json
            document["generation"] = nil
            var listeners = document["listeners"] as? [[String: Any]] ?? []
            listeners[0]["tls"] = ["certificates": ["spare"]]
            document["listeners"] = listeners
            let dangling = try await server.put("/v1/config", document)
            #expect(dangling.status == 400)
            #expect(dangling.errorFields == ["listeners[0].tls.certificates"], "\(dangling.text)")
        }
    }
}
