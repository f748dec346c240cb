import Foundation

extension Duration {
    /// Seconds as `Date` arithmetic takes them.
    var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
