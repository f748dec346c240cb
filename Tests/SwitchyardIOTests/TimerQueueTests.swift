import NIOCore
import Testing

@testable import SwitchyardIO

@Suite struct TimerQueueTests {
    @Test func popsByDeadlineThenBySchedulingOrder() {
        var queue = TimerQueue()
        let base = NIODeadline.uptimeNanoseconds(1_000)
        var fired: [String] = []
        for (name, offset) in [("c", 30), ("a", 10), ("b1", 20), ("d", 40), ("b2", 20), ("e", 50)] {
            _ = queue.schedule(at: base + .nanoseconds(Int64(offset))) { fired.append(name) }
        }
        #expect(queue.nextDeadline == base + .nanoseconds(10))
        while let timer = queue.popDue(now: base + .nanoseconds(35)) { timer.task?() }
        #expect(fired == ["a", "b1", "b2", "c"])
        #expect(queue.count == 2)
        #expect(queue.popDue(now: base + .nanoseconds(39)) == nil)
    }

    @Test func aCancelledTimerIsDroppedWhenDue() {
        var queue = TimerQueue()
        var fired = 0
        let timer = queue.schedule(at: .uptimeNanoseconds(5)) { fired += 1 }
        timer.task = nil
        while let due = queue.popDue(now: .uptimeNanoseconds(10)) { due.task?() }
        #expect(fired == 0)
        #expect(queue.isEmpty)
    }

    @Test func manyRandomDeadlinesComeOutSorted() {
        var queue = TimerQueue()
        var generator = SystemRandomNumberGenerator()
        let deadlines = (0..<1_000).map { _ in UInt64.random(in: 0..<10_000, using: &generator) }
        for deadline in deadlines { _ = queue.schedule(at: .uptimeNanoseconds(deadline)) {} }
        var out: [UInt64] = []
        while let timer = queue.popDue(now: .uptimeNanoseconds(10_000)) { out.append(timer.deadline.uptimeNanoseconds) }
        #expect(out == deadlines.sorted())
    }
}
