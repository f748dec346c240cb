/// A pool that differs between two snapshots: added (`old` nil), removed (`new` nil) or changed.
/// The data plane follows a snapshot by the pools that changed, so that its work per write is the
/// size of what changed, not of the whole configuration.
public struct PoolChange: Sendable {
    public let name: String
    public let old: RuntimePool?
    public let new: RuntimePool?

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

    /// Keys of the backends that `old` had and `new` has not (both lists are in name order: walked
    /// side by side, without hashing every key).
    public var removedBackendKeys: [String] {
        guard let old else { return [] }
        guard let new else { return old.backends.map(\.key) }
        var removed: [String] = []
        var next = 0
        for backend in old.backends {
            while next < new.backends.count && new.backends[next].name < backend.name { next += 1 }
            if next < new.backends.count && new.backends[next].name == backend.name { continue }
            removed.append(backend.key)
        }
        return removed
    }
}
