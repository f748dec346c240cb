#if os(Linux)
    import Glibc
    import NIOCore
    import Synchronization
    import Testing

    @testable import SwitchyardIO

    /// A gate with a fixed number of places, counting how often it said no.
    final class CountingGate: AcceptGate {
        let places: Mutex<(free: Int, refusals: Int)>

        init(places: Int) { self.places = Mutex((places, 0)) }

        func enter() -> Bool {
            places.withLock { state in
                guard state.free > 0 else {
                    state.refusals += 1
                    return false
                }
                state.free -= 1
                return true
            }
        }

        func leave() { places.withLock { $0.free += 1 } }
    }

    @Suite(.serialized) struct AcceptGateTests {
        @Test("at the gate's limit connections wait in the backlog, the listener pauses (no spin), and a freed place lets the next one in")
        func connectionsWaitAtTheLimit() async throws {
            let loop = try EpollEventLoop()
            let clients = try EpollEventLoop()
            defer { for each in [loop, clients] { stop(each) } }
            let gate = CountingGate(places: 1)
            let accepted = TestServer.Accepted()
            let pauses = Mutex<[AcceptPause]>([])
            let listener = try await loop.submit {
                try SocketListener(
                    bindingTo: try SocketAddress(ipAddress: "127.0.0.1", port: 0), on: loop, gate: gate,
                    paused: { reason in pauses.withLock { $0.append(reason) } }
                ) { connection in
                    let delegate = RecordingDelegate(connection, echo: true)
                    accepted.withLock { $0.append(delegate) }
                }
            }.get()
            let port = listener.localAddress.port!
            let first = try connect(to: port, on: clients).get()
            let second = try connect(to: port, on: clients).get()  // completes in the kernel's backlog
            try send(Array("one".utf8), on: first)
            try send(Array("two".utf8), on: second)
            try await eventually("the first echo") { first.state.withLock { $0.received } == Array("one".utf8) }
            try await Task.sleep(for: .milliseconds(100))
            #expect(accepted.withLock { $0.count } == 1)
            #expect(second.state.withLock { $0.received }.isEmpty)
            // Paused and looking again every 10 ms: a handful of refusals, not a spin of thousands.
            let refusals = gate.places.withLock { $0.refusals }
            #expect(refusals >= 2 && refusals < 100, "\(refusals) refusals in 100 ms")
            #expect(pauses.withLock { $0.allSatisfy { $0 == .connectionLimit } })

            // The first connection closes and gives its place back: the second is taken.
            try await loop.submit {
                accepted.withLock { $0[0].connection.close() }
                gate.leave()
            }.get()
            try await eventually("the second echo") { second.state.withLock { $0.received } == Array("two".utf8) }
            #expect(accepted.withLock { $0.count } == 2)
            try await loop.submit { listener.close() }.get()
        }

        @Test func aClosedPausedListenerReleasesItsPort() async throws {
            let loop = try EpollEventLoop()
            let clients = try EpollEventLoop()
            defer { for each in [loop, clients] { stop(each) } }
            let gate = CountingGate(places: 0)
            let listener = try await loop.submit {
                try SocketListener(bindingTo: try SocketAddress(ipAddress: "127.0.0.1", port: 0), on: loop, gate: gate) { _ in }
            }.get()
            let port = listener.localAddress.port!
            _ = try connect(to: port, on: clients).get()
            try await eventually("a refusal") { gate.places.withLock { $0.refusals } > 0 }
            try await loop.submit { listener.close() }.get()
            switch try connect(to: port, on: clients) {
            case .success: Issue.record("connected after the listener closed")
            case .failure(let error): #expect((error as? SocketError)?.errno == ECONNREFUSED)
            }
        }
    }
#endif
