/// HTTP status codes a health probe accepts: "200", "200-399", "200,204,300-399".
public struct StatusCodeSet: Equatable, Sendable {
    public let ranges: [ClosedRange<Int>]

    public init?(_ text: String) {
        var ranges: [ClosedRange<Int>] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count) else { return nil }
            let numbers = bounds.compactMap { bound -> Int? in
                let trimmed = bound.trimmingSpaces
                guard trimmed.count == 3, trimmed.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                return Int(trimmed)
            }
            guard numbers.count == bounds.count, let low = numbers.first, let high = numbers.last,
                low <= high, (100...599).contains(low), (100...599).contains(high)
            else { return nil }
            ranges.append(low...high)
        }
        guard !ranges.isEmpty else { return nil }
        self.ranges = ranges
    }

    public func contains(_ status: Int) -> Bool {
        ranges.contains { $0.contains(status) }
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var result = self
        while result.first == " " { result.removeFirst() }
        while result.last == " " { result.removeLast() }
        return result
    }
}
