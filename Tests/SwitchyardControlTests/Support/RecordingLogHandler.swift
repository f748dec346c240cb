import Logging
import NIOConcurrencyHelpers

/// A log handler that keeps every line (message and metadata, as a stream handler would print them), so
/// that a test can check what reached the log stream.
struct RecordingLogHandler: LogHandler {
    final class Lines: Sendable {
        private let lines = NIOLockedValueBox<[String]>([])

        var all: [String] { lines.withLockedValue { $0 } }

        func append(_ line: String) { lines.withLockedValue { $0.append(line) } }
    }

    let lines: Lines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = metadata.merging(event.metadata ?? [:]) { $1 }.map { "\($0.key)=\($0.value)" }.sorted()
        lines.append("\(event.level) \(event.message) \(fields.joined(separator: " "))")
    }

    /// A logger at `trace` that records into a new `Lines`.
    static func logger() -> (Logger, Lines) {
        let lines = Lines()
        return (Logger(label: "switchyard-test-recorded") { _ in RecordingLogHandler(lines: lines) }, lines)
    }
}
