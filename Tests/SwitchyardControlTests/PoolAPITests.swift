import Foundation
import Testing

@Suite("Pools API")
struct PoolAPITests {
    @Test("create fills every default, and reads return it with ETag")
    func createAndRead() async throws {
        try await TestServer.with { server in
            let created = try await server.post("/v1/pools", ["name": "web", "algorithm": "least_connections"])
            #expect(created.status == 201)
            #expect(created[header: "Location"] == "/v1/pools/web")
            #expect(created.generation == 2)  // 1 was the bootstrap token
            #expect(created[header: "ETag"] == "\"2\"")
            let pool = created.json
            #expect(pool["protocol"] as? String == "http")
            #expect(pool["algorithm"] as? String == "least_connections")
            #expect(pool["mode"] as? String == "active_active")
            #expect(pool["retries"] as? Int == 2)
            #expect(pool["drain_timeout_ms"] as? Int == 30000)
            #expect(pool["min_healthy_percent"] as? Int == 0)
            let health = pool["health_check"] as? [String: Any] ?? [:]
            #expect(health["interval_ms"] as? Int == 2000)
            #expect(health["timeout_ms"] as? Int == 1000)
            #expect(health["rise"] as? Int == 2)
            #expect(health["fall"] as? Int == 3)
            #expect(health["expected_status"] as? String == "200-399")
            #expect((pool["passive"] as? [String: Any])?["max_failures"] as? Int == 3)

            let read = try await server.get("/v1/pools/web")
            #expect(read.status == 200)
            #expect(read[header: "ETag"] == "\"2\"")
            #expect(read.json["name"] as? String == "web")

            let missing = try await server.get("/v1/pools/nope")
            #expect(missing.status == 404)
            #expect(missing[header: "Content-Type"] == "application/problem+json")
        }
    }

