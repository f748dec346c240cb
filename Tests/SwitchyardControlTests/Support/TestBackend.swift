import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP backend for proxy tests, on a port the kernel picks. Every answer names the backend
/// (body and `X-Backend`) and reports the forwarding headers it saw. Paths: `/status/N` answers N,
/// `/sleep/MS` answers after MS milliseconds, `/echo` returns the request body, `/big/N` sends N bytes,
/// `/chunked` answers chunked, `/until-close` ends its body by closing; anything else 200. `requests` counts traffic, not health probes.
/// `stop()` kills it: listener and open connections.
final class TestBackend: Sendable {
    let name: String
    let port: Int
    private let channel: any Channel
    private let connections: NIOLockedValueBox<[any Channel]>
    private let counter: NIOLockedValueBox<Int>

    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    var requests: Int { counter.withLockedValue { $0 } }

    private init(name: String, port: Int, channel: any Channel, connections: NIOLockedValueBox<[any Channel]>, counter: NIOLockedValueBox<Int>) {
        self.name = name
        self.port = port
        self.channel = channel
        self.connections = connections
        self.counter = counter
    }

    static func start(_ name: String, port: Int = 0) async throws -> TestBackend {
        let connections = NIOLockedValueBox<[any Channel]>([])
        let counter = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                connections.withLockedValue { $0.append(channel) }
                return channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(Responder(name: name, counter: counter))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        return TestBackend(name: name, port: channel.localAddress!.port!, channel: channel, connections: connections, counter: counter)
    }

    func stop() async {
        try? await channel.close()
        for connection in connections.withLockedValue({ $0 }) { try? await connection.close() }
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let name: String
        let counter: NIOLockedValueBox<Int>
        var head: HTTPRequestHead?
        var body = ByteBuffer()

        init(name: String, counter: NIOLockedValueBox<Int>) {
            self.name = name
            self.counter = counter
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body.clear()
            case .body(var chunk):
                body.writeBuffer(&chunk)
            case .end:
                // Health probes are not traffic.
                if head?.headers["User-Agent"].first != "switchyard-health-check" { counter.withLockedValue { $0 += 1 } }
                respond(context: context)
            }
        }

        private func respond(context: ChannelHandlerContext) {
            guard let head else { return }
            let parts = head.uri.split(separator: "/").map(String.init)
            var status = HTTPResponseStatus.ok
            var delay: Int64 = 0
            var payload = ByteBuffer(string: "\(name)\n")
            var chunked = false
            var untilClose = false
            switch parts.first {
            case "status": status = HTTPResponseStatus(statusCode: Int(parts[1]) ?? 500)
            case "sleep": delay = Int64(parts[1]) ?? 0
            case "echo": payload = body
            case "big": payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: Int(parts[1]) ?? 0)
            case "chunked": chunked = true
            case "until-close": untilClose = true
            default: break
            }
            var headers = HTTPHeaders()
            headers.add(name: "X-Backend", value: name)
            headers.add(name: "X-Seen-XFF", value: head.headers["X-Forwarded-For"].joined(separator: "|"))
            headers.add(name: "X-Seen-Proto", value: head.headers["X-Forwarded-Proto"].joined(separator: "|"))
            headers.add(name: "X-Seen-Host", value: head.headers["X-Forwarded-Host"].joined(separator: "|"))
            headers.add(name: "X-Seen-Hop", value: head.headers["Keep-Alive"].joined() + head.headers["X-Hop"].joined())
            if chunked {
                headers.add(name: "Transfer-Encoding", value: "chunked")
            } else if !untilClose {
                headers.add(name: "Content-Length", value: "\(payload.readableBytes)")
            }
            // An HTTP/1.0 response without a length: its body ends when the connection closes.
            let keepAlive = head.isKeepAlive && !untilClose
            let response = HTTPResponseHead(version: untilClose ? .http1_0 : head.version, status: status, headers: headers)
            let write: @Sendable () -> Void
            let bound = NIOLoopBound((context, self), eventLoop: context.eventLoop)
            let payloadCopy = payload
            let isChunked = chunked
            write = {
                let (context, handler) = bound.value
                context.write(handler.wrapOutboundOut(.head(response)), promise: nil)
                if isChunked {
                    for piece in ["first ", "second ", handler.name] {
                        context.write(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: piece)))), promise: nil)
                    }
                } else if payloadCopy.readableBytes > 0 {
                    context.write(handler.wrapOutboundOut(.body(.byteBuffer(payloadCopy))), promise: nil)
                }
                context.writeAndFlush(handler.wrapOutboundOut(.end(nil))).whenComplete { _ in
                    if !keepAlive { context.close(promise: nil) }
                }
            }
            if delay > 0 {
                context.eventLoop.scheduleTask(in: .milliseconds(delay)) { write() }
            } else {
                write()
            }
        }
    }
}
