import Foundation

/// Writes metric families in the Prometheus text exposition format (version 0.0.4): one HELP and one
/// TYPE line per family, its samples right after them, label values escaped. The data plane's counters
/// go out through it (the control plane's own go through the swift-prometheus registry, which follows
/// the same rules).
struct PrometheusTextWriter {
    enum FamilyType: String {
        case counter, gauge, histogram
    }

    /// One label: its name is one of ours (a valid Prometheus label name); its value is escaped.
    typealias Label = (name: String, value: String)

    private(set) var text = ""

    /// Starts a family; its samples must follow before the next family starts.
    mutating func family(_ name: String, _ type: FamilyType, help: String) {
        text += "# HELP \(name) \(Self.escapedHelp(help))\n# TYPE \(name) \(type.rawValue)\n"
    }

    mutating func sample(_ name: String, _ labels: [Label], _ value: Int) {
        text += name
        appendLabels(labels)
        text += " \(value)\n"
    }

    mutating func sample(_ name: String, _ labels: [Label], _ value: Double) {
        text += name
        appendLabels(labels)
        text += " \(value)\n"
    }

    /// The `_bucket` (cumulative, `le` in seconds), `_sum` and `_count` samples of one histogram series.
    mutating func histogram(_ name: String, _ labels: [Label], bounds: [Duration], counts: [Int], sum: Duration) {
        var cumulative = 0
        for (index, bound) in bounds.enumerated() {
            cumulative += counts[index]
            sample("\(name)_bucket", labels + [("le", Self.seconds(bound))], cumulative)
        }
        cumulative += counts[bounds.count]
        sample("\(name)_bucket", labels + [("le", "+Inf")], cumulative)
        sample("\(name)_sum", labels, Self.secondsValue(sum))
        sample("\(name)_count", labels, cumulative)
    }

    private mutating func appendLabels(_ labels: [Label]) {
        guard !labels.isEmpty else { return }
        text += "{"
        for (index, label) in labels.enumerated() {
            if index > 0 { text += "," }
            text += label.name
            text += "=\""
            text += Self.escapedLabelValue(label.value)
            text += "\""
        }
        text += "}"
    }

    /// A label value as the text format requires it: backslash, double quote and line feed escaped.
    static func escapedLabelValue(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// HELP text as the text format requires it: backslash and line feed escaped.
    static func escapedHelp(_ help: String) -> String {
        help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func secondsValue(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// A bucket bound in seconds, as the `le` label has always shown it ("0.001", "1.0", "30.0").
    static func seconds(_ duration: Duration) -> String { "\(secondsValue(duration))" }
}
