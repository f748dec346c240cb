import Foundation

/// An IPv4 or IPv6 address as its network-order bytes (4 or 16).
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public var isIPv4: Bool { bytes.count == 4 }

    init(unchecked bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// An address from its 4 or 16 network-order bytes (e.g. a socket's peer).
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    public init?(_ text: String) {
        guard TextPattern.matches(text, TextPattern.ipAddress) else { return nil }
        // inet_pton accepts exactly the textual forms operators type and rejects the rest.
        if text.contains(".") && !text.contains(":") {
            var v4 = in_addr()
            guard inet_pton(AF_INET, text, &v4) == 1 else { return nil }
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else {
            var v6 = in6_addr()
            guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        }
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = isIPv4 ? AF_INET : AF_INET6
        bytes.withUnsafeBytes { raw in
            _ = inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count))
        }
        return String(cString: buffer)
    }

    /// `0.0.0.0` or `::`: listens on every local address.
    public var isUnspecified: Bool { bytes.allSatisfy { $0 == 0 } }
}
