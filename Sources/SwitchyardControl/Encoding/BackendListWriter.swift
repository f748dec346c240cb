import Foundation
import SwitchyardAPI
import SwitchyardStore

/// Writes a page of `BackendList` by hand, exactly as the generated code's encoder would write
/// `Schemas.BackendList(items: records.map { Schemas.Backend($0, observed: view) }, nextCursor:)`
/// (sorted keys, pretty-printed, slashes unescaped, dates as `InternetDateTranscoder` writes them).
/// For 10,000 backends, Foundation's `JSONEncoder` took ~350 ms of a ~440 ms list.
/// `BackendListWriterTests` holds it to the generated encoding.
///
/// The answer comes in chunks of about `chunkSize` bytes: one 7 MB buffer (10,000 backends) is
/// fresh memory from the kernel on every list, and its page faults and regrowth copies were a
/// quarter of writing it; chunks of this size are reused heap memory.
///
/// A noncopyable struct rather than a class: a class's stored buffer is checked for exclusive access
/// at run time on every append.
struct BackendListWriter: ~Copyable {
    static let chunkSize = 64 * 1024

    private var out: ByteSink
    private var chunks: [[UInt8]] = []
    private var isEmpty = true
    private let view: ObservedState.BackendView
    /// The last date written and its text: a list's timestamps repeat (backends created together,
    /// health of the same moment).
    private var lastDate: (value: Date, text: InternetDateTranscoder.Text)?

    /// Starts a page: backends follow with `append`, and `finish` ends it.
    init(view: ObservedState.BackendView) {
        self.view = view
        out = ByteSink(capacity: Self.chunkSize + 4096)
        raw("{\n  \"items\" : [")
    }

    /// The page's JSON, in order.
    static func encode(_ records: some Collection<BackendRecord>, view: ObservedState.BackendView, nextCursor: String?) -> [[UInt8]] {
        var writer = BackendListWriter(view: view)
        for record in records { writer.append(record) }
        return writer.finish(nextCursor: nextCursor)
    }

    mutating func append(_ record: BackendRecord) {
        raw(isEmpty ? "\n" : ",\n")
        isEmpty = false
        spaces(4)
        backend(record, indent: 4)
        if out.count >= Self.chunkSize { chunks.append(out.takeBytes()) }
    }

    /// The whole page, in chunks to be sent one after the other.
    consuming func finish(nextCursor: String?) -> [[UInt8]] {
        raw(isEmpty ? "\n\n  ]" : "\n  ]")
        if let nextCursor {
            raw(",\n  \"next_cursor\" : ")
            string(nextCursor)
        }
        raw("\n}")
        chunks.append(out.takeBytes())
        return chunks
    }

    private mutating func backend(_ record: BackendRecord, indent: Int) {
        let key = ObservedState.BackendView.key(pool: record.pool, backend: record.name)
        let spec = record.spec
        var object = ObjectWriter(indent: indent)
        object.open(&self)
        object.key("active_connections", &self)
        number(view.activeConnections(key))
        object.key("address", &self)
        string(spec.address)
        object.key("admin_state", &self)
        string(spec.adminState.rawValue)
        object.key("backup", &self)
        raw(spec.backup ? "true" : "false")
        object.key("created_at", &self)
        date(record.createdAt)
        object.key("health", &self)
        // As the instance answering sees it; unknown until its data plane has an opinion.
        if let report = view.health(key) {
            healthObject(status: report.status.rawValue, reason: report.reason, since: report.since, indent: indent + 2)
        } else {
            healthObject(status: "unknown", reason: nil, since: nil, indent: indent + 2)
        }
        object.key("health_by_instance", &self)
        // Walked in place: `byInstance` builds an array of tuples, a tenth of a 10,000-backend list.
        var reported = 0
        for instance in view.instances {
            guard let report = instance.record.backendHealth[key] else { continue }
            raw(reported == 0 ? "[\n" : ",\n")
            reported += 1
            spaces(indent + 4)
            var entry = ObjectWriter(indent: indent + 4)
            entry.open(&self)
            entry.key("instance", &self)
            string(instance.id)
            entry.key("instance_name", &self)
            string(instance.record.name)
            healthFields(&entry, status: report.status.rawValue, reason: report.reason, since: report.since)
            entry.close(&self)
        }
        if reported == 0 {
            raw("[\n\n")
            spaces(indent + 2)
            raw("]")
        } else {
            raw("\n")
            spaces(indent + 2)
            raw("]")
        }
        object.key("name", &self)
        string(record.name)
        object.key("pool", &self)
        string(record.pool)
        object.key("port", &self)
        number(spec.port)
        object.key("updated_at", &self)
        date(record.updatedAt)
        object.key("version", &self)
        number(record.version)
        object.key("weight", &self)
        number(spec.weight)
        object.close(&self)
    }

