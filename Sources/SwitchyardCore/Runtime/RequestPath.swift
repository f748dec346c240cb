/// How routing reads a request path: normalised as RFC 3986 §6.2.2 says (percent-escapes of unreserved
/// characters decoded, other escapes in upper case, dot segments removed), so that "/pub/../admin",
/// "/%61dmin" and "/admin" are one path to the router, as they are to a backend that normalises.
/// The request itself is forwarded as received.
public enum RequestPath {
    /// `path` normalised; returned as it is (no copy) when it has nothing to normalise, the common case.
    public static func normalized(_ path: String) -> String {
        var needsWork = false
        var previous: UInt8 = 0
        for byte in path.utf8 {
            if byte == UInt8(ascii: "%") || (byte == UInt8(ascii: ".") && previous == UInt8(ascii: "/")) {
                needsWork = true
                break
            }
            previous = byte
        }
        guard needsWork, path.utf8.first == UInt8(ascii: "/") else { return path }
        return removingDotSegments(decodingUnreserved(Array(path.utf8)))
    }

    /// Whether `path` starts with `prefix` at a segment boundary: "/api" is a prefix of "/api" and
    /// "/api/x", not of "/apix"; a prefix ending in "/" (or "/" itself) needs no boundary after it.
    public static func hasPrefix(_ path: String, segmentsOf prefix: String) -> Bool {
        let path = path.utf8
        let prefix = prefix.utf8
        guard path.count >= prefix.count, path.starts(with: prefix) else { return false }
        if path.count == prefix.count || prefix.last == UInt8(ascii: "/") { return true }
        return path[path.index(path.startIndex, offsetBy: prefix.count)] == UInt8(ascii: "/")
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func decodingUnreserved(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                let decoded = high << 4 | low
                if isUnreserved(decoded) {
                    out.append(decoded)
                } else {
                    out.append(byte)
                    out.append(uppercased(bytes[index + 1]))
                    out.append(uppercased(bytes[index + 2]))
                }
                index += 3
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }

    private static func uppercased(_ byte: UInt8) -> UInt8 {
        byte &- UInt8(ascii: "a") < 6 ? byte - 32 : byte
    }

    /// RFC 3986 §5.2.4 on a path that starts with "/": "." segments go, ".." takes the one before it
    /// away (never above the root); a trailing "." or ".." leaves the path ending in "/".
    private static func removingDotSegments(_ bytes: [UInt8]) -> String {
        var segments: [ArraySlice<UInt8>] = []
        var endsWithSlash = false
        for segment in bytes.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            endsWithSlash = false
            if segment.elementsEqual([UInt8(ascii: ".")]) {
                endsWithSlash = true
            } else if segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                if !segments.isEmpty { segments.removeLast() }
                endsWithSlash = true
            } else {
                segments.append(segment)
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for segment in segments {
            out.append(UInt8(ascii: "/"))
            out.append(contentsOf: segment)
        }
        if endsWithSlash || out.isEmpty { out.append(UInt8(ascii: "/")) }
        return String(decoding: out, as: UTF8.self)
    }
}
