import Foundation
import Synchronization
import Testing

@testable import SwitchyardCore
@testable import SwitchyardStore

@Suite("Following the configuration from the audit log")
struct ConfigFollowerTests {
    /// Every kind of write, each followed by a refresh that reads only its audit rows: the followed
    /// configuration must equal a whole read of the store every time.
    @Test("after every kind of write, the configuration followed from audit rows equals a whole read")
    func followsEveryWrite() async throws {
        try await TestServer.with { server in
            try await server.withStore { store in
                let delivered = Mutex<[StoredConfiguration]>([])
                let follower = ConfigFollower(store: store, changeLimit: 50, wholeInterval: .seconds(3600)) { stored in
                    delivered.withLock { $0.append(stored) }
                }
                try await follower.refresh()
                #expect(await follower.wholeReads == 1)

                /// `whole`: the refresh must have read everything; otherwise only the audit rows.
                func check(_ step: String, whole: Bool = false) async throws {
                    let before = delivered.withLock { $0.count }
                    let wholeBefore = await follower.wholeReads
                    let generationBefore = delivered.withLock { $0.last?.generation }
                    try await follower.refresh()
                    let stored = try await store.document()
                    let followed = delivered.withLock { $0.last }
                    #expect(delivered.withLock { $0.count } == before + 1, "\(step): one configuration handed over")
                    #expect(followed?.generation == stored.generation, "\(step)")
                    #expect(followed?.tokenGeneration == stored.tokenGeneration, "\(step)")
                    #expect(followed?.document == stored.document, "\(step)")
                    #expect(await follower.wholeReads == wholeBefore + (whole ? 1 : 0), "\(step)")
                    // Followed: the pools it names are exactly those that differ from the last one.
                    if let followed, !whole, let previous = delivered.withLock({ $0.dropLast().last }) {
                        #expect(followed.changedPools?.since == generationBefore, "\(step)")
                        let differing = Set(followed.document.pools.keys).union(previous.document.pools.keys).filter {
                            followed.document.pools[$0] != previous.document.pools[$0]
                        }
                        #expect(differing.isSubset(of: followed.changedPools?.pools ?? []), "\(step)")
                    } else {
                        #expect(followed?.changedPools == nil, "\(step)")
                    }
                }

                #expect(
                    try await server.makePool("web", ["algorithm": "least_connections", "health_check": ["type": "tcp", "interval_ms": 2000]]).status
                        == 201)
                try await check("pool created")
                for index in 1...3 {
                    let created = try await server.post(
                        "/v1/pools/web/backends", ["name": "w\(index)", "address": "127.0.0.\(index)", "port": 8080, "weight": index])
                    #expect(created.status == 201)
                }
                try await check("backends registered (single statements)")
                #expect(try await server.patch("/v1/pools/web/backends/w2", ["admin_state": "draining", "weight": 7]).status == 200)
                try await check("backend changed")
                #expect(try await server.delete("/v1/pools/web/backends/w3").status == 204)
                try await check("backend deregistered (single statement)")
                #expect(try await server.patch("/v1/pools/web", ["algorithm": "round_robin"]).status == 200)
                try await check("pool changed")
                #expect(try await server.makePool("api", backends: ["a1", "a2"]).status == 201)
                let listener = try await server.post(
                    "/v1/listeners",
                    [
                        "name": "public", "port": 18080, "default_pool": "web",
                        "routes": [["host": "api.example.com", "path_prefix": "/v1", "pool": "api"]], "allow": ["10.0.0.0/8"],
                    ])
                #expect(listener.status == 201, "\(listener.text)")
                try await check("second pool, its backends and a listener with routes")
                let fixture = try TLSFixture()
                let first = try fixture.leaf("one.test", dnsNames: ["one.test"])
                let second = try fixture.leaf("two.test", dnsNames: ["two.test"])
                let certificate = try await server.post(
                    "/v1/certificates", ["name": "site", "certificate_pem": first.certificate, "private_key_pem": first.key])
                #expect(certificate.status == 201, "\(certificate.text)")
                try await check("certificate")
                let secure: [String: Any] = [
                    "name": "secure", "port": 18443, "protocol": "https", "default_pool": "web", "tls": ["certificates": ["site"]],
                ]
                #expect(try await server.post("/v1/listeners", secure).status == 201)
                try await check("TLS listener")
                let renewed = try await server.put(
                    "/v1/certificates/site", ["certificate_pem": second.certificate, "private_key_pem": second.key])
                #expect(renewed.status == 200, "\(renewed.text)")
                try await check("certificate replaced")
                #expect(try await server.delete("/v1/listeners/secure").status == 204)
                #expect(try await server.delete("/v1/certificates/site").status == 204)
                try await check("TLS listener and certificate deleted")
                let generation = try await store.currentGeneration()

                // Whole-configuration writes (batched statements): over the change limit reads everything.
                let many = (0..<60).map { ["name": "m\($0)", "address": "127.1.0.\($0)", "port": 9000] }
                let put = try await server.put(
                    "/v1/config",
                    [
                        "pools": [
                            ["name": "web", "backends": [["name": "w1", "address": "127.0.0.1", "port": 8080]]],
                            ["name": "bulk", "backends": many],
                        ]
                    ])
                #expect(put.status == 200, "\(put.text)")
                try await check("whole configuration replaced (more changes than the limit)", whole: true)
                let bulkGeneration = try await store.currentGeneration()
                let small = try await server.put(
                    "/v1/config", ["pools": [["name": "bulk", "backends": Array(many.prefix(55))], ["name": "web"]]])
                #expect(small.status == 200, "\(small.text)")
                try await check("whole configuration replaced (few changes)")
                #expect(try await server.post("/v1/config/rollback", ["generation": bulkGeneration]).status == 200)
                try await check("rollback of a few changes")
                #expect(try await server.post("/v1/config/rollback", ["generation": generation]).status == 200)
                try await check("rollback of many changes", whole: true)
                #expect(try await server.delete("/v1/listeners/public").status == 204)
                try await check("listener deleted")
                #expect(try await server.delete("/v1/pools/api?force=true").status == 204)
                try await check("pool deleted with its backends")
                #expect(try await server.post("/v1/tokens", ["name": "reader", "scopes": ["read"]]).status == 201)
                try await check("token created: a new generation and token generation, no configuration change")

                // Asked to (as after a reconnect), it reads everything, and hands over nothing unchanged.
                let handed = delivered.withLock { $0.count }
                try await follower.refresh(whole: true)
                #expect(delivered.withLock { $0.count } == handed)

                // Nothing moved: nothing is handed over.
                let count = delivered.withLock { $0.count }
                try await follower.refresh()
                #expect(delivered.withLock { $0.count } == count)

                // Past `wholeInterval` without a whole read, the next change is read whole; polls
                // in between read nothing.
                let aging = ConfigFollower(store: store, wholeInterval: .zero) { _ in }
                try await aging.refresh()
                try await aging.refresh()
                #expect(await aging.wholeReads == 1)
                #expect(try await server.post("/v1/pools/web/backends", ["name": "late", "address": "127.0.0.9", "port": 80]).status == 201)
                try await aging.refresh()
                #expect(await aging.wholeReads == 2)
            }
        }
    }
}
