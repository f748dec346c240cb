import Foundation
import Testing

@testable import SwitchyardCore

@Suite("Primary down tracker (automatic failover trigger)")
struct PrimaryDownTrackerTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    @Test("fires once the failed probes in a row span primary_down_after_ms, and only once")
    func firesAfterTheSpan() throws {
        var tracker = PrimaryDownTracker(primaryDownAfterMs: 3_000)
        #expect(tracker.probeFailed("refused", at: start) == nil)
        #expect(tracker.probeFailed("refused", at: start.addingTimeInterval(1)) == nil)
        #expect(tracker.probeFailed("refused", at: start.addingTimeInterval(2.999)) == nil)
        let fired = tracker.probeFailed("timeout", at: start.addingTimeInterval(3))
        let trigger = try #require(fired)
        #expect(trigger.failures == 4)
        #expect(trigger.failingSince == start)
        #expect(trigger.reason.contains("3000 ms") && trigger.reason.contains("4 consecutive") && trigger.reason.contains("timeout"))
        #expect(tracker.probeFailed("timeout", at: start.addingTimeInterval(10)) == nil)
        #expect(tracker.triggered)
    }

    @Test("a successful probe starts the count again")
    func successResets() {
        var tracker = PrimaryDownTracker(primaryDownAfterMs: 3_000)
        _ = tracker.probeFailed("refused", at: start)
        _ = tracker.probeFailed("refused", at: start.addingTimeInterval(2))
        tracker.probeSucceeded(at: start.addingTimeInterval(2.5))
        #expect(tracker.failingSince == nil && tracker.consecutiveFailures == 0)
        #expect(tracker.probeFailed("refused", at: start.addingTimeInterval(3)) == nil)
        #expect(tracker.probeFailed("refused", at: start.addingTimeInterval(5.9)) == nil)
        #expect(tracker.probeFailed("refused", at: start.addingTimeInterval(6))?.failingSince == start.addingTimeInterval(3))
    }

    @Test("a new outage after a recovery fires again")
    func firesPerOutage() {
        var tracker = PrimaryDownTracker(primaryDownAfterMs: 1_000)
        _ = tracker.probeFailed("refused", at: start)
        #expect(tracker.probeFailed("refused", at: start.addingTimeInterval(1)) != nil)
        tracker.probeSucceeded(at: start.addingTimeInterval(2))
        #expect(!tracker.triggered)
        _ = tracker.probeFailed("refused", at: start.addingTimeInterval(3))
        #expect(tracker.probeFailed("refused", at: start.addingTimeInterval(4)) != nil)
    }

    @Test("a single failed probe fires only when primary_down_after_ms is 0")
    func zeroSpan() {
        var zero = PrimaryDownTracker(primaryDownAfterMs: 0)
        #expect(zero.probeFailed("refused", at: start)?.failures == 1)
        var some = PrimaryDownTracker(primaryDownAfterMs: 1)
        #expect(some.probeFailed("refused", at: start) == nil)
    }
}
