import Foundation

/// A fenced switchover from the current primary to a chosen replica, as a pure state machine: it
/// emits one `Command` at a time, the I/O shell carries it out (bounded by the command's
/// deadline) and feeds back an `Event`, and the plan answers with the next command until it has
/// an `outcome`. Every step's result and timing is kept in `records`.
///
/// The steps, in order:
/// 1. `revokeWriter`: publish the next epoch with no writer, and wait until every live instance
///    applied it (no instance sends new writes anywhere).
/// 2. `fenceOldPrimary`: make the old primary read-only and end its client sessions.
/// 3. `readFinalPosition`: its WAL position now, which no later write can pass.
/// 4. `awaitTargetReplay`: the shell reports the target's replayed position until it reaches the
///    final one, or the deadline passes.
/// 5. `promoteTarget`, 6. `verifyTargetWritable`.
/// 7. `publishNewWriter`: the next epoch, with the target as the writer, applied by every instance.
/// 8. `repointReplicas`: the other replicas follow the target.
/// 9. `markOldPrimaryNeedsRejoin`.
///
/// A failure before the promotion is undone: the old primary is unfenced (when fencing was tried)
/// and a new epoch names it the writer again (`abandoned`). The promotion is the point of no
/// return: a failure from there until the new writer is published leaves no writer (`failed`)
/// for an operator to resolve; a failure after it is recorded and the plan goes on
/// (`completedWithFailures`).
public struct SwitchoverPlan<Position: ReplicationPosition>: Sendable {
    public enum Step: String, Sendable, CaseIterable {
        case revokeWriter = "revoke_writer"
        case fenceOldPrimary = "fence_old_primary"
        case readFinalPosition = "read_final_position"
        case awaitTargetReplay = "await_target_replay"
        case promoteTarget = "promote_target"
        case verifyTargetWritable = "verify_target_writable"
        case publishNewWriter = "publish_new_writer"
        case repointReplicas = "repoint_replicas"
        case markOldPrimaryNeedsRejoin = "mark_old_primary_needs_rejoin"
        /// Undo, after a failure before the promotion.
        case unfenceOldPrimary = "unfence_old_primary"
        case restoreOldWriter = "restore_old_writer"
    }

    /// What the shell does for a step.
    public enum Action: Equatable, Sendable {
        /// Store the epoch (and, when it names a writer, that member's role as primary in the same
        /// write, which `WriterEligibility` requires) and wait until every live instance applied it.
        case publishEpoch(DatabaseEpoch)
        /// Read-only for new transactions (PostgreSQL: `default_transaction_read_only` and a
        /// reload), then end every client session.
        case fence(member: String)
        /// Report `.positionRead` with the member's current WAL position.
        case readPosition(member: String)
        /// Report `.replayed` with the member's replayed position, again and again while the plan
        /// answers with this same command.
        case awaitReplay(member: String, upTo: Position)
        case promote(member: String)
        /// Out of recovery and accepting read-write transactions (a commit may still wait for a
        /// synchronous standby until the replicas are repointed).
        case verifyWritable(member: String)
        case repoint(members: [String], to: String)
        case markNeedsRejoin(member: String)
        case unfence(member: String)
    }

    public struct Command: Equatable, Sendable {
        public var step: Step
        public var action: Action
        /// The shell reports `.timedOut` if the action has not finished by then.
        public var deadline: Date
    }

    public enum Event: Equatable, Sendable {
        case succeeded
        case failed(String)
        case timedOut
        case positionRead(Position)
        case replayed(Position)
    }

    public enum StepResult: Equatable, Sendable {
        case succeeded
        case failed(String)
        case timedOut

        var isSuccess: Bool { self == .succeeded }
    }

    public struct StepRecord: Equatable, Sendable {
        public var step: Step
        public var startedAt: Date
        public var endedAt: Date
        public var result: StepResult
    }

    public enum Outcome: Equatable, Sendable {
        /// The target is the writer; every step succeeded.
        case completed
        /// The target is the writer; repointing or marking the old primary failed (see `records`).
        case completedWithFailures
        /// Undone before the promotion: the old primary is the writer again.
        case abandoned
        /// No writer: the undo failed, or a step failed at or after the promotion.
        case failed
    }

