/// An independent, strict HTTP/1.1 request parser (RFC 9112), written apart from the proxy's: what a
/// careful backend would make of the bytes the proxy forwards. It accepts only what the RFC allows
/// and stops at the first thing it does not understand.
struct StrictRequestParser {
    struct Request: Equatable {
        var method: String
        var target: String
        var fields: [(name: String, value: String)]
        /// The body exactly as it was on the wire (chunk framing included).
        var rawBody: [UInt8]

        static func == (a: Request, b: Request) -> Bool {
            a.method == b.method && a.target == b.target && a.rawBody == b.rawBody
                && a.fields.map { "\($0.name):\($0.value)" } == b.fields.map { "\($0.name):\($0.value)" }
        }
    }

    enum Outcome: Equatable {
        /// Every byte was one complete request after another.
        case requests([Request])
        /// Complete requests, then bytes that end before the next one is complete (a cut stream).
        case incomplete([Request])
        /// Complete requests, then bytes no compliant parser can read.
        case invalid([Request], String)
    }

    private static let tchar = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    private let bytes: [UInt8]
    private var index = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    static func parse(_ bytes: [UInt8]) -> Outcome {
        var parser = StrictRequestParser(bytes)
        var requests: [Request] = []
        while parser.index < bytes.count {
            do {
                guard let request = try parser.request() else { return .incomplete(requests) }
                requests.append(request)
            } catch {
                return .invalid(requests, error.reason)
            }
        }
        return .requests(requests)
    }

    /// The complete requests at the start of `bytes`, how many bytes they take, and why parsing stopped
    /// early (nil: the rest is an incomplete request, or nothing).
    static func parsePrefix(_ bytes: [UInt8]) -> (requests: [Request], consumed: Int, error: String?) {
        var parser = StrictRequestParser(bytes)
        var requests: [Request] = []
        while parser.index < bytes.count {
            let start = parser.index
            do {
                guard let request = try parser.request() else { return (requests, start, nil) }
                requests.append(request)
            } catch {
                return (requests, start, error.reason)
            }
        }
        return (requests, parser.index, nil)
    }

    struct Failure: Error { let reason: String }

    /// A line without its CRLF; nil when no CRLF follows yet. A bare LF or CR is an error.
    private mutating func line() throws(Failure) -> [UInt8]? {
        var end = index
        while end < bytes.count {
            if bytes[end] == 13 {
                guard end + 1 < bytes.count else { return nil }
                guard bytes[end + 1] == 10 else { throw Failure(reason: "bare CR") }
                let line = Array(bytes[index..<end])
                index = end + 2
                return line
            }
            if bytes[end] == 10 { throw Failure(reason: "bare LF") }
            end += 1
        }
        return nil
    }

    private mutating func request() throws(Failure) -> Request? {
        guard let requestLine = try line() else { return nil }
        let parts = requestLine.split(separator: 32, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy({ Self.tchar.contains($0) }) else {
            throw Failure(reason: "request line")
        }
        let target = parts[1]
        guard target.first == UInt8(ascii: "/") || Array(target) == Array("*".utf8), target.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw Failure(reason: "target not in origin form")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { throw Failure(reason: "version") }
        var fields: [(name: String, value: String)] = []
        while true {
            guard let fieldLine = try line() else { return nil }
            if fieldLine.isEmpty { break }
            guard let colon = fieldLine.firstIndex(of: UInt8(ascii: ":")), colon > 0,
                fieldLine[..<colon].allSatisfy({ Self.tchar.contains($0) })
            else { throw Failure(reason: "field name") }
            let value = fieldLine[(colon + 1)...]
            guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else { throw Failure(reason: "field value") }
            let trimmed = String(decoding: value, as: UTF8.self).trimmingSpacesAndTabs
            fields.append((String(decoding: fieldLine[..<colon], as: UTF8.self).lowercased(), trimmed))
        }
        let hosts = fields.filter { $0.name == "host" }
        if version == "HTTP/1.1" && hosts.count != 1 { throw Failure(reason: "Host count \(hosts.count)") }
        if hosts.count > 1 { throw Failure(reason: "several Host") }
        let lengths = fields.filter { $0.name == "content-length" }
        let encodings = fields.filter { $0.name == "transfer-encoding" }
        if !lengths.isEmpty && !encodings.isEmpty { throw Failure(reason: "Content-Length with Transfer-Encoding") }
        if lengths.count > 1 { throw Failure(reason: "several Content-Length") }
        for connection in fields where connection.name == "connection" {
            for token in connection.value.lowercased().split(separator: ",") {
                let token = String(token).trimmingSpacesAndTabs
                if ["content-length", "transfer-encoding", "host"].contains(token) { throw Failure(reason: "Connection names \(token)") }
            }
        }
        let start = index
        if let encoding = encodings.first {
            let codings = encoding.value.lowercased().split(separator: ",").map { String($0).trimmingSpacesAndTabs }
            guard encodings.count == 1, codings.last == "chunked", !codings.dropLast().contains("chunked") else {
                throw Failure(reason: "transfer coding")
            }
            guard try chunkedBody() else { return nil }
        } else if let length = lengths.first {
            guard !length.value.isEmpty, length.value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), length.value.count <= 15,
                let count = Int(length.value)
            else { throw Failure(reason: "Content-Length value") }
            guard index + count <= bytes.count else { return nil }
            index += count
        }
        return Request(
            method: String(decoding: parts[0], as: UTF8.self), target: String(decoding: target, as: UTF8.self), fields: fields,
            rawBody: Array(bytes[start..<index]))
    }

    /// Skips a chunked body; false when it is not complete yet.
    private mutating func chunkedBody() throws(Failure) -> Bool {
        while true {
            guard let sizeLine = try line() else { return false }
            let beforeExtension = sizeLine.split(separator: UInt8(ascii: ";"), maxSplits: 1, omittingEmptySubsequences: false)[0]
            // Whitespace may follow the size only before a ";" (BWS of the chunk extension).
            let sizePart = beforeExtension.count < sizeLine.count ? String(decoding: beforeExtension, as: UTF8.self).trimmingSpacesAndTabs : String(decoding: beforeExtension, as: UTF8.self)
            guard !sizePart.isEmpty, sizePart.count <= 12, sizePart.utf8.allSatisfy({ $0 != 43 && $0 != 45 }), let size = Int(sizePart, radix: 16) else {
                throw Failure(reason: "chunk size")
            }
            if sizeLine.count > beforeExtension.count {
                guard sizeLine.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else { throw Failure(reason: "chunk extension") }
            }
            if size == 0 { break }
            guard index + size + 2 <= bytes.count else { return false }
            index += size
            guard bytes[index] == 13, bytes[index + 1] == 10 else { throw Failure(reason: "chunk data end") }
            index += 2
        }
        while true {
            guard let trailer = try line() else { return false }
            if trailer.isEmpty { return true }
            guard let colon = trailer.firstIndex(of: UInt8(ascii: ":")), colon > 0, trailer[..<colon].allSatisfy({ Self.tchar.contains($0) }),
                trailer[(colon + 1)...].allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) })
            else { throw Failure(reason: "trailer field") }
        }
    }
}

extension String {
    var trimmingSpacesAndTabs: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
