/// DNS host names as RFC 1123 allows them (labels of letters, digits and '-', at most 253 bytes).
public enum HostName {
    public static func isValid(_ name: String, allowWildcard: Bool = false) -> Bool {
        var labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        if allowWildcard, labels.first == "*" {
            labels.removeFirst()
            guard !labels.isEmpty else { return false }
        }
        // "999.1.1.1" is a mistyped address, not a host name.
        if let last = labels.last, last.allSatisfy(\.isNumber) { return false }
        return labels.allSatisfy { label in
            let bytes = Array(label.utf8)
            guard (1...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-")
            else { return false }
            return bytes.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "-")
            }
        }
    }
}
