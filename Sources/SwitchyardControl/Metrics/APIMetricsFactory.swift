import CoreMetrics
import Prometheus
import SwitchyardCore

/// The swift-metrics factory of the control plane: it makes each metric in a swift-prometheus registry
/// with the family's HELP text and, for a timer, the bucket list of its kind of duration. (The
/// factory swift-prometheus brings registers every family without HELP, and would stop the process if
/// the same family were also made with one.)
struct APIMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry

    /// The HELP text of every family the control plane records, by name.
    static let help: [String: String] = [
        APIMetrics.requestsName: "API requests by operation and status code.",
        APIMetrics.requestDurationName: "API request latency by operation.",
        APIMetrics.generationName: "The newest configuration generation this instance has seen.",
        APIMetrics.appliedGenerationName: "The generation of the configuration snapshot this instance serves.",
    ]

    /// The bucket list of every timer, by name: one list per kind of duration.
    static let durationBuckets: [String: [Duration]] = [
        APIMetrics.requestDurationName: LatencyBuckets.apiRequest
    ]

    /// The family `name` with its HELP text (a name without one is a mistake in this file).
    private func family(_ name: String) -> MetricNameDescriptor {
        guard let help = Self.help[name] else { preconditionFailure("metric \(name) has no HELP text") }
        return MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: family(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: family(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: family(label), labels: dimensions) }
        preconditionFailure("metric \(label): value histograms have no bucket list")
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: family(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        guard let buckets = Self.durationBuckets[label] else { preconditionFailure("timer \(label) has no bucket list") }
        return registry.makeDurationHistogram(descriptor: family(label), labels: dimensions, buckets: buckets)
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}