    public enum Refusal: Error, Equatable, Sendable {
        case alreadyRunning
        case unknownMember(String)
        /// The epoch names no writer: there is nothing to switch over from (failover is for that).
        case noWriter
        case targetIsWriter
        case targetNotReplica(DatabaseMember.Role)
        case targetUnreachable
        case targetNotInRecovery
        /// The old primary must be reachable to be fenced and drained.
        case primaryUnreachable
        case positionUnknown(String)
        case targetTooFarBehind(lagBytes: UInt64, maxLagBytes: UInt64)
    }

    public struct Limits: Equatable, Sendable {
        /// For publishing an epoch and waiting for every instance to apply it.
        public var epochApply: Duration
        /// For the target to replay the old primary's final position.
        public var replay: Duration
        /// For every other step.
        public var step: Duration

        public init(epochApply: Duration = .seconds(10), replay: Duration = .seconds(30), step: Duration = .seconds(10)) {
            self.epochApply = epochApply
            self.replay = replay
            self.step = step
        }
    }

    public let oldPrimary: String
    public let target: String
    /// The replicas that will follow the target, in the members' order.
    public let otherReplicas: [String]
    public let startingEpoch: DatabaseEpoch
    public let limits: Limits

    public private(set) var records: [StepRecord] = []
    /// What the shell should do now; nil once there is an outcome.
    public private(set) var current: Command?
    public private(set) var outcome: Outcome?
    /// The old primary's position after the fence.
    public private(set) var finalPosition: Position?
    /// The target's replayed position as last reported.
    public private(set) var targetReplayed: Position?

    private var stepStartedAt: Date
    private var laterStepFailed = false
    private var undoFailed = false

    /// Checks that the switchover can start and returns the plan, whose `current` is the first
    /// command; or why not.
    public static func start(
        target: String, members: [DatabaseMember], observations: [String: MemberObservation<Position>],
        epoch: DatabaseEpoch, maxLagBytes: UInt64, anotherRunning: Bool, limits: Limits = Limits(), at now: Date
    ) -> Result<SwitchoverPlan, Refusal> {
        guard !anotherRunning else { return .failure(.alreadyRunning) }
        guard let targetMember = members.first(where: { $0.name == target }) else { return .failure(.unknownMember(target)) }
        guard let writer = epoch.writer else { return .failure(.noWriter) }
        guard members.contains(where: { $0.name == writer }) else { return .failure(.unknownMember(writer)) }
        guard target != writer else { return .failure(.targetIsWriter) }
        guard targetMember.role == .replica else { return .failure(.targetNotReplica(targetMember.role)) }
        guard let targetSeen = observations[target], targetSeen.reachable else { return .failure(.targetUnreachable) }
        guard targetSeen.inRecovery == true else { return .failure(.targetNotInRecovery) }
        guard let primarySeen = observations[writer], primarySeen.reachable else { return .failure(.primaryUnreachable) }
        guard let primaryPosition = primarySeen.received else { return .failure(.positionUnknown(writer)) }
        guard let targetPosition = targetSeen.replayed else { return .failure(.positionUnknown(target)) }
        let lag = primaryPosition.bytesAhead(of: targetPosition)
        guard lag <= maxLagBytes else { return .failure(.targetTooFarBehind(lagBytes: lag, maxLagBytes: maxLagBytes)) }

        let others = members.filter { $0.role == .replica && $0.name != target }.map(\.name)
        return .success(SwitchoverPlan(oldPrimary: writer, target: target, otherReplicas: others, epoch: epoch, limits: limits, at: now))
    }

    private init(oldPrimary: String, target: String, otherReplicas: [String], epoch: DatabaseEpoch, limits: Limits, at now: Date) {
        self.oldPrimary = oldPrimary
        self.target = target
        self.otherReplicas = otherReplicas
        self.startingEpoch = epoch
        self.limits = limits
        stepStartedAt = now
        current = command(for: .revokeWriter, at: now)
    }

