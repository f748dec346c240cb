/// The writer rule: writes go only to the member the current epoch names, and only while its
/// latest observation shows it out of recovery and accepting writes. Anything else means no
/// writer: a refused connection is better than a write to a server that might not be the primary.
public enum WriterEligibility {
    public enum Decision: Equatable, Sendable {
        case writer(String)
        case none(Reason)
    }

    public enum Reason: Equatable, Sendable {
        /// The epoch names no writer (a switchover or failover is under way).
        case noWriterInEpoch
        /// The epoch names a member that is not configured, or not assigned the primary role.
        case writerNotPrimary(String)
        case notObserved(String)
        case unreachable(String)
        case inRecovery(String)
        case notWritable(String)
    }

    public static func decide<Position>(
        epoch: DatabaseEpoch, members: [DatabaseMember], observations: [String: MemberObservation<Position>]
    ) -> Decision {
        guard let name = epoch.writer else { return .none(.noWriterInEpoch) }
        guard members.contains(where: { $0.name == name && $0.role == .primary }) else { return .none(.writerNotPrimary(name)) }
        guard let seen = observations[name] else { return .none(.notObserved(name)) }
        guard seen.reachable else { return .none(.unreachable(name)) }
        guard seen.inRecovery == false else { return .none(.inRecovery(name)) }
        guard seen.writable == true else { return .none(.notWritable(name)) }
        return .writer(name)
    }
}
