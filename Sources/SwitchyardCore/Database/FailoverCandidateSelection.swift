import Foundation

/// Which replica to promote when the primary is lost: the reachable replica that received the
/// most WAL (after promotion it replays all of it, so it loses the least), the higher `priority`
/// breaking a tie, then the name (ascending) so that the choice is the same on every instance.
/// Higher priority wins, as in Patroni.
///
/// With `requireSync`, only a replica that was a synchronous standby when last seen may be
/// chosen, so that no acknowledged commit is lost. For a quorum (`ANY n (…)`) no single member is
/// known to hold every acknowledged commit, so every quorum member must be reachable to compare
/// them (stricter than needed for n > 1, never wrong).
///
/// It refuses, with the reason, whenever it cannot be sure of the choice.
public struct FailoverCandidateSelection<Position: ReplicationPosition>: Sendable {
    public var members: [DatabaseMember]
    public var observations: [String: MemberObservation<Position>]
    public var requireSync: Bool
    /// Observations older than this (taken before the primary was lost, say) do not count as
    /// reachable: the shell probes the replicas again before deciding.
    public var freshSince: Date

    public init(members: [DatabaseMember], observations: [String: MemberObservation<Position>], requireSync: Bool, freshSince: Date) {
        self.members = members
        self.observations = observations
        self.requireSync = requireSync
        self.freshSince = freshSince
    }

    public struct Choice: Equatable, Sendable {
        public var target: String
        /// Its received position when chosen.
        public var position: Position
        /// Some replica was a synchronous standby when last seen.
        public var clusterWasSynchronous: Bool
        /// The target itself was one.
        public var targetWasSynchronous: Bool
    }

    public enum Refusal: Error, Equatable, Sendable {
        /// No member is assigned the replica role.
        case noReplica
        /// No eligible replica was reachable in a fresh observation.
        case noReachableReplica
        /// A reachable replica is out of recovery: someone else promoted it, and promoting another
        /// would make two primaries.
        case replicaOutOfRecovery([String])
        /// A reachable candidate did not report its recovery state or received position, so the
        /// most advanced one cannot be known.
        case positionUnknown([String])
        /// `requireSync`, and no replica was a synchronous standby when last seen.
        case notSynchronous
        /// `requireSync`, and synchronous standbys that might hold the last acknowledged commit are
        /// not reachable.
        case synchronousStandbyUnreachable([String])
    }

    public var outcome: Result<Choice, Refusal> {
        let replicas = members.filter { $0.role == .replica }
        guard !replicas.isEmpty else { return .failure(.noReplica) }

        func isFresh(_ member: DatabaseMember) -> Bool {
            guard let seen = observations[member.name] else { return false }
            return seen.reachable && seen.observedAt >= freshSince
        }
        let promotedElsewhere = replicas.filter { isFresh($0) && observations[$0.name]?.inRecovery == false }.map(\.name)
        guard promotedElsewhere.isEmpty else { return .failure(.replicaOutOfRecovery(promotedElsewhere)) }

        let synchronous = replicas.filter { observations[$0.name]?.syncState?.isSynchronous == true }
        var candidates = replicas
        if requireSync {
            guard !synchronous.isEmpty else { return .failure(.notSynchronous) }
            let quorumUnreachable = synchronous.filter { observations[$0.name]?.syncState == .quorum && !isFresh($0) }
            guard quorumUnreachable.isEmpty else { return .failure(.synchronousStandbyUnreachable(quorumUnreachable.map(\.name))) }
            candidates = synchronous
            guard candidates.contains(where: isFresh) else { return .failure(.synchronousStandbyUnreachable(synchronous.map(\.name))) }
        }
        candidates = candidates.filter(isFresh)
        guard !candidates.isEmpty else { return .failure(.noReachableReplica) }

        var ranked: [(member: DatabaseMember, position: Position)] = []
        var unknown: [String] = []
        for member in candidates {
            if let seen = observations[member.name], seen.inRecovery != nil, let position = seen.received {
                ranked.append((member, position))
            } else {
                unknown.append(member.name)
            }
        }
        guard unknown.isEmpty else { return .failure(.positionUnknown(unknown)) }
        let ahead = ranked.max { a, b in
            if a.position != b.position { return a.position < b.position }
            if a.member.priority != b.member.priority { return a.member.priority < b.member.priority }
            return a.member.name > b.member.name
        }
        guard let best = ahead else { return .failure(.noReachableReplica) }
        return .success(
            Choice(
                target: best.member.name, position: best.position, clusterWasSynchronous: !synchronous.isEmpty,
                targetWasSynchronous: observations[best.member.name]?.syncState?.isSynchronous == true))
    }
}
