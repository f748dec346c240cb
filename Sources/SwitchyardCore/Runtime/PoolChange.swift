/// A pool that differs between two snapshots: added (`old` nil), removed (`new` nil) or changed.
/// The data plane follows a snapshot by the pools that changed, so that its work per write is the
/// size of what changed, not of the whole configuration.
public struct PoolChange: Sendable {
    public let name: String
    public let old: RuntimePool?
    public let new: RuntimePool?
    /// What changed among the backends, both lists in name order: the backends of `new` that are not
    /// in `old` as they are (all of them for a new pool), and the keys of `old`'s backends that `new`
    /// has not. Found once, by walking the two pools side by side; a backend taken over from the
    /// previous snapshot shares its storage, so telling it unchanged is immediate.
    public let backendDelta: (changed: [RuntimeBackend], removedKeys: [String])

    init(name: String, old: RuntimePool?, new: RuntimePool?) {
        self.name = name
        self.old = old
        self.new = new
        backendDelta = Self.delta(from: old?.backends ?? [], to: new?.backends ?? [])
    }

    /// The pools of `new` that are not equal to those of `old`. An unchanged pool that a snapshot took
    /// over from the one before (`RuntimeConfig(document:generation:reusing:changedPools:)`) shares
    /// its backends' storage, so telling it equal takes no walk over its backends.
    public static func between(_ old: [String: RuntimePool], _ new: [String: RuntimePool]) -> [PoolChange] {
        var changes: [PoolChange] = []
        for (name, pool) in new where old[name] != pool {
            changes.append(PoolChange(name: name, old: old[name], new: pool))
        }
        for (name, pool) in old where new[name] == nil {
            changes.append(PoolChange(name: name, old: pool, new: nil))
        }
        return changes
    }

    private static func delta(from oldBackends: [RuntimeBackend], to newBackends: [RuntimeBackend]) -> (
        changed: [RuntimeBackend], removedKeys: [String]
    ) {
        var changed: [RuntimeBackend] = []
        var removedKeys: [String] = []
        var old = BackendCursor(oldBackends)
        let removed = { (index: Int) in removedKeys.append(oldBackends[index].key) }
        for backend in newBackends {
            if let index = old.index(of: backend.name, passing: removed), oldBackends[index] == backend { continue }
            changed.append(backend)
        }
        old.finish(passing: removed)
        return (changed, removedKeys)
    }
}
