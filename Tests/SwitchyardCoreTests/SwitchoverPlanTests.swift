import Foundation
import Testing

@testable import SwitchyardCore

@Suite("Switchover plan")
struct SwitchoverPlanTests {
    typealias Plan = SwitchoverPlan<LSN>
    typealias Observation = MemberObservation<LSN>
    let start = Date(timeIntervalSince1970: 1_000_000)
    let epoch = DatabaseEpoch(number: 7, writer: "pg1")
    let members = [
        DatabaseMember(name: "pg1", role: .primary),
        DatabaseMember(name: "pg2", role: .replica),
        DatabaseMember(name: "pg3", role: .replica),
        DatabaseMember(name: "pg4", role: .needsRejoin),
    ]
    let limits = Plan.Limits(epochApply: .seconds(5), replay: .seconds(30), step: .seconds(10))

    var healthy: [String: Observation] {
        [
            "pg1": .primary(at: LSN(10_000), observedAt: start),
            "pg2": .replica(received: LSN(10_000), replayed: LSN(9_500), syncState: .quorum, observedAt: start),
            "pg3": .replica(received: LSN(9_000), replayed: LSN(9_000), syncState: .quorum, observedAt: start),
        ]
    }

    func plan(
        target: String = "pg2", observations: [String: Observation]? = nil, maxLagBytes: UInt64 = 1_000, anotherRunning: Bool = false
    ) -> Result<Plan, Plan.Refusal> {
        Plan.start(
            target: target, members: members, observations: observations ?? healthy, epoch: epoch, maxLagBytes: maxLagBytes,
            anotherRunning: anotherRunning, limits: limits, at: start)
    }

    /// Runs the plan up to (not including) `step`, answering every command with success, one second apart.
    func advance(_ plan: inout Plan, to step: Plan.Step, finalPosition: UInt64 = 10_200) -> Date {
        var now = start
        while let command = plan.current, command.step != step {
            now = now.addingTimeInterval(1)
            switch command.step {
            case .readFinalPosition: plan.handle(.positionRead(LSN(finalPosition)), at: now)
            case .awaitTargetReplay: plan.handle(.replayed(LSN(finalPosition)), at: now)
            default: plan.handle(.succeeded, at: now)
            }
        }
        return now
    }

