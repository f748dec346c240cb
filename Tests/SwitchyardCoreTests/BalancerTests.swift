import Testing

@testable import SwitchyardCore

/// A deterministic generator for tests (SplitMix64).
struct SeededGenerator: RandomNumberGenerator, Sendable {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        return StableHash.mix(state)
    }
}

@Suite("Balancers")
struct BalancerTests {
    static func candidates(_ weights: [Int], active: [Int]? = nil) -> [BalancerCandidate] {
        weights.enumerated().map { index, weight in
            BalancerCandidate(index: index, weight: weight, activeConnections: active?[index] ?? 0, key: "pool/b\(index)")
        }
    }

    @Test("smooth weighted round robin: exact shares per cycle, spread out")
    func smoothRoundRobin() {
        var balancer = SmoothWeightedRoundRobin()
        let picks = (0..<7).compactMap { _ in balancer.pick(from: Self.candidates([5, 1, 1])) }
        #expect(picks == [0, 0, 1, 0, 2, 0, 0])
        var counts = [0, 0, 0]
        for _ in 0..<700 { counts[balancer.pick(from: Self.candidates([5, 1, 1]))!] += 1 }
        #expect(counts == [500, 100, 100])
        #expect(balancer.pick(from: Self.candidates([0, 0])) == nil)
        #expect(balancer.pick(from: []) == nil)
    }

    @Test("least connections: fewest per weight, ties rotate")
    func leastConnections() {
        var balancer = LeastConnections()
        #expect(balancer.pick(from: Self.candidates([1, 1, 1], active: [5, 2, 9])) == 1)
        // 4 connections on weight 4 (1 each) beat 2 on weight 1.
        #expect(balancer.pick(from: Self.candidates([4, 1], active: [4, 2])) == 0)
        let tied = Set((0..<10).compactMap { _ in balancer.pick(from: Self.candidates([1, 1], active: [3, 3])) })
        #expect(tied == [0, 1])
        #expect(balancer.pick(from: Self.candidates([0], active: [0])) == nil)
    }

    @Test("power of two choices: follows weights when idle, avoids the loaded backend")
    func powerOfTwo() {
        var balancer = PowerOfTwoChoices(generator: SeededGenerator(state: 7))
        var counts = [0, 0]
        for _ in 0..<10_000 { counts[balancer.pick(from: Self.candidates([3, 1]))!] += 1 }
        // Idle: each draw of two picks the first drawn, i.e. in proportion to weight.
        #expect((7000...8000).contains(counts[0]))
        var loaded = [0, 0, 0]
        for _ in 0..<1000 { loaded[balancer.pick(from: Self.candidates([1, 1, 1], active: [50, 0, 0]))!] += 1 }
        #expect(loaded[0] < 400)
        #expect(balancer.pick(from: Self.candidates([1])) == 0)
    }

    @Test("source hash: the same key, the same backend; weights share the keys")
    func sourceHash() {
        let backends = Self.candidates([1, 1, 2])
        let key = Array("203.0.113.9".utf8)
        let first = SourceHash.pick(key: key, from: backends)
        #expect((0..<10).allSatisfy { _ in SourceHash.pick(key: key, from: backends) == first })
        var counts = [0, 0, 0]
        for client in 0..<8000 { counts[SourceHash.pick(key: Array("10.0.\(client / 256).\(client % 256)".utf8), from: backends)!] += 1 }
        #expect((1700...2300).contains(counts[0]))
        #expect((3600...4400).contains(counts[2]))
    }

    @Test("consistent hash: only the keys of a backend that leaves move, and they spread over the rest")
    func consistentHashStability() {
        let all = Self.candidates([1, 1, 1, 1, 1])
        let without2 = all.filter { $0.index != 2 }
        var moved = 0
        var onRemoved = 0
        var spread = [Int: Int]()
        for client in 0..<10_000 {
            let key = Array("client-\(client)".utf8)
            let before = ConsistentHash.pick(key: key, from: all)!
            let after = ConsistentHash.pick(key: key, from: without2)!
            if before == 2 {
                onRemoved += 1
                spread[after, default: 0] += 1
            } else if before != after {
                moved += 1
            }
        }
        #expect(moved == 0)
        #expect((1700...2300).contains(onRemoved))
        #expect(spread.keys.sorted() == [0, 1, 3, 4])
        #expect(spread.values.allSatisfy { $0 > onRemoved / 8 })
    }

    @Test("consistent hash: weights set the shares, and order does not matter")
    func consistentHashWeights() {
        let backends = Self.candidates([3, 1])
        var counts = [0, 0]
        for client in 0..<10_000 { counts[ConsistentHash.pick(key: Array("c\(client)".utf8), from: backends)!] += 1 }
        #expect((7100...7900).contains(counts[0]))
        let key = Array("stable".utf8)
        #expect(ConsistentHash.pick(key: key, from: backends) == ConsistentHash.pick(key: key, from: backends.reversed()))
    }
}
