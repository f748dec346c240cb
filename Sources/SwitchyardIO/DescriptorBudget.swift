#if os(Linux)
    import Synchronization

    /// The descriptors the data plane's connections (clients and backends) may hold together. The rest
    /// of the open-file limit is a reserve for everything else in the process: the store's and the
    /// API's sockets, log files, and libdispatch, which reads /proc for each of its worker threads and
    /// crashes the process when that open fails. Running the process out of descriptors is therefore
    /// never left to the data plane: a listener pauses and a connect fails (as for EMFILE) once the
    /// budget is spent. Unlimited until `configure` (tests in one process share it).
    public enum DescriptorBudget {
        private static let held = Atomic(0)
        private static let limit = Atomic(Int.max)

        /// Sets the budget to the open-file limit less a reserve (an eighth of it, 64 to 1,024);
        /// returns the budget.
        @discardableResult
        public static func configure(openFiles: Int) -> Int {
            let reserve = max(64, min(1024, openFiles / 8))
            let budget = max(16, openFiles - reserve)
            limit.store(budget, ordering: .relaxed)
            return budget
        }

        /// Descriptors held by connections now.
        public static var inUse: Int { held.load(ordering: .relaxed) }

        /// Takes one descriptor from the budget, or returns false when it is spent.
        static func acquire() -> Bool {
            var current = held.load(ordering: .relaxed)
            while true {
                guard current < limit.load(ordering: .relaxed) else { return false }
                let (exchanged, original) = held.compareExchange(expected: current, desired: current + 1, ordering: .relaxed)
                if exchanged { return true }
                current = original
            }
        }

        static func release() {
            held.wrappingSubtract(1, ordering: .relaxed)
        }
    }
#endif
