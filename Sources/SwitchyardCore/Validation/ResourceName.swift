/// Names of pools, backends, listeners and tokens: `^[a-z0-9][a-z0-9-]{0,62}$`.
public enum ResourceName {
    public static let rule = "must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits, '-'; at most 63)"

    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 63, isLowerAlnum(first) else { return false }
        return bytes.allSatisfy { isLowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    private static func isLowerAlnum(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
