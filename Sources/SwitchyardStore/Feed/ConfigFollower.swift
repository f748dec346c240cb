import SwitchyardCore

/// Keeps the whole configuration of the newest generation, one refresh at a time, and hands each new
/// one to `onChange`. A refresh reads only what changed since the generation it holds: its audit rows
/// (each holds the resource's new state), applied to the configuration it has. With 10,000 backends,
/// reading everything again after each of a stream of registrations was a quarter of the CPU of
/// both Switchyard and PostgreSQL per write.
///
/// It reads everything when it has nothing yet, when asked to (after a reconnect), when more than
/// `changeLimit` changes are waiting (a whole-configuration write: the columns of 10,000 backends
/// are cheaper than 10,000 JSON documents), and when the last whole read is `wholeInterval` old,
/// so that nothing that bypassed the audit log can linger.
actor ConfigFollower {
    let store: Store
    let changeLimit: Int
    let wholeInterval: Duration
    let onChange: @Sendable (StoredConfiguration) async -> Void
    private var current: StoredConfiguration?
    private var lastWholeRead = ContinuousClock.now
    /// How many times the whole configuration was read.
    private(set) var wholeReads = 0

    init(
        store: Store, changeLimit: Int = 500, wholeInterval: Duration = .seconds(60),
        onChange: @escaping @Sendable (StoredConfiguration) async -> Void
    ) {
        self.store = store
        self.changeLimit = changeLimit
        self.wholeInterval = wholeInterval
        self.onChange = onChange
    }

    /// Brings the configuration to the newest generation; `whole` reads all of it.
    func refresh(whole: Bool = false) async throws {
        if let heldGeneration = current?.generation, !whole, ContinuousClock.now - lastWholeRead < wholeInterval {
            let moved = try await store.configChanges(since: heldGeneration, limit: changeLimit)
            // (Refreshes come one at a time; should one have overlapped, the newer configuration stands.)
            guard moved.generation != heldGeneration, current?.generation == heldGeneration, var document = current?.document else {
                return
            }
            guard let changes = moved.changes else { return try await readWhole() }
            // Let go of the held copy first, so that the changes mutate the only one in place.
            current = nil
            document.apply(changes)
            let next = StoredConfiguration(
                document: document, generation: moved.generation, tokenGeneration: moved.tokenGeneration,
                changedPools: (heldGeneration, Set(changes.compactMap(\.resource.poolName))))
            current = next
            await onChange(next)
            return
        }
        // The generation first: the poll asks every 5 s, and 10,000 backends are not worth reading to
        // learn that nothing moved (the next change is then read whole).
        if let held = current, try await store.currentGeneration() == held.generation { return }
        try await readWhole()
    }

    private func readWhole() async throws {
        let stored = try await store.document()
        lastWholeRead = .now
        wholeReads += 1
        guard stored.generation != current?.generation else { return }
        current = stored
        await onChange(stored)
    }
}
