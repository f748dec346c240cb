import NIOCore
import NIOPosix

/// A TCP backend for proxy tests: echoes every byte with a prefix naming it and, when the client
/// half-closes, writes "bye" and closes its side too (so half-close is observable through the proxy).
final class TCPEchoServer: Sendable {
    let port: Int
    private let channel: any Channel

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    static func start(_ name: String) async throws -> TCPEchoServer {
        let channel = try await ServerBootstrap(group: TestBackend.group)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Echo(name: name)) }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return TCPEchoServer(port: channel.localAddress!.port!, channel: channel)
    }

    func stop() async { try? await channel.close() }

    private final class Echo: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let name: String
        var greeted = false

        init(name: String) { self.name = name }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if !greeted {
                greeted = true
                context.write(wrapOutboundOut(ByteBuffer(string: "\(name):")), promise: nil)
            }
            context.writeAndFlush(data, promise: nil)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .some(.inputClosed) = event as? ChannelEvent {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: ":bye"))).whenComplete { _ in context.close(promise: nil) }
            }
        }
    }
}
