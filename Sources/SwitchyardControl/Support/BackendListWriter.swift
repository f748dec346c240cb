import Foundation
import SwitchyardAPI

/// Writes a `BackendList` by hand, as the generated code's encoder would (sorted keys, pretty-printed,
/// slashes unescaped, dates as `InternetDateTranscoder` writes them). For 10,000 backends,
/// Foundation's `JSONEncoder` took ~350 ms of a ~440 ms list; this takes a few milliseconds.
/// `BackendListWriterTests` holds it to the generated encoding.
struct BackendListWriter: ~Copyable {
    private var out: ByteSink

    private init(capacity: Int) {
        out = ByteSink(capacity: capacity)
    }

    static func encode(_ list: Schemas.BackendList) -> [UInt8] {
        var writer = BackendListWriter(capacity: 200 + list.items.count * 640)
        writer.raw("{\n  \"items\" : ")
        writer.array(list.items, indent: 2) { writer, backend in writer.backend(backend, indent: 4) }
        if let next = list.nextCursor {
            writer.raw(",\n  \"next_cursor\" : ")
            writer.string(next)
        }
        writer.raw("\n}")
        return writer.out.bytes
    }

    private mutating func backend(_ backend: Schemas.Backend, indent: Int) {
        var object = ObjectWriter(indent: indent)
        object.open(&self)
        object.key("active_connections", &self)
        number(backend.activeConnections)
        object.key("address", &self)
        string(backend.address)
        object.key("admin_state", &self)
        string(backend.adminState.rawValue)
        object.key("backup", &self)
        raw(backend.backup ? "true" : "false")
        object.key("created_at", &self)
        date(backend.createdAt)
        object.key("health", &self)
        health(status: backend.health.status.rawValue, reason: backend.health.reason, since: backend.health.since, indent: indent + 2)
        object.key("health_by_instance", &self)
        array(backend.healthByInstance, indent: indent + 2) { writer, report in
            var entry = ObjectWriter(indent: indent + 4)
            entry.open(&writer)
            entry.key("instance", &writer)
            writer.string(report.instance)
            entry.key("instance_name", &writer)
            writer.string(report.instanceName)
            writer.healthFields(&entry, status: report.status.rawValue, reason: report.reason, since: report.since)
            entry.close(&writer)
        }
        object.key("name", &self)
        string(backend.name)
        object.key("pool", &self)
        string(backend.pool)
        object.key("port", &self)
        number(backend.port)
        object.key("updated_at", &self)
        date(backend.updatedAt)
        object.key("version", &self)
        number(backend.version)
        object.key("weight", &self)
        number(backend.weight)
        object.close(&self)
    }

    private mutating func health(status: String, reason: String?, since: Date?, indent: Int) {
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

    private mutating func array<Element>(_ elements: [Element], indent: Int, _ write: (inout BackendListWriter, Element) -> Void) {
        guard !elements.isEmpty else {
            raw("[\n\n")
            spaces(indent)
            raw("]")
            return
        }
        raw("[\n")
        for (index, element) in elements.enumerated() {
            if index > 0 { raw(",\n") }
            spaces(indent + 2)
            write(&self, element)
        }
        raw("\n")
        spaces(indent)
        raw("]")
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
        var written = false
        out.write(upTo: InternetDateTranscoder.length) { text in
            written = InternetDateTranscoder.write(value, into: text)
            return written ? InternetDateTranscoder.length : 0
        }
        if !written {
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
