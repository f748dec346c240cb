/// Power of two random choices: draw two backends at random (by weight) and take the less loaded one.
/// Nearly as good as least connections, with no shared state to coordinate.
public struct PowerOfTwoChoices<Generator: RandomNumberGenerator & Sendable>: Sendable {
    private var generator: Generator

    public init(generator: Generator) {
        self.generator = generator
    }

    public mutating func pick(from candidates: [BalancerCandidate]) -> Int? {
        let weighted = candidates.filter { $0.weight > 0 }
        guard !weighted.isEmpty else { return nil }
        if weighted.count == 1 { return weighted[0].index }
        let first = draw(weighted)
        var second = draw(weighted)
        // Two distinct backends when there are two to choose from.
        for _ in 0..<4 where second.index == first.index { second = draw(weighted) }
        let firstLoad = first.activeConnections * second.weight
        let secondLoad = second.activeConnections * first.weight
        return secondLoad < firstLoad ? second.index : first.index
    }

    private mutating func draw(_ candidates: [BalancerCandidate]) -> BalancerCandidate {
        let total = candidates.reduce(0) { $0 + $1.weight }
        var ticket = Int.random(in: 0..<total, using: &generator)
        for candidate in candidates {
            if ticket < candidate.weight { return candidate }
            ticket -= candidate.weight
        }
        return candidates[candidates.count - 1]
    }
}
