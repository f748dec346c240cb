import Foundation
import Testing

/// `redirect_https` end to end: a plain listener without any pool answers with a redirect itself.
@Suite("Data plane: redirect to https")
struct ProxyRedirectTests {
    @Test("308 to https://<Host><target> without a pool, two pipelined requests on one connection; a body closes; the field round-trips")
    func redirects() async throws {
        try await TestServer.with { server in
            let port = try TestServer.freePort()
            let created = try await server.post(
                "/v1/listeners?wait=applied", ["name": "plain", "bind": "127.0.0.1", "port": port, "redirect_https": true])
            #expect(created.status == 201, "\(created.text)")
            try await server.waitUntil("bound") { server.proxy?.listenerStates()["plain"]?.bound == true }
            let two = try await RawHTTP.exchange(
                port: port, "GET /a?b=1 HTTP/1.1\r\nHost: shop.test:8080\r\n\r\nGET / HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n")
            #expect(
                two == "HTTP/1.1 308 Permanent Redirect\r\nLocation: https://shop.test:8080/a?b=1\r\nContent-Length: 0\r\n\r\n"
                    + "HTTP/1.1 308 Permanent Redirect\r\nLocation: https://shop.test/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            let body = try await RawHTTP.exchange(port: port, "POST /f HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 5\r\n\r\nhello")
            #expect(body.hasPrefix("HTTP/1.1 308 Permanent Redirect\r\n") && body.contains("Connection: close\r\n"), "\(body)")
            let read = try await server.request(.GET, "/v1/config")
            #expect(read.text.contains("\"redirect_https\" : true") || read.text.contains("\"redirect_https\":true"), "\(read.text)")
            // Turned off by a PUT: the listener then proxies (to its pool) instead of redirecting.
            let backend = try await TestBackend.start("a")
            defer { Task { await backend.stop() } }
            #expect(try await server.post("/v1/pools", ["name": "web"]).status == 201)
            try await server.addBackend(pool: "web", name: "a", port: backend.port)
            let off = try await server.put(
                "/v1/listeners/plain?wait=applied", ["bind": "127.0.0.1", "port": port, "redirect_https": false, "default_pool": "web"])
            #expect(off.status == 200 && off.text.contains("\"redirect_https\" : false"), "\(off.text)")
            let proxied = try await RawHTTP.exchange(port: port, "GET /x HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n")
            #expect(proxied.hasPrefix("HTTP/1.1 200"), "\(proxied)")
            let on = try await server.put(
                "/v1/listeners/plain?wait=applied", ["bind": "127.0.0.1", "port": port, "redirect_https": true, "default_pool": "web"])
            #expect(on.status == 200 && on.text.contains("\"redirect_https\" : true"), "\(on.text)")
            let again = try await RawHTTP.exchange(port: port, "GET /x HTTP/1.1\r\nHost: shop.test\r\nConnection: close\r\n\r\n")
            #expect(again.hasPrefix("HTTP/1.1 308 Permanent Redirect\r\nLocation: https://shop.test/x\r\n"), "\(again)")
            let wrong = try await server.post(
                "/v1/listeners", ["name": "t", "bind": "127.0.0.1", "port": port + 1, "protocol": "http", "hsts_max_age_s": 10, "default_pool": "x"])
            #expect(wrong.status == 400 && wrong.text.contains("hsts_max_age_s"), "\(wrong.text)")
        }
    }
}
