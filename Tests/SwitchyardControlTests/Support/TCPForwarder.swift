import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwitchyardStore

/// A loopback TCP forwarder that a test can cut (closing its socket and every connection) and
/// restore on the same port: PostgreSQL going away and coming back, without touching PostgreSQL. It
/// can also stall: connections stay open but no byte goes through (a network gone dark).
final class TCPForwarder: Sendable {
    private let stalled = NIOLockedValueBox(false)

    let target: (host: String, port: Int)
    private let group = MultiThreadedEventLoopGroup.singleton
    private let state = NIOLockedValueBox<(listener: (any Channel)?, connections: [any Channel], port: Int, isCut: Bool)>(
        (nil, [], 0, false))

    var port: Int { state.withLockedValue { $0.port } }

    init(to host: String, port: Int) {
        self.target = (host, port)
    }

    /// A forwarder to `database`, started, and the store configuration that reaches the database
    /// through it (waiting at most 2 s for a connection, so that outages show quickly; 1 s was too
    /// tight for the first connection when the whole suite runs on a busy 2-core VM).
    static func inFront(of database: StoreConfiguration) async throws -> (TCPForwarder, StoreConfiguration) {
        let forwarder = TCPForwarder(to: database.host, port: database.port)
        try await forwarder.start()
        var viaForwarder = database
        viaForwarder.host = "127.0.0.1"
        viaForwarder.port = forwarder.port
        viaForwarder.connectionWaitTimeout = .seconds(2)
        return (forwarder, viaForwarder)
    }

    /// Starts listening (on `port`, or a free one the first time).
    func start() async throws {
        let port = state.withLockedValue { $0.port }
        let target = self.target
        let group = self.group
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { inbound in
                inbound.setOption(.autoRead, value: false).flatMap {
                    // The glue needs both channels on one event loop.
                    ClientBootstrap(group: inbound.eventLoop).connect(host: target.host, port: target.port)
                }.flatMap { outbound in
                    // A connection that was being set up while the forwarder was cut must not survive it.
                    let isCut = self.state.withLockedValue { state in
                        state.connections += [inbound, outbound]
                        return state.isCut
                    }
                    if isCut {
                        outbound.close(promise: nil)
                        return inbound.close()
                    }
                    let (left, right) = GlueHandler.pair(stalled: self.stalled)
                    return inbound.pipeline.addHandler(left).flatMap { outbound.pipeline.addHandler(right) }.flatMap {
                        inbound.setOption(.autoRead, value: true)
                    }
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        state.withLockedValue {
            $0.listener = listener
            $0.port = listener.localAddress?.port ?? port
            $0.isCut = false
        }
    }

    /// Stops (or restarts) moving bytes, keeping every connection open; bytes sent meanwhile are lost.
    func stall(_ isStalled: Bool) {
        stalled.withLockedValue { $0 = isStalled }
    }

    /// Stops listening and drops every forwarded connection.
    func cut() async throws {
        let (listener, connections) = state.withLockedValue { state in
            defer {
                state.listener = nil
                state.connections = []
                state.isCut = true
            }
            return (state.listener, state.connections)
        }
        try await listener?.close()
        for connection in connections { try? await connection.close() }
    }
}

/// Copies bytes between two channels, each direction with backpressure (swift-nio-examples' pattern).
private final class GlueHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private let stalled: NIOLockedValueBox<Bool>

    private init(stalled: NIOLockedValueBox<Bool>) {
        self.stalled = stalled
    }

    static func pair(stalled: NIOLockedValueBox<Bool>) -> (GlueHandler, GlueHandler) {
        let first = GlueHandler(stalled: stalled)
        let second = GlueHandler(stalled: stalled)
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !stalled.withLockedValue({ $0 }) { partner?.write(data) }
    }

    func channelReadComplete(context: ChannelHandlerContext) { partner?.flush() }

    func channelInactive(context: ChannelHandlerContext) { partner?.close() }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.resumeReading() }
    }

    func read(context: ChannelHandlerContext) {
        if partner?.isWritable ?? false {
            context.read()
        } else {
            pendingRead = true
        }
    }

    private var isWritable: Bool { context?.channel.isWritable ?? false }
    private func write(_ data: NIOAny) { context?.write(data, promise: nil) }
    private func flush() { context?.flush() }
    private func close() { context?.close(promise: nil) }

    private func resumeReading() {
        if pendingRead {
            pendingRead = false
            context?.read()
        }
    }
}
