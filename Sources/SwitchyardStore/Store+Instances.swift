import Foundation
import PostgresNIO
import SwitchyardCore

extension Store {
    public func registerInstance(id: UUID, name: String, host: String, version: String) async throws {
        try await withConnection { connection in
            try await connection.query(
                """
                INSERT INTO instances (id, name, host, version, started_at, heartbeat_at)
                VALUES (\(id), \(name), \(host), \(version), now(), now())
                """, logger: self.logger)
        }
    }

    /// Records that the instance is alive, the generation it serves, and what its data plane observes.
    /// A nil `backendHealth` leaves the stored one as it is (it did not change since the last heartbeat:
    /// with 10,000 backends it is a megabyte of JSON to encode, write and decode).
    public func heartbeat(
        instance id: UUID, appliedGeneration: Int64, listeners: [String: ListenerBindState] = [:],
        backendHealth: [String: BackendHealthReport]? = [:]
    ) async throws {
        let listenersJSON = String(decoding: try Self.observationEncoder.encode(listeners), as: UTF8.self)
        let healthJSON = try backendHealth.map { String(decoding: try Self.observationEncoder.encode($0), as: UTF8.self) }
        try await withConnection { connection in
            try await connection.query(
                """
                UPDATE instances SET heartbeat_at = now(), stopped = false,
                    -- GREATEST: a heartbeat that read the generation just before a swap must not undo the swap's report.
                    applied_generation = GREATEST(applied_generation, \(appliedGeneration)),
                    listeners = \(listenersJSON)::jsonb, backend_health = COALESCE(\(healthJSON)::jsonb, backend_health)
                WHERE id = \(id)
                """, logger: self.logger)
        }
    }

    static let observationEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let observationDecoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()

    public func markStopped(instance id: UUID) async throws {
        try await withConnection { connection in
            try await connection.query("UPDATE instances SET stopped = true WHERE id = \(id)", logger: self.logger)
        }
    }

    /// Instances seen within the last day, newest heartbeat first.
    public func instances() async throws -> [InstanceRecord] {
        try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT id, name, host, version, started_at, heartbeat_at, applied_generation, stopped,
                    listeners::text, backend_health::text
                FROM instances
                WHERE heartbeat_at > now() - interval '1 day' ORDER BY heartbeat_at DESC
                """, logger: self.logger)
            var records: [InstanceRecord] = []
            defer { self.observations.keep(only: Set(records.map(\.id))) }
            for try await (id, name, host, version, started, heartbeat, applied, stopped, listeners, health) in rows.decode(
                (UUID, String, String, String, Date, Date, Int64, Bool, String, String).self)
            {
                records.append(
                    InstanceRecord(
                        id: id, name: name, host: host, version: version, startedAt: started, heartbeatAt: heartbeat,
                        appliedGeneration: applied, stopped: stopped,
                        listeners: (try? Self.observationDecoder.decode([String: ListenerBindState].self, from: Data(listeners.utf8))) ?? [:],
                        backendHealth: self.observations.backendHealth(of: id, text: health) { text in
                            (try? Self.observationDecoder.decode([String: BackendHealthReport].self, from: Data(text.utf8))) ?? [:]
                        }))
            }
            return records
        }
    }
}

extension Store {
    /// Records at once that this instance applied `generation` (between heartbeats).
    public func reportApplied(instance id: UUID, generation: Int64) async throws {
        try await withConnection { connection in
            try await connection.query(
                "UPDATE instances SET applied_generation = GREATEST(applied_generation, \(generation)) WHERE id = \(id)",
                logger: self.logger)
        }
    }
}

extension Store {
    /// Waits until every running instance (heartbeat within 30 s, not stopped) reports `generation` as
    /// applied; false when `timeout` passes first. Instances report right after each swap, so this
    /// usually returns within milliseconds.
    public func waitUntilApplied(_ generation: Int64, timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            let lagging = try await withConnection { connection in
                let rows = try await connection.query(
                    """
                    SELECT count(*) FROM instances
                    WHERE NOT stopped AND heartbeat_at > now() - interval '30 seconds' AND applied_generation < \(generation)
                    """, logger: self.logger)
                var count = 0
                for try await value in rows.decode(Int.self) { count = value }
                return count
            }
            if lagging == 0 { return true }
            if ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
