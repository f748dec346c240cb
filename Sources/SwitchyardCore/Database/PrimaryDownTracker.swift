import Foundation

/// When is the primary down for good: the automatic-failover trigger. Probes of the primary that
/// fail in a row for at least `primaryDownAfter` (from the first failed probe to the latest)
/// trigger one failover; any successful probe starts the count again. Time is passed in, as in
/// `BackendHealthTracker`, so the rule is tested without clocks. One tracker follows one primary:
/// a new writer gets a new tracker.
public struct PrimaryDownTracker: Sendable {
    public let primaryDownAfter: Duration

    /// The first failed probe of the current run of failures.
    public private(set) var failingSince: Date?
    public private(set) var consecutiveFailures = 0
    /// The trigger fired for the current run of failures (it fires once per outage).
    public private(set) var triggered = false

    public init(primaryDownAfterMs: Int) {
        primaryDownAfter = .milliseconds(primaryDownAfterMs)
    }

    /// Why failover was triggered, for the log, the audit and the API.
    public struct Trigger: Equatable, Sendable {
        public var failures: Int
        public var failingSince: Date
        public var at: Date
        public var reason: String
    }

    public mutating func probeSucceeded(at now: Date) {
        failingSince = nil
        consecutiveFailures = 0
        triggered = false
    }

    /// Counts a failed probe; returns the trigger when this failure makes the run long enough.
    public mutating func probeFailed(_ why: String, at now: Date) -> Trigger? {
        consecutiveFailures += 1
        let since = failingSince ?? now
        failingSince = since
        guard !triggered, now.timeIntervalSince(since) >= primaryDownAfter.timeInterval else { return nil }
        triggered = true
        return Trigger(
            failures: consecutiveFailures, failingSince: since, at: now,
            reason: "primary unreachable for \(Int((now.timeIntervalSince(since) * 1000).rounded())) ms, \(consecutiveFailures) consecutive probe(s) failed: \(why)")
    }
}
