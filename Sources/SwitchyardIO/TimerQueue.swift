import NIOCore

/// A task due at a deadline. Cancelling empties it; the queue drops it when its time comes
/// (no search through the heap).
public final class ScheduledTimer {
    public let deadline: NIODeadline
    /// Order among timers with the same deadline: the one scheduled first runs first.
    let sequence: UInt64
    var task: (() -> Void)?
    /// What to do if the loop stops before the deadline (fail the task's promise).
    let dropped: (() -> Void)?

    /// Stops the task from running (on the loop that scheduled it).
    public func cancel() {
        task = nil
    }

    init(deadline: NIODeadline, sequence: UInt64, task: @escaping () -> Void, dropped: (() -> Void)?) {
        self.deadline = deadline
        self.sequence = sequence
        self.task = task
        self.dropped = dropped
    }
}

/// The event loop's timers: a binary min-heap by deadline, then by the order they were scheduled.
struct TimerQueue {
    private var heap: [ScheduledTimer] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }

    /// The earliest deadline, cancelled timers included (waking early for one costs a loop turn).
    var nextDeadline: NIODeadline? { heap.first?.deadline }

    mutating func schedule(
        at deadline: NIODeadline, _ task: @escaping () -> Void, dropped: (() -> Void)? = nil
    ) -> ScheduledTimer {
        let timer = ScheduledTimer(deadline: deadline, sequence: nextSequence, task: task, dropped: dropped)
        nextSequence &+= 1
        heap.append(timer)
        siftUp(heap.count - 1)
        return timer
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    mutating func popDue(now: NIODeadline) -> ScheduledTimer? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            siftDown(0)
        }
        return first
    }

    /// Takes every timer out (the loop is stopping).
    mutating func removeAll() -> [ScheduledTimer] {
        defer { heap.removeAll() }
        return heap
    }

    private static func precedes(_ a: ScheduledTimer, _ b: ScheduledTimer) -> Bool {
        a.deadline < b.deadline || (a.deadline == b.deadline && a.sequence < b.sequence)
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(heap[child], heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count, Self.precedes(heap[left + 1], heap[left]) { smallest = left + 1 }
            guard Self.precedes(heap[smallest], heap[parent]) else { return }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
    }
}
