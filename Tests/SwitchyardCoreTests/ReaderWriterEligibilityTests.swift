import Foundation
import Testing

@testable import SwitchyardCore

@Suite("Reader and writer eligibility")
struct ReaderWriterEligibilityTests {
    typealias Observation = MemberObservation<LSN>
    let now = Date(timeIntervalSince1970: 1_000_000)
    let members = [
        DatabaseMember(name: "pg1", role: .primary),
        DatabaseMember(name: "pg2", role: .replica),
        DatabaseMember(name: "pg3", role: .replica),
    ]

    func replica(replayed: UInt64?, received: UInt64? = nil) -> Observation {
        .replica(received: (received ?? replayed).map(LSN.init), replayed: replayed.map(LSN.init), syncState: .quorum, observedAt: now)
    }

    @Test("the writer is the epoch's primary while it is reachable, out of recovery and writable")
    func writerRule() {
        let epoch = DatabaseEpoch(number: 4, writer: "pg1")
        func decide(_ seen: [String: Observation], epoch: DatabaseEpoch = DatabaseEpoch(number: 4, writer: "pg1")) -> WriterEligibility.Decision {
            WriterEligibility.decide(epoch: epoch, members: members, observations: seen)
        }
        #expect(decide(["pg1": .primary(at: LSN(100), observedAt: now)]) == .writer("pg1"))
        #expect(decide(["pg1": .primary(at: LSN(100), observedAt: now)], epoch: epoch.next(writer: nil)) == .none(.noWriterInEpoch))
        #expect(decide(["pg2": .primary(at: LSN(100), observedAt: now)], epoch: epoch.next(writer: "pg2")) == .none(.writerNotPrimary("pg2")))
        #expect(decide([:]) == .none(.notObserved("pg1")))
        #expect(decide(["pg1": .unreachable("refused", observedAt: now)]) == .none(.unreachable("pg1")))
        #expect(decide(["pg1": replica(replayed: 100)]) == .none(.inRecovery("pg1")))
        #expect(decide(["pg1": .primary(at: LSN(100), writable: false, observedAt: now)]) == .none(.notWritable("pg1")))
    }

    @Test("readers are the replicas within max_lag_bytes of the writer's position")
    func lagBound() {
        let rule = ReaderEligibility(maxLagBytes: 1_000, fallbackToPrimary: false)
        let seen: [String: Observation] = [
            "pg1": .primary(at: LSN(10_000), observedAt: now),
            "pg2": replica(replayed: 9_000),  // exactly at the bound
            "pg3": replica(replayed: 8_999, received: 10_000),  // received does not count: sessions read what is replayed
        ]
        let selection = rule.select(members: members, observations: seen, writer: "pg1")
        #expect(selection.readers == ["pg2"])
        #expect(!selection.fellBackToPrimary)
        #expect(selection.excluded == ["pg1": .primary, "pg3": .lagging(bytes: 1_001)])
    }

    @Test("unreachable, out of recovery, unobserved, unknown positions and needs_rejoin members take no readers")
    func exclusions() {
        let rule = ReaderEligibility(maxLagBytes: 1_000, fallbackToPrimary: false)
        let all = members + [
            DatabaseMember(name: "pg4", role: .replica), DatabaseMember(name: "pg5", role: .needsRejoin),
            DatabaseMember(name: "pg6", role: .replica), DatabaseMember(name: "pg7", role: .replica),
        ]
        let seen: [String: Observation] = [
            "pg1": .primary(at: LSN(10_000), observedAt: now),
            "pg2": .unreachable("timeout", observedAt: now),
            "pg3": .primary(at: LSN(10_000), observedAt: now),
            "pg5": replica(replayed: 10_000),
            "pg6": replica(replayed: nil),
            "pg7": replica(replayed: 10_000),
        ]
        let selection = rule.select(members: all, observations: seen, writer: "pg1")
        #expect(selection.readers == ["pg7"])
        #expect(
            selection.excluded == [
                "pg1": .primary, "pg2": .unreachable, "pg3": .notInRecovery, "pg4": .notObserved, "pg5": .needsRejoin,
                "pg6": .positionUnknown,
            ])
    }

    @Test("with no replica eligible, fallback_to_primary sends readers to the writer; without it there are none")
    func fallback() {
        let seen: [String: Observation] = [
            "pg1": .primary(at: LSN(10_000), observedAt: now),
            "pg2": replica(replayed: 1),
            "pg3": .unreachable("refused", observedAt: now),
        ]
        let fallback = ReaderEligibility(maxLagBytes: 10, fallbackToPrimary: true).select(members: members, observations: seen, writer: "pg1")
        #expect(fallback.readers == ["pg1"] && fallback.fellBackToPrimary)
        let strict = ReaderEligibility(maxLagBytes: 10, fallbackToPrimary: false).select(members: members, observations: seen, writer: "pg1")
        #expect(strict.readers.isEmpty && !strict.fellBackToPrimary)
        let noWriter = ReaderEligibility(maxLagBytes: 10, fallbackToPrimary: true).select(members: members, observations: seen, writer: nil)
        #expect(noWriter.readers.isEmpty && !noWriter.fellBackToPrimary)
    }

    @Test("without an observed writer, lag is measured against the newest position any member reported")
    func noWriterReference() {
        let rule = ReaderEligibility(maxLagBytes: 100, fallbackToPrimary: false)
        let seen: [String: Observation] = [
            "pg1": .unreachable("refused", observedAt: now),
            "pg2": replica(replayed: 5_000, received: 5_050),
            "pg3": replica(replayed: 4_000),
        ]
        let selection = rule.select(members: members, observations: seen, writer: nil)
        #expect(selection.readers == ["pg2"])
        #expect(selection.excluded["pg3"] == .lagging(bytes: 1_050))
    }
}
