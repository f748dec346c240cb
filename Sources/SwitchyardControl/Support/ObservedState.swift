import Foundation
import SwitchyardCore
import SwitchyardStore
import Synchronization

/// What the API shows beside stored configuration: this instance's data plane (health, connections,
/// metrics) and what every instance reported with its last heartbeat. The heartbeat refreshes the
/// latter, so reads cost no extra query.
public final class ObservedState: Sendable {
    let dataPlane: (any DataPlane)?
    private let instances = Mutex<[InstanceRecord]>([])

    public init(dataPlane: (any DataPlane)?) {
        self.dataPlane = dataPlane
    }

    func update(instances records: [InstanceRecord]) {
        instances.withLock { $0 = records }
    }

    /// A view for mapping many backends at once (one snapshot of each source).
    func backendView() -> BackendView {
        // Running instances only: stopped ones and those silent for 30 s (stale) no longer speak for traffic.
        let now = Date()
        return BackendView(
            local: dataPlane?.backendHealth() ?? [:],
            instances: instances.withLock { $0 }.filter { !$0.stopped && now.timeIntervalSince($0.heartbeatAt) <= 30 }, dataPlane: dataPlane)
    }

    struct BackendView {
        let local: [String: BackendHealthReport]
        let instances: [InstanceRecord]
        let dataPlane: (any DataPlane)?

        func health(pool: String, backend: String) -> BackendHealthReport? { local["\(pool)/\(backend)"] }

        func byInstance(pool: String, backend: String) -> [(InstanceRecord, BackendHealthReport)] {
            let key = "\(pool)/\(backend)"
            return instances.compactMap { record in record.backendHealth[key].map { (record, $0) } }
        }

        func activeConnections(pool: String, backend: String) -> Int {
            dataPlane?.activeConnections(backend: "\(pool)/\(backend)") ?? 0
        }
    }
}
