import Testing

@testable import SwitchyardControl

@Suite struct JSONNullScannerTests {
    func scan(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBytes { JSONNullScanner.containsNull($0) }
    }

    @Test func findsNullLiteralsOutsideStrings() {
        #expect(scan(#"null"#))
        #expect(scan(#"{"a": null}"#))
        #expect(scan(#"{"a":[1,{"b":null}]}"#))
        #expect(scan(#"{"a": "x\"", "b": null}"#))
    }

    @Test func ignoresNullInsideStrings() {
        #expect(!scan(#"{"null": "null", "a": "nullable"}"#))
        #expect(!scan(#"{"a": "say \"null\" here", "b": 1}"#))
        #expect(!scan(#"{"a": "ends with a backslash \\", "b": "null"}"#))
        #expect(!scan(#"{"name": "web", "port": 8080, "enabled": true}"#))
        #expect(!scan(""))
        #expect(!scan("nul"))
    }
}
