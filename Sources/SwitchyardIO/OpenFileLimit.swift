#if os(Linux)
    import Glibc

    /// The process's open-file limit: every client and backend connection is a descriptor.
    public enum OpenFileLimit {
        /// Raises the soft limit to the hard one (as HAProxy and nginx do at start) and returns it.
        @discardableResult
        public static func raiseToHardLimit() -> Int {
            var limit = rlimit()
            guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
            if limit.rlim_cur < limit.rlim_max {
                var raised = limit
                raised.rlim_cur = limit.rlim_max
                if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
            }
            return Int(clamping: min(limit.rlim_cur, rlim_t(Int32.max)))
        }

        /// The soft limit now.
        public static var current: Int {
            var limit = rlimit()
            guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
            return Int(clamping: min(limit.rlim_cur, rlim_t(Int32.max)))
        }

        /// The default process-wide cap on client connections: half of the descriptors left after a
        /// reserve of 256 for the control plane, the store and probes, since a proxied client
        /// connection usually holds a backend connection too. At least 64.
        public static func defaultMaxConnections(openFiles: Int = current) -> Int {
            max(64, (openFiles - 256) / 2)
        }
    }
#endif
