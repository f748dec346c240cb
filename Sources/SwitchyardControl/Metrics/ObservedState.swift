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

    /// A view for mapping backends. `forList`: one copy of this instance's health for many backends;
    /// otherwise each backend's is asked for alone (copying all of it cost O(backends) per write).
    func backendView(forList: Bool = false) -> BackendView {
        // Running instances only: stopped ones and those silent for 30 s (stale) no longer speak for traffic.
        let now = Date()
        let running = instances.withLock { $0 }.filter { !$0.stopped && now.timeIntervalSince($0.heartbeatAt) <= 30 }
        return BackendView(
            local: forList ? dataPlane?.backendHealth() ?? [:] : nil,
            instances: running.map { ($0, $0.id.uuidString.lowercased()) }, dataPlane: dataPlane,
            connections: forList ? dataPlane?.activeConnections() ?? [:] : nil)
    }

    /// Lookups by "pool/backend" key (`BackendView.key`), built once per backend: a list maps 10,000.
    struct BackendView {
        /// This instance's health of every backend, when copied for a list.
        let local: [String: BackendHealthReport]?
        /// Each running instance with its id as the API writes it (formatted once, not once per backend).
        let instances: [(record: InstanceRecord, id: String)]
        let dataPlane: (any DataPlane)?
        /// This instance's active connections of every backend with any, when copied for a list.
        var connections: [String: Int]? = nil

        static func key(pool: String, backend: String) -> String { "\(pool)/\(backend)" }

        func health(_ key: String) -> BackendHealthReport? {
            if let local { return local[key] }
            return dataPlane?.backendHealth(backend: key)
        }

        func byInstance(_ key: String) -> [(instance: InstanceRecord, id: String, report: BackendHealthReport)] {
            instances.compactMap { instance in instance.record.backendHealth[key].map { (instance.record, instance.id, $0) } }
        }

        func activeConnections(_ key: String) -> Int {
            if let connections { return connections[key] ?? 0 }
            return dataPlane?.activeConnections(backend: key) ?? 0
        }
    }
}
