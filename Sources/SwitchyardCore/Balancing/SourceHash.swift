/// Source hash: the same client key (its address) goes to the same backend while the set of
/// backends does not change; weights count as repeated slots. Cheap, but a change of the set moves
/// most keys: use `ConsistentHash` when that matters.
public enum SourceHash {
    public static func pick(key: some Sequence<UInt8>, from candidates: [BalancerCandidate]) -> Int? {
        let total = candidates.reduce(0) { $0 + max(0, $1.weight) }
        guard total > 0 else { return nil }
        var slot = Int(StableHash.hash(key) % UInt64(total))
        for candidate in candidates where candidate.weight > 0 {
            if slot < candidate.weight { return candidate.index }
            slot -= candidate.weight
        }
        return nil
    }
}
