import NIOCore

/// What an upstream connection reports to the client-side handler that has it checked out.
protocol UpstreamOwner: AnyObject {
    func upstreamRead(_ buffer: ByteBuffer)
    func upstreamReadComplete()
    /// The backend closed the connection (or it failed).
    func upstreamClosed()
    /// The backend finished sending (half-close), for TCP sessions.
    func upstreamInputClosed()
    func upstreamWritabilityChanged(isWritable: Bool)
    /// Whether the client can take more bytes: while it cannot, the upstream is not read.
    var clientIsWritable: Bool { get }
}

/// One connection to a backend. While checked out it hands everything to its owner, which writes
/// into it directly (same event loop, no futures); while idle in its `BackendSlot` any byte or close
/// from the backend ends it. Reads pause while the owner's client cannot take more (backpressure).
final class UpstreamConnection: ChannelDuplexHandler, DrainableConnection {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let slot: BackendSlot
    var owner: (any UpstreamOwner)?
    var idleSince = NIODeadline.uptimeNanoseconds(0)
    private var context: ChannelHandlerContext?
    private var core = ChannelCoreHandle()
    private var readPending = false
    private var closed = false

    init(slot: BackendSlot) {
        self.slot = slot
    }

    /// Tracked from events rather than asked of the channel: the request path reads these often.
    var isUsable: Bool { !closed && context != nil }
    private(set) var isWritable = true
    /// Written to since the last flush.
    private var needsFlush = false
    /// The owner of the last read batch: it flushes its client at the batch's end even if the
    /// exchange finished (and the owner let go) within the batch.
    private var batchOwner: (any UpstreamOwner)?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        core = ChannelCoreHandle(context)
        slot.opened(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        core.release()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let owner else {
            // Bytes from an idle connection: the backend is out of step; never reuse it.
            close()
            return
        }
        batchOwner = owner
        owner.upstreamRead(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        let owner = batchOwner ?? self.owner
        batchOwner = nil
        owner?.upstreamReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            if let owner { owner.upstreamInputClosed() } else { close() }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        owner?.upstreamWritabilityChanged(isWritable: isWritable)
    }

    func read(context: ChannelHandlerContext) {
        if let owner, !owner.clientIsWritable {
            readPending = true
        } else {
            core.read()
        }
    }

    /// The client can take bytes again.
    func resumeReads() {
        guard readPending else { return }
        readPending = false
        core.read()
    }

    func write(_ buffer: ByteBuffer) {
        needsFlush = true
        core.write(buffer)
    }

    /// Flushes what was written since the last flush (nothing to do costs nothing).
    func flush() {
        guard needsFlush else { return }
        needsFlush = false
        core.flush()
    }

    /// Half-closes towards the backend (TCP: the client finished sending).
    func closeOutput() {
        context?.close(mode: .output, promise: nil)
    }

    func close() {
        guard !closed else { return }
        closed = true
        context?.close(promise: nil)
    }

    func forceClose() { close() }

    private func finish() {
        closed = true
        batchOwner = nil
        slot.closed(self)
        let owner = self.owner
        self.owner = nil
        owner?.upstreamClosed()
    }
}
