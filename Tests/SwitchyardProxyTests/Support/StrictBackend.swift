import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A backend that reads with `StrictRequestParser` and answers each request it parses (the way a
/// careful server would), recording every request with the order it arrived in, and every refusal.
final class StrictBackend: Sendable {
    struct Received: Sendable {
        var sequence: Int
        var method: String
        var target: String
        var body: [UInt8]
    }

    private struct State {
        var received: [Received] = []
        var refusals: [String] = []
        var sequence = 0
    }

    let port: Int
    private let channel: any Channel
    private let state: NIOLockedValueBox<State>
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    private init(port: Int, channel: any Channel, state: NIOLockedValueBox<State>) {
        self.port = port
        self.channel = channel
        self.state = state
    }

    static func start() async throws -> StrictBackend {
        let state = NIOLockedValueBox(State())
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Reader(state: state)) }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return StrictBackend(port: channel.localAddress!.port!, channel: channel, state: state)
    }

    func stop() async { try? await channel.close() }

    /// What arrived since the last call (requests in arrival order), and the refusals.
    func take() -> (received: [Received], refusals: [String]) {
        state.withLockedValue { state in
            defer {
                state.received.removeAll()
                state.refusals.removeAll()
            }
            return (state.received, state.refusals)
        }
    }

    private final class Reader: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let state: NIOLockedValueBox<State>
        var pending: [UInt8] = []

        init(state: NIOLockedValueBox<State>) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            pending += Array(buffer: unwrapInboundIn(data))
            let (requests, consumed, error) = StrictRequestParser.parsePrefix(pending)
            pending.removeFirst(consumed)
            state.withLockedValue { state in
                for request in requests {
                    state.sequence += 1
                    state.received.append(.init(sequence: state.sequence, method: request.method, target: request.target, body: request.rawBody))
                }
                if let error { state.refusals.append(error) }
            }
            for request in requests {
                let answer = request.method == "HEAD" ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n" : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                context.write(wrapOutboundOut(ByteBuffer(string: answer)), promise: nil)
            }
            context.flush()
            if error != nil { context.close(promise: nil) }
        }
    }
}
