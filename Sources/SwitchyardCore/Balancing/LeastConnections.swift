/// Weighted least connections: the backend with the fewest active connections per unit of weight;
/// ties go round robin so that idle pools still spread their load.
public struct LeastConnections: Sendable {
    private var tieBreaker = 0

    public init() {}

    public mutating func pick(from candidates: [BalancerCandidate]) -> Int? {
        let weighted = candidates.filter { $0.weight > 0 }
        guard !weighted.isEmpty else { return nil }
        // Compare active/weight without division: a/w < b/v ⇔ a·v < b·w.
        var best: [BalancerCandidate] = []
        for candidate in weighted {
            guard let first = best.first else {
                best = [candidate]
                continue
            }
            let lhs = candidate.activeConnections * first.weight
            let rhs = first.activeConnections * candidate.weight
            if lhs < rhs {
                best = [candidate]
            } else if lhs == rhs {
                best.append(candidate)
            }
        }
        tieBreaker &+= 1
        return best[Int(UInt(bitPattern: tieBreaker) % UInt(best.count))].index
    }
}
