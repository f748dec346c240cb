import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardControl
import Testing

@Suite("Control API limits")
struct APILimitsTests {
    @Test("a connection that sends nothing, or half a request head, is closed after the idle timeout")
    func idleTimeout() async throws {
        try await TestServer.with(apiLimits: APILimits(idleTimeout: .milliseconds(300))) { server in
            // Closed by the server within the read's 5 s (without the idle timeout it would stay open):
            // no tighter bound, since a loaded machine delays the 300 ms timer by seconds.
            let silent = try RawConnection(port: server.port)
            let nothing = await silent.read(timeout: 5)
            #expect(nothing.closed && nothing.text.isEmpty)

            let half = try RawConnection(port: server.port)
            half.send("GET /healthz HTTP/1.1\r\nHost: switchyard\r\n")
            let halfAnswer = await half.read(timeout: 5)
            #expect(halfAnswer.closed && halfAnswer.text.isEmpty)

            // A request answered, then nothing more: the same.
            let served = try RawConnection(port: server.port)
            served.send("GET /healthz HTTP/1.1\r\nHost: switchyard\r\n\r\n")
            let answer = await served.read(timeout: 5)
            #expect(answer.text.hasPrefix("HTTP/1.1 200"))
            #expect(answer.closed)
        }
    }

    @Test("a body that trickles in past the body timeout is answered 408, though never silent for the idle timeout")
    func bodyTimeout() async throws {
        try await TestServer.with(apiLimits: APILimits(idleTimeout: .seconds(5), bodyTimeout: .milliseconds(300))) { server in
            let body = Array("{\"name\": \"slow\"}".utf8)
            let slow = try RawConnection(port: server.port)
            slow.send(
                "POST /v1/pools HTTP/1.1\r\nHost: switchyard\r\nAuthorization: Bearer \(TestServer.adminToken)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n")
            // 16 bytes, 100 ms apart: never silent for long, but well past the body timeout.
            for byte in body {
                slow.send(String(decoding: [byte], as: UTF8.self))
                try await Task.sleep(for: .milliseconds(100))
            }
            let answer = await slow.read(timeout: 5, until: "\r\n\r\n")
            #expect(answer.text.hasPrefix("HTTP/1.1 408"), "\(answer.text)")
            #expect(try await server.get("/v1/pools/slow").status == 404)
        }
    }

    @Test("connections past the cap wait to be accepted until one closes")
    func connectionCap() async throws {
        try await TestServer.with(apiLimits: APILimits(idleTimeout: .seconds(30), maximumConnections: 2)) { server in
            let request = "GET /healthz HTTP/1.1\r\nHost: switchyard\r\n\r\n"
            let first = try RawConnection(port: server.port)
            let second = try RawConnection(port: server.port)
            for connection in [first, second] {
                connection.send(request)
                #expect(await connection.read(timeout: 5, until: "\r\n\r\n").text.hasPrefix("HTTP/1.1 200"))
            }
            let third = try RawConnection(port: server.port)
            third.send(request)
            let waiting = await third.read(timeout: 0.7, until: "\r\n\r\n")
            #expect(waiting.text.isEmpty && !waiting.closed, "a third connection was served: \(waiting.text)")
            _ = consume first
            #expect(await third.read(timeout: 5, until: "\r\n\r\n").text.hasPrefix("HTTP/1.1 200"))
            _ = second
        }
    }

