import Foundation
import Synchronization

/// Counters and latency histograms of the control API, rendered in Prometheus text format.
public final class APIMetrics: Sendable {
    private struct OperationStats {
        var countsByStatus: [Int: Int] = [:]
        var bucketCounts: [Int]
        var sum: Double = 0
        var count: Int = 0
    }

    private struct State {
        var operations: [String: OperationStats] = [:]
        var generation: Int64 = 0
        var appliedGeneration: Int64 = 0
    }

    /// Latency bucket bounds in seconds.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    private let state = Mutex(State())

    public init() {}

    public func record(operation: String, status: Int, duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        state.withLock { state in
            var stats = state.operations[operation] ?? OperationStats(bucketCounts: Array(repeating: 0, count: Self.buckets.count))
            stats.countsByStatus[status, default: 0] += 1
            for (index, bound) in Self.buckets.enumerated() where seconds <= bound { stats.bucketCounts[index] += 1 }
            stats.sum += seconds
            stats.count += 1
            state.operations[operation] = stats
        }
    }

    public func setGeneration(_ generation: Int64) {
        state.withLock { $0.generation = max($0.generation, generation) }
    }

    public func setApplied(_ generation: Int64) {
        state.withLock { $0.appliedGeneration = generation }
    }

    public func render() -> String {
        let snapshot = state.withLock { $0 }
        var lines: [String] = []
        lines.append("# HELP switchyard_api_requests_total API requests by operation and status code.")
        lines.append("# TYPE switchyard_api_requests_total counter")
        for operation in snapshot.operations.keys.sorted() {
            for (status, count) in snapshot.operations[operation]!.countsByStatus.sorted(by: { $0.key < $1.key }) {
                lines.append("switchyard_api_requests_total{operation=\"\(operation)\",status=\"\(status)\"} \(count)")
            }
        }
        lines.append("# HELP switchyard_api_request_duration_seconds API request latency by operation.")
        lines.append("# TYPE switchyard_api_request_duration_seconds histogram")
        for operation in snapshot.operations.keys.sorted() {
            let stats = snapshot.operations[operation]!
            for (index, bound) in Self.buckets.enumerated() {
                lines.append(
                    "switchyard_api_request_duration_seconds_bucket{operation=\"\(operation)\",le=\"\(bound)\"} \(stats.bucketCounts[index])")
            }
            lines.append("switchyard_api_request_duration_seconds_bucket{operation=\"\(operation)\",le=\"+Inf\"} \(stats.count)")
            lines.append("switchyard_api_request_duration_seconds_sum{operation=\"\(operation)\"} \(stats.sum)")
            lines.append("switchyard_api_request_duration_seconds_count{operation=\"\(operation)\"} \(stats.count)")
        }
        lines.append("# HELP switchyard_config_generation The newest configuration generation this instance has seen.")
        lines.append("# TYPE switchyard_config_generation gauge")
        lines.append("switchyard_config_generation \(snapshot.generation)")
        lines.append("# HELP switchyard_config_generation_applied The generation of the configuration snapshot this instance serves.")
        lines.append("# TYPE switchyard_config_generation_applied gauge")
        lines.append("switchyard_config_generation_applied \(snapshot.appliedGeneration)")
        return lines.joined(separator: "\n") + "\n"
    }
}
