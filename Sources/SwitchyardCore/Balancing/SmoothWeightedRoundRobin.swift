/// Nginx's smooth weighted round robin: over a cycle every backend is picked in proportion to its weight,
/// and picks of a heavy backend are spread out instead of bunched (weights 5,1,1 give a a b a c a a).
public struct SmoothWeightedRoundRobin: Sendable {
    private var currentWeights: [Int: Int] = [:]

    public init() {}

    /// Picks one of `candidates` (nil when there is none or all weigh 0).
    public mutating func pick(from candidates: [BalancerCandidate]) -> Int? {
        var total = 0
        var best: BalancerCandidate?
        var bestWeight = Int.min
        for candidate in candidates where candidate.weight > 0 {
            let current = currentWeights[candidate.index, default: 0] + candidate.weight
            currentWeights[candidate.index] = current
            total += candidate.weight
            if current > bestWeight {
                bestWeight = current
                best = candidate
            }
        }
        guard let best else { return nil }
        currentWeights[best.index, default: 0] -= total
        return best.index
    }
}
