import NIOCore

/// Follows a message body through the proxy by its framing, to know where the message ends without
/// copying or decoding the body.
struct BodyTracker {
    private enum Mode {
        case complete
        case length(Int)
        case chunked(ChunkedBodyScanner)
        case untilClose
    }

    private var mode: Mode

    init(_ framing: BodyFraming) {
        switch framing {
        case .none: mode = .complete
        case .contentLength(let length): mode = .length(length)
        case .chunked: mode = .chunked(ChunkedBodyScanner())
        case .untilClose: mode = .untilClose
        }
    }

    var isComplete: Bool {
        if case .complete = mode { return true }
        return false
    }

    /// How many of `buffer`'s readable bytes belong to the body (all of them unless it ends inside).
    mutating func consume(_ buffer: ByteBuffer) throws(ChunkedBodyScanner.Malformed) -> Int {
        switch mode {
        case .complete:
            return 0
        case .untilClose:
            return buffer.readableBytes
        case .length(let remaining):
            let taken = min(remaining, buffer.readableBytes)
            mode = remaining == taken ? .complete : .length(remaining - taken)
            return taken
        case .chunked(var scanner):
            let end = try buffer.withUnsafeReadableBytes { bytes throws(ChunkedBodyScanner.Malformed) in try scanner.consume(bytes) }
            mode = scanner.isComplete ? .complete : .chunked(scanner)
            return end ?? buffer.readableBytes
        }
    }
}
