import Foundation
import SwitchyardCore

/// Writes the data plane's counters (`DataPlaneMetrics`) as the metric families of /metrics listed in
/// docs/proxy.md, "Metrics". Every family is written with its HELP and TYPE lines even when it has no
/// series yet, and each family's samples follow its TYPE line.
enum DataPlaneMetricsWriter {
    /// One series of traffic counters: its labels and its counts.
    private struct TrafficSeries {
        var labels: [PrometheusTextWriter.Label]
        var traffic: DataPlaneMetrics.Traffic
    }

    static func write(_ metrics: DataPlaneMetrics, now: Date = Date(), into writer: inout PrometheusTextWriter) {
        writeTraffic(
            "switchyard_listener", metrics.listeners.map { TrafficSeries(labels: [("listener", $0.name)], traffic: $0.traffic) },
            into: &writer)
        writeListenerCounts(metrics.listeners, into: &writer)
        writeTraffic("switchyard_pool", metrics.pools.map { TrafficSeries(labels: [("pool", $0.name)], traffic: $0.traffic) }, into: &writer)
        writeTraffic(
            "switchyard_backend",
            metrics.backends.map { TrafficSeries(labels: [("pool", $0.pool), ("backend", $0.name)], traffic: $0.traffic) }, into: &writer)

        writer.family("switchyard_backend_up", .gauge, help: "Whether this instance sends new requests to the backend (health only).")
        for backend in metrics.backendHealth {
            writer.sample("switchyard_backend_up", [("pool", backend.pool), ("backend", backend.name)], backend.up ? 1 : 0)
        }
        writer.family("switchyard_backend_health_transitions_total", .counter, help: "Health state changes by new state.")
        for backend in metrics.backendHealth {
            for status in HealthStatus.allCases {
                guard let count = backend.transitions[status] else { continue }
                writer.sample(
                    "switchyard_backend_health_transitions_total", [("pool", backend.pool), ("backend", backend.name), ("to", status.rawValue)],
                    count)
            }
        }
        writer.family("switchyard_listener_bound", .gauge, help: "Whether the listener's socket is bound on this instance.")
        for socket in metrics.listenerSockets {
            writer.sample("switchyard_listener_bound", [("listener", socket.name)], socket.bound ? 1 : 0)
        }
        writer.family(
            "switchyard_certificate_expiry_seconds", .gauge, help: "Seconds until the certificate's not_after (negative once expired).")
        for certificate in metrics.certificates {
            guard let notAfter = try? Date(certificate.notAfter, strategy: .iso8601) else { continue }
            writer.sample(
                "switchyard_certificate_expiry_seconds", [("certificate", certificate.name)], Int(notAfter.timeIntervalSince(now).rounded(.down)))
        }
    }

    /// The families every listener, pool and backend has.
    private static func writeTraffic(_ prefix: String, _ series: [TrafficSeries], into writer: inout PrometheusTextWriter) {
        func counts(_ suffix: String, _ type: PrometheusTextWriter.FamilyType, _ help: String, _ value: (DataPlaneMetrics.Traffic) -> Int) {
            writer.family("\(prefix)_\(suffix)", type, help: help)
            for entry in series { writer.sample("\(prefix)_\(suffix)", entry.labels, value(entry.traffic)) }
        }
        counts("requests_total", .counter, "Requests received (listener) or sent (pool, backend).") { $0.requests }
        writer.family("\(prefix)_responses_total", .counter, help: "Responses by status class.")
        for entry in series {
            for (index, count) in entry.traffic.responsesByClass.enumerated() where count > 0 {
                writer.sample("\(prefix)_responses_total", entry.labels + [("class", "\(index + 1)xx")], count)
            }
        }
        counts("failures_total", .counter, "Exchanges that failed (connect error, timeout, cut response).") { $0.failures }
        counts("retries_total", .counter, "Requests sent again to another attempt.") { $0.retries }
        counts("requests_in_flight", .gauge, "Requests waiting for their response.") { $0.inFlight }
        counts("connections_total", .counter, "Connections accepted (listener) or TCP sessions opened (backend).") { $0.connections }
        counts("active_connections", .gauge, "Open client connections (listener) or TCP sessions (backend).") { $0.activeConnections }
        writer.family("\(prefix)_request_duration_seconds", .histogram, help: "Time from request head to the end of the response.")
        for entry in series {
            let duration = entry.traffic.duration
            writer.histogram(
                "\(prefix)_request_duration_seconds", entry.labels, bounds: duration.bounds, counts: duration.counts, sum: duration.sum)
        }
    }

    /// The families only listeners have.
    private static func writeListenerCounts(_ listeners: [DataPlaneMetrics.Listener], into writer: inout PrometheusTextWriter) {
        writer.family(
            "switchyard_listener_accept_paused_total", .counter,
            help: "Pauses of accepting: at the connection limit, or out of descriptors or memory.")
        for listener in listeners {
            for pause in DataPlaneMetrics.AcceptPause.allCases {
                writer.sample(
                    "switchyard_listener_accept_paused_total", [("listener", listener.name), ("reason", label(pause))],
                    listener.acceptPauses[pause.rawValue])
            }
        }
        writer.family("switchyard_listener_rate_limited_total", .counter, help: "Connections and requests refused by a per-client rate limit.")
        for listener in listeners where listener.rateLimitedConnections + listener.rateLimitedRequests > 0 {
            writer.sample("switchyard_listener_rate_limited_total", [("listener", listener.name), ("kind", "connection")], listener.rateLimitedConnections)
            writer.sample("switchyard_listener_rate_limited_total", [("listener", listener.name), ("kind", "request")], listener.rateLimitedRequests)
        }
        writer.family("switchyard_listener_timeouts_total", .counter, help: "Timeouts that expired, by phase.")
        for listener in listeners {
            for phase in DataPlaneMetrics.TimeoutPhase.allCases where listener.timeouts[phase.rawValue] > 0 {
                writer.sample(
                    "switchyard_listener_timeouts_total", [("listener", listener.name), ("phase", label(phase))], listener.timeouts[phase.rawValue])
            }
        }
    }

    static func label(_ phase: DataPlaneMetrics.TimeoutPhase) -> String {
        switch phase {
        case .clientHead: "client_head"
        case .clientBody: "client_body"
        case .clientSend: "client_send"
        case .clientIdle: "client_idle"
        case .backendConnect: "backend_connect"
        case .backendResponse: "backend_response"
        case .backendBody: "backend_body"
        case .tcpIdle: "tcp_idle"
        }
    }

    static func label(_ pause: DataPlaneMetrics.AcceptPause) -> String {
        switch pause {
        case .connectionLimit: "connection_limit"
        case .outOfResources: "out_of_resources"
        }
    }
}
