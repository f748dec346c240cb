import Testing

@testable import SwitchyardProxy

@Suite struct ConnectionGateTests {
    @Test func aListenerCapInsideTheProcessCap() {
        let process = ConnectionGate(limit: 3)
        let first = ConnectionGate(limit: 2, parent: process)
        let second = ConnectionGate(limit: nil, parent: process)
        #expect(first.enter() && first.enter())
        #expect(!first.enter())  // its own cap
        #expect(second.enter())
        #expect(!second.enter())  // the process cap
        #expect(process.count == 3 && first.count == 2 && second.count == 1)
        first.leave()
        #expect(second.enter())
        #expect(process.count == 3 && first.count == 1 && second.count == 2)
    }

    @Test("a lower limit admits no one until enough have left; a higher one admits at once")
    func limitChanges() {
        let gate = ConnectionGate(limit: 4)
        for _ in 0..<4 { #expect(gate.enter()) }
        gate.setLimit(2)
        #expect(!gate.enter())
        gate.leave()
        gate.leave()
        #expect(!gate.enter())
        gate.leave()
        #expect(gate.enter())
        gate.setLimit(nil)
        for _ in 0..<100 { #expect(gate.enter()) }
    }
}