    /// Feeds the result of the current command; returns the next command (the same one while the
    /// target's replay is still short of the final position), or nil once there is an outcome.
    @discardableResult
    public mutating func handle(_ event: Event, at now: Date) -> Command? {
        guard let command = current else { return nil }
        let result: StepResult
        switch (command.step, event) {
        case (.readFinalPosition, .positionRead(let position)):
            finalPosition = position
            result = .succeeded
        case (.awaitTargetReplay, .replayed(let position)):
            targetReplayed = position
            if let finalPosition, position >= finalPosition {
                result = .succeeded
            } else if now >= command.deadline {
                result = .timedOut
            } else {
                return command
            }
        case (.readFinalPosition, .succeeded), (.awaitTargetReplay, .succeeded):
            result = .failed("reported success without a position")
        case (_, .succeeded):
            result = .succeeded
        case (_, .failed(let why)):
            result = .failed(why)
        case (_, .timedOut):
            result = .timedOut
        case (_, .positionRead), (_, .replayed):
            result = .failed("unexpected event \(event) for step \(command.step.rawValue)")
        }
        records.append(StepRecord(step: command.step, startedAt: stepStartedAt, endedAt: now, result: result))
        stepStartedAt = now
        current = next(after: command.step, succeeded: result.isSuccess).map { self.command(for: $0, at: now) }
        return current
    }

    /// The step after `step`, or nil after setting the outcome.
    private mutating func next(after step: Step, succeeded: Bool) -> Step? {
        switch step {
        case .revokeWriter:
            return succeeded ? .fenceOldPrimary : .restoreOldWriter
        case .fenceOldPrimary:
            return succeeded ? .readFinalPosition : .unfenceOldPrimary
        case .readFinalPosition:
            return succeeded ? .awaitTargetReplay : .unfenceOldPrimary
        case .awaitTargetReplay:
            return succeeded ? .promoteTarget : .unfenceOldPrimary
        case .promoteTarget:
            return succeeded ? .verifyTargetWritable : finish(.failed)
        case .verifyTargetWritable:
            return succeeded ? .publishNewWriter : finish(.failed)
        case .publishNewWriter:
            guard succeeded else { return finish(.failed) }
            return otherReplicas.isEmpty ? .markOldPrimaryNeedsRejoin : .repointReplicas
        case .repointReplicas:
            if !succeeded { laterStepFailed = true }
            return .markOldPrimaryNeedsRejoin
        case .markOldPrimaryNeedsRejoin:
            if !succeeded { laterStepFailed = true }
            return finish(laterStepFailed ? .completedWithFailures : .completed)
        case .unfenceOldPrimary:
            // Still name it the writer: if it stays read-only, writes fail there, as they would with no writer.
            if !succeeded { undoFailed = true }
            return .restoreOldWriter
        case .restoreOldWriter:
            return finish(succeeded && !undoFailed ? .abandoned : .failed)
        }
    }

    private mutating func finish(_ outcome: Outcome) -> Step? {
        self.outcome = outcome
        return nil
    }

    private func command(for step: Step, at now: Date) -> Command {
        let action: Action
        var limit = limits.step
        switch step {
        case .revokeWriter:
            action = .publishEpoch(startingEpoch.next(writer: nil))
            limit = limits.epochApply
        case .fenceOldPrimary:
            action = .fence(member: oldPrimary)
        case .readFinalPosition:
            action = .readPosition(member: oldPrimary)
        case .awaitTargetReplay:
            guard let finalPosition else { preconditionFailure("awaitTargetReplay follows readFinalPosition, which sets finalPosition") }
            action = .awaitReplay(member: target, upTo: finalPosition)
            limit = limits.replay
        case .promoteTarget:
            action = .promote(member: target)
        case .verifyTargetWritable:
            action = .verifyWritable(member: target)
        case .publishNewWriter:
            action = .publishEpoch(DatabaseEpoch(number: startingEpoch.number + 2, writer: target))
            limit = limits.epochApply
        case .repointReplicas:
            action = .repoint(members: otherReplicas, to: target)
        case .markOldPrimaryNeedsRejoin:
            action = .markNeedsRejoin(member: oldPrimary)
        case .unfenceOldPrimary:
            action = .unfence(member: oldPrimary)
        case .restoreOldWriter:
            action = .publishEpoch(DatabaseEpoch(number: startingEpoch.number + 2, writer: oldPrimary))
            limit = limits.epochApply
        }
        return Command(step: step, action: action, deadline: now.addingTimeInterval(limit.timeInterval))
    }
}
