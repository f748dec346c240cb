import NIOCore
import NIOPosix

/// Opens connections to backends on the caller's event loop, with the pool's connect timeout.
enum UpstreamConnector {
    /// Calls `completion` on `eventLoop` with the connected handler or the error.
    static func connect(
        _ slot: BackendSlot, on eventLoop: any EventLoop, timeout: TimeAmount, halfClosure: Bool = false,
        completion: @escaping (Result<UpstreamConnection, any Error>) -> Void
    ) {
        let boundSlot = NIOLoopBound(slot, eventLoop: eventLoop)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: halfClosure)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamConnection(slot: boundSlot.value))
                }
            }
            .connect(host: slot.host, port: slot.port)
            .assumeIsolated()
            .flatMapThrowing { channel in try channel.pipeline.syncOperations.handler(type: UpstreamConnection.self) }
            .whenComplete(completion)
    }
}
