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

    /// Keys of the backends that `old` had and `new` has not.
    public var removedBackendKeys: [String] {
        guard let old else { return [] }
        guard let new else { return old.backends.map(\.key) }
        let kept = Set(new.backends.map(\.key))
        return old.backends.map(\.key).filter { !kept.contains($0) }
    }
}
