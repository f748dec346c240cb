/// A CIDR network (`192.0.2.0/24`, `2001:db8::/32`); a bare address is a one-host network.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(_ text: String) {
        guard TextPattern.matches(text, TextPattern.cidr) else { return nil }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        let maxLength = address.isIPv4 ? 32 : 128
        if parts.count == 2 {
            let lengthText = parts[1]
            guard !lengthText.isEmpty, lengthText.allSatisfy(\.isASCII), lengthText.allSatisfy(\.isNumber),
                lengthText.count <= 3, let length = Int(lengthText), length <= maxLength
            else { return nil }
            prefixLength = length
        } else {
            prefixLength = maxLength
        }
        // Keep only the network bits so that 10.1.2.3/8 and 10.0.0.0/8 are the same network.
        var bytes = address.bytes
        for index in bytes.indices {
            let bitsHere = max(0, min(8, prefixLength - index * 8))
            bytes[index] &= bitsHere == 0 ? 0 : ~UInt8((1 << (8 - bitsHere)) - 1 & 0xFF)
        }
        self.address = IPAddress(unchecked: bytes)
    }

    public func contains(_ candidate: IPAddress) -> Bool {
        guard candidate.bytes.count == address.bytes.count else { return false }
        for index in address.bytes.indices {
            let bitsHere = max(0, min(8, prefixLength - index * 8))
            if bitsHere == 0 { return true }
            let mask = ~UInt8((1 << (8 - bitsHere)) - 1 & 0xFF)
            if candidate.bytes[index] & mask != address.bytes[index] { return false }
        }
        return true
    }

    public var description: String { "\(address)/\(prefixLength)" }
}