    private mutating func healthObject(status: String, reason: String?, since: Date?, indent: Int) {
        var object = ObjectWriter(indent: indent)
        object.open(&self)
        healthFields(&object, status: status, reason: reason, since: since)
        object.close(&self)
    }

    /// `reason`, `since`, `status`: the keys sort that way among the others of their objects.
    private mutating func healthFields(_ object: inout ObjectWriter, status: String, reason: String?, since: Date?) {
        if let reason {
            object.key("reason", &self)
            string(reason)
        }
        if let since {
            object.key("since", &self)
            date(since)
        }
        object.key("status", &self)
        string(status)
    }

    /// Writes an object's braces and keys with the right separators and indentation.
    private struct ObjectWriter {
        let indent: Int
        var isFirst = true

        func open(_ writer: inout BackendListWriter) { writer.raw("{\n") }

        mutating func key(_ name: StaticString, _ writer: inout BackendListWriter) {
            if !isFirst { writer.raw(",\n") }
            isFirst = false
            writer.spaces(indent + 2)
            writer.out.append(UInt8(ascii: "\""))
            writer.out.append(name)
            writer.raw("\" : ")
        }

        func close(_ writer: inout BackendListWriter) {
            writer.raw("\n")
            writer.spaces(indent)
            writer.raw("}")
        }
    }

    // MARK: Scalars

    private mutating func raw(_ text: StaticString) {
        out.append(text)
    }

    private mutating func spaces(_ count: Int) {
        out.append(repeating: UInt8(ascii: " "), count: count)
    }

    private mutating func number(_ value: some BinaryInteger) {
        guard value > 0 else {
            if value == 0 {
                out.append(UInt8(ascii: "0"))
            } else {
                var text = String(value)
                text.withUTF8 { out.append($0) }
            }
            return
        }
        var rest = UInt64(value)
        var digits = 0
        var probe = rest
        while probe > 0 {
            digits += 1
            probe /= 10
        }
        out.write(upTo: digits) { text in
            for index in stride(from: digits - 1, through: 0, by: -1) {
                text[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            return digits
        }
    }

    private mutating func date(_ value: Date) {
        out.append(UInt8(ascii: "\""))
        if let lastDate, lastDate.value == value {
            withUnsafeBytes(of: lastDate.text) { out.append($0.assumingMemoryBound(to: UInt8.self)) }
        } else if let text = InternetDateTranscoder.text(of: value) {
            lastDate = (value, text)
            withUnsafeBytes(of: text) { out.append($0.assumingMemoryBound(to: UInt8.self)) }
        } else {
            // Outside years 1900–9999, which stored timestamps are not: Foundation's answer.
            var text = (try? InternetDateTranscoder().encode(value)) ?? ""
            text.withUTF8 { out.append($0) }
        }
        out.append(UInt8(ascii: "\""))
    }

    private mutating func string(_ value: String) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escape: copy them whole.
        var value = value
        let copied = value.withUTF8 { bytes in
            guard !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            out.append(bytes)
            return true
        }
        if copied {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            case 0..<0x20:
                raw("\\u00")
                let hex: StaticString = "0123456789abcdef"
                hex.withUTF8Buffer { digits in
                    out.append(digits[Int(byte >> 4)])
                    out.append(digits[Int(byte & 0x0F)])
                }
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
