/// Reads Prometheus text as /metrics serves it.
enum MetricsText {
    /// The integer value of `series` (name and labels, e.g. `x_total{a="b"}`), 0 when it is absent.
    static func value(of series: String, in text: String) -> Int {
        let prefix = series + " "
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return 0 }
        return Int(line.dropFirst(prefix.count)) ?? 0
    }
}
