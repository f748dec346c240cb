import Foundation

/// Consistent hashing by weighted rendezvous (highest random weight): every backend scores the key,
/// the best score wins. When a backend leaves, only the keys it held move (each to its own runner-up);
/// when one joins, it takes only the keys it now wins, in proportion to its weight.
public enum ConsistentHash {
    public static func pick(key: some Sequence<UInt8>, from candidates: [BalancerCandidate]) -> Int? {
        let keyHash = StableHash.hash(key)
        var best: Int?
        var bestScore = -Double.infinity
        for candidate in candidates where candidate.weight > 0 {
            let mixed = StableHash.mix(keyHash ^ StableHash.hash(candidate.key))
            // A uniform number in (0, 1); -w / ln(u) is the weighted rendezvous score.
            let unit = (Double(mixed >> 11) + 0.5) / Double(1 << 53)
            let score = -Double(candidate.weight) / log(unit)
            if score > bestScore {
                bestScore = score
                best = candidate.index
            }
        }
        return best
    }
}
