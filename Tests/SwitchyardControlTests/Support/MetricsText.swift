/// Reads Prometheus text as /metrics serves it.
enum MetricsText {
    /// The integer value of `series` (name and labels, e.g. `x_total{a="b"}`), 0 when it is absent.
    static func value(of series: String, in text: String) -> Int {
        let prefix = series + " "
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return 0 }
        return Int(line.dropFirst(prefix.count)) ?? 0
    }

    /// The family names of the `# TYPE` lines, in order.
    static func families(in text: String) -> [String] {
        text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) }
    }

    /// Sample lines that do not belong to the family of the `# TYPE` line above them (the text format
    /// wants each family's samples together, right after its TYPE line).
    static func misplacedSamples(in text: String) -> [String] {
        var family: String?
        var misplaced: [String] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                family = String(line.split(separator: " ")[2])
                continue
            }
            if line.hasPrefix("#") { continue }
            let name = line.prefix { $0 != "{" && $0 != " " }
            let belongs =
                family.map { family in
                    name == family || ["_bucket", "_sum", "_count"].contains { name == family + $0 }
                } ?? false
            if !belongs { misplaced.append(String(line)) }
        }
        return misplaced
    }
}
