#if os(Linux)
    import Dispatch
    import Glibc
    import NIOCore
    import Synchronization
    import Testing

    @testable import SwitchyardIO

    /// Records what a connection reports; optionally echoes, with backpressure (reads pause while the
    /// connection cannot take more output).
    final class RecordingDelegate: SocketConnectionDelegate, @unchecked Sendable {
        struct State {
            var received: [UInt8] = []
            var readCompletes = 0
            var writability: [Bool] = []
            var inputClosed = false
            var closed = false
            var closeError: String?
        }

        let state = Mutex(State())
        let connection: SocketConnection
        let echo: Bool
        /// Runs on the loop when input ends (e.g. answer and close).
        var onInputClosed: ((SocketConnection) -> Void)?

        init(_ connection: SocketConnection, echo: Bool = false) {
            self.connection = connection
            self.echo = echo
            connection.delegate = self
        }

        func connectionRead(_ buffer: ByteBuffer) {
            state.withLock { $0.received += buffer.readableBytesView }
            if echo {
                connection.write(buffer)
                if !connection.isWritable { connection.pauseReads() }
            }
        }

        func connectionReadComplete() {
            state.withLock { $0.readCompletes += 1 }
            if echo { connection.flush() }
        }

        func connectionWritabilityChanged(isWritable: Bool) {
            state.withLock { $0.writability.append(isWritable) }
            if echo && isWritable { connection.resumeReads() }
        }

        func connectionInputClosed() {
            state.withLock { $0.inputClosed = true }
            onInputClosed?(connection)
        }

        func connectionClosed(error: (any Error)?) {
            state.withLock {
                $0.closed = true
                $0.closeError = error.map { "\($0)" }
            }
        }
    }

    /// Waits (polling) until `condition` holds, or fails after `seconds`.
    func eventually(_ what: String, within seconds: Double = 10, _ condition: () -> Bool) async throws {
        let end = NIODeadline.now() + .milliseconds(Int64(seconds * 1000))
        while !condition() {
            guard NIODeadline.now() < end else {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Stops `loop`, waiting for its thread (callable from async tests, unlike `syncShutdownGracefully`).
    func stop(_ loop: EpollEventLoop) {
        try? loop.syncShutdownGracefully()
    }

    /// A listener on 127.0.0.1 (any port) whose connections get a `RecordingDelegate`.
    final class TestServer: @unchecked Sendable {
        final class Accepted: Sendable {
            let list = Mutex<[RecordingDelegate]>([])

            func withLock<Result: Sendable>(_ body: (inout [RecordingDelegate]) -> Result) -> Result {
                list.withLock { body(&$0) }
            }
        }

        private(set) var listener: SocketListener!
        let accepted = Accepted()

        init(on loop: EpollEventLoop, echo: Bool = false, configure: @escaping @Sendable (RecordingDelegate) -> Void = { _ in }) throws {
            let box = self.accepted
            let listener = try loop.submit {
                try SocketListener(bindingTo: try SocketAddress(ipAddress: "127.0.0.1", port: 0), on: loop) { connection in
                    let delegate = RecordingDelegate(connection, echo: echo)
                    configure(delegate)
                    box.list.withLock { $0.append(delegate) }
                }
            }.wait()
            self.listener = listener
        }

        var port: Int { listener.localAddress.port! }
    }

    func connect(to port: Int, on loop: EpollEventLoop, timeout: TimeAmount = .seconds(5)) throws -> Result<RecordingDelegate, any Error> {
        let promise = loop.makePromise(of: Result<RecordingDelegate, any Error>.self)
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        loop.execute {
            SocketConnector.connect(to: address, on: loop, timeout: timeout) { result in
                promise.succeed(result.map { RecordingDelegate($0) })
            }
        }
        return try promise.futureResult.wait()
    }

    func send(_ bytes: [UInt8], on delegate: RecordingDelegate, flush: Bool = true) throws {
        try delegate.connection.loop.submit {
            var buffer = ByteBuffer()
            buffer.writeBytes(bytes)
            delegate.connection.write(buffer)
            if flush { delegate.connection.flush() }
        }.wait()
    }

    @Suite(.serialized) struct EpollEventLoopTests {
        @Test func tasksFromOtherThreadsRunOnTheLoopInOrder() throws {
            let loop = try EpollEventLoop()
            defer { stop(loop) }
            let order = Mutex<[Int]>([])
            let onLoop = Mutex(true)
            for index in 0..<100 {
                loop.execute {
                    onLoop.withLock { $0 = $0 && loop.inEventLoop }
                    order.withLock { $0.append(index) }
                }
            }
            try loop.submit {}.wait()
            #expect(order.withLock { $0 } == Array(0..<100))
            #expect(onLoop.withLock { $0 })
            #expect(!loop.inEventLoop)
        }

        @Test func scheduledTasksRunAtTheirDeadlineAndCancelledOnesNever() throws {
            let loop = try EpollEventLoop()
            defer { stop(loop) }
            let fired = Mutex<[String]>([])
            let start = NIODeadline.now()
            let late = loop.scheduleTask(in: .milliseconds(60)) { fired.withLock { $0.append("late") } }
            let early = loop.scheduleTask(in: .milliseconds(20)) { fired.withLock { $0.append("early") } }
            let cancelled = loop.scheduleTask(in: .milliseconds(40)) { fired.withLock { $0.append("cancelled") } }
            cancelled.cancel()
            try early.futureResult.wait()
            try late.futureResult.wait()
            #expect(NIODeadline.now() - start >= .milliseconds(60))
            #expect(throws: EventLoopError.cancelled) { try cancelled.futureResult.wait() }
            #expect(fired.withLock { $0 } == ["early", "late"])
        }

        @Test func shutdownFailsTimersNotYetDue() throws {
            let loop = try EpollEventLoop()
            let pending = loop.scheduleTask(in: .hours(1)) {}
            let failure = Mutex<String?>(nil)
            // Observed from the loop: once it has stopped, nothing runs there (nor a `wait()`'s callback).
            pending.futureResult.whenFailure { error in failure.withLock { $0 = "\(error)" } }
            try loop.syncShutdownGracefully()
            #expect(failure.withLock { $0 } == "\(EventLoopError.shutdown)")
        }

        @Test func echoesSmallWritesBothWays() async throws {
            let loop = try EpollEventLoop()
            defer { stop(loop) }
            let server = try TestServer(on: loop, echo: true)
            let client = try connect(to: server.port, on: loop).get()
            try send(Array("hello".utf8), on: client)
            try send(Array(" world".utf8), on: client)
            try await eventually("the echo") { client.state.withLock { $0.received } == Array("hello world".utf8) }
            #expect(server.accepted.withLock { $0.count } == 1)
            let remote = try await loop.submit { server.accepted.withLock { $0[0].connection.remoteAddress } }.get()
            #expect(remote?.ipAddress == "127.0.0.1")
        }

        @Test func writesAreHeldUntilFlushAndSentAsOne() async throws {
            let loop = try EpollEventLoop()
            defer { stop(loop) }
            let server = try TestServer(on: loop)
            let client = try connect(to: server.port, on: loop).get()
            for piece in ["a", "b", "c"] { try send(Array(piece.utf8), on: client, flush: false) }
            try await Task.sleep(for: .milliseconds(50))
            #expect(server.accepted.withLock { $0.first?.state.withLock { $0.received } ?? [] }.isEmpty)
            try await loop.submit { client.connection.flush() }.get()
            try await eventually("the flushed bytes") {
                server.accepted.withLock { $0.first?.state.withLock { $0.received } ?? [] } == Array("abc".utf8)
            }
        }

        /// 8 MiB through an echo whose reads pause while it cannot write: every byte comes back in order,
        /// and writability turned off and on again on the sending side.
        @Test func aLargeTransferKeepsEveryByteUnderBackpressure() async throws {
            let loop = try EpollEventLoop()
            defer { stop(loop) }
            let server = try TestServer(on: loop, echo: true)
            let client = try connect(to: server.port, on: loop).get()
            let payload = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
            try send(payload, on: client)
            try await eventually("the whole echo", within: 30) { client.state.withLock { $0.received.count } >= payload.count }
            #expect(client.state.withLock { $0.received } == payload)
            let writability = client.state.withLock { $0.writability }
            #expect(writability.first == false)
            #expect(writability.last == true)
            #expect(try await loop.submit { client.connection.pendingBytes }.get() == 0)
        }

        @Test func pausedReadsDeliverWhatCameMeanwhileOnResume() async throws {
            let loop = try EpollEventLoop()
            defer { stop(loop) }
            let server = try TestServer(on: loop) { $0.connection.pauseReads() }
            let client = try connect(to: server.port, on: loop).get()
            try send(Array("while paused".utf8), on: client)
            try await Task.sleep(for: .milliseconds(50))
            let accepted = server.accepted.withLock { $0[0] }
            #expect(accepted.state.withLock { $0.received }.isEmpty)
            try await loop.submit { accepted.connection.resumeReads() }.get()
            try await eventually("the bytes sent while paused") { accepted.state.withLock { $0.received } == Array("while paused".utf8) }
        }

        @Test func halfCloseEndsInputAndTheOtherSideCanStillAnswer() async throws {
            let loop = try EpollEventLoop()
            defer { stop(loop) }
            let server = try TestServer(on: loop) { delegate in
                delegate.onInputClosed = { connection in
                    var buffer = ByteBuffer()
                    buffer.writeString("bye")
                    connection.write(buffer)
                    connection.closeAfterFlush()
                }
            }
            let client = try connect(to: server.port, on: loop).get()
            try send(Array("request".utf8), on: client, flush: false)
            try await loop.submit { client.connection.closeOutput() }.get()
            try await eventually("the answer and the close") {
                client.state.withLock { $0.received == Array("bye".utf8) && $0.inputClosed }
            }
            let accepted = server.accepted.withLock { $0[0] }
            try await eventually("the server side closed") { accepted.state.withLock { $0.closed } }
            #expect(accepted.state.withLock { $0.received } == Array("request".utf8))
            #expect(accepted.state.withLock { $0.closeError } == nil)
        }

        @Test func aClosedPeerIsReportedAndLaterWritesAreDropped() async throws {
            let loop = try EpollEventLoop()
            defer { stop(loop) }
            let server = try TestServer(on: loop)
            let client = try connect(to: server.port, on: loop).get()
            try await eventually("the accept") { server.accepted.withLock { $0.count } == 1 }
            let accepted = server.accepted.withLock { $0[0] }
            try await loop.submit { accepted.connection.close() }.get()
            try await eventually("end of input at the client") { client.state.withLock { $0.inputClosed } }
            try await loop.submit { client.connection.close() }.get()
            try await eventually("the client's close") { client.state.withLock { $0.closed } }
            try send(Array("late".utf8), on: client)
            #expect(try await loop.submit { client.connection.pendingBytes }.get() == 0)
        }

        @Test func aRefusedConnectFails() throws {
            let loop = try EpollEventLoop()
            defer { stop(loop) }
            // A port that was just bound and released: nothing listens there.
            let server = try TestServer(on: loop)
            let port = server.port
            try loop.submit { server.listener.close() }.wait()
            switch try connect(to: port, on: loop) {
            case .success: Issue.record("connected to a closed port")
            case .failure(let error): #expect((error as? SocketError)?.errno == ECONNREFUSED)
            }
        }

        /// Two loops accept from one socket: every connection is served by one of them, and once both
        /// listeners are closed (the sharing one first) the port is free.
        @Test func loopsShareOneListeningSocket() async throws {
            let first = try EpollEventLoop()
            let second = try EpollEventLoop()
            let clients = try EpollEventLoop()
            defer { for loop in [first, second, clients] { stop(loop) } }
            let server = try TestServer(on: first, echo: true)
            let accepted = TestServer.Accepted()
            let sharing = try second.submit {
                try SocketListener(sharing: server.listener, on: second) { connection in
                    let delegate = RecordingDelegate(connection, echo: true)
                    accepted.list.withLock { $0.append(delegate) }
                }
            }.wait()
            var connected: [RecordingDelegate] = []
            for index in 0..<20 {
                let client = try connect(to: server.port, on: clients).get()
                try send(Array("client \(index)".utf8), on: client)
                connected.append(client)
            }
            for (index, client) in connected.enumerated() {
                try await eventually("echo \(index)") { client.state.withLock { $0.received } == Array("client \(index)".utf8) }
            }
            #expect(server.accepted.withLock { $0.count } + accepted.withLock { $0.count } == 20)
            try await second.submit { sharing.close() }.get()
            try await first.submit { server.listener.close() }.get()
            switch try connect(to: server.port, on: clients) {
            case .success:
                // The suite runs in parallel: another test may have bound the freed port meanwhile.
                // Then the connection is that test's, never one of these listeners'.
                try await Task.sleep(for: .milliseconds(200))
                #expect(server.accepted.withLock { $0.count } + accepted.withLock { $0.count } == 20, "accepted after both listeners closed")
            case .failure(let error): #expect((error as? SocketError)?.errno == ECONNREFUSED)
            }
        }

        @Test func aListenerOnATakenPortThrows() throws {
            let loop = try EpollEventLoop()
            defer { stop(loop) }
            let server = try TestServer(on: loop)
            #expect(throws: SocketError.self) {
                _ = try loop.submit {
                    try SocketListener(bindingTo: try SocketAddress(ipAddress: "127.0.0.1", port: server.port), on: loop) { _ in }
                }.wait()
            }
        }

        @Test func shutdownClosesConnectionsAndTellsTheirOwners() async throws {
            let loop = try EpollEventLoop()
            let server = try TestServer(on: loop)
            let client = try connect(to: server.port, on: loop).get()
            try await eventually("the accept") { server.accepted.withLock { $0.count } == 1 }
            stop(loop)
            #expect(client.state.withLock { $0.closed })
            #expect(server.accepted.withLock { $0[0].state.withLock { $0.closed } })
        }
    }
#endif
