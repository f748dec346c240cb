import Foundation
import Testing

@testable import SwitchyardCore

@Suite("Backend health state machine")
struct HealthTrackerTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    func tracker(rise: Int = 2, fall: Int = 3, maxFailures: Int = 3, ejectMs: Int = 30_000) -> BackendHealthTracker {
        var check = HealthCheckSpec.defaults
        check.rise = rise
        check.fall = fall
        return BackendHealthTracker(healthCheck: check, passive: PassiveHealthSpec(maxFailures: maxFailures, ejectMs: ejectMs), now: start)
    }

    @Test("a new backend is unknown and available; one passing probe makes it healthy")
    func startsUnknown() {
        var health = tracker()
        #expect(health.status == .unknown)
        #expect(health.isAvailable(at: start))
        let transition = health.probeSucceeded(at: start)
        #expect(transition?.from == .unknown && transition?.to == .healthy)
    }

    @Test("fall consecutive failures take it down; rise consecutive passes bring it back")
    func riseAndFall() {
        var health = tracker()
        _ = health.probeSucceeded(at: start)
        #expect(health.probeFailed("timeout", at: start) == nil)
        #expect(health.probeFailed("timeout", at: start) == nil)
        _ = health.probeSucceeded(at: start)  // resets the failure count
        #expect(health.probeFailed("timeout", at: start) == nil)
        #expect(health.probeFailed("timeout", at: start) == nil)
        let down = health.probeFailed("connection refused", at: start.addingTimeInterval(1))
        #expect(down?.to == .unhealthy)
        #expect(down?.reason.contains("connection refused") == true)
        #expect(!health.isAvailable(at: start))
        #expect(health.since == start.addingTimeInterval(1))
        #expect(health.probeSucceeded(at: start) == nil)
        #expect(health.probeSucceeded(at: start)?.to == .healthy)
        #expect(health.isAvailable(at: start))
    }

    @Test("passive: max_failures consecutive failed requests eject it for eject_ms")
    func passiveEjection() {
        var health = tracker(maxFailures: 2, ejectMs: 10_000)
        #expect(health.requestFailed("502", at: start) == nil)
        #expect(health.requestSucceeded(at: start) == nil)  // resets
        #expect(health.requestFailed("502", at: start) == nil)
        let ejected = health.requestFailed("connect refused", at: start)
        #expect(ejected?.to == .unhealthy)
        #expect(!health.isAvailable(at: start.addingTimeInterval(9)))
        #expect(health.reportedStatus(at: start.addingTimeInterval(9)) == .unhealthy)
        #expect(health.isAvailable(at: start.addingTimeInterval(10)))
        let back = health.requestSucceeded(at: start.addingTimeInterval(11))
        #expect(back?.from == .unhealthy)
        #expect(health.ejectedUntil == nil)
    }

    @Test("max_failures 0 turns passive checks off")
    func passiveOff() {
        var health = tracker(maxFailures: 0)
        for _ in 0..<10 { #expect(health.requestFailed("502", at: start) == nil) }
        #expect(health.isAvailable(at: start))
    }
}
