import SwitchyardCore
import Testing

@testable import SwitchyardControl

@Suite("Prometheus text: the writer, the data plane's families and the control plane's registry")
struct PrometheusTextWriterTests {
    @Test("label values escape backslash, double quote and line feed, and nothing else")
    func labelValueEscaping() {
        #expect(PrometheusTextWriter.escapedLabelValue(#"a\b"c"# + "\nd") == #"a\\b\"c\nd"#)
        #expect(PrometheusTextWriter.escapedLabelValue("web-1/é {x}=,'") == "web-1/é {x}=,'")
        #expect(PrometheusTextWriter.escapedLabelValue(#"\\"#) == #"\\\\"#)
        var writer = PrometheusTextWriter()
        writer.sample("x_total", [("pool", "we\"b"), ("backend", "a\\b\nc")], 3)
        #expect(writer.text == #"x_total{pool="we\"b",backend="a\\b\nc"} 3"# + "\n")
    }

    @Test("HELP text escapes backslash and line feed")
    func helpEscaping() {
        var writer = PrometheusTextWriter()
        writer.family("x_total", .counter, help: "a \\ b\nc \"d\"")
        #expect(writer.text == "# HELP x_total a \\\\ b\\nc \"d\"\n# TYPE x_total counter\n")
    }

    @Test("a histogram's buckets are cumulative, with +Inf, sum and count in seconds")
    func histogram() {
        var writer = PrometheusTextWriter()
        writer.histogram(
            "d_seconds", [("pool", "web")], bounds: [.microseconds(500), .milliseconds(1), .seconds(2)], counts: [1, 0, 2, 3],
            sum: .milliseconds(7250))
        #expect(
            writer.text == """
                d_seconds_bucket{pool="web",le="0.0005"} 1
                d_seconds_bucket{pool="web",le="0.001"} 1
                d_seconds_bucket{pool="web",le="2.0"} 3
                d_seconds_bucket{pool="web",le="+Inf"} 6
                d_seconds_sum{pool="web"} 7.25
                d_seconds_count{pool="web"} 6

                """)
    }

    static func traffic(requests: Int) -> DataPlaneMetrics.Traffic {
        var traffic = DataPlaneMetrics.Traffic(
            duration: .init(
                bounds: LatencyBuckets.proxyRequest, counts: [requests] + Array(repeating: 0, count: LatencyBuckets.proxyRequest.count),
                sum: .microseconds(100 * requests)))
        traffic.requests = requests
        traffic.responsesByClass = [0, requests, 0, 0, 0]
        return traffic
    }

    @Test("the data plane's counters: pool and backend as two labels, escaped values, each family's samples after its TYPE")
    func dataPlaneFamilies() {
        var timeouts = Array(repeating: 0, count: DataPlaneMetrics.TimeoutPhase.allCases.count)
        timeouts[DataPlaneMetrics.TimeoutPhase.backendResponse.rawValue] = 2
        let metrics = DataPlaneMetrics(
            listeners: [.init(name: "front", traffic: Self.traffic(requests: 4), timeouts: timeouts, rateLimitedRequests: 1)],
            pools: [.init(name: "web", traffic: Self.traffic(requests: 4))],
            backends: [.init(pool: "web", name: "a/\"b\"", traffic: Self.traffic(requests: 4))],
            listenerSockets: [.init(name: "front", bound: true), .init(name: "taken", bound: false)],
            backendHealth: [.init(pool: "web", name: "a/\"b\"", up: false, transitions: [.healthy: 1, .unhealthy: 2])])
        var writer = PrometheusTextWriter()
        DataPlaneMetricsWriter.write(metrics, into: &writer)
        let text = writer.text
        #expect(MetricsText.misplacedSamples(in: text) == [])
        #expect(Set(MetricsText.families(in: text)).count == MetricsText.families(in: text).count)
        for family in MetricsAPITests.familiesServedBefore where !family.hasPrefix("switchyard_api") && !family.hasPrefix("switchyard_config") {
            #expect(MetricsText.families(in: text).contains(family), "family \(family)")
        }
        let lines = Set(text.split(separator: "\n").map(String.init))
        let expected = [
            #"switchyard_listener_requests_total{listener="front"} 4"#,
            #"switchyard_listener_responses_total{listener="front",class="2xx"} 4"#,
            #"switchyard_listener_timeouts_total{listener="front",phase="backend_response"} 2"#,
            #"switchyard_listener_rate_limited_total{listener="front",kind="connection"} 0"#,
            #"switchyard_listener_rate_limited_total{listener="front",kind="request"} 1"#,
            #"switchyard_listener_accept_paused_total{listener="front",reason="connection_limit"} 0"#,
            #"switchyard_pool_request_duration_seconds_bucket{pool="web",le="0.0005"} 4"#,
            #"switchyard_pool_request_duration_seconds_bucket{pool="web",le="30.0"} 4"#,
            #"switchyard_pool_request_duration_seconds_count{pool="web"} 4"#,
            #"switchyard_backend_requests_total{pool="web",backend="a/\"b\""} 4"#,
            #"switchyard_backend_up{pool="web",backend="a/\"b\""} 0"#,
            #"switchyard_backend_health_transitions_total{pool="web",backend="a/\"b\"",to="healthy"} 1"#,
            #"switchyard_backend_health_transitions_total{pool="web",backend="a/\"b\"",to="unhealthy"} 2"#,
            #"switchyard_listener_bound{listener="front"} 1"#,
            #"switchyard_listener_bound{listener="taken"} 0"#,
        ]
        for line in expected { #expect(lines.contains(line), "\(line)") }
        #expect(!text.contains("phase=\"client_head\""), "a phase that never expired has no series")
    }

    @Test("the control plane's registry: counters by operation and status, one bucket list, escaped values, the newest generation")
    func controlPlaneRegistry() {
        let metrics = APIMetrics()
        metrics.record(operation: "getPool", status: 200, duration: .microseconds(700))
        metrics.record(operation: "getPool", status: 200, duration: .milliseconds(3))
        metrics.record(operation: "odd\"op\\\n", status: 404, duration: .seconds(45))
        metrics.setGeneration(7)
        metrics.setGeneration(5)
        metrics.setApplied(6)
        let text = metrics.render()
        let lines = Set(text.split(separator: "\n").map(String.init))
        let expected = [
            #"switchyard_api_requests_total{operation="getPool",status="200"} 2"#,
            #"switchyard_api_requests_total{operation="odd\"op\\\n",status="404"} 1"#,
            #"switchyard_api_request_duration_seconds_bucket{operation="getPool",le="0.001"} 1"#,
            #"switchyard_api_request_duration_seconds_bucket{operation="getPool",le="0.005"} 2"#,
            #"switchyard_api_request_duration_seconds_bucket{operation="odd\"op\\\n",le="30.0"} 0"#,
            #"switchyard_api_request_duration_seconds_bucket{operation="odd\"op\\\n",le="60.0"} 1"#,
            #"switchyard_api_request_duration_seconds_count{operation="getPool"} 2"#,
            "# HELP switchyard_api_requests_total API requests by operation and status code.",
            "switchyard_config_generation 7.0",
            "switchyard_config_generation_applied 6.0",
        ]
        for line in expected { #expect(lines.contains(line), "\(line)") }
        let bounds = text.split(separator: "\n").filter { $0.hasPrefix(#"switchyard_api_request_duration_seconds_bucket{operation="getPool""#) }
        #expect(bounds.count == LatencyBuckets.apiRequest.count + 1)
        #expect(MetricsText.misplacedSamples(in: text) == [])
    }
}