    @Test("every step in order, with the epochs, the final position and a record for each")
    func happyPath() throws {
        var plan = try plan().get()
        #expect(plan.otherReplicas == ["pg3"])
        var actions: [Plan.Action] = []
        var now = start
        func answer(_ event: Plan.Event) {
            now = now.addingTimeInterval(1)
            plan.handle(event, at: now)
        }
        actions.append(plan.current!.action)
        #expect(plan.current?.deadline == start.addingTimeInterval(5))  // epochApply
        answer(.succeeded)
        actions.append(plan.current!.action)
        answer(.succeeded)
        actions.append(plan.current!.action)
        answer(.positionRead(LSN(10_200)))
        actions.append(plan.current!.action)
        #expect(plan.current?.deadline == now.addingTimeInterval(30))  // replay
        answer(.replayed(LSN(10_100)))  // short of the final position: keep polling, no record yet
        #expect(plan.current?.step == .awaitTargetReplay)
        #expect(plan.records.count == 3)
        answer(.replayed(LSN(10_200)))
        while let command = plan.current {
            actions.append(command.action)
            answer(.succeeded)
        }
        #expect(
            actions == [
                .publishEpoch(DatabaseEpoch(number: 8, writer: nil)),
                .fence(member: "pg1"),
                .readPosition(member: "pg1"),
                .awaitReplay(member: "pg2", upTo: LSN(10_200)),
                .promote(member: "pg2"),
                .verifyWritable(member: "pg2"),
                .publishEpoch(DatabaseEpoch(number: 9, writer: "pg2")),
                .repoint(members: ["pg3"], to: "pg2"),
                .markNeedsRejoin(member: "pg1"),
            ])
        #expect(plan.outcome == .completed)
        #expect(plan.finalPosition == LSN(10_200) && plan.targetReplayed == LSN(10_200))
        #expect(
            plan.records.map(\.step) == [
                .revokeWriter, .fenceOldPrimary, .readFinalPosition, .awaitTargetReplay, .promoteTarget, .verifyTargetWritable,
                .publishNewWriter, .repointReplicas, .markOldPrimaryNeedsRejoin,
            ])
        #expect(plan.records.allSatisfy { $0.result == .succeeded })
        let replay = plan.records[3]
        #expect(replay.endedAt.timeIntervalSince(replay.startedAt) == 2)  // two polls, a second each
        #expect(plan.handle(.succeeded, at: now) == nil)  // finished: events are ignored
    }

    @Test("refusals before starting", arguments: [
        ("pg2", 1_000, true, Plan.Refusal.alreadyRunning),
        ("pg9", 1_000, false, .unknownMember("pg9")),
        ("pg1", 1_000, false, .targetIsWriter),
        ("pg4", 1_000, false, .targetNotReplica(.needsRejoin)),
        ("pg2", 499, false, .targetTooFarBehind(lagBytes: 500, maxLagBytes: 499)),
    ] as [(String, UInt64, Bool, Plan.Refusal)])
    func refusals(target: String, maxLagBytes: UInt64, running: Bool, refusal: Plan.Refusal) {
        #expect(plan(target: target, maxLagBytes: maxLagBytes, anotherRunning: running).failure == refusal)
    }

    @Test("refusals from what the probes saw")
    func observedRefusals() {
        var seen = healthy
        seen["pg2"] = .unreachable("timeout", observedAt: start)
        #expect(plan(observations: seen).failure == .targetUnreachable)
        seen["pg2"] = nil
        #expect(plan(observations: seen).failure == .targetUnreachable)
        seen["pg2"] = .primary(at: LSN(10_000), observedAt: start)
        #expect(plan(observations: seen).failure == .targetNotInRecovery)
        seen = healthy
        seen["pg1"] = .unreachable("refused", observedAt: start)
        #expect(plan(observations: seen).failure == .primaryUnreachable)
        seen["pg1"] = .primary(at: nil, observedAt: start)
        #expect(plan(observations: seen).failure == .positionUnknown("pg1"))
        seen = healthy
        seen["pg2"] = .replica(received: LSN(10_000), replayed: nil, syncState: .quorum, observedAt: start)
        #expect(plan(observations: seen).failure == .positionUnknown("pg2"))
        let noWriter = Plan.start(
            target: "pg2", members: members, observations: healthy, epoch: DatabaseEpoch(number: 7, writer: nil), maxLagBytes: 1_000,
            anotherRunning: false, at: start)
        #expect(noWriter.failure == .noWriter)
    }

    @Test("replay timeout: the fence and the epoch are undone and the plan is abandoned")
    func replayTimeout() throws {
        var plan = try plan().get()
        var now = advance(&plan, to: .awaitTargetReplay)
        let deadline = try #require(plan.current?.deadline)
        now = deadline.addingTimeInterval(-1)
        #expect(plan.handle(.replayed(LSN(10_000)), at: now)?.step == .awaitTargetReplay)
        #expect(plan.handle(.replayed(LSN(10_100)), at: deadline)?.action == .unfence(member: "pg1"))
        #expect(plan.records.last?.result == .timedOut)
        #expect(plan.targetReplayed == LSN(10_100))
        #expect(plan.handle(.succeeded, at: deadline)?.action == .publishEpoch(DatabaseEpoch(number: 9, writer: "pg1")))
        #expect(plan.handle(.succeeded, at: deadline) == nil)
        #expect(plan.outcome == .abandoned)
        #expect(plan.records.map(\.step).suffix(3) == [.awaitTargetReplay, .unfenceOldPrimary, .restoreOldWriter])
    }

    @Test("the shell's timeout of the replay wait is undone the same way")
    func replayTimedOutByShell() throws {
        var plan = try plan().get()
        let now = advance(&plan, to: .awaitTargetReplay)
        #expect(plan.handle(.timedOut, at: now)?.action == .unfence(member: "pg1"))
    }

    @Test("a failure before the fence restores the writer without unfencing")
    func revokeFails() throws {
        var plan = try plan().get()
        #expect(plan.handle(.timedOut, at: start)?.action == .publishEpoch(DatabaseEpoch(number: 9, writer: "pg1")))
        plan.handle(.succeeded, at: start)
        #expect(plan.outcome == .abandoned)
        #expect(plan.records.map(\.result) == [.timedOut, .succeeded])
    }

    @Test("a failed fence or final read is undone", arguments: [SwitchoverPlan<LSN>.Step.fenceOldPrimary, .readFinalPosition])
    func earlyFailures(step: Plan.Step) throws {
        var plan = try plan().get()
        let now = advance(&plan, to: step)
        #expect(plan.handle(.failed("connection reset"), at: now)?.action == .unfence(member: "pg1"))
        #expect(plan.records.last == .init(step: step, startedAt: now, endedAt: now, result: .failed("connection reset")))
        plan.handle(.succeeded, at: now)
        plan.handle(.succeeded, at: now)
        #expect(plan.outcome == .abandoned)
    }

    @Test("an undo that fails leaves the plan failed")
    func undoFails() throws {
        var plan = try plan().get()
        let now = advance(&plan, to: .fenceOldPrimary)
        plan.handle(.timedOut, at: now)
        #expect(plan.handle(.failed("refused"), at: now)?.step == .restoreOldWriter)  // unfence failed: still restore the writer
        plan.handle(.succeeded, at: now)
        #expect(plan.outcome == .failed)

        var other = try self.plan().get()
        other.handle(.failed("store unreachable"), at: start)
        other.handle(.failed("store unreachable"), at: start)
        #expect(other.outcome == .failed)
    }

    @Test("from the promotion on there is no undo: a failure leaves no writer", arguments: [
        SwitchoverPlan<LSN>.Step.promoteTarget, .verifyTargetWritable, .publishNewWriter,
    ])
    func pointOfNoReturn(step: Plan.Step) throws {
        var plan = try plan().get()
        let now = advance(&plan, to: step)
        #expect(plan.handle(.timedOut, at: now) == nil)
        #expect(plan.outcome == .failed)
        #expect(!plan.records.contains { $0.step == .unfenceOldPrimary || $0.step == .restoreOldWriter })
    }

    @Test("after the new writer is published, failures are recorded and the plan goes on")
    func laterFailures() throws {
        var plan = try plan().get()
        let now = advance(&plan, to: .repointReplicas)
        #expect(plan.handle(.failed("pg3 refused"), at: now)?.step == .markOldPrimaryNeedsRejoin)
        plan.handle(.succeeded, at: now)
        #expect(plan.outcome == .completedWithFailures)
    }

    @Test("events that do not fit the step fail it")
    func unexpectedEvents() throws {
        var plan = try plan().get()
        #expect(plan.handle(.positionRead(LSN(1)), at: start)?.step == .restoreOldWriter)
        if case .failed(let why) = plan.records.last?.result {
            #expect(why.contains("revoke_writer"))
        } else {
            Issue.record("expected a failed step")
        }
        var reading = try self.plan().get()
        let now = advance(&reading, to: .readFinalPosition)
        #expect(reading.handle(.succeeded, at: now)?.step == .unfenceOldPrimary)
        #expect(reading.records.last?.result == .failed("reported success without a position"))
    }

    @Test("with no other replica there is nothing to repoint")
    func noOtherReplicas() throws {
        let pair = [DatabaseMember(name: "pg1", role: .primary), DatabaseMember(name: "pg2", role: .replica)]
        var plan = try Plan.start(
            target: "pg2", members: pair, observations: healthy, epoch: epoch, maxLagBytes: 1_000, anotherRunning: false, at: start
        ).get()
        _ = advance(&plan, to: .repointReplicas)
        #expect(plan.outcome == .completed)
        #expect(!plan.records.contains { $0.step == .repointReplicas })
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
