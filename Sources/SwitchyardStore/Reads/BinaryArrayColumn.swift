import Foundation
import NIOCore
import PostgresNIO

/// A one-dimensional PostgreSQL array without NULLs, in the binary wire format, read element by
/// element from its bytes. The driver's generic `[T]` decoding instantiates metadata and slices a
/// buffer per element: for the ten columns of 10,000 backends that was a fifth of a list's time.
///
/// Format: ndim, has-nulls flag, element type OID, then per dimension its length and lower bound,
/// then per element a 32-bit length (-1 for NULL) and the element's bytes.
struct BinaryArrayColumn {
    enum ElementType: UInt32 {
        case bool = 16
        case int8 = 20
        case int2 = 21
        case int4 = 23
        case text = 25
        case varchar = 1043
        case timestamptz = 1184
    }

    private let bytes: ByteBuffer
    private let column: String
    let elementType: ElementType?
    let count: Int
    /// Where the first element's length starts, from the buffer's reader index.
    private let elementsStart: Int

    init(_ buffer: ByteBuffer, column: String) throws {
        bytes = buffer
        self.column = column
        var header = buffer
        guard let (dimensions, hasNulls, type) = header.readMultipleIntegers(endianness: .big, as: (Int32, Int32, UInt32).self),
            dimensions == 0 || dimensions == 1, hasNulls == 0
        else { throw StoreError.corruptRow("column \(column): not a one-dimensional array without NULLs") }
        elementType = ElementType(rawValue: type)
        if dimensions == 0 {
            count = 0
        } else {
            guard let (length, _) = header.readMultipleIntegers(endianness: .big, as: (Int32, Int32).self), length >= 0 else {
                throw StoreError.corruptRow("column \(column): bad array length")
            }
            count = Int(length)
        }
        elementsStart = header.readerIndex - buffer.readerIndex
    }

    func strings() throws -> [String] {
        guard elementType == .text || elementType == .varchar else { throw typeError("text") }
        return try elements { String(decoding: $0, as: UTF8.self) }
    }

    /// int2, int4 or int8 elements.
    func integers() throws -> [Int] {
        switch elementType {
        case .int2: return try elements(width: 2) { Int(Int16(bigEndian: $0.loadUnaligned(as: Int16.self))) }
        case .int4: return try elements(width: 4) { Int(Int32(bigEndian: $0.loadUnaligned(as: Int32.self))) }
        case .int8: return try elements(width: 8) { Int(Int64(bigEndian: $0.loadUnaligned(as: Int64.self))) }
        default: throw typeError("integer")
        }
    }

    func booleans() throws -> [Bool] {
        guard elementType == .bool else { throw typeError("boolean") }
        return try elements(width: 1) { $0[0] != 0 }
    }

    /// timestamptz elements, converted exactly as the driver converts one (microseconds since 2000).
    func dates() throws -> [Date] {
        guard elementType == .timestamptz else { throw typeError("timestamptz") }
        let start = Date(timeIntervalSince1970: 946_684_800)
        return try elements(width: 8) {
            Date(timeInterval: Double(Int64(bigEndian: $0.loadUnaligned(as: Int64.self))) / 1_000_000, since: start)
        }
    }

    private func typeError(_ expected: String) -> StoreError {
        .corruptRow("column \(column): expected an array of \(expected), found element type \(elementType.map { "\($0)" } ?? "other")")
    }

    /// Each element's bytes in turn; `width`, when given, is the only length an element may have.
    private func elements<Element>(width: Int? = nil, _ decode: (UnsafeRawBufferPointer) -> Element) throws -> [Element] {
        let decoded: [Element]? = bytes.withUnsafeReadableBytes { raw in
            var result: [Element] = []
            result.reserveCapacity(count)
            var offset = elementsStart
            for _ in 0..<count {
                guard offset + 4 <= raw.count else { return nil }
                let length = Int(Int32(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
                offset += 4
                guard length >= 0, offset + length <= raw.count, width == nil || width == length else { return nil }
                result.append(decode(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + length])))
                offset += length
            }
            return offset == raw.count ? result : nil
        }
        guard let decoded else { throw StoreError.corruptRow("column \(column): malformed array") }
        return decoded
    }
}
