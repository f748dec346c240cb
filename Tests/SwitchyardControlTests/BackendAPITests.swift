import Foundation
import Testing

@Suite("Backends API")
struct BackendAPITests {
    @Test("register, read, list, change and deregister a backend")
    func lifecycle() async throws {
        try await TestServer.with { server in
            try await server.makePool("web")
            let created = try await server.post("/v1/pools/web/backends", ["name": "web-1", "address": "127.0.0.11", "port": 8080])
            #expect(created.status == 201)
            #expect(created[header: "Location"] == "/v1/pools/web/backends/web-1")
            #expect(created.json["weight"] as? Int == 1)
            #expect(created.json["backup"] as? Bool == false)
            #expect(created.json["admin_state"] as? String == "enabled")
            #expect((created.json["health"] as? [String: Any])?["status"] as? String == "unknown")

            let host = try await server.post("/v1/pools/web/backends", ["name": "web-2", "address": "app-2.internal", "port": 8080, "weight": 3])
            #expect(host.status == 201)
            let v6 = try await server.post("/v1/pools/web/backends", ["name": "web-3", "address": "2001:db8::1", "port": 8080])
            #expect(v6.status == 201)

            let list = try await server.get("/v1/pools/web/backends")
            #expect((list.json["items"] as? [[String: Any]])?.count == 3)
            #expect(try await server.get("/v1/pools/web").json["backend_count"] as? Int == 3)

            let drained = try await server.patch("/v1/pools/web/backends/web-1", ["admin_state": "draining", "weight": 5])
            #expect(drained.status == 200)
            #expect(drained.json["admin_state"] as? String == "draining")
            #expect(drained.json["weight"] as? Int == 5)
            #expect(drained.json["port"] as? Int == 8080)

            let removed = try await server.delete("/v1/pools/web/backends/web-1")
            #expect(removed.status == 204)
            #expect(try await server.get("/v1/pools/web/backends/web-1").status == 404)
            #expect(try await server.delete("/v1/pools/web/backends/web-1").status == 404)
        }
    }

