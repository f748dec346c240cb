import CoreMetrics
import Prometheus
import Synchronization

/// The control plane's metrics: API requests by operation and status, their latency, and the
/// configuration generations. Recorded through swift-metrics into a swift-prometheus registry of
/// this instance's own (no process-wide bootstrap: several servers may run in one process).
public final class APIMetrics: Sendable {
    static let requestsName = "switchyard_api_requests_total"
    static let requestDurationName = "switchyard_api_request_duration_seconds"
    static let generationName = "switchyard_config_generation"
    static let appliedGenerationName = "switchyard_config_generation_applied"

    /// Where the control plane's series live; `/metrics` writes it out.
    public let registry: PrometheusCollectorRegistry
    private let factory: APIMetricsFactory
    /// The newest generation seen, kept under a lock so that the gauge never goes back.
    private let newestGeneration = Mutex<Int64>(0)
    private let generation: CoreMetrics.Gauge
    private let appliedGeneration: CoreMetrics.Gauge

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = APIMetricsFactory(registry: registry)
        generation = Gauge(label: Self.generationName, factory: factory)
        appliedGeneration = Gauge(label: Self.appliedGenerationName, factory: factory)
        generation.record(0)
        appliedGeneration.record(0)
    }

    public func record(operation: String, status: Int, duration: Duration) {
        Counter(label: Self.requestsName, dimensions: [("operation", operation), ("status", String(status))], factory: factory).increment()
        let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        Timer(label: Self.requestDurationName, dimensions: [("operation", operation)], factory: factory).recordNanoseconds(nanoseconds)
    }

    /// A generation this instance has seen; the gauge keeps the newest.
    public func setGeneration(_ seen: Int64) {
        newestGeneration.withLock { newest in
            guard seen > newest else { return }
            newest = seen
            generation.record(seen)
        }
    }

    public func setApplied(_ applied: Int64) {
        appliedGeneration.record(applied)
    }

    /// The control plane's families in the Prometheus text format.
    public func render() -> String { registry.emitToString() }
}