    @Test("the body cap holds whatever the Content-Type, declared or chunked; a body without one is still read as JSON, nulls refused")
    func bodyCap() async throws {
        try await TestServer.with(apiLimits: APILimits(maximumBodyBytes: 4096)) { server in
            let large = "{\"name\": \"web\", \"x\": \"" + String(repeating: "a", count: 5000) + "\"}"
            for type in [nil, "text/plain", "application/json", "*/*"] {
                let headers = type.map { ["Content-Type": $0] } ?? [:]
                let response = try await server.request(.POST, "/v1/pools", rawBody: large, headers: headers)
                #expect(response.status == 413, "\(type ?? "no type"): \(response.text)")
                #expect(response[header: "Content-Type"] == "application/problem+json")
            }

            // Chunked, no length declared: refused once it passes the cap.
            var chunked = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/v1/pools")
            chunked.method = .POST
            chunked.headers.add(name: "Authorization", value: "Bearer \(TestServer.adminToken)")
            let pieces = (0..<10).map { _ in ByteBuffer(string: String(repeating: "a", count: 1000)) }
            chunked.body = .stream(pieces.async, length: .unknown)
            let response = try await HTTPClient.shared.execute(chunked, timeout: .seconds(15))
            #expect(response.status.code == 413)

            #expect(try await server.request(.POST, "/v1/pools", rawBody: "{\"name\": \"web\"}").status == 201)
            let null = try await server.request(.POST, "/v1/pools", rawBody: "{\"name\": \"api\", \"retries\": null}")
            #expect(null.status == 400)
            #expect(null.errorFields == ["retries"])
        }
    }

    @Test("large bodies past the number allowed at once are answered 503 with Retry-After")
    func largeBodiesAtOnce() async throws {
        let limits = APILimits(maximumBodyBytes: 64 << 10, largeBodyBytes: 1024, maximumLargeBodies: 1)
        try await TestServer.with(apiLimits: limits) { server in
            let body = "{\"name\": \"slow\", \"retries\": 1, \"x\": \"" + String(repeating: "a", count: 3000) + "\"}"
            let bytes = Array(body.utf8)
            let slow = try RawConnection(port: server.port)
            slow.send(
                "POST /v1/pools HTTP/1.1\r\nHost: switchyard\r\nAuthorization: Bearer \(TestServer.adminToken)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(bytes.count)\r\n\r\n")
            slow.send(String(decoding: bytes[..<2000], as: UTF8.self))
            try await Task.sleep(for: .milliseconds(500))

            // Once the server has read past the threshold of the stalled body, it holds the one place.
            let other = "{\"name\": \"other\", \"x\": \"" + String(repeating: "b", count: 2000) + "\"}"
            var busy = try await server.request(.POST, "/v1/pools", rawBody: other, headers: ["Content-Type": "application/json"])
            for _ in 0..<50 where busy.status != 503 {
                try await Task.sleep(for: .milliseconds(100))
                busy = try await server.request(.POST, "/v1/pools", rawBody: other, headers: ["Content-Type": "application/json"])
            }
            #expect(busy.status == 503, "\(busy.text)")
            #expect(busy[header: "Retry-After"] == "1")
            // Small bodies are not held up.
            #expect(try await server.post("/v1/pools", ["name": "small"]).status == 201)

            slow.send(String(decoding: bytes[2000...], as: UTF8.self))
            let finished = await slow.read(timeout: 5, until: "\r\n\r\n")
            #expect(finished.text.hasPrefix("HTTP/1.1 400"), "\(finished.text)")
            let again = try await server.request(.POST, "/v1/pools", rawBody: other, headers: ["Content-Type": "application/json"])
            #expect(again.status == 400, "\(again.text)")
        }
    }

    @Test("an unknown token is remembered as unknown: repeating it runs no query")
    func unknownTokenCached() async throws {
        try await TestServer.with { server in
            // The first configuration the instance loads forgets every token it knew: wait for it.
            for _ in 0..<100 {
                let items = try await server.get("/v1/instances").json["items"] as? [[String: Any]] ?? []
                if (items.first?["applied_generation"] as? Int ?? 0) >= 1 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await server.get("/v1/pools", token: "made-up").status == 401)
            // Without the table a lookup fails: the remembered token is still a plain 401, a new one is not.
            _ = try await server.sql("ALTER TABLE tokens RENAME TO tokens_away")
            let remembered = try await server.get("/v1/pools", token: "made-up")
            #expect(remembered.status == 401, "\(remembered.text)")
            // A lookup that fails in the store is the server's fault: 500, not a "bad request".
            let looked = try await server.get("/v1/pools", token: "another-made-up")
            #expect(looked.status == 500, "\(looked.text)")
            _ = try await server.sql("ALTER TABLE tokens_away RENAME TO tokens")
            #expect(try await server.get("/v1/pools", token: "another-made-up").status == 401)
        }
    }
}
