import Testing

@testable import SwitchyardCore

@Suite("Names, addresses, networks, status sets")
struct PrimitiveValidationTests {
    @Test(arguments: ["web", "a", "web-1", "0", String(repeating: "a", count: 63)])
    func validNames(_ name: String) { #expect(ResourceName.isValid(name)) }

    @Test(arguments: ["", "-web", "Web", "web_1", "wéb", "web.1", String(repeating: "a", count: 64)])
    func invalidNames(_ name: String) { #expect(!ResourceName.isValid(name)) }

    @Test func addresses() {
        #expect(IPAddress("10.0.0.1")?.isIPv4 == true)
        #expect(IPAddress("2001:db8::1")?.isIPv4 == false)
        #expect(IPAddress("::")?.isUnspecified == true)
        #expect(IPAddress("999.1.1.1") == nil)
        #expect(IPAddress("10.0.0") == nil)
        #expect(IPAddress("host") == nil)
        #expect(IPAddress("010.0.0.1") == nil)
        #expect(IPAddress("fe80::1%eth0") == nil)
        #expect(IPAddress("10.0.0.1")?.description == "10.0.0.1")
    }

    @Test func hostNames() {
        #expect(HostName.isValid("app-1.internal"))
        #expect(HostName.isValid("localhost"))
        #expect(!HostName.isValid("999.1.1.1"))
        #expect(!HostName.isValid("-bad.example"))
        #expect(!HostName.isValid("a..b"))
        #expect(!HostName.isValid("has space"))
        #expect(HostName.isValid("*.example.com", allowWildcard: true))
        #expect(!HostName.isValid("*.example.com"))
    }

    @Test func networks() throws {
        let net = try #require(IPNetwork("10.1.2.3/8"))
        #expect(net.description == "10.0.0.0/8")
        #expect(net.contains(IPAddress("10.200.0.1")!))
        #expect(!net.contains(IPAddress("11.0.0.1")!))
        #expect(!net.contains(IPAddress("::1")!))
        #expect(IPNetwork("192.0.2.7")?.prefixLength == 32)
        #expect(IPNetwork("2001:db8::/32")?.contains(IPAddress("2001:db8:1::5")!) == true)
        #expect(IPNetwork("10.0.0.0/12")?.contains(IPAddress("10.15.255.255")!) == true)
        #expect(IPNetwork("10.0.0.0/12")?.contains(IPAddress("10.16.0.0")!) == false)
        for bad in ["10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "/8", "10.0.0.0/8/8", "::/129", "x/8"] {
            #expect(IPNetwork(bad) == nil, "\(bad)")
        }
    }

    @Test func statusCodeSets() {
        #expect(StatusCodeSet("200")?.contains(200) == true)
        let set = StatusCodeSet("200-299,304")
        #expect(set?.contains(250) == true)
        #expect(set?.contains(304) == true)
        #expect(set?.contains(301) == false)
        for bad in ["", "20", "600", "abc", "200-", "1000", " 200", "200,"] { #expect(StatusCodeSet(bad) == nil, "\(bad)") }
        #expect(StatusCodeSet("399-200")?.contains(250) == true)
    }
}

@Suite("Drafts resolve to specs or report every bad field")
struct DraftTests {
    @Test func poolDefaults() throws {
        let spec = try PoolDraft().resolved()
        #expect(spec == .defaults)
    }

    @Test func poolErrorsAllAtOnce() {
        let draft = PoolDraft(
            healthCheck: HealthCheckDraft(path: "x", expectedStatus: "nope", intervalMs: 50, timeoutMs: 100, rise: 0, fall: 101),
            passive: PassiveHealthDraft(maxFailures: -1, ejectMs: 1), retries: 11,
            timeouts: TimeoutsDraft(connectMs: 0, responseMs: 0, idleMs: 0), drainTimeoutMs: -1, minHealthyPercent: 200)
        #expect(throws: ValidationFailure.self) { try draft.resolved() }
        do {
            _ = try draft.resolved(fieldPrefix: "pools[0].")
        } catch {
            let fields = Set(error.errors.map(\.field))
            #expect(
                fields == [
                    "pools[0].retries", "pools[0].drain_timeout_ms", "pools[0].min_healthy_percent", "pools[0].health_check.interval_ms",
                    "pools[0].health_check.rise", "pools[0].health_check.fall",
                    "pools[0].health_check.path", "pools[0].health_check.expected_status", "pools[0].passive.max_failures",
                    "pools[0].passive.eject_ms", "pools[0].timeouts.connect_ms", "pools[0].timeouts.response_ms",
                    "pools[0].timeouts.idle_ms",
                ])
        }
    }

    @Test func patchKeepsWhatItDoesNotName() throws {
        var base = PoolSpec.defaults
        base.retries = 5
        base.healthCheck.path = "/health"
        let patched = try PoolDraft(healthCheck: HealthCheckDraft(intervalMs: 4000)).resolved(over: base)
        #expect(patched.retries == 5)
        #expect(patched.healthCheck.path == "/health")
        #expect(patched.healthCheck.intervalMs == 4000)
    }

    @Test func timeoutMayOutlastInterval() throws {
        // A probe in flight delays the next one; HAProxy allows the same.
        #expect(try PoolDraft(healthCheck: HealthCheckDraft(intervalMs: 500)).resolved().healthCheck.timeoutMs == 1000)
    }

    @Test func backends() throws {
        let spec = try BackendDraft(address: "10.0.0.1", port: 80).resolved(over: nil)
        #expect(spec == BackendSpec(address: "10.0.0.1", port: 80, weight: 1, backup: false, adminState: .enabled))
        #expect(throws: ValidationFailure.self) { try BackendDraft(port: 80).resolved(over: nil) }
        let patched = try BackendDraft(adminState: .draining).resolved(over: spec)
        #expect(patched.address == "10.0.0.1" && patched.adminState == .draining)
        do {
            _ = try BackendDraft(address: "bad host!", port: 0, weight: -1).resolved(over: nil)
            Issue.record("expected a failure")
        } catch {
            #expect(Set(error.errors.map(\.field)) == ["address", "port", "weight"])
        }
    }
}

@Suite("Listeners")
struct ListenerRuleTests {
    func errors(
        _ listener: ListenerSpec, pools: [String: PoolProtocol] = ["web": .http, "db": .tcp],
        others: [(name: String, spec: ListenerSpec)] = [], certificates: Set<String> = ["site"]
    ) -> [String] {
        var collector = FieldErrorCollector()
        ListenerRules.check(
            listener, named: "l", poolProtocol: { pools[$0] }, certificateExists: { certificates.contains($0) }, otherListeners: others,
            into: &collector)
        return collector.errors.map(\.field)
    }

    @Test func valid() {
        #expect(errors(ListenerSpec(port: 80, defaultPool: "web", routes: [RouteSpec(host: "*.a.com", pathPrefix: "/x", pool: "web")])).isEmpty)
        #expect(errors(ListenerSpec(port: 5432, protocol: .tcp, defaultPool: "db")).isEmpty)
    }

    @Test func references() {
        #expect(errors(ListenerSpec(port: 80, defaultPool: "missing")) == ["default_pool"])
        #expect(errors(ListenerSpec(port: 80, defaultPool: "db")) == ["default_pool"])
        #expect(errors(ListenerSpec(port: 80, protocol: .tcp, defaultPool: "web")) == ["default_pool"])
        #expect(errors(ListenerSpec(port: 80, routes: [RouteSpec(pool: "nope")])) == ["routes[0].pool"])
        #expect(errors(ListenerSpec(port: 80)) == ["default_pool"])
        #expect(errors(ListenerSpec(port: 80, protocol: .tcp, defaultPool: "db", routes: [RouteSpec(pool: "db")])).contains("routes"))
    }

    @Test func tls() {
        #expect(errors(ListenerSpec(port: 443, protocol: .https, defaultPool: "web")) == ["tls"])
        let tls = TLSSpec(certificates: ["site"])
        #expect(errors(ListenerSpec(port: 443, protocol: .https, defaultPool: "web", tls: tls)).isEmpty)
        #expect(errors(ListenerSpec(port: 443, protocol: .https, defaultPool: "web", tls: TLSSpec(certificates: []))) == ["tls.certificates"])
        #expect(errors(ListenerSpec(port: 443, protocol: .https, defaultPool: "web", tls: TLSSpec(certificates: ["site", "gone"]))) == ["tls.certificates"])
        #expect(errors(ListenerSpec(port: 443, protocol: .https, defaultPool: "web", tls: TLSSpec(certificates: ["site", "site"]))) == ["tls.certificates"])
        #expect(errors(ListenerSpec(port: 443, protocol: .https, defaultPool: "web", tls: TLSSpec(certificates: ["Bad"]))) == ["tls.certificates[0]"])
        #expect(errors(ListenerSpec(port: 80, defaultPool: "web", tls: tls)) == ["tls"])
    }

    @Test func sockets() {
        let wildcard = ListenerSpec(bind: "0.0.0.0", port: 80, defaultPool: "web")
        let local = ListenerSpec(bind: "127.0.0.1", port: 80, defaultPool: "web")
        let other = ListenerSpec(bind: "127.0.0.2", port: 80, defaultPool: "web")
        let v6Wildcard = ListenerSpec(bind: "::", port: 80, defaultPool: "web")
        #expect(local.sharesSocket(with: wildcard))
        #expect(wildcard.sharesSocket(with: local))
        #expect(!local.sharesSocket(with: other))
        #expect(v6Wildcard.sharesSocket(with: local))
        #expect(!local.sharesSocket(with: ListenerSpec(bind: "127.0.0.1", port: 81, defaultPool: "web")))
        #expect(errors(local, others: [(name: "w", spec: wildcard)]) == ["port"])
        #expect(errors(local, others: [(name: "l", spec: wildcard)]).isEmpty)  // itself
    }

    @Test func firewallLists() {
        #expect(errors(ListenerSpec(port: 80, defaultPool: "web", allow: ["10.0.0.0/8", "bad"], deny: ["::1/200"])) == ["allow[1]", "deny[0]"])
    }
}
