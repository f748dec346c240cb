/// HTTP status codes a health probe accepts: "200", "200-399", "200,204,300-399".
public struct StatusCodeSet: Equatable, Sendable {
    public let ranges: [ClosedRange<Int>]

    public init?(_ text: String) {
        guard TextPattern.matches(text, TextPattern.statusCodes) else { return nil }
        ranges = text.split(separator: ",").map { part in
            let bounds = part.split(separator: "-").compactMap { Int($0) }
            // "399-200" means the same codes as "200-399".
            return bounds.min()!...bounds.max()!
        }
    }

    public func contains(_ status: Int) -> Bool {
        ranges.contains { $0.contains(status) }
    }
}
