/// A PostgreSQL log sequence number: a byte offset into the write-ahead log, written as two
/// hexadecimal halves `X/Y` (the high and low 32 bits, as `pg_current_wal_lsn()` prints it).
public struct LSN: ReplicationPosition, Codable {
    public let value: UInt64

    public init(_ value: UInt64) {
        self.value = value
    }

    /// Parses `X/Y`, each half 1 to 8 hexadecimal digits (either case); nil for anything else.
    public init?(_ text: String) {
        let halves = text.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2,
            let high = Self.half(halves[0]),
            let low = Self.half(halves[1])
        else { return nil }
        value = high << 32 | low
    }

    private static func half(_ text: Substring) -> UInt64? {
        // UInt64(_:radix:) also accepts a sign, which PostgreSQL never writes.
        guard (1...8).contains(text.count), text.allSatisfy(\.isHexDigit) else { return nil }
        return UInt64(text, radix: 16)
    }

    public var description: String {
        String(value >> 32, radix: 16, uppercase: true) + "/" + String(value & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    public static func < (lhs: LSN, rhs: LSN) -> Bool { lhs.value < rhs.value }

    /// Signed distance in bytes, as `pg_wal_lsn_diff(lhs, rhs)`; saturates at the ends of `Int64`.
    public static func - (lhs: LSN, rhs: LSN) -> Int64 {
        lhs.value >= rhs.value ? Int64(clamping: lhs.value - rhs.value) : -Int64(clamping: rhs.value - lhs.value)
    }

    public func bytesAhead(of earlier: LSN) -> UInt64 {
        value > earlier.value ? value - earlier.value : 0
    }

    /// Encoded as its text form, the way PostgreSQL and its tools show it.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let lsn = LSN(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an LSN (X/Y in hexadecimal): \(text)")
        }
        self = lsn
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
