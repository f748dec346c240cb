/// Nginx's smooth weighted round robin: over a cycle every backend is picked in proportion to its weight,
/// and picks of a heavy backend are spread out instead of bunched (weights 5,1,1 give a a b a c a a).
public struct SmoothWeightedRoundRobin: Sendable {
    /// Current weights by candidate index (an array: this runs on every request).
    private var currentWeights: [Int] = []

    public init() {}

    /// Picks one of `candidates` (nil when there is none or all weigh 0).
    public mutating func pick(from candidates: [BalancerCandidate]) -> Int? {
        var total = 0
        var best = -1
        var bestWeight = Int.min
        for candidate in candidates where candidate.weight > 0 {
            if candidate.index >= currentWeights.count {
                currentWeights.append(contentsOf: repeatElement(0, count: candidate.index + 1 - currentWeights.count))
            }
            currentWeights[candidate.index] += candidate.weight
            total += candidate.weight
            if currentWeights[candidate.index] > bestWeight {
                bestWeight = currentWeights[candidate.index]
                best = candidate.index
            }
        }
        guard best >= 0 else { return nil }
        currentWeights[best] -= total
        return best
    }
}
