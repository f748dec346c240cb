import NIOCore
import Testing

@testable import SwitchyardProxy

/// A differential fuzz test of the request path: random requests, mutated and split at random points,
/// go through the proxy's own exchange state machine (`HTTPExchange`, with its parser, body framing
/// and head writer) as `HTTPProxyHandler` drives it: pipelined requests one after another on one
/// backend connection, the case where a smuggled request would show. An independent strict parser then reads what the proxy forwarded: it must
/// find exactly the requests the proxy accepted, with byte-for-byte the same bodies, and nothing else.
@Suite struct RequestPathFuzzTests {
    /// Seeded, so that a failure can be replayed: the message names the seed and case.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// What the proxy forwarded for one client stream.
    struct Forwarded {
        struct Exchange {
            var method: String
            var originTarget: String
            var body: [UInt8] = []
            var complete = false
        }
        var bytes: [UInt8] = []
        var exchanges: [Exchange] = []
        /// The proxy refused a head (nothing of that request was forwarded).
        var refused = false
        /// A body's framing broke: the exchange was cut (its connection closes).
        var cut = false
    }

    /// The proxy's request path over `pieces` (the reads of one client connection): the state machine
    /// of `HTTPProxyHandler` with the same parser, framing and head writer, and a backend that answers
    /// each request once its body is complete (so that the next pipelined one goes).
    static func forward(_ pieces: [[UInt8]]) -> Forwarded {
        var result = Forwarded()
        var machine = HTTPExchange(limits: HTTPLimits())
        let now = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var out = ByteBuffer()
        machine.opened(now: now)

        func forwardBody(_ body: ByteBuffer) {
            result.bytes += body.readableBytesView
            result.exchanges[result.exchanges.count - 1].body += body.readableBytesView
        }

        /// Carries out the machine's steps until it waits for more client bytes; false once the
        /// connection ends.
        func run(_ first: HTTPExchange.Step) -> Bool {
            var step = first
            while true {
                switch step {
                case .none:
                    guard machine.phase == .exchanging, machine.request.requestBody.isComplete else { return machine.phase != .closing }
                    result.exchanges[result.exchanges.count - 1].complete = true
                    _ = machine.upstreamRead(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\n"), now: now)
                    if machine.finishExchange().closeClient { return false }
                    step = machine.nextRequest(now: now)
                case .route(let head, let buffer):
                    HeadWriter.request(head, from: buffer, clientIP: "192.0.2.7", scheme: "http", trusted: false, into: &out)
                    result.bytes += out.readableBytesView
                    let received = Array(buffer.readableBytesView)
                    var origin = Array(received[(head.absolutePrefix?.upperBound ?? head.target.lowerBound)..<head.target.upperBound])
                    if head.absolutePrefix != nil && head.path.isEmpty { origin.insert(UInt8(ascii: "/"), at: 0) }
                    result.exchanges.append(
                        .init(method: String(decoding: received[head.method], as: UTF8.self), originTarget: String(decoding: origin, as: UTF8.self)))
                    step = machine.start(head, in: buffer, route: .pool(retries: 0, responseTimeout: .seconds(5)), now: now)
                case .dispatch:
                    machine.attempt(backend: 0)
                    if let body = machine.attached(pooled: true, now: now) { forwardBody(body) }
                    step = .none
                case .forwardBody(let body):
                    forwardBody(body)
                    step = .none
                case .reject:
                    result.refused = true
                    return false
                case .answer:
                    // Only a redirecting listener answers by itself; this test routes every request to a pool.
                    Issue.record("unexpected answer")
                    return false
                case .fail, .cut, .close:
                    // A body's framing broke: the connection closes.
                    result.cut = true
                    return false
                }
            }
        }

        for piece in pieces {
            guard run(machine.clientRead(ByteBuffer(bytes: piece), now: now)) else { break }
        }
        return result
    }

    // MARK: Generating requests

    static func request(_ random: inout SplitMix64) -> [UInt8] {
        func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &random)] }
        func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
        let method = pick(["GET", "GET", "POST", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "get", "G:T"])
        let host = pick(["a.test", "A.Test:8080", "[::1]:80", "b.example", ""])
        var target = pick(["/", "/a/b", "/x?y=1&z", "/pub/../admin", "/%61%2F", "/", "/a/b", "*", "/a b", "/\u{7F}"])
        if chance(15) { target = pick(["http://", "https://", "HTTP://", "ftp://", "http://u@"]) + pick([host, "other.test"]) + pick(["", "/p", "?q", "/p?q"]) }
        let version = pick(["HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1 "])
        var lines = ["\(method) \(target) \(version)"]
        if chance(90) { lines.append("Host: \(host)") }
        if chance(5) { lines.append("Host: \(pick(["a.test", "other.test"]))") }
        var body: [UInt8] = []
        let framing = Int.random(in: 0..<10, using: &random)
        if framing < 3 {
            let length = Int.random(in: 0...40, using: &random)
            body = (0..<length).map { _ in pick(Array("abcXYZ019 \r\n:".utf8)) }
            let value = pick(["\(length)", "\(length)", "\(length), \(length)", "\(length),\(length + 1)", "+\(length)", "0x\(length)", " \(length) "])
            lines.append("Content-Length: \(value)")
            if chance(15) { lines.append("content-length: \(pick(["\(length)", "\(length + 1)"]))") }
        } else if framing < 6 {
            lines.append("Transfer-Encoding: \(pick(["chunked", "chunked", "gzip, chunked", "chunked, gzip", "identity", "Chunked"]))")
            if chance(10) { lines.append("Content-Length: 3") }
            for _ in 0..<Int.random(in: 0...3, using: &random) {
                let size = Int.random(in: 1...20, using: &random)
                let extensionPart = chance(20) ? pick([";a=b", "; x", ";\u{1}", ";a=\"q\""]) : ""
                body += Array("\(String(size, radix: 16))\(extensionPart)\r\n".utf8)
                body += (0..<size).map { _ in pick(Array("abc\r\n0".utf8)) }
                body += Array("\r\n".utf8)
            }
            body += Array("0\r\n".utf8)
            if chance(20) { body += Array(pick(["X-T: 1\r\n", "Bad\r\n", "X-T: a\u{0}\r\n", " x\r\n"]).utf8) }
            body += Array(pick(["\r\n", "\r\n", "\n", ""]).utf8)
        }
        if chance(25) { lines.append("Connection: \(pick(["close", "keep-alive", "X-A, close", "Content-Length", "transfer-encoding", "host", "upgrade"]))") }
        if chance(20) { lines.append(pick(["X-Forwarded-For: 1.2.3.4", "Forwarded: for=1.2.3.4", "X-A: 1", "X-A:\t2 ", "Keep-Alive: 5", "TE: trailers"])) }
        var bytes = Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8) + body
        // Mutations: bytes that parsers disagree about, where they matter most.
        if chance(30) {
            for _ in 0..<Int.random(in: 1...3, using: &random) where !bytes.isEmpty {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                let special: [UInt8] = [13, 10, 0, 32, 9, 58, 44, 59, 48, 97, 127, 128, 255]
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[position] = pick(special)
                case 1: bytes.insert(pick(special), at: position)
                default: bytes.remove(at: position)
                }
            }
        }
        return bytes
    }

    /// One client stream: one to three requests back to back, cut into one to four reads.
    static func stream(_ random: inout SplitMix64) -> [[UInt8]] {
        var bytes: [UInt8] = []
        for _ in 0..<Int.random(in: 1...3, using: &random) { bytes += request(&random) }
        var cuts = (0..<Int.random(in: 0...3, using: &random)).map { _ in Int.random(in: 0...bytes.count, using: &random) }.sorted()
        cuts.append(bytes.count)
        var pieces: [[UInt8]] = []
        var start = 0
        for cut in cuts where cut >= start {
            pieces.append(Array(bytes[start..<cut]))
            start = cut
        }
        return pieces
    }

    @Test("100,000 random, mutated and split request streams: the backend's strict parser sees exactly what the proxy accepted")
    func differential() {
        let seed: UInt64 = 20_261_204
        var random = SplitMix64(state: seed)
        var accepted = 0
        var refused = 0
        var cut = 0
        var failures: [String] = []
        var firstFailingInput: String?
        for index in 0..<100_000 {
            let pieces = Self.stream(&random)
            let forwarded = Self.forward(pieces)
            accepted += forwarded.exchanges.filter(\.complete).count
            if forwarded.refused { refused += 1 }
            if forwarded.cut { cut += 1 }
            let complete = forwarded.exchanges.filter(\.complete)
            let parsed: [StrictRequestParser.Request]
            switch StrictRequestParser.parse(forwarded.bytes) {
            case .requests(let requests):
                parsed = requests
                if forwarded.exchanges.last.map({ !$0.complete }) ?? false {
                    failures.append("case \(index): the proxy forwarded an incomplete request that reads as complete")
                }
            case .incomplete(let requests):
                parsed = requests
                if forwarded.exchanges.last?.complete ?? true {
                    failures.append("case \(index): bytes after the last complete request")
                }
            case .invalid(let requests, let reason):
                parsed = requests
                failures.append("case \(index): forwarded bytes a strict parser refuses (\(reason))")
            }
            if parsed.count != complete.count {
                failures.append("case \(index): the backend sees \(parsed.count) requests, the proxy accepted \(complete.count)")
            } else {
                for (request, exchange) in zip(parsed, complete)
                where request.method != exchange.method || request.target != exchange.originTarget || request.rawBody != exchange.body {
                    failures.append("case \(index): \(request.method) \(request.target) differs from \(exchange.method) \(exchange.originTarget)")
                }
            }
            if !failures.isEmpty && firstFailingInput == nil {
                firstFailingInput = pieces.map { String(decoding: $0, as: UTF8.self).debugDescription }.joined(separator: " | ")
                    + " → " + String(decoding: forwarded.bytes, as: UTF8.self).debugDescription
            }
            if failures.count >= 5 {
                Issue.record("seed \(seed): \(failures.joined(separator: "; ")); first failing input: \(firstFailingInput ?? "")")
                return
            }
        }
        #expect(failures.isEmpty, "seed \(seed): \(failures.joined(separator: "; ")); first failing input: \(firstFailingInput ?? "")")
        // The generator must reach every outcome often, or the test proves little.
        #expect(accepted > 15_000 && refused > 10_000 && cut > 500, "accepted \(accepted), refused \(refused), cut \(cut)")
    }
}
