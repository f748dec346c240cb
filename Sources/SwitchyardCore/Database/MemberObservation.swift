import Foundation

/// What one probe of one member found. For PostgreSQL: `pg_is_in_recovery()`,
/// `transaction_read_only`, and the positions: on a replica `pg_last_wal_receive_lsn()` (received
/// and flushed) and `pg_last_wal_replay_lsn()` (replayed, what its sessions can read); on a
/// primary both are `pg_current_wal_lsn()`.
///
/// `syncState` is how the primary last listed the replica in `pg_stat_replication`; the prober
/// carries it over from earlier observations while the primary cannot be asked, because failover
/// needs to know what the replica was when last seen.
public struct MemberObservation<Position: ReplicationPosition>: Equatable, Sendable {
    public var reachable: Bool
    /// nil when unreachable.
    public var inRecovery: Bool?
    /// Accepts read-write transactions; nil when unreachable.
    public var writable: Bool?
    public var received: Position?
    public var replayed: Position?
    public var syncState: StandbySyncState?
    public var observedAt: Date
    /// Why the probe failed, for logs and the API.
    public var failure: String?

    public init(
        reachable: Bool, inRecovery: Bool?, writable: Bool?, received: Position?, replayed: Position?,
        syncState: StandbySyncState?, observedAt: Date, failure: String? = nil
    ) {
        self.reachable = reachable
        self.inRecovery = inRecovery
        self.writable = writable
        self.received = received
        self.replayed = replayed
        self.syncState = syncState
        self.observedAt = observedAt
        self.failure = failure
    }

    public static func primary(at position: Position?, writable: Bool = true, observedAt: Date) -> Self {
        Self(reachable: true, inRecovery: false, writable: writable, received: position, replayed: position, syncState: nil, observedAt: observedAt)
    }

    public static func replica(
        received: Position?, replayed: Position?, syncState: StandbySyncState?, observedAt: Date
    ) -> Self {
        Self(reachable: true, inRecovery: true, writable: false, received: received, replayed: replayed, syncState: syncState, observedAt: observedAt)
    }

    /// A failed probe; `syncState` is the one last seen, carried over.
    public static func unreachable(_ why: String, syncState: StandbySyncState? = nil, observedAt: Date) -> Self {
        Self(reachable: false, inRecovery: nil, writable: nil, received: nil, replayed: nil, syncState: syncState, observedAt: observedAt, failure: why)
    }
}
