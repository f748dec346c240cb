#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Byte-level helpers the head parsers share: they read raw buffers so that the request path makes
/// no `String`s and no header dictionaries.
enum HeadBytes {
    static let cr: UInt8 = 13
    static let lf: UInt8 = 10
    static let space: UInt8 = 32
    static let tab: UInt8 = 9
    static let colon: UInt8 = 58
    static let comma: UInt8 = 44

    /// RFC 9110 `tchar`: the characters of methods and field names.
    static let isTokenByte: [Bool] = (0..<256).map { byte in
        switch UInt8(byte) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(UInt8(byte))
        }
    }

    /// Field-value bytes: visible characters, space, tab and obs-text; no NUL, CR, LF or other controls.
    @inline(__always)
    static func isValueByte(_ byte: UInt8) -> Bool {
        byte >= 0x20 ? byte != 0x7F : byte == tab
    }

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 {
        byte &- 65 < 26 ? byte | 0x20 : byte
    }

    /// Whether `bytes[range]` equals `lowercased` ignoring ASCII case.
    @inline(__always)
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercased: StaticString) -> Bool {
        guard range.count == lowercased.utf8CodeUnitCount else { return false }
        let expected = lowercased.utf8Start
        var offset = 0
        for index in range {
            if lower(bytes[index]) != expected[offset] { return false }
            offset += 1
        }
        return true
    }

    /// `range` without leading and trailing spaces and tabs.
    @inline(__always)
    static func trimmed(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper, bytes[lower] == space || bytes[lower] == tab { lower += 1 }
        while upper > lower, bytes[upper - 1] == space || bytes[upper - 1] == tab { upper -= 1 }
        return lower..<upper
    }

    /// Calls `body` with each comma-separated element of `range`, trimmed, skipping empty ones.
    @inline(__always)
    static func forEachListElement(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ body: (Range<Int>) -> Void) {
        var start = range.lowerBound
        var index = range.lowerBound
        while index <= range.upperBound {
            if index == range.upperBound || bytes[index] == comma {
                let element = trimmed(bytes, start..<index)
                if !element.isEmpty { body(element) }
                start = index + 1
            }
            index += 1
        }
    }

    /// A decimal Content-Length, or nil when it is not all digits or too large.
    static func decimal(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 18 else { return nil }
        var value = 0
        for index in range {
            let digit = bytes[index] &- 48
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }

    /// The offset of the first `byte` in `bytes[from..<to]` (libc's vectorised `memchr`), or nil.
    @inline(__always)
    static func firstIndex(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Int? {
        guard from < to, let base = bytes.baseAddress, let found = memchr(base + from, Int32(byte), to - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// Where the head ends: the offset just past the first empty line, searching from `from`.
    /// Returns nil when the buffer holds no complete head yet.
    static func endOfHead(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        var index = max(from, 0)
        let count = bytes.count
        while let lf = firstIndex(of: lf, in: bytes, from: index, to: count) {
            // "\n\r\n" or "\n\n" after a line: the empty line. A bare LF is refused later, line by line.
            if lf + 1 < count, bytes[lf + 1] == Self.lf { return lf + 2 }
            if lf + 2 < count, bytes[lf + 1] == cr, bytes[lf + 2] == Self.lf { return lf + 3 }
            index = lf + 1
        }
        return nil
    }
}
