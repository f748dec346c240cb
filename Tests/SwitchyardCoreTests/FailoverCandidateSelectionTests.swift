import Foundation
import Testing

@testable import SwitchyardCore

@Suite("Failover candidate selection")
struct FailoverCandidateSelectionTests {
    typealias Selection = FailoverCandidateSelection<LSN>
    typealias Observation = MemberObservation<LSN>
    let lost = Date(timeIntervalSince1970: 1_000_000)
    var now: Date { lost.addingTimeInterval(5) }

    func members(_ priorities: [String: Int] = [:]) -> [DatabaseMember] {
        [DatabaseMember(name: "pg1", role: .primary)]
            + ["pg2", "pg3", "pg4"].map { DatabaseMember(name: $0, role: .replica, priority: priorities[$0] ?? 0) }
    }

    func replica(_ received: UInt64?, _ sync: StandbySyncState? = .async, at date: Date? = nil) -> Observation {
        .replica(received: received.map(LSN.init), replayed: received.map(LSN.init), syncState: sync, observedAt: date ?? now)
    }

    func select(
        _ seen: [String: Observation], requireSync: Bool = false, priorities: [String: Int] = [:]
    ) -> Result<Selection.Choice, Selection.Refusal> {
        var all = seen
        all["pg1"] = all["pg1"] ?? .unreachable("refused", observedAt: now)
        return Selection(members: members(priorities), observations: all, requireSync: requireSync, freshSince: lost).outcome
    }

    @Test("the reachable replica that received the most WAL wins, whatever its priority")
    func highestPosition() throws {
        let choice = try select(["pg2": replica(300), "pg3": replica(500), "pg4": replica(400)], priorities: ["pg2": 10, "pg4": 10]).get()
        #expect(choice.target == "pg3")
        #expect(choice.position == LSN(500))
        #expect(!choice.clusterWasSynchronous && !choice.targetWasSynchronous)
    }

    @Test("at equal positions the higher priority wins, then the name in ascending order")
    func ties() throws {
        #expect(try select(["pg2": replica(500), "pg3": replica(500), "pg4": replica(400)], priorities: ["pg3": 2, "pg2": 1]).get().target == "pg3")
        #expect(try select(["pg2": replica(500), "pg3": replica(500), "pg4": replica(500)], priorities: ["pg3": 1, "pg4": 1]).get().target == "pg3")
        #expect(try select(["pg2": replica(500), "pg3": replica(500), "pg4": replica(500)]).get().target == "pg2")
        #expect(try select(["pg2": replica(500), "pg3": replica(500), "pg4": replica(500)], priorities: ["pg2": -1]).get().target == "pg3")
    }

    @Test("unreachable replicas and observations from before the primary was lost do not count")
    func reachability() throws {
        let choice = try select([
            "pg2": replica(900, at: lost.addingTimeInterval(-1)),
            "pg3": .unreachable("timeout", observedAt: now),
            "pg4": replica(100),
        ]).get()
        #expect(choice.target == "pg4")
        #expect(
            select(["pg2": replica(900, at: lost.addingTimeInterval(-1)), "pg3": .unreachable("timeout", observedAt: now)])
                == .failure(.noReachableReplica))
    }

    @Test("refuses when a candidate's position or recovery state is unknown")
    func unknownPosition() {
        #expect(select(["pg2": replica(500), "pg3": replica(nil), "pg4": replica(nil)]) == .failure(.positionUnknown(["pg3", "pg4"])))
        var noRecoveryState = replica(900)
        noRecoveryState.inRecovery = nil
        #expect(select(["pg2": replica(500), "pg3": noRecoveryState]) == .failure(.positionUnknown(["pg3"])))
    }

    @Test("refuses when a replica is already out of recovery")
    func promotedElsewhere() {
        #expect(select(["pg2": replica(500), "pg3": .primary(at: LSN(600), observedAt: now)]) == .failure(.replicaOutOfRecovery(["pg3"])))
    }

    @Test("refuses without replicas; needs_rejoin members are never candidates")
    func noReplica() {
        let onlyRejoin = [DatabaseMember(name: "pg1", role: .primary), DatabaseMember(name: "pg2", role: .needsRejoin)]
        let outcome = Selection(members: onlyRejoin, observations: ["pg2": replica(500)], requireSync: false, freshSince: lost).outcome
        #expect(outcome == .failure(.noReplica))
    }

    @Test("require_sync: only a replica that was a synchronous standby when last seen, even if another is ahead")
    func requireSyncFirst() throws {
        let seen = ["pg2": replica(900, .potential), "pg3": replica(500, .sync), "pg4": replica(950, .async)]
        let choice = try select(seen, requireSync: true).get()
        #expect(choice.target == "pg3")
        #expect(choice.clusterWasSynchronous && choice.targetWasSynchronous)
        let relaxed = try select(seen).get()
        #expect(relaxed.target == "pg4")
        #expect(relaxed.clusterWasSynchronous && !relaxed.targetWasSynchronous)
    }

    @Test("require_sync: refuses when no replica was synchronous, or the synchronous one is unreachable")
    func requireSyncRefusals() {
        #expect(select(["pg2": replica(900), "pg3": replica(500)], requireSync: true) == .failure(.notSynchronous))
        #expect(
            select(["pg2": replica(900), "pg3": .unreachable("timeout", syncState: .sync, observedAt: now)], requireSync: true)
                == .failure(.synchronousStandbyUnreachable(["pg3"])))
    }

    @Test("require_sync with a quorum: every quorum member must be reachable, then the most advanced wins")
    func requireSyncQuorum() throws {
        let down: [String: Observation] = [
            "pg2": replica(500, .quorum), "pg3": .unreachable("timeout", syncState: .quorum, observedAt: now), "pg4": replica(700, .async),
        ]
        #expect(select(down, requireSync: true) == .failure(.synchronousStandbyUnreachable(["pg3"])))
        let up: [String: Observation] = ["pg2": replica(500, .quorum), "pg3": replica(600, .quorum), "pg4": replica(700, .async)]
        #expect(try select(up, requireSync: true).get().target == "pg3")
    }
}
