/// How the primary last listed a replica among its standbys (PostgreSQL's
/// `pg_stat_replication.sync_state`): whether a commit waited for it.
public enum StandbySyncState: String, Codable, Sendable, CaseIterable {
    /// Commits never wait for it.
    case async
    /// Would become synchronous if a synchronous standby went away (`FIRST n` lists).
    case potential
    /// Commits wait for it (`FIRST n`): it holds every acknowledged commit.
    case sync
    /// One of a quorum (`ANY n`): commits wait for n of the quorum, not for any one member.
    case quorum

    /// Whether commits waited for it, alone or as one of a quorum.
    public var isSynchronous: Bool { self == .sync || self == .quorum }
}
