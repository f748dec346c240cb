import Foundation
import Logging
import NIOCore
import PostgresNIO
import Testing

@testable import SwitchyardStore

@Suite("Binary array columns")
struct BinaryArrayColumnTests {
    /// Arrays as PostgreSQL sends them, read both by `BinaryArrayColumn` and by the driver's `[T]`.
    @Test("reads text, integer, boolean and timestamptz arrays exactly as the driver decodes them")
    func matchesDriver() async throws {
        let connection = try await TestDatabase.connect(try StoreConfiguration(url: try TestDatabase.adminURL))
        defer { Task { try? await connection.close() } }
        let rows = try await connection.query(
            """
            SELECT ARRAY['', 'a', 'ünï 🚀', repeat('x', 300)]::text[], ARRAY[1, -2, 65535]::int4[], ARRAY[-9000000000, 7]::int8[],
                   ARRAY[3, -4]::int2[], ARRAY[true, false]::bool[],
                   ARRAY['2026-11-27 00:41:35.123456+00', '1999-12-31 23:59:59.999999+00', '2000-01-01 00:00:00+00']::timestamptz[],
                   ARRAY[]::text[], ARRAY['a']::varchar[]
            """, logger: TestDatabase.logger)
        var checked = false
        for try await row in rows {
            let (texts, int4s, int8s, int2s, bools, dates, empty, varchars) = try row.decode(
                (ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer).self)
            let expected = try row.decode(([String], [Int], [Int], [Int], [Bool], [Date], [String], [String]).self)
            #expect(try BinaryArrayColumn(texts, column: "t").strings() == expected.0)
            #expect(try BinaryArrayColumn(int4s, column: "i4").integers() == expected.1)
            #expect(try BinaryArrayColumn(int8s, column: "i8").integers() == expected.2)
            #expect(try BinaryArrayColumn(int2s, column: "i2").integers() == expected.3)
            #expect(try BinaryArrayColumn(bools, column: "b").booleans() == expected.4)
            #expect(try BinaryArrayColumn(dates, column: "d").dates() == expected.5)
            #expect(try BinaryArrayColumn(empty, column: "e").strings().isEmpty)
            #expect(try BinaryArrayColumn(varchars, column: "v").strings() == expected.7)
            // A column read as the wrong type is refused, naming the column.
            #expect(throws: StoreError.self) { try BinaryArrayColumn(texts, column: "t").integers() }
            #expect(throws: StoreError.self) { try BinaryArrayColumn(int4s, column: "i4").dates() }
            checked = true
        }
        #expect(checked)
    }

    @Test("truncated, overlong, NULL-holding and multi-dimensional arrays are refused")
    func malformed() throws {
        func array(dimensions: Int32 = 1, hasNulls: Int32 = 0, type: UInt32 = 23, count: Int32, elements: [(Int32, [UInt8])]) -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.writeMultipleIntegers(dimensions, hasNulls, type, endianness: .big)
            if dimensions > 0 { buffer.writeMultipleIntegers(count, Int32(1), endianness: .big) }
            for (length, bytes) in elements {
                buffer.writeInteger(length, endianness: .big)
                buffer.writeBytes(bytes)
            }
            return buffer
        }
        let one: (Int32, [UInt8]) = (4, [0, 0, 0, 7])
        #expect(try BinaryArrayColumn(array(count: 1, elements: [one]), column: "x").integers() == [7])
        // Fewer elements than announced, more bytes than announced, an element of the wrong width.
        #expect(throws: StoreError.self) { try BinaryArrayColumn(array(count: 2, elements: [one]), column: "x").integers() }
        #expect(throws: StoreError.self) { try BinaryArrayColumn(array(count: 1, elements: [one, one]), column: "x").integers() }
        #expect(throws: StoreError.self) { try BinaryArrayColumn(array(count: 1, elements: [(2, [0, 7])]), column: "x").integers() }
        // A NULL element (length -1), an element running past the end.
        #expect(throws: StoreError.self) { try BinaryArrayColumn(array(count: 1, elements: [(-1, [])]), column: "x").integers() }
        #expect(throws: StoreError.self) { try BinaryArrayColumn(array(count: 1, elements: [(8, [0, 0, 0, 7])]), column: "x").integers() }
        #expect(throws: StoreError.self) { try BinaryArrayColumn(array(hasNulls: 1, count: 1, elements: [one]), column: "x") }
        #expect(throws: StoreError.self) { try BinaryArrayColumn(array(dimensions: 2, count: 1, elements: [one]), column: "x") }
        #expect(throws: StoreError.self) { try BinaryArrayColumn(ByteBuffer(bytes: [0, 0]), column: "x") }
    }
}
