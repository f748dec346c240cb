import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A backend that records the exact bytes it receives and answers every head it sees (each
/// "\r\n\r\n") with one canned response, as a lenient server would: for tests of what the proxy
/// forwards, byte for byte, and of responses no well-behaved server sends.
final class RawBackend: Sendable {
    let port: Int
    private let channel: any Channel
    private let log: NIOLockedValueBox<[UInt8]>

    /// Everything received, over all connections, in arrival order.
    var received: String { String(decoding: log.withLockedValue { $0 }, as: UTF8.self) }

    private init(port: Int, channel: any Channel, log: NIOLockedValueBox<[UInt8]>) {
        self.port = port
        self.channel = channel
        self.log = log
    }

    static func start(response: String = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") async throws -> RawBackend {
        let log = NIOLockedValueBox<[UInt8]>([])
        let channel = try await ServerBootstrap(group: TestBackend.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Recorder(log: log, response: Array(response.utf8)))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return RawBackend(port: channel.localAddress!.port!, channel: channel, log: log)
    }

    func stop() async { try? await channel.close() }

    /// How many times `text` occurs in what was received, ignoring ASCII case.
    func count(_ text: String) -> Int {
        received.lowercased().components(separatedBy: text.lowercased()).count - 1
    }

    private final class Recorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let log: NIOLockedValueBox<[UInt8]>
        let response: [UInt8]
        var pending: [UInt8] = []

        init(log: NIOLockedValueBox<[UInt8]>, response: [UInt8]) {
            self.log = log
            self.response = response
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = Array(buffer: unwrapInboundIn(data))
            log.withLockedValue { $0 += bytes }
            pending += bytes
            let end: [UInt8] = [13, 10, 13, 10]
            while let range = pending.firstRange(of: end) {
                pending.removeSubrange(..<range.upperBound)
                context.write(wrapOutboundOut(ByteBuffer(bytes: response)), promise: nil)
            }
            context.flush()
        }
    }
}
