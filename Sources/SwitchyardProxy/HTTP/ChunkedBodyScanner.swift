/// Follows a chunked body as its bytes pass through, to find where the message ends; the bytes are
/// forwarded as they are. Refuses bad chunk sizes (not hex, too large, missing CRLF), and any bare LF
/// or control byte in chunk lines and trailers, so that a malformed body cannot smuggle a second
/// request past a backend that reads it more leniently.
public struct ChunkedBodyScanner: Sendable {
    public struct Malformed: Error, Equatable, Sendable {
        public let reason: String
    }

    private enum State: Sendable {
        case size, sizeWhitespace, sizeExtension, sizeLF, data, dataCR, dataLF, trailerStart, trailerName, trailerLine, trailerLF, finalLF, done
    }

    private var state = State.size
    private var remaining = 0
    private var sawDigit = false
    private var lineBytes = 0

    /// Chunk extensions and trailer fields longer than this are refused.
    static let maxLineBytes = 16 * 1024
    /// 1 TiB: larger chunk sizes are refused (and cannot overflow).
    static let maxChunkSize = 1 << 40

    public init() {}

    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Consumes `bytes`; returns the offset just past the end of the body when it ends within them
    /// (bytes after it belong to the next message), or nil when all were body.
    public mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(Malformed) -> Int? {
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            switch state {
            case .size:
                if let digit = Self.hexValue(byte) {
                    remaining = remaining << 4 | digit
                    sawDigit = true
                    if remaining > Self.maxChunkSize { throw Malformed(reason: "chunk size too large") }
                } else if sawDigit && byte == UInt8(ascii: ";") {
                    state = .sizeExtension
                    lineBytes = 0
                } else if sawDigit && (byte == HeadBytes.space || byte == HeadBytes.tab) {
                    state = .sizeWhitespace
                    lineBytes = 0
                } else if sawDigit && byte == HeadBytes.cr {
                    state = .sizeLF
                } else {
                    throw Malformed(reason: "invalid chunk size")
                }
            case .sizeWhitespace:
                // RFC 9112 §7.1.1: whitespace after the size only before a chunk extension's ";".
                lineBytes += 1
                if byte == UInt8(ascii: ";") {
                    state = .sizeExtension
                } else if (byte != HeadBytes.space && byte != HeadBytes.tab) || lineBytes > Self.maxLineBytes {
                    throw Malformed(reason: "invalid chunk size")
                }
            case .sizeExtension:
                lineBytes += 1
                if byte == HeadBytes.cr {
                    state = .sizeLF
                } else if !HeadBytes.isValueByte(byte) || lineBytes > Self.maxLineBytes {
                    throw Malformed(reason: "invalid chunk extension")
                }
            case .sizeLF:
                guard byte == HeadBytes.lf else { throw Malformed(reason: "chunk size line must end with CRLF") }
                sawDigit = false
                if remaining == 0 {
                    state = .trailerStart
                    lineBytes = 0
                } else {
                    state = .data
                }
            case .data:
                let skipped = min(remaining, count - index)
                remaining -= skipped
                index += skipped
                if remaining == 0 { state = .dataCR }
                continue
            case .dataCR:
                guard byte == HeadBytes.cr else { throw Malformed(reason: "chunk data must end with CRLF") }
                state = .dataLF
            case .dataLF:
                guard byte == HeadBytes.lf else { throw Malformed(reason: "chunk data must end with CRLF") }
                state = .size
            case .trailerStart:
                // Only CR (the empty line) or a field-name byte may start a line here: a bare LF would
                // end the body for a lenient reader, and what follows would be its next request.
                if byte == HeadBytes.cr {
                    state = .finalLF
                } else if HeadBytes.isTokenByte[Int(byte)] {
                    state = .trailerName
                } else {
                    throw Malformed(reason: "invalid trailer field")
                }
                lineBytes += 1
            case .trailerName:
                // A trailer is a field line, "name: value": anything else (a request line, say) is refused.
                lineBytes += 1
                if byte == HeadBytes.colon {
                    state = .trailerLine
                } else if !HeadBytes.isTokenByte[Int(byte)] || lineBytes > Self.maxLineBytes {
                    throw Malformed(reason: "invalid trailer field")
                }
            case .trailerLine:
                lineBytes += 1
                if byte == HeadBytes.cr {
                    state = .trailerLF
                } else if !HeadBytes.isValueByte(byte) || lineBytes > Self.maxLineBytes {
                    throw Malformed(reason: "invalid trailer field")
                }
            case .trailerLF:
                guard byte == HeadBytes.lf else { throw Malformed(reason: "trailer line must end with CRLF") }
                state = .trailerStart
            case .finalLF:
                guard byte == HeadBytes.lf else { throw Malformed(reason: "chunked body must end with CRLF") }
                state = .done
                return index + 1
            case .done:
                return index
            }
            index += 1
        }
        return nil
    }

    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
