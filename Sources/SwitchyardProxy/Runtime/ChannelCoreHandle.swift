import NIOCore

/// Writes, flushes and reads straight into a channel's core, as the pipeline's head handler does.
/// The proxy's handlers are the only ones in their pipelines (nothing sits between them and the
/// head), so going through `ChannelHandlerContext` only added hops, retains and an existential
/// lookup per call on the request path. Held from `handlerAdded` to `handlerRemoved` (the channel
/// removes its handlers when it closes), so the channel and its handler do not keep each other alive;
/// calls outside that window do nothing, like writes to a closed channel.
struct ChannelCoreHandle {
    private var core: (any ChannelCore)?

    init() {}

    init(_ context: ChannelHandlerContext) {
        core = context.channel._channelCore
    }

    mutating func release() { core = nil }

    @inline(__always)
    func write(_ buffer: ByteBuffer) {
        core?.write0(NIOAny(buffer), promise: nil)
    }

    @inline(__always)
    func flush() { core?.flush0() }

    @inline(__always)
    func read() { core?.read0() }
}
