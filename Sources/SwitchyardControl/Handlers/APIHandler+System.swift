import Foundation
import OpenAPIRuntime
import SwitchyardAPI
import SwitchyardCore
import SwitchyardStore

extension APIHandler {
    func getHealthz(_ input: Operations.GetHealthz.Input) async throws -> Operations.GetHealthz.Output {
        .ok(.init(body: .json(.init(status: .ok))))
    }

    func getReadyz(_ input: Operations.GetReadyz.Input) async throws -> Operations.GetReadyz.Output {
        if await store.isReachable(), let generation = try? await store.currentGeneration() {
            metrics.setGeneration(generation)
            return .ok(.init(body: .json(.init(status: .ready, store: .reachable, generation: generation))))
        }
        return .serviceUnavailable(.init(body: .json(.init(status: .degraded, store: .unreachable))))
    }

    func getMetrics(_ input: Operations.GetMetrics.Input) async throws -> Operations.GetMetrics.Output {
        // The control plane's families from its registry, then the data plane's counters as they are now.
        var dataPlane = PrometheusTextWriter()
        if let counters = observed.dataPlane?.metrics() { DataPlaneMetricsWriter.write(counters, into: &dataPlane) }
        return .ok(.init(body: .plainText(HTTPBody(metrics.render() + dataPlane.text))))
    }

    func getOpenAPIDocument(_ input: Operations.GetOpenAPIDocument.Input) async throws -> Operations.GetOpenAPIDocument.Output {
        .ok(.init(body: .yaml(HTTPBody(openAPIDocument))))
    }

    func listInstances(_ input: Operations.ListInstances.Input) async throws -> Operations.ListInstances.Output {
        let now = Date()
        let items = try await store.instances().map { record -> Schemas.Instance in
            let state: Schemas.Instance.StatePayload =
                record.stopped ? .stopped : now.timeIntervalSince(record.heartbeatAt) > 30 ? .stale : .running
            return Schemas.Instance(
                id: record.id.uuidString.lowercased(), name: record.name, host: record.host, version: record.version,
                startedAt: record.startedAt, heartbeatAt: record.heartbeatAt, appliedGeneration: record.appliedGeneration, state: state,
                listeners: .init(additionalProperties: record.listeners.mapValues { .init(bound: $0.bound, error: $0.error) }),
                backendHealth: .init(
                    additionalProperties: record.backendHealth.mapValues {
                        .init(status: .init($0.status), reason: $0.reason, since: $0.since)
                    }))
        }
        return .ok(.init(body: .json(.init(items: items))))
    }
}
