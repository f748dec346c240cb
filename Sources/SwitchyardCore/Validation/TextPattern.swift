import Foundation
import Synchronization

/// The textual forms the API accepts, as regular expressions shared with openapi.yaml (where the same
/// patterns appear), so that the contract and the validation agree exactly.
public enum TextPattern {
    static let octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    static let ipv4 = "\(octet)(\\.\(octet)){3}"
    static let hex = "[0-9a-fA-F]{1,4}"
    static let ipv6 =
        "((\(hex):){7}\(hex)|(\(hex):){1,7}:|(\(hex):){1,6}:\(hex)|(\(hex):){1,5}(:\(hex)){1,2}|(\(hex):){1,4}(:\(hex)){1,3}"
        + "|(\(hex):){1,3}(:\(hex)){1,4}|(\(hex):){1,2}(:\(hex)){1,5}|\(hex):(:\(hex)){1,6}|:((:\(hex)){1,7}|:))"
    static let label = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    /// The last label starts with a letter, so that a mistyped address is never taken for a name.
    static let hostName = "(\(label)\\.)*[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"

    public static let ipAddress = "^(\(ipv4)|\(ipv6))$"
    public static let address = "^(\(ipv4)|\(ipv6)|\(hostName))$"
    public static let fullHostName = "^\(hostName)$"
    public static let routeHost = "^(\\*\\.)?\(hostName)$"
    public static let cidr = "^(\(ipv4)(/(3[0-2]|[12]?[0-9]))?|\(ipv6)(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$"
    /// A URL path of printable ASCII (anything else must be percent-encoded).
    public static let path = "^/[!-~]*$"
    public static let statusCodes = "^[1-5][0-9]{2}(-[1-5][0-9]{2})?(,[1-5][0-9]{2}(-[1-5][0-9]{2})?)*$"

    // NSCache is thread-safe and compiled expressions are immutable.
    nonisolated(unsafe) private static let cache = NSCache<NSString, NSRegularExpression>()

    /// Verdicts already reached, by pattern then text: every snapshot re-validates every stored
    /// backend, and ICU took ~10 µs an address (12 % of the CPU of writes beside a 10,000-backend pool).
    /// Texts up to 256 bytes only; emptied when it reaches `rememberedVerdicts`.
    private static let verdicts = Mutex<[String: [String: Bool]]>([:])
    private static let rememberedVerdicts = 100_000

    /// Whether all of `text` matches `pattern`.
    public static func matches(_ text: String, _ pattern: String) -> Bool {
        if let known = verdicts.withLock({ $0[pattern]?[text] }) { return known }
        let regex: NSRegularExpression
        if let cached = cache.object(forKey: pattern as NSString) {
            regex = cached
        } else {
            // The patterns are constants of this file; failing to compile one is a programming error.
            regex = try! NSRegularExpression(pattern: pattern)
            cache.setObject(regex, forKey: pattern as NSString)
        }
        let range = NSRange(text.startIndex..., in: text)
        let verdict = regex.firstMatch(in: text, range: range) != nil
        guard text.utf8.count <= 256 else { return verdict }
        verdicts.withLock { verdicts in
            if verdicts.values.reduce(0, { $0 + $1.count }) >= rememberedVerdicts { verdicts.removeAll() }
            verdicts[pattern, default: [:]][text] = verdict
        }
        return verdict
    }
}
