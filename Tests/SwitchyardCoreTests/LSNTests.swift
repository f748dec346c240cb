import Foundation
import Testing

@testable import SwitchyardCore

@Suite("LSN")
struct LSNTests {
    @Test("parses PostgreSQL's X/Y form and prints it back the way PostgreSQL does")
    func parseAndPrint() throws {
        let lsn = try #require(LSN("16/B374D848"))
        #expect(lsn.value == 0x16_B374_D848)
        #expect(lsn.description == "16/B374D848")
        #expect(LSN("0/3000060")?.value == 0x300_0060)
        #expect(LSN("0/0")?.value == 0)
        #expect(LSN("ffffffff/ffffffff")?.value == UInt64.max)
        #expect(LSN("a/b")?.description == "A/B")
    }

    @Test("rejects anything else", arguments: ["", "/", "0/", "/0", "0", "0/0/0", "1FFFFFFFF/0", "0/1FFFFFFFF", "+1/0", "0/-1", "g/0", " 0/0", "0x1/0"])
    func rejects(text: String) {
        #expect(LSN(text) == nil)
    }

    @Test("orders and subtracts to bytes like pg_wal_lsn_diff")
    func subtracts() throws {
        let earlier = try #require(LSN("0/3000000"))
        let later = try #require(LSN("1/0"))
        #expect(earlier < later)
        #expect(later - earlier == 0x1_0000_0000 - 0x300_0000)
        #expect(earlier - later == -(0x1_0000_0000 - 0x300_0000))
        #expect(later.bytesAhead(of: earlier) == 0x1_0000_0000 - 0x300_0000)
        #expect(earlier.bytesAhead(of: later) == 0)
        #expect(LSN(UInt64.max) - LSN(0) == Int64.max)
        #expect(LSN(0) - LSN(UInt64.max) == -Int64.max)
    }

    @Test("encodes as its text")
    func codable() throws {
        let data = try JSONEncoder().encode([LSN(0x1_0000_00FF)])
        #expect(String(decoding: data, as: UTF8.self) == #"["1\/FF"]"#)
        #expect(try JSONDecoder().decode([LSN].self, from: data) == [LSN(0x1_0000_00FF)])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([LSN].self, from: Data(#"["1-FF"]"#.utf8)) }
    }
}
