/// Which members may take reader sessions: replicas that are reachable, in recovery, and whose
/// replayed position is within `maxLagBytes` of the cluster's newest position. When none is,
/// `fallbackToPrimary` lets readers go to the writer instead of being refused.
public struct ReaderEligibility: Sendable {
    public var maxLagBytes: UInt64
    public var fallbackToPrimary: Bool

    public init(maxLagBytes: UInt64, fallbackToPrimary: Bool) {
        self.maxLagBytes = maxLagBytes
        self.fallbackToPrimary = fallbackToPrimary
    }

    public struct Selection: Equatable, Sendable {
        /// In the members' configured order.
        public var readers: [String]
        /// The readers are the writer, because no replica qualified.
        public var fellBackToPrimary: Bool
        /// Each member that takes no reader sessions, and why.
        public var excluded: [String: Exclusion]
    }

    public enum Exclusion: Equatable, Sendable {
        case primary
        case needsRejoin
        case notObserved
        case unreachable
        /// Assigned the replica role but observed out of recovery (promoted behind our back).
        case notInRecovery
        case positionUnknown
        case lagging(bytes: UInt64)
    }

    /// Lag is measured against the writer's position when it is observed, otherwise against the
    /// newest position any reachable member reported (so that lag stays measurable while there is
    /// no writer).
    public func select<Position>(
        members: [DatabaseMember], observations: [String: MemberObservation<Position>], writer: String?
    ) -> Selection {
        let reference: Position? =
            writer.flatMap { observations[$0]?.received }
            ?? observations.values.filter(\.reachable).compactMap(\.received).max()
        var readers: [String] = []
        var excluded: [String: Exclusion] = [:]
        for member in members {
            switch member.role {
            case .primary:
                excluded[member.name] = .primary
                continue
            case .needsRejoin:
                excluded[member.name] = .needsRejoin
                continue
            case .replica:
                break
            }
            guard let seen = observations[member.name] else {
                excluded[member.name] = .notObserved
                continue
            }
            guard seen.reachable else {
                excluded[member.name] = .unreachable
                continue
            }
            guard seen.inRecovery == true else {
                excluded[member.name] = .notInRecovery
                continue
            }
            guard let replayed = seen.replayed, let reference else {
                excluded[member.name] = .positionUnknown
                continue
            }
            let lag = reference.bytesAhead(of: replayed)
            guard lag <= maxLagBytes else {
                excluded[member.name] = .lagging(bytes: lag)
                continue
            }
            readers.append(member.name)
        }
        if readers.isEmpty, fallbackToPrimary, let writer {
            return Selection(readers: [writer], fellBackToPrimary: true, excluded: excluded)
        }
        return Selection(readers: readers, fellBackToPrimary: false, excluded: excluded)
    }
}
