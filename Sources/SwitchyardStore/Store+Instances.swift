import Foundation
import PostgresNIO

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

    public func heartbeat(instance id: UUID, appliedGeneration: Int64) async throws {
        try await withConnection { connection in
            try await connection.query(
                """
                UPDATE instances SET heartbeat_at = now(), applied_generation = \(appliedGeneration), stopped = false
                WHERE id = \(id)
                """, logger: self.logger)
        }
    }

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
                SELECT id, name, host, version, started_at, heartbeat_at, applied_generation, stopped FROM instances
                WHERE heartbeat_at > now() - interval '1 day' ORDER BY heartbeat_at DESC
                """, logger: self.logger)
            var records: [InstanceRecord] = []
            for try await (id, name, host, version, started, heartbeat, applied, stopped) in rows.decode(
                (UUID, String, String, String, Date, Date, Int64, Bool).self)
            {
                records.append(
                    InstanceRecord(
                        id: id, name: name, host: host, version: version, startedAt: started, heartbeatAt: heartbeat,
                        appliedGeneration: applied, stopped: stopped))
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
