import NIOCore
import SwitchyardIO

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
final class UpstreamConnection: SocketConnectionDelegate, DrainableConnection {
    let slot: BackendSlot
    var owner: (any UpstreamOwner)? {
        didSet {
            // A new owner whose client cannot take more starts paused; an idle connection always reads
            // (a byte or a close from the backend ends it).
            if owner?.clientIsWritable == false { pauseReads() } else { resumeReads() }
        }
    }
    var idleSince = NIODeadline.uptimeNanoseconds(0)
    private let connection: SocketConnection
    private var readsPaused = false

    init(slot: BackendSlot, connection: SocketConnection) {
        self.slot = slot
        self.connection = connection
        connection.delegate = self
        slot.opened(self)
    }

    /// The connection's own state, read on the request path.
    var isUsable: Bool { connection.isOpen }
    var isWritable: Bool { connection.isWritable }
    /// The owner of the last read batch: it flushes its client at the batch's end even if the
    /// exchange finished (and the owner let go) within the batch.
    private var batchOwner: (any UpstreamOwner)?

    func connectionRead(_ buffer: ByteBuffer) {
        guard let owner else {
            // Bytes from an idle connection: the backend is out of step; never reuse it.
            close()
            return
        }
        batchOwner = owner
        owner.upstreamRead(buffer)
    }

    func connectionReadComplete() {
        let owner = batchOwner ?? self.owner
        batchOwner = nil
        owner?.upstreamReadComplete()
    }

    func connectionClosed(error: (any Error)?) {
        finish()
    }

    func connectionInputClosed() {
        if let owner { owner.upstreamInputClosed() } else { close() }
    }

    func connectionWritabilityChanged(isWritable: Bool) {
        owner?.upstreamWritabilityChanged(isWritable: isWritable)
    }

    /// The owner's client cannot take more: stop reading the backend.
    func pauseReads() {
        guard !readsPaused else { return }
        readsPaused = true
        connection.pauseReads()
    }

    /// The client can take bytes again.
    func resumeReads() {
        guard readsPaused else { return }
        readsPaused = false
        connection.resumeReads()
    }

    func write(_ buffer: ByteBuffer) {
        connection.write(buffer)
    }

    /// Flushes what was written since the last flush.
    func flush() {
        connection.flush()
    }

    /// Half-closes towards the backend (TCP: the client finished sending).
    func closeOutput() {
        connection.closeOutput()
    }

    func close() {
        connection.close()
    }

    func forceClose() { close() }

    private func finish() {
        batchOwner = nil
        slot.closed(self)
        let owner = self.owner
        self.owner = nil
        owner?.upstreamClosed()
    }
}
