import Foundation
import Testing

@Suite("/metrics: one exposition of the control plane and the data plane")
struct MetricsAPITests {
    /// Every metric family that /metrics served before the control plane moved to swift-metrics
    /// (taken from a scrape of an instance with an HTTP listener, a pool and a backend).
    static let familiesServedBefore = [
        "switchyard_api_requests_total",
        "switchyard_api_request_duration_seconds",
        "switchyard_config_generation",
        "switchyard_config_generation_applied",
        "switchyard_listener_requests_total",
        "switchyard_listener_responses_total",
        "switchyard_listener_failures_total",
        "switchyard_listener_retries_total",
        "switchyard_listener_requests_in_flight",
        "switchyard_listener_connections_total",
        "switchyard_listener_active_connections",
        "switchyard_listener_accept_paused_total",
        "switchyard_listener_rate_limited_total",
        "switchyard_listener_timeouts_total",
        "switchyard_listener_request_duration_seconds",
        "switchyard_listener_bound",
        "switchyard_pool_requests_total",
        "switchyard_pool_responses_total",
        "switchyard_pool_failures_total",
        "switchyard_pool_retries_total",
        "switchyard_pool_requests_in_flight",
        "switchyard_pool_connections_total",
        "switchyard_pool_active_connections",
        "switchyard_pool_request_duration_seconds",
        "switchyard_backend_requests_total",
        "switchyard_backend_responses_total",
        "switchyard_backend_failures_total",
        "switchyard_backend_retries_total",
        "switchyard_backend_requests_in_flight",
        "switchyard_backend_connections_total",
        "switchyard_backend_active_connections",
        "switchyard_backend_request_duration_seconds",
        "switchyard_backend_up",
        "switchyard_backend_health_transitions_total",
    ]

    @Test("every metric family served before is still served, each with one TYPE line and its samples right after it")
    func familiesStayServed() async throws {
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)])
            #expect(try await TestServer.through(port, "/").status == 200)
            #expect(try await server.get("/v1/pools/web").status == 200)
            let text = try await server.get("/metrics", token: nil).text
            let families = MetricsText.families(in: text)
            for family in Self.familiesServedBefore {
                #expect(families.filter { $0 == family }.count == 1, "family \(family)")
            }
            #expect(MetricsText.misplacedSamples(in: text) == [])
            #expect(text.contains("switchyard_listener_requests_total{listener=\"web-listener\"} 1\n"))
            #expect(text.contains("switchyard_pool_responses_total{pool=\"web\",class=\"2xx\"} 1\n"))
            #expect(text.contains("switchyard_backend_request_duration_seconds_count{pool=\"web\",backend=\"a\"} 1\n"))
            #expect(text.contains("switchyard_api_requests_total{operation=\"getPool\",status=\"200\"} 1\n"))
            #expect(text.contains("switchyard_listener_bound{listener=\"web-listener\"} 1\n"))
        }
    }
}
