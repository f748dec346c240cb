import Foundation
import Testing

@Suite("Configuration, audit, rollback and idempotency")
struct ConfigAPITests {
    static var document: [String: Any] {
        [
            "pools": [
                [
                    "name": "web", "algorithm": "least_connections",
                    "backends": [["name": "web-1", "address": "127.0.0.1", "port": 8080], ["name": "web-2", "address": "127.0.0.2", "port": 8080]],
                ],
                ["name": "db", "protocol": "tcp", "backends": [["name": "pg-1", "address": "127.0.1.1", "port": 5432]]],
            ],
            "listeners": [
                ["name": "public", "port": 8080, "default_pool": "web"],
                ["name": "postgres", "port": 6432, "protocol": "tcp", "default_pool": "db"],
            ],
        ]
    }

    @Test("PUT /v1/config: dry run shows the diff, apply makes one generation, repeating changes nothing")
    func replaceWholeConfig() async throws {
        try await TestServer.with { server in
            try await server.makePool("old", backends: ["x"])
            let before = try await server.get("/v1/config")
            let generation = try #require(before.json["generation"] as? Int)

            let dry = try await server.request(.PUT, "/v1/config?dry_run=true", json: Self.document)
            #expect(dry.status == 200, "\(dry.text)")
            #expect(dry.json["applied"] as? Bool == false)
            let changes = dry.json["changes"] as? [[String: Any]] ?? []
            let summary = changes.map { "\($0["action"]!) \($0["resource_type"]!) \($0["resource"]!)" }
            #expect(
                summary == [
                    "create pool db", "create pool web", "create backend db/pg-1", "create backend web/web-1", "create backend web/web-2",
                    "create listener postgres", "create listener public", "delete backend old/x", "delete pool old",
                ])
            #expect(try await server.get("/v1/config").json["generation"] as? Int == generation)

            let stale = try await server.put("/v1/config", Self.document, headers: ["If-Match": "\"\(generation - 1)\""])
            #expect(stale.status == 412)

            let applied = try await server.put("/v1/config", Self.document, headers: ["If-Match": "\"\(generation)\""])
            #expect(applied.status == 200, "\(applied.text)")
            #expect(applied.json["applied"] as? Bool == true)
            #expect(applied.generation == generation + 1)

            let after = try await server.get("/v1/config")
            #expect(after[header: "ETag"] == "\"\(generation + 1)\"")
            let pools = (after.json["pools"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(pools == ["db", "web"])
            #expect(try await server.get("/v1/pools/web/backends/web-2").status == 200)

            let again = try await server.put("/v1/config", Self.document)
            #expect(again.json["applied"] as? Bool == false)
            #expect(again.generation == generation + 1)

            // GET → PUT round-trips unchanged.
            let roundTrip = try await server.put("/v1/config", after.json)
            #expect(roundTrip.status == 200, "\(roundTrip.text)")
            #expect(roundTrip.json["applied"] as? Bool == false)
        }
    }

    @Test("PUT /v1/config reports every bad field with its place in the document")
    func invalidDocument() async throws {
        try await TestServer.with { server in
            let response = try await server.put(
                "/v1/config",
                [
                    "pools": [
                        ["name": "web", "retries": 20, "backends": [["name": "a", "address": "127.0.0.1", "port": 0]]],
                        ["name": "web"],
                    ],
                    "listeners": [
                        ["name": "l1", "port": 80, "default_pool": "nope"],
                        ["name": "l2", "port": 80, "default_pool": "web"],
                    ],
                ])
            #expect(response.status == 400)
            #expect(
                Set(response.errorFields) == [
                    "pools[0].retries", "pools[0].backends[0].port", "pools[1].name", "listeners[0].default_pool", "listeners[1].port",
                ])
            let pools = try await server.get("/v1/pools")
            #expect((pools.json["items"] as? [Any])?.isEmpty == true)

            // Bad choices are named with the rest, each in its place.
            let choices = try await server.put(
                "/v1/config",
                [
                    "pools": [
                        [
                            "name": "web", "retries": 20, "algorithm": "fastest",
                            "backends": [["name": "a", "address": "127.0.0.1", "port": 0, "admin_state": "off"]],
                        ]
                    ],
                    "listeners": [["name": "l1", "port": 80, "protocol": "quic", "default_pool": "nope"]],
                ])
            #expect(choices.status == 400)
            #expect(
                Set(choices.errorFields) == [
                    "pools[0].retries", "pools[0].algorithm", "pools[0].backends[0].port", "pools[0].backends[0].admin_state",
                    "listeners[0].protocol", "listeners[0].default_pool",
                ], "\(choices.text)")
            #expect(try await server.sql("SELECT count(*)::text FROM pools") == ["0"])
        }
    }

    @Test("every write leaves an audit row with actor, request, before and after; ?since filters")
    func auditLog() async throws {
        try await TestServer.with { server in
            let created = try await server.makePool("web")
            let generation = try #require(created.generation)
            #expect(try await server.patch("/v1/pools/web", ["retries": 4]).status == 200)

            let all = try await server.get("/v1/changes")
            let rows = all.json["items"] as? [[String: Any]] ?? []
            #expect(rows.count == 3)  // bootstrap token, create pool, update pool
            let update = try #require(rows.last)
            #expect(update["action"] as? String == "update")
            #expect(update["resource_type"] as? String == "pool")
            #expect(update["resource"] as? String == "web")
            #expect(update["actor"] as? String == "admin")
            #expect(update["request"] as? String == "PATCH /v1/pools/web")
            #expect((update["before"] as? [String: Any])?["retries"] as? Int == 2)
            #expect((update["after"] as? [String: Any])?["retries"] as? Int == 4)

            let since = try await server.get("/v1/changes?since=\(generation)")
            #expect((since.json["items"] as? [[String: Any]])?.count == 1)

            let paged = try await server.get("/v1/changes?limit=2")
            let cursor = try #require(paged.json["next_cursor"] as? String)
            let next = try await server.get("/v1/changes?limit=2&cursor=\(cursor)")
            #expect((next.json["items"] as? [[String: Any]])?.first?["action"] as? String == "update")
        }
    }

    @Test("a whole-configuration write creates backends in batches, each audited like a single registration")
    func batchedBackendCreation() async throws {
        try await TestServer.with { server in
            try await server.makePool("web")
            let single = try await server.post("/v1/pools/web/backends", ["name": "solo", "address": "127.0.0.9", "port": 80])
            #expect(single.status == 201)
            let generation = try #require(single.generation)

            // 2,100 new backends: more than one batch (2,000 rows per statement), in two pools.
            var web: [[String: Any]] = [["name": "solo", "address": "127.0.0.9", "port": 80]]
            web.append(["name": "special", "address": "web.internal", "port": 8443, "weight": 7, "backup": true, "admin_state": "maintenance"])
            for index in 0..<2_000 {
                web.append(["name": String(format: "w%04d", index), "address": "127.1.\(index / 256).\(index % 256)", "port": 8080])
            }
            let api: [[String: Any]] = (0..<99).map { ["name": "a\($0)", "address": "127.2.0.\($0)", "port": 9000] }
            let none = ["type": "none"]  // no probes of names that only stand for backends
            let applied = try await server.put(
                "/v1/config",
                ["pools": [["name": "web", "health_check": none, "backends": web], ["name": "api", "health_check": none, "backends": api]]])
            #expect(applied.status == 200, "\(applied.text)")
            #expect(applied.generation == generation + 1)

            let config = try await server.get("/v1/config").json
            let pools = config["pools"] as? [[String: Any]] ?? []
            #expect(pools.map { ($0["backends"] as? [Any])?.count ?? 0 } == [99, 2_002])
            let special = try await server.get("/v1/pools/web/backends/special").json
            #expect(special["weight"] as? Int == 7 && special["backup"] as? Bool == true && special["admin_state"] as? String == "maintenance")
            #expect(special["version"] as? Int == generation + 1)

            // One audit row per change, in the order of the diff, with the same shape as a registration's.
            var rows: [[String: Any]] = []
            var path = "/v1/changes?since=\(generation)&limit=1000"
            while true {
                let page = try await server.get(path).json
                rows += page["items"] as? [[String: Any]] ?? []
                guard let cursor = page["next_cursor"] as? String else { break }
                path = "/v1/changes?since=\(generation)&limit=1000&cursor=\(cursor)"
            }
            #expect(rows.count == 1 + 99 + 2_001)
            let created = rows.filter { $0["resource_type"] as? String == "backend" }
            #expect(created.count == 99 + 2_001)
            #expect(created.allSatisfy { $0["action"] as? String == "create" && $0["before"] == nil && $0["actor"] as? String == "admin" })
            #expect(created.allSatisfy { $0["request"] as? String == "PUT /v1/config" && $0["generation"] as? Int == generation + 1 })
            let names = created.compactMap { $0["resource"] as? String }
            #expect(names.first == "api/a0" && names.contains("web/special") && names.last == "web/w1999")
            let audited = try #require(created.first { $0["resource"] as? String == "web/special" }?["after"] as? [String: Any])
            #expect(audited["address"] as? String == "web.internal" && audited["port"] as? Int == 8443 && audited["weight"] as? Int == 7)
            #expect(audited["backup"] as? Bool == true && audited["admin_state"] as? String == "maintenance")
            let all = try await server.get("/v1/changes?limit=1000").json["items"] as? [[String: Any]] ?? []
            let registration = try #require(all.first { $0["resource"] as? String == "web/solo" }?["after"] as? [String: Any])
            #expect(Set(audited.keys) == Set(registration.keys))

            // Rolling back removes them again (deletions are batched the same way), as one generation.
            let rollback = try await server.post("/v1/config/rollback", ["generation": generation])
            #expect(rollback.status == 200, "\(rollback.text)")
            let restored = try await server.get("/v1/config").json["pools"] as? [[String: Any]] ?? []
            #expect(restored.map { ($0["backends"] as? [Any])?.count ?? 0 } == [1])
            let undone = try await server.get("/v1/changes?since=\(generation + 1)&limit=1000").json["items"] as? [[String: Any]] ?? []
            let deleted = undone.filter { $0["resource_type"] as? String == "backend" && $0["action"] as? String == "delete" }
            #expect(deleted.count == 1000)
            #expect(deleted.allSatisfy { $0["after"] == nil && ($0["before"] as? [String: Any])?["address"] is String })
        }
    }

    @Test("rollback restores the configuration of a generation as a new generation")
    func rollback() async throws {
        try await TestServer.with { server in
            let first = try await server.makePool("web", backends: ["a", "b"])
            _ = first
            let spec: [String: Any] = ["name": "c", "address": "127.0.0.9", "port": 81, "weight": 3, "backup": true, "admin_state": "draining"]
            #expect(try await server.post("/v1/pools/web/backends", spec).status == 201)
            let checkpoint = try #require(try await server.get("/v1/config").json["generation"] as? Int)
            #expect(try await server.patch("/v1/pools/web", ["retries": 7]).status == 200)
            #expect(try await server.delete("/v1/pools/web/backends/a").status == 204)
            #expect(try await server.delete("/v1/pools/web/backends/c").status == 204)
            try await server.makePool("api")
            #expect(try await server.post("/v1/listeners", ["name": "l", "port": 8080, "default_pool": "api"]).status == 201)

            let rolled = try await server.post("/v1/config/rollback", ["generation": checkpoint])
            #expect(rolled.status == 200, "\(rolled.text)")
            #expect(rolled.json["applied"] as? Bool == true)
            let config = try await server.get("/v1/config").json
            let pools = config["pools"] as? [[String: Any]] ?? []
            #expect(pools.compactMap { $0["name"] as? String } == ["web"])
            #expect(pools.first?["retries"] as? Int == 2)
            let backends = pools.first?["backends"] as? [[String: Any]] ?? []
            #expect(backends.compactMap { $0["name"] as? String } == ["a", "b", "c"])
            // Restored from the audit row of a one-statement deregistration: every field as it was.
            let restored = try #require(backends.first { $0["name"] as? String == "c" })
            #expect(restored["address"] as? String == "127.0.0.9")
            #expect(restored["port"] as? Int == 81)
            #expect(restored["weight"] as? Int == 3)
            #expect(restored["backup"] as? Bool == true)
            #expect(restored["admin_state"] as? String == "draining")
            #expect((config["listeners"] as? [Any])?.isEmpty == true)

            let toEmpty = try await server.post("/v1/config/rollback", ["generation": 0])
            #expect(toEmpty.status == 200)
            #expect((try await server.get("/v1/config").json["pools"] as? [Any])?.isEmpty == true)

            #expect(try await server.post("/v1/config/rollback", ["generation": 100_000]).status == 409)
            #expect(try await server.post("/v1/config/rollback", ["generation": -1]).status == 400)
        }
    }

    @Test("Idempotency-Key: a retry replays the first response; another body with the key is 409")
    func idempotency() async throws {
        try await TestServer.with { server in
            try await server.makePool("web")
            let body: [String: Any] = ["name": "web-1", "address": "127.0.0.1", "port": 8080]
            let first = try await server.post("/v1/pools/web/backends", body, headers: ["Idempotency-Key": "k-1"])
            #expect(first.status == 201)
            let retry = try await server.post("/v1/pools/web/backends", body, headers: ["Idempotency-Key": "k-1"])
            #expect(retry.status == 201)
            #expect(retry.generation == first.generation)
            #expect(retry[header: "ETag"] == first[header: "ETag"])
            #expect(retry.json["name"] as? String == "web-1")

            var other = body
            other["port"] = 9090
            let reused = try await server.post("/v1/pools/web/backends", other, headers: ["Idempotency-Key": "k-1"])
            #expect(reused.status == 409)

            let rows = try await server.sql("SELECT count(*)::text FROM audit_log WHERE resource = 'web/web-1'")
            #expect(rows == ["1"])
        }
    }

    @Test("Idempotency-Key belongs to the token (not its name); an expired key is forgotten, never a 409")
    func idempotencyScope() async throws {
        try await TestServer.with { server in
            let first = try await server.post("/v1/tokens", ["name": "deploy", "scopes": ["write"]])
            let firstSecret = try #require(first.json["secret"] as? String)
            let created = try await server.post("/v1/pools", ["name": "web"], token: firstSecret, headers: ["Idempotency-Key": "k"])
            #expect(created.status == 201)

            // The same name, another token: the key is its own, and another request under it is no 409.
            #expect(try await server.delete("/v1/tokens/deploy").status == 204)
            let second = try await server.post("/v1/tokens", ["name": "deploy", "scopes": ["write"]])
            let secondSecret = try #require(second.json["secret"] as? String)
            let fresh = try await server.post("/v1/pools", ["name": "api"], token: secondSecret, headers: ["Idempotency-Key": "k"])
            #expect(fresh.status == 201, "\(fresh.text)")

            // An expired key (not purged yet) is forgotten: the request runs, and the key is the new request's.
            _ = try await server.sql("UPDATE idempotency_keys SET created_at = now() - interval '25 hours'")
            let afterExpiry = try await server.post("/v1/pools", ["name": "db"], token: secondSecret, headers: ["Idempotency-Key": "k"])
            #expect(afterExpiry.status == 201, "\(afterExpiry.text)")
            let replay = try await server.post("/v1/pools", ["name": "db"], token: secondSecret, headers: ["Idempotency-Key": "k"])
            #expect(replay.status == 201)
            #expect(replay.generation == afterExpiry.generation)
        }
    }

    @Test("Idempotency-Key: a replay after the created resource was deleted is a 409 saying so, and nothing is created")
    func idempotencyAfterDelete() async throws {
        try await TestServer.with { server in
            let body: [String: Any] = ["name": "web"]
            let created = try await server.post("/v1/pools", body, headers: ["Idempotency-Key": "create-web"])
            #expect(created.status == 201)
            #expect(try await server.delete("/v1/pools/web").status == 204)

            let replay = try await server.post("/v1/pools", body, headers: ["Idempotency-Key": "create-web"])
            #expect(replay.status == 409)
            #expect((replay.json["detail"] as? String ?? "").contains("deleted since"), "\(replay.text)")
            #expect(try await server.get("/v1/pools/web").status == 404)

            // Created again by someone else meanwhile: the replay answers as the first time, and the read finds it.
            #expect(try await server.post("/v1/pools", body).status == 201)
            let again = try await server.post("/v1/pools", body, headers: ["Idempotency-Key": "create-web"])
            #expect(again.status == 201)
            #expect(again.generation == created.generation)
            #expect(try await server.get(again[header: "Location"] ?? "/").status == 200)
        }
    }
}
