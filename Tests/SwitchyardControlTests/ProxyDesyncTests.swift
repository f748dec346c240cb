import Foundation
import Testing

/// Requests built to make the proxy forward something other than what it decided (request smuggling,
/// routing confusion, spoofed forwarding fields), sent over raw sockets; each test fails on a proxy
/// that forwards them as received.
@Suite("Data plane: no desync")
struct ProxyDesyncTests {
    @Test("Content-Length as a list or repeated reaches the backend as exactly one line")
    func contentLengthOnce() async throws {
        let backend = try await RawBackend.start()
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)])
            for head in ["Content-Length: 1,1\r\n", "Content-Length: 1\r\nContent-Length: 1\r\n", "Content-Length: 1, 1\r\n"] {
                let reply = try await RawHTTP.exchange(port: port, "POST / HTTP/1.1\r\nHost: x\r\n\(head)Connection: close\r\n\r\nA")
                #expect(reply.hasPrefix("HTTP/1.1 200 "), "\(head.debugDescription) → \(reply.prefix(40).debugDescription)")
            }
            #expect(backend.count("content-length:") == 3)
            #expect(backend.count("Content-Length: 1\r\n") == 3)
            #expect(!backend.received.contains(","))
        }
    }

    @Test("Connection naming Content-Length, Transfer-Encoding or Host is refused: a body never loses its framing")
    func connectionNamingFraming() async throws {
        let backend = try await RawBackend.start()
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)])
            let smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
            for request in [
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \(smuggled.utf8.count)\r\nConnection: Content-Length\r\n\r\n\(smuggled)",
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: transfer-encoding\r\n\r\n0\r\n\r\n\(smuggled)",
                "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Host\r\n\r\n",
            ] {
                let reply = try await RawHTTP.exchange(port: port, request)
                #expect(reply.hasPrefix("HTTP/1.1 400 "), "\(request.prefix(80).debugDescription) → \(reply.prefix(40).debugDescription)")
            }
            #expect(backend.received.isEmpty)
        }
    }

    @Test("an absolute-form target must name the Host, and goes to the backend in origin form")
    func absoluteForm() async throws {
        let backend = try await RawBackend.start()
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)])
            let refused = try await RawHTTP.exchange(port: port, "GET http://other.example/admin HTTP/1.1\r\nHost: a.test\r\n\r\n")
            #expect(refused.hasPrefix("HTTP/1.1 400 "))
            #expect(backend.received.isEmpty)
            let accepted = try await RawHTTP.exchange(port: port, "GET http://A.test/p?q=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
            #expect(accepted.hasPrefix("HTTP/1.1 200 "))
            #expect(backend.received.hasPrefix("GET /p?q=1 HTTP/1.1\r\nHost: a.test\r\n"))
            #expect(!backend.received.contains("http://"))
        }
    }

    @Test("a bare LF where a chunked body's trailers start is refused, and the request behind it never reaches the backend")
    func chunkedTrailerBareLF() async throws {
        let backend = try await RawBackend.start()
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)])
            let reply = try await RawHTTP.exchange(
                port: port, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(reply.hasPrefix("HTTP/1.1 400 "))
            #expect(!backend.received.contains("smuggled"))
            // Split so that the head (and its forwarding) comes first and the bad trailer later.
            let split = try await RawHTTP.exchange(
                port: port, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: a\u{1}b\r\n\r\n")
            #expect(split.hasPrefix("HTTP/1.1 400 ") || split.isEmpty)
            #expect(!backend.received.contains("X: a"))
        }
    }

    @Test("a response with Content-Length and Transfer-Encoding reaches the client without the Content-Length")
    func responseContentLengthWithTransferEncoding() async throws {
        let backend = try await RawBackend.start(
            response: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)])
            let reply = try await RawHTTP.exchange(port: port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(reply.hasPrefix("HTTP/1.1 200 "))
            #expect(reply.contains("Transfer-Encoding: chunked\r\n"))
            #expect(!reply.lowercased().contains("content-length"))
            #expect(reply.hasSuffix("5\r\nhello\r\n0\r\n\r\n"))
        }
    }

    @Test("path prefixes match at segment boundaries, on the normalised path")
    func pathRouting() async throws {
        let admin = try await TestBackend.start("admin")
        let pub = try await TestBackend.start("pub")
        let web = try await TestBackend.start("web")
        defer { Task { for backend in [admin, pub, web] { await backend.stop() } } }
        try await TestServer.with { server in
            for (pool, backend) in [("admin", admin), ("pub", pub)] {
                #expect(try await server.post("/v1/pools", ["name": pool]).status == 201)
                try await server.addBackend(pool: pool, name: "b", port: backend.port)
            }
            let port = try await server.proxy(
                pool: "web", backends: [("b", web.port)],
                listener: [
                    "routes": [["path_prefix": "/admin", "pool": "admin"], ["path_prefix": "/pub", "pool": "pub"]], "default_pool": "web",
                ])
            let cases = [
                ("/pub/x", "pub"), ("/pub", "pub"), ("/pubx", "web"), ("/adminx", "web"), ("/pub/../admin/x", "admin"),
                ("/pub/%2e%2e/admin", "admin"), ("/%61dmin", "admin"), ("/admin/../pub/", "pub"), ("/x/..", "web"),
            ]
            for (path, expected) in cases {
                let reply = try await RawHTTP.exchange(port: port, "GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                #expect(reply.contains("X-Backend: \(expected)\r\n"), "\(path) → \(reply.prefix(200).debugDescription)")
            }
        }
    }

    @Test("forwarding fields: replaced for clients, kept and appended to for trusted proxies")
    func forwardingFields() async throws {
        let backend = try await RawBackend.start()
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)], listener: ["name": "front"])
            let request =
                "GET / HTTP/1.1\r\nHost: a.test\r\nForwarded: for=203.0.113.9;proto=https\r\nX-Forwarded-For: 203.0.113.9\r\n"
                + "X-Forwarded-Proto: https\r\nX-Forwarded-Host: spoofed.example\r\nConnection: close\r\n\r\n"
            #expect(try await RawHTTP.exchange(port: port, request).hasPrefix("HTTP/1.1 200 "))
            let untrusted = backend.received
            #expect(untrusted.contains("\r\nForwarded: for=127.0.0.1;proto=http;host=\"a.test\"\r\n"))
            #expect(untrusted.contains("\r\nX-Forwarded-For: 127.0.0.1\r\n"))
            #expect(untrusted.contains("\r\nX-Forwarded-Proto: http\r\n"))
            #expect(untrusted.contains("\r\nX-Forwarded-Host: a.test\r\n"))
            #expect(!untrusted.contains("203.0.113.9") && !untrusted.contains("spoofed"))

            let replaced = try await server.put(
                "/v1/listeners/front?wait=applied",
                ["bind": "127.0.0.1", "port": port, "default_pool": "web", "trusted_proxies": ["127.0.0.0/8"]])
            #expect(replaced.status == 200, "\(replaced.text)")
            #expect(replaced.text.contains("\"trusted_proxies\"") && replaced.text.contains("127.0.0.0"))
            #expect(try await RawHTTP.exchange(port: port, request).hasPrefix("HTTP/1.1 200 "))
            let trusted = String(backend.received.dropFirst(untrusted.count))
            #expect(trusted.contains("\r\nForwarded: for=203.0.113.9;proto=https, for=127.0.0.1;proto=http;host=\"a.test\"\r\n"))
            #expect(trusted.contains("\r\nX-Forwarded-For: 203.0.113.9, 127.0.0.1\r\n"))
            #expect(trusted.contains("\r\nX-Forwarded-Proto: https\r\n"))
            #expect(trusted.contains("\r\nX-Forwarded-Host: spoofed.example\r\n"))

            let invalid = try await server.put(
                "/v1/listeners/front", ["bind": "127.0.0.1", "port": port, "default_pool": "web", "trusted_proxies": ["not-a-network"]])
            #expect(invalid.status == 400)
            #expect(invalid.text.contains("trusted_proxies[0]"))
        }
    }
}