    @Test("lists longer than a store batch come whole and in order, one page or many, with the right cursors")
    func longLists() async throws {
        try await TestServer.with { server in
            // 2,345 backends: more than two batches of 1,000; names whose order is the same in any collation.
            let names = (0..<2345).map { String(format: "b%05d", ($0 * 7919) % 2345) }
            let backends = names.map { ["name": $0, "address": "127.9.\(Int($0.dropFirst())! / 256).\(Int($0.dropFirst())! % 256)", "port": 80] }
            let put = try await server.put("/v1/config", ["pools": [["name": "big", "health_check": ["type": "none"], "backends": backends]]])
            #expect(put.status == 200)
            let sorted = names.sorted()

            let whole = try await server.get("/v1/pools/big/backends?limit=10000")
            let items = whole.json["items"] as? [[String: Any]] ?? []
            #expect(items.compactMap { $0["name"] as? String } == sorted)
            #expect(
                items.allSatisfy {
                    $0["address"] as? String
                        == "127.9.\(Int(($0["name"] as! String).dropFirst())! / 256).\(Int(($0["name"] as! String).dropFirst())! % 256)"
                })
            #expect(whole.json["next_cursor"] == nil)

            // Pages ending inside a batch, on a batch's last backend, and on the list's last.
            for limit in [999, 1000, 1001, 2345] {
                var seen: [String] = []
                var cursor: String? = nil
                var pages = 0
                repeat {
                    let page = try await server.get("/v1/pools/big/backends?limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? ""))
                    #expect(page.status == 200)
                    let names = (page.json["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                    seen += names
                    cursor = page.json["next_cursor"] as? String
                    if let cursor { #expect(cursor == names.last) }
                    pages += 1
                } while cursor != nil && pages < 10
                #expect(seen == sorted, "limit \(limit)")
                #expect(pages == (2345 + limit - 1) / limit, "limit \(limit)")
            }
        }
    }

    @Test("registration and deregistration (single prepared statements) write the audit rows a transactional write would")
    func auditOfSingleStatementWrites() async throws {
        try await TestServer.with { server in
            try await server.makePool("web")
            let spec: [String: Any] = ["address": "app-1.internal", "port": 8443, "weight": 7, "backup": true, "admin_state": "draining"]
            // Several rounds, so that pooled connections run their prepared statements again.
            for round in 1...4 {
                let created = try await server.post("/v1/pools/web/backends", spec.merging(["name": "b-\(round)"]) { $1 })
                #expect(created.status == 201)
                let generation = try #require(created.generation)
                let removed = try await server.delete("/v1/pools/web/backends/b-\(round)")
                #expect(removed.status == 204)
                #expect(removed.generation == generation + 1)

                let rows = try await server.get("/v1/changes?since=\(generation - 1)").json["items"] as? [[String: Any]] ?? []
                #expect(rows.count == 2)
                let (create, delete) = (try #require(rows.first), try #require(rows.last))
                #expect(create["generation"] as? Int == generation)
                #expect(create["action"] as? String == "create")
                #expect(create["resource_type"] as? String == "backend")
                #expect(create["resource"] as? String == "web/b-\(round)")
                #expect(create["actor"] as? String == "admin")
                #expect(create["request"] as? String == "POST /v1/pools/web/backends")
                #expect(create["before"] == nil || create["before"] is NSNull)
                let after = try #require(create["after"] as? [String: Any])
                #expect(try Self.canonical(after) == Self.canonical(spec))
                #expect(delete["generation"] as? Int == generation + 1)
                #expect(delete["action"] as? String == "delete")
                #expect(delete["resource"] as? String == "web/b-\(round)")
                let before = try #require(delete["before"] as? [String: Any])
                #expect(try Self.canonical(before) == Self.canonical(spec))
                #expect(delete["after"] == nil || delete["after"] is NSNull)
            }
        }
    }

    /// A JSON object as text with sorted keys, to compare objects whatever their numbers' Foundation types.
    static func canonical(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("bad backends are refused field by field; unknown pools are 404; taken names 409")
    func errors() async throws {
        try await TestServer.with { server in
            try await server.makePool("web", backends: ["web-1"])
            let bad = try await server.post(
                "/v1/pools/web/backends", ["name": "-x", "address": "999.1.1.1", "port": 70000, "weight": 1001])
            #expect(bad.status == 400)
            #expect(Set(bad.errorFields) == ["name", "address", "port", "weight"])

            let noPool = try await server.post("/v1/pools/nope/backends", ["name": "a", "address": "127.0.0.1", "port": 80])
            #expect(noPool.status == 404)
            #expect(try await server.get("/v1/pools/nope/backends").status == 404)

            let taken = try await server.post("/v1/pools/web/backends", ["name": "web-1", "address": "127.0.0.1", "port": 80])
            #expect(taken.status == 409)

            let badPatch = try await server.patch("/v1/pools/web/backends/web-1", ["port": 0, "admin_state": "gone"])
            #expect(badPatch.status == 400)
        }
    }

    @Test("min_healthy_percent refuses a drain or delete that crosses it, unless forced")
    func guardrail() async throws {
        try await TestServer.with { server in
            try await server.makePool("web", ["min_healthy_percent": 60], backends: ["a", "b", "c"])
            // 2 of 3 left = 66 %: allowed.
            #expect(try await server.patch("/v1/pools/web/backends/a", ["admin_state": "draining"]).status == 200)
            // 1 of 3 = 33 %: refused, for a drain and for a delete.
            let drain = try await server.patch("/v1/pools/web/backends/b", ["admin_state": "maintenance"])
            #expect(drain.status == 409)
            #expect((drain.json["detail"] as? String)?.contains("min_healthy_percent") == true)
            #expect(try await server.delete("/v1/pools/web/backends/c").status == 409)
            #expect(try await server.get("/v1/pools/web/backends/b").json["admin_state"] as? String == "enabled")
            // Deleting the already drained one takes no capacity away.
            #expect(try await server.delete("/v1/pools/web/backends/a").status == 204)
            // Forced.
            #expect(try await server.delete("/v1/pools/web/backends/c?force=true").status == 204)
        }
    }

    @Test("If-Match on backend writes")
    func ifMatch() async throws {
        try await TestServer.with { server in
            try await server.makePool("web", backends: ["a"])
            let current = try await server.get("/v1/pools/web/backends/a")
            let etag = try #require(current[header: "ETag"])
            #expect(try await server.patch("/v1/pools/web/backends/a", ["weight": 2], headers: ["If-Match": "\"999\""]).status == 412)
            #expect(try await server.patch("/v1/pools/web/backends/a", ["weight": 2], headers: ["If-Match": etag]).status == 200)
            #expect(try await server.delete("/v1/pools/web/backends/a", headers: ["If-Match": etag]).status == 412)
        }
    }
}
