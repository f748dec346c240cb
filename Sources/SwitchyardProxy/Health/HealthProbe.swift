import NIOCore
import NIOPosix
import SwitchyardCore

/// One active probe: a TCP connect, or an HTTP GET whose status must be in `expected_status`, within
/// the check's timeout. Succeeds with nil, or with why it failed.
enum HealthProbe {
    static func run(_ check: HealthCheckSpec, host: String, port: Int, on eventLoop: any EventLoop) -> EventLoopFuture<String?> {
        let timeout = TimeAmount.milliseconds(Int64(check.timeoutMs))
        let promise = eventLoop.makePromise(of: String?.self)
        let expected = StatusCodeSet(check.expectedStatus)
        let isHTTP = check.type == .http
        let request = "GET \(check.path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: switchyard-health-check\r\nConnection: close\r\n\r\n"
        let connect = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if isHTTP { try channel.pipeline.syncOperations.addHandler(StatusLineReader(promise: promise, expected: expected)) }
                }
            }
            .connect(host: host, port: port)
        let deadline = eventLoop.scheduleTask(in: timeout) { promise.fail(ChannelError.connectTimeout(timeout)) }
        connect.whenComplete { result in
            switch result {
            case .success(let channel):
                if isHTTP {
                    channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                } else {
                    channel.close(promise: nil)
                    promise.succeed(nil)
                }
            case .failure(let error):
                promise.fail(error)
            }
        }
        return promise.futureResult.always { _ in deadline.cancel() }.flatMapErrorThrowing { error in
            switch error {
            case ChannelError.connectTimeout: "timeout after \(check.timeoutMs) ms"
            default: "\(error)"
            }
        }
    }
}

/// Reads a response's status line and judges it.
private final class StatusLineReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let promise: EventLoopPromise<String?>
    private let expected: StatusCodeSet?
    private var received = ByteBuffer()

    init(promise: EventLoopPromise<String?>, expected: StatusCodeSet?) {
        self.promise = promise
        self.expected = expected
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        received.writeBuffer(&buffer)
        guard let line = received.readableBytesView.firstIndex(of: 10) else {
            if received.readableBytes > 8192 { promise.succeed("status line too long") }
            return
        }
        let text = String(decoding: received.readableBytesView[received.readerIndex..<line], as: UTF8.self)
        let parts = text.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            promise.succeed("not an HTTP response")
            return
        }
        promise.succeed(expected?.contains(status) ?? true ? nil : "status \(status)")
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed("connection closed before a response")
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }
}