    @Test("validation names every bad field at once")
    func validationListsAllFields() async throws {
        try await TestServer.with { server in
            let response = try await server.post(
                "/v1/pools",
                [
                    "name": "Bad_Name", "retries": 11, "min_healthy_percent": 101, "drain_timeout_ms": -1,
                    "health_check": ["timeout_ms": 5, "interval_ms": 3000, "path": "no-slash", "expected_status": "200-99", "rise": 0],
                    "passive": ["eject_ms": 1], "timeouts": ["connect_ms": 0],
                ])
            #expect(response.status == 400)
            #expect(response[header: "Content-Type"] == "application/problem+json")
            #expect(response.json["type"] as? String == "https://switchyard.dev/problems/validation")
            let fields = Set(response.errorFields)
            #expect(
                fields == [
                    "name", "retries", "min_healthy_percent", "drain_timeout_ms", "health_check.timeout_ms", "health_check.path",
                    "health_check.expected_status", "health_check.rise", "passive.eject_ms", "timeouts.connect_ms",
                ])
        }
    }

    @Test("a bad enum value is named in the API's words, beside every other bad field, and nothing is written")
    func enumValuesListedWithOtherFields() async throws {
        try await TestServer.with { server in
            let response = try await server.post(
                "/v1/pools",
                [
                    "protocol": "udp", "name": "Bad_Name", "algorithm": "fastest", "retries": 11,
                    "health_check": ["type": "icmp", "interval_ms": 5],
                ])
            #expect(response.status == 400)
            #expect(response[header: "Content-Type"] == "application/problem+json")
            #expect(Set(response.errorFields) == ["protocol", "name", "algorithm", "retries", "health_check.type", "health_check.interval_ms"])
            let messages = (response.json["errors"] as? [[String: Any]] ?? []).reduce(into: [String: String]()) {
                $0[$1["field"] as? String ?? ""] = $1["message"] as? String
            }
            #expect(messages["protocol"] == "must be one of http, tcp")
            #expect(messages["health_check.type"] == "must be one of http, tcp, none")
            #expect(!response.text.contains("Cannot initialize"))

            // Valid but for its enum: refused, and the run that checked the rest wrote nothing.
            let onlyEnum = try await server.post("/v1/pools", ["name": "web", "mode": "hot_standby"])
            #expect(onlyEnum.status == 400)
            #expect(onlyEnum.errorFields == ["mode"])
            #expect(try await server.get("/v1/pools/web").status == 404)
            let changes = try await server.get("/v1/changes").json["items"] as? [[String: Any]] ?? []
            #expect(!changes.contains { $0["resource_type"] as? String == "pool" })

            // PATCH: the other fields are checked too (against the stored pool), beside the bad choice.
            try await server.makePool("web")
            let patch = try await server.patch("/v1/pools/web", ["algorithm": "fastest", "retries": 50])
            #expect(patch.status == 400)
            #expect(Set(patch.errorFields) == ["algorithm", "retries"], "\(patch.text)")

            let backend = try await server.post("/v1/pools/nowhere/backends", ["name": "b", "address": "10.0.0.1", "port": 0, "admin_state": "off"])
            #expect(backend.status == 400)
            #expect(Set(backend.errorFields) == ["port", "admin_state"])

            let token = try await server.post("/v1/tokens", ["name": "Bad!", "scopes": ["read", "root"]])
            #expect(token.status == 400)
            #expect(Set(token.errorFields) == ["name", "scopes[1]"])
        }
    }

    @Test("wrong types, unknown fields, bad JSON and content type are 4xx problems naming the field")
    func malformedBodies() async throws {
        try await TestServer.with { server in
            let wrongType = try await server.post("/v1/pools", ["name": "web", "retries": "three"])
            #expect(wrongType.status == 400)
            #expect(wrongType.errorFields == ["retries"])

            let badEnum = try await server.post("/v1/pools", ["name": "web", "algorithm": "fastest"])
            #expect(badEnum.status == 400)
            #expect(badEnum.errorFields == ["algorithm"])

            let unknown = try await server.post("/v1/pools", ["name": "web", "wieght": 3])
            #expect(unknown.status == 400)

            let missingName = try await server.post("/v1/pools", ["retries": 1])
            #expect(missingName.status == 400)
            #expect(missingName.errorFields == ["name"])

            let notJSON = try await server.request(.POST, "/v1/pools", rawBody: "{nope", headers: ["Content-Type": "application/json"])
            #expect(notJSON.status == 400)
            #expect(notJSON[header: "Content-Type"] == "application/problem+json")

            let text = try await server.request(.POST, "/v1/pools", rawBody: "name=web", headers: ["Content-Type": "text/plain"])
            #expect((400...415).contains(text.status))
            #expect(text[header: "Content-Type"] == "application/problem+json")
        }
    }

    @Test("a taken name is 409")
    func duplicateName() async throws {
        try await TestServer.with { server in
            try await server.makePool("web")
            let again = try await server.post("/v1/pools", ["name": "web"])
            #expect(again.status == 409)
        }
    }

    @Test("PUT replaces with defaults, PATCH merges nested objects, If-Match guards both")
    func replaceAndPatch() async throws {
        try await TestServer.with { server in
            try await server.makePool("web", ["retries": 5, "health_check": ["type": "http", "path": "/health"]])

            let patched = try await server.patch("/v1/pools/web", ["health_check": ["interval_ms": 5000]])
            #expect(patched.status == 200)
            let health = patched.json["health_check"] as? [String: Any] ?? [:]
            #expect(health["interval_ms"] as? Int == 5000)
            #expect(health["path"] as? String == "/health")
            #expect(patched.json["retries"] as? Int == 5)
            let etag = try #require(patched[header: "ETag"])

            let stale = try await server.patch("/v1/pools/web", ["retries": 1], headers: ["If-Match": "\"2\""])
            #expect(stale.status == 412)
            let fresh = try await server.patch("/v1/pools/web", ["retries": 1], headers: ["If-Match": etag])
            #expect(fresh.status == 200)
            #expect(fresh.json["retries"] as? Int == 1)

            let replaced = try await server.put("/v1/pools/web", ["algorithm": "source_hash"])
            #expect(replaced.status == 200)
            #expect(replaced.json["retries"] as? Int == 2)
            #expect((replaced.json["health_check"] as? [String: Any])?["path"] as? String == "/")
            #expect(replaced.json["algorithm"] as? String == "source_hash")

            let renamed = try await server.put("/v1/pools/web", ["name": "other"])
            #expect(renamed.status == 400)  // the path names the pool; the body has no name

            let missing = try await server.put("/v1/pools/nope", ["retries": 1])
            #expect(missing.status == 404)
            let badPatch = try await server.patch("/v1/pools/web", ["retries": 99])
            #expect(badPatch.status == 400)
            #expect(badPatch.errorFields == ["retries"])
        }
    }

    @Test("delete: refused while a listener uses it or backends remain, unless forced")
    func deleteRules() async throws {
        try await TestServer.with { server in
            try await server.makePool("web", backends: ["web-1", "web-2"])
            let listener = try await server.post("/v1/listeners", ["name": "public", "port": 18080, "default_pool": "web"])
            #expect(listener.status == 201)

            let inUse = try await server.delete("/v1/pools/web")
            #expect(inUse.status == 409)
            #expect((inUse.json["detail"] as? String)?.contains("public") == true)

            let protocolChange = try await server.patch("/v1/pools/web", ["protocol": "tcp"])
            #expect(protocolChange.status == 409)

            #expect(try await server.delete("/v1/listeners/public").status == 204)
            let hasBackends = try await server.delete("/v1/pools/web")
            #expect(hasBackends.status == 409)

            let stale = try await server.delete("/v1/pools/web?force=true", headers: ["If-Match": "\"1\""])
            #expect(stale.status == 412)

            let forced = try await server.delete("/v1/pools/web?force=true")
            #expect(forced.status == 204)
            #expect(forced.generation != nil)
            #expect(try await server.get("/v1/pools/web").status == 404)
            #expect(try await server.get("/v1/pools/web/backends/web-1").status == 404)
            #expect(try await server.delete("/v1/pools/web").status == 404)
        }
    }

    @Test("lists page with limit and an opaque cursor")
    func paging() async throws {
        try await TestServer.with { server in
            for index in 0..<5 { try await server.makePool("pool-\(index)") }
            var names: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let path = "/v1/pools?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await server.get(path)
                #expect(page.status == 200)
                names += (page.json["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                cursor = page.json["next_cursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10
            #expect(names == (0..<5).map { "pool-\($0)" })
            #expect(pages == 3)

            #expect(try await server.get("/v1/pools?limit=0").status == 400)
            #expect(try await server.get("/v1/pools?cursor=\(String(repeating: "a", count: 64))").status == 400)
        }
    }
}

@Suite("Request bodies")
struct RequestBodyTests {
    @Test("null is refused with its field, and bad input is answered before a stale If-Match")
    func nullsAndOrder() async throws {
        try await TestServer.with { server in
            try await server.makePool("web")
            let null = try await server.request(
                .PATCH, "/v1/pools/web", rawBody: #"{"retries": null, "health_check": {"path": null}}"#,
                headers: ["Content-Type": "application/json"])
            #expect(null.status == 400)
            #expect(null.errorFields == ["health_check.path", "retries"])
            let both = try await server.patch("/v1/pools/web", ["retries": 99], headers: ["If-Match": "\"1\""])
            #expect(both.status == 400)
        }
    }
}
