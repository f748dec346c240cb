import Foundation
import SwitchyardControl
import Testing

/// HTTPS listeners end to end: certificates made in the test (`TLSFixture`), real TLS clients (`curl`,
/// `openssl s_client`) against a listener of the data plane, a plain backend behind it. One test at a
/// time: they spawn many client processes, and the rest of the suite has timing to keep.
@Suite("Data plane: HTTPS listeners", .serialized)
struct ProxyTLSTests {
    /// An https listener serving `certificate` (created as certificate "site"), routing to pool "web"
    /// (one backend); its port once bound.
    static func httpsProxy(
        _ server: TestServer, backend: TestBackend, certificate: (certificate: String, key: String), listener: [String: Any] = [:]
    ) async throws -> Int {
        try await createCertificate(server, "site", certificate)
        var body = listener
        body["tls"] = ["certificates": ["site"]]
        return try await server.proxy(pool: "web", backends: [("a", backend.port)], listener: body, protocol: "https")
    }

    static func createCertificate(_ server: TestServer, _ name: String, _ pair: (certificate: String, key: String)) async throws {
        let created = try await server.post(
            "/v1/certificates", ["name": name, "certificate_pem": pair.certificate, "private_key_pem": pair.key])
        #expect(created.status == 201, "create certificate \(name): \(created.text)")
    }

    /// The subject of the certificate a handshake with `serverName` (nil: no SNI) gets, as `openssl
    /// s_client` prints it ("CN = www.example.test").
    static func servedSubject(port: Int, serverName: String?) async throws -> String {
        let sni = serverName.map { ["-servername", $0] } ?? ["-noservername"]
        let result = try await Command.runAsync("openssl", ["s_client", "-connect", "127.0.0.1:\(port)"] + sni, input: Data())
        let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("subject=") }
        return line.map { String($0.dropFirst("subject=".count)) } ?? "(no certificate: \(result.stderr))"
    }

    /// curl against `https://<host>:<port>` (resolved to 127.0.0.1), trusting the fixture's CA only.
    static func curl(_ fixture: TLSFixture, host: String = "proxy.test", port: Int, _ arguments: [String]) async throws -> Command.Outcome {
        try await Command.runAsync(
            "curl", ["-sS", "--cacert", fixture.caPath, "--resolve", "\(host):\(port):127.0.0.1", "--max-time", "30"] + arguments,
            in: fixture.directory)
    }

    @Test("TLS is terminated and the request proxied: the chain verifies, ALPN http/1.1, X-Forwarded-Proto https, kept alive")
    func proxiesOverTLS() async throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.leaf("proxy.test", dnsNames: ["proxy.test"])
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await Self.httpsProxy(server, backend: backend, certificate: leaf)
            let url = "https://proxy.test:\(port)"
            // Three requests on one connection: only the first one connects.
            let result = try await Self.curl(
                fixture, port: port,
                ["-v", "-i", "-w", "[%{http_version} %{ssl_verify_result} %{num_connects}]\n", "\(url)/1", "\(url)/2", "\(url)/3"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.components(separatedBy: "HTTP/1.1 200 OK").count == 4, "\(result.stdout)")
            #expect(result.stdout.components(separatedBy: "X-Seen-Proto: https\r\n").count == 4, "\(result.stdout)")
            #expect(result.stdout.contains("[1.1 0 1]") && result.stdout.components(separatedBy: "[1.1 0 0]").count == 3, "\(result.stdout)")
            #expect(result.stderr.contains("ALPN: server accepted http/1.1"), "\(result.stderr)")
            #expect(result.stderr.contains("SSL connection using TLSv1.3"), "\(result.stderr)")
            #expect(backend.requests == 3)
            // A plain HTTP request on the TLS port is not answered as HTTP.
            let plain = try await RawHTTP.exchange(port: port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout: 3)
            #expect(!plain.hasPrefix("HTTP/"))
            #expect(backend.requests == 3)
        }
    }

    @Test("hsts_max_age_s adds Strict-Transport-Security to every response over TLS; changed by a PUT, and gone when removed")
    func strictTransportSecurity() async throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.leaf("proxy.test", dnsNames: ["proxy.test"])
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await Self.httpsProxy(server, backend: backend, certificate: leaf, listener: ["hsts_max_age_s": 31_536_000])
            let url = "https://proxy.test:\(port)"
            let first = try await Self.curl(fixture, port: port, ["-i", "\(url)/1", "\(url)/2"])
            #expect(first.stdout.components(separatedBy: "Strict-Transport-Security: max-age=31536000\r\n").count == 3, "\(first.stdout)")
            // The stored listener, with a shorter age: reads show it, new responses carry it.
            let stored = try await server.request(.GET, "/v1/listeners/web-listener")
            let read = try #require(JSONSerialization.jsonObject(with: Data(stored.text.utf8)) as? [String: Any])
            #expect(read["hsts_max_age_s"] as? Int == 31_536_000, "\(stored.text)")
            // The same listener (its TLS settings as read: a key left out is kept), with a shorter age.
            var listener: [String: Any] = [
                "bind": "127.0.0.1", "port": port, "protocol": "https", "default_pool": "web", "tls": read["tls"] as Any, "hsts_max_age_s": 600,
            ]
            let changed = try await server.put("/v1/listeners/web-listener?wait=applied", listener)
            #expect(changed.status == 200, "\(changed.text)")
            let second = try await Self.curl(fixture, port: port, ["-i", "\(url)/3"])
            #expect(second.stdout.contains("Strict-Transport-Security: max-age=600\r\n"), "\(second.stdout)")
            listener.removeValue(forKey: "hsts_max_age_s")
            let removed = try await server.put("/v1/listeners/web-listener?wait=applied", listener)
            #expect(removed.status == 200, "\(removed.text)")
            let third = try await Self.curl(fixture, port: port, ["-i", "\(url)/4"])
            #expect(third.stdout.contains("HTTP/1.1 200") && !third.stdout.contains("Strict-Transport-Security"), "\(third.stdout)")
        }
    }

    @Test("session_resumption: on by default (TLS 1.3 ticket resumes); turned off by a PUT, no ticket is sent and no session resumes")
    func sessionResumption() async throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.leaf("proxy.test", dnsNames: ["proxy.test"])
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await Self.httpsProxy(server, backend: backend, certificate: leaf)
            func connect(_ arguments: [String]) async throws -> String {
                try await TLSTransportTests.sClient(port: port, ["-servername", "proxy.test"] + arguments, in: fixture)
            }
            let first = try await connect(["-tls1_3", "-sess_out", "on.session"])
            #expect(first.contains("New, TLSv1.3") && first.contains("Post-Handshake New Session Ticket"), "\(first)")
            let resumed = try await connect(["-tls1_3", "-sess_in", "on.session"])
            #expect(resumed.contains("Reused, TLSv1.3") && resumed.contains("HTTP/1.1 200 OK"), "\(resumed)")

            let read = try JSONSerialization.jsonObject(with: Data(try await server.request(.GET, "/v1/listeners/web-listener").text.utf8))
            var tls = try #require((read as? [String: Any])?["tls"] as? [String: Any])
            #expect(tls["session_resumption"] as? Bool == true)
            tls["session_resumption"] = false
            let changed = try await server.put(
                "/v1/listeners/web-listener?wait=applied", ["bind": "127.0.0.1", "port": port, "protocol": "https", "default_pool": "web", "tls": tls])
            #expect(changed.status == 200 && changed.text.contains("\"session_resumption\" : false"), "\(changed.text)")
            for (index, variant) in [["-tls1_3"], ["-tls1_2"], ["-tls1_2", "-no_ticket"]].enumerated() {
                let file = "off-\(index).session"
                let full = try await connect(variant + ["-sess_out", file])
                #expect(full.contains("New, TLSv1.") && full.contains("HTTP/1.1 200 OK"), "\(variant): \(full)")
                #expect(!full.contains("Post-Handshake New Session Ticket") && !full.contains("TLS session ticket:"), "\(variant): \(full)")
                // A session id (TLS 1.2) is not remembered either.
                if FileManager.default.fileExists(atPath: fixture.directory.appendingPathComponent(file).path) {
                    let again = try await connect(variant + ["-sess_in", file])
                    #expect(again.contains("New, TLSv1.") && again.contains("HTTP/1.1 200 OK"), "\(variant): \(again)")
                }
            }
        }
    }

    @Test("many clients at once, over both loops: 4 × 8 parallel TLS connections, 400 requests")
    func concurrentClients() async throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.leaf("proxy.test", dnsNames: ["proxy.test"])
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await Self.httpsProxy(server, backend: backend, certificate: leaf)
            let urls = (0..<100).map { "https://proxy.test:\(port)" + ($0 % 2 == 0 ? "/\($0)" : "/big/200000") }
            let results = try await withThrowingTaskGroup(of: Command.Outcome.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await Self.curl(
                            fixture, port: port, ["--parallel", "--parallel-max", "8", "-w", "[%{http_code} %{size_download}]"] + urls)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for result in results {
                #expect(result.status == 0, "\(result.stderr)")
                // Bodies go to stdout too (interleaved); the markers count the complete responses.
                #expect(result.stdout.components(separatedBy: "[200 200000]").count == 51, "\(result.stdout.suffix(300))")
                #expect(result.stdout.components(separatedBy: "[200 2]").count == 51, "\(result.stdout.suffix(300))")
            }
            #expect(backend.requests == 400)
        }
    }

    @Test("large bodies both ways through TLS, the download read slowly (backpressure)")
    func largeBodies() async throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.leaf("proxy.test", dnsNames: ["proxy.test"], rsa: true)
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await Self.httpsProxy(server, backend: backend, certificate: leaf)
            let url = "https://proxy.test:\(port)"
            var upload = Data(count: 3 << 20)
            for index in upload.indices { upload[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 11) }
            try upload.write(to: fixture.directory.appendingPathComponent("upload.bin"))
            let echoed = try await Self.curl(
                fixture, port: port, ["-H", "Expect:", "--data-binary", "@upload.bin", "-o", "echoed.bin", "-w", "%{http_code}", "\(url)/echo"])
            #expect(echoed.status == 0 && echoed.stdout == "200", "\(echoed.stdout) \(echoed.stderr)")
            #expect(try Data(contentsOf: fixture.directory.appendingPathComponent("echoed.bin")) == upload)
            // 8 MB read at 4 MB/s: the proxy's output to the client fills, and the backend is paused meanwhile.
            let downloaded = try await Self.curl(
                fixture, port: port, ["--limit-rate", "4M", "-o", "big.bin", "-w", "%{http_code} %{size_download}", "\(url)/big/8000000"])
            #expect(downloaded.status == 0 && downloaded.stdout == "200 8000000", "\(downloaded.stdout) \(downloaded.stderr)")
            let big = try Data(contentsOf: fixture.directory.appendingPathComponent("big.bin"))
            #expect(big.count == 8_000_000 && big.allSatisfy { $0 == UInt8(ascii: "x") })
        }
    }

    @Test("clients that go away in the middle of a response (the socket then refuses writes) leave the proxy serving")
    func clientsGoAway() async throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.leaf("proxy.test", dnsNames: ["proxy.test"])
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await Self.httpsProxy(server, backend: backend, certificate: leaf)
            let url = "https://proxy.test:\(port)"
            for _ in 0..<3 {
                // Reads slowly, then gives up with most of the body unread: its socket closes with a reset.
                let gone = try await Self.curl(
                    fixture, port: port, ["--limit-rate", "200K", "--max-time", "0.5", "-o", "/dev/null", "\(url)/big/20000000"])
                #expect(gone.status != 0)
                // Gone before its response: the response and close_notify go to a socket the client closed.
                let early = try await Self.curl(fixture, port: port, ["--max-time", "0.2", "-o", "/dev/null", "\(url)/sleep/400"])
                #expect(early.status != 0)
            }
            try await Task.sleep(for: .milliseconds(600))
            let served = try await Self.curl(fixture, port: port, ["-o", "/dev/null", "-w", "%{http_code}", "\(url)/"])
            #expect(served.stdout == "200", "\(served.stderr)")
        }
    }

    /// A Python TLS client: sends a request, half-closes TCP (no close_notify), then reads to the end;
    /// prints what it read and how the server ended (close_notify, or a bare end of stream).
    static let halfClosingClient = """
        import socket, ssl, sys
        context = ssl.create_default_context(cafile=sys.argv[2])
        raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
        tls = context.wrap_socket(raw, server_hostname="proxy.test", suppress_ragged_eofs=False)
        tls.sendall(b"GET /sleep/200 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
        # The TLS socket took the descriptor over: half-close it through a duplicate.
        duplicate = socket.fromfd(tls.fileno(), socket.AF_INET, socket.SOCK_STREAM)
        duplicate.shutdown(socket.SHUT_WR)
        duplicate.close()
        received = b""
        try:
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    print(received.decode() + "[close_notify]")
                    break
                received += chunk
        except ssl.SSLEOFError:
            print(received.decode() + "[end of stream]")
        """

    @Test("a client that half-closes after its request still gets the response, then close_notify")
    func halfClosedClient() async throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.leaf("proxy.test", dnsNames: ["proxy.test"])
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await Self.httpsProxy(server, backend: backend, certificate: leaf)
            let result = try await Command.runAsync("python3", ["-c", Self.halfClosingClient, "\(port)", fixture.caPath])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.hasPrefix("HTTP/1.1 200 OK\r\n") && result.stdout.contains("Connection: close\r\n"), "\(result.stdout)")
            #expect(result.stdout.hasSuffix("\r\n\r\na\n[close_notify]\n"), "\(result.stdout.debugDescription)")
        }
    }

    @Test("TLS 1.2 and 1.3 only, with Mozilla's intermediate ciphers and groups: TLS 1.1, a CBC suite and X448 are refused")
    func protocolsAndCiphers() async throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.leaf("proxy.test", dnsNames: ["proxy.test"])
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await Self.httpsProxy(server, backend: backend, certificate: leaf)
            let url = "https://proxy.test:\(port)/"
            let tls12 = try await Self.curl(fixture, port: port, ["-v", "-o", "/dev/null", "--tls-max", "1.2", url])
            #expect(tls12.status == 0 && tls12.stderr.contains("SSL connection using TLSv1.2 / ECDHE-ECDSA-AES"), "\(tls12.stderr)")
            let chacha = try await Self.curl(fixture, port: port, ["-v", "-o", "/dev/null", "--tls13-ciphers", "TLS_CHACHA20_POLY1305_SHA256", url])
            #expect(chacha.status == 0 && chacha.stderr.contains("TLSv1.3 / TLS_CHACHA20_POLY1305_SHA256"), "\(chacha.stderr)")
            let cbc = try await Self.curl(
                fixture, port: port, ["-o", "/dev/null", "--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-AES128-SHA256", url])
            #expect(cbc.status != 0)
            // OpenSSL's client needs security level 0 to offer TLS 1.1 at all.
            let tls11 = try await Command.runAsync(
                "openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], input: Data())
            #expect(tls11.status != 0 && (tls11.stdout + tls11.stderr).contains("alert protocol version"), "\(tls11.stdout) \(tls11.stderr)")
            let x448 = try await Command.runAsync(
                "openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-groups", "X448"], input: Data())
            #expect(x448.status != 0 && (x448.stdout + x448.stderr).contains("handshake failure"), "\(x448.stdout) \(x448.stderr)")
            #expect(backend.requests == 2)
        }
    }

    @Test("a handshake that stalls is closed at the listener's head timeout; other clients are served meanwhile")
    func stalledHandshake() async throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.leaf("proxy.test", dnsNames: ["proxy.test"])
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await Self.httpsProxy(server, backend: backend, certificate: leaf, listener: ["timeouts": ["client_head_ms": 400]])
            let started = ContinuousClock.now
            // Silent, and half a record header.
            async let silent = RawHTTP.exchange(port: port, "", timeout: 10)
            async let partial = RawHTTP.exchange(port: port, [0x16, 0x03, 0x01], timeout: 10)
            for _ in 0..<3 {
                let served = try await Self.curl(fixture, port: port, ["-o", "/dev/null", "-w", "%{http_code}", "https://proxy.test:\(port)/"])
                #expect(served.stdout == "200", "\(served.stderr)")
            }
            #expect(try await silent.isEmpty)
            #expect(try await partial.isEmpty)
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    @Test("SNI picks among three certificates: the exact name, else a one-label wildcard, else the first (unknown, no SNI, an IP)")
    func certificateBySNI() async throws {
        let fixture = try TLSFixture()
        let fallback = try fixture.leaf("default.test", dnsNames: ["default.test"])
        let wildcard = try fixture.leaf("wildcard.example.test", dnsNames: ["*.example.test"])
        let exact = try fixture.leaf("www.example.test", dnsNames: ["www.example.test"])
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            try await Self.createCertificate(server, "fallback", fallback)
            try await Self.createCertificate(server, "wildcard", wildcard)
            try await Self.createCertificate(server, "exact", exact)
            // The wildcard comes before the exact name: the exact name wins whatever the order.
            let port = try await server.proxy(
                pool: "web", backends: [("a", backend.port)], listener: ["tls": ["certificates": ["fallback", "wildcard", "exact"]]],
                protocol: "https")
            let cases: [(String?, String)] = [
                ("www.example.test", "CN = www.example.test"),
                ("WWW.Example.Test", "CN = www.example.test"),
                ("api.example.test", "CN = wildcard.example.test"),
                ("a.b.example.test", "CN = default.test"),
                ("example.test", "CN = default.test"),
                ("unknown.test", "CN = default.test"),
                (nil, "CN = default.test"),
                ("127.0.0.1", "CN = default.test"),
            ]
            for (name, subject) in cases {
                #expect(try await Self.servedSubject(port: port, serverName: name) == subject, "SNI \(name ?? "(none)")")
            }
            // A request through the chosen certificate verifies against the CA.
            let result = try await Command.runAsync(
                "curl", ["-sS", "--cacert", fixture.caPath, "--resolve", "api.example.test:\(port):127.0.0.1", "-o", "/dev/null",
                    "-w", "%{http_code}", "https://api.example.test:\(port)/"])
            #expect(result.stdout == "200", "\(result.stderr)")
        }
    }

    @Test("/metrics has every certificate's seconds until its not_after: about two days for a fresh leaf, negative once expired")
    func certificateExpiryGauge() async throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.leaf("proxy.test", dnsNames: ["proxy.test"])
        let expired = try fixture.expiredLeaf("old.test")
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            _ = try await Self.httpsProxy(server, backend: backend, certificate: leaf)
            let forced = try await server.post(
                "/v1/certificates?force=true&wait=applied", ["name": "old", "certificate_pem": expired.certificate, "private_key_pem": expired.key])
            #expect(forced.status == 201, "\(forced.text)")
            let notAfterText = try #require(try await server.get("/v1/certificates/site").json["not_after"] as? String)
            let notAfter = try Date(notAfterText, strategy: .iso8601)
            let expiredAt = try Date("2020-02-01T00:00:00Z", strategy: .iso8601)
            try await server.waitUntil("both certificates in /metrics") {
                let text = try await server.get("/metrics", token: nil).text
                return text.contains("switchyard_certificate_expiry_seconds{certificate=\"old\"}")
                    && text.contains("switchyard_certificate_expiry_seconds{certificate=\"site\"}")
            }
            let text = try await server.get("/metrics", token: nil).text
            let now = Date()
            let site = MetricsText.value(of: "switchyard_certificate_expiry_seconds{certificate=\"site\"}", in: text)
            let old = MetricsText.value(of: "switchyard_certificate_expiry_seconds{certificate=\"old\"}", in: text)
            #expect(abs(Double(site) - notAfter.timeIntervalSince(now)) < 5, "\(site) vs \(notAfterText)")
            #expect(site > 86_400, "the fixture's leaves are valid for two days: \(site)")
            #expect(abs(Double(old) - expiredAt.timeIntervalSince(now)) < 5, "\(old)")
            #expect(old < 0)
            #expect(MetricsText.misplacedSamples(in: text).isEmpty)
        }
    }

    @Test("a replaced certificate is served to new handshakes at once, while a connection opened before goes on")
    func replacedCertificate() async throws {
        let fixture = try TLSFixture()
        let first = try fixture.leaf("first.test", dnsNames: ["proxy.test"])
        let second = try fixture.leaf("second.test", dnsNames: ["proxy.test"])
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try fixture.write("client.py", Self.twoRequestClient)
        try await TestServer.with { server in
            let port = try await Self.httpsProxy(server, backend: backend, certificate: first)
            let flag = fixture.directory.appendingPathComponent("go").path
            let client = Task {
                try await Command.runAsync("python3", ["client.py", "\(port)", fixture.caPath, flag], in: fixture.directory)
            }
            try await server.waitUntil("the client's first exchange", timeout: .seconds(10)) {
                FileManager.default.fileExists(atPath: fixture.directory.appendingPathComponent("ready").path)
            }
            let replaced = try await server.put(
                "/v1/certificates/site?wait=applied", ["certificate_pem": second.certificate, "private_key_pem": second.key])
            #expect(replaced.status == 200, "\(replaced.text)")
            #expect(replaced[header: "Switchyard-Applied"] == "true")
            try await server.waitUntil("the new certificate served") {
                try await Self.servedSubject(port: port, serverName: "proxy.test") == "CN = second.test"
            }
            #expect(server.proxy?.listenerStates()["web-listener"]?.bound == true)
            FileManager.default.createFile(atPath: flag, contents: nil)
            let outcome = try await client.value
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(outcome.stdout.contains("subject first.test"), "\(outcome.stdout)")
            #expect(outcome.stdout.contains("first HTTP/1.1 200 OK"), "\(outcome.stdout)")
            #expect(outcome.stdout.contains("second HTTP/1.1 200 OK"), "\(outcome.stdout)")
            #expect(backend.requests == 2)
        }
    }

    /// A Python TLS client: one request, then (after the file `sys.argv[3]` appears) a second one on the
    /// same connection; prints the certificate's CN and each status line.
    static let twoRequestClient = """
        import os, socket, ssl, sys, time
        context = ssl.create_default_context(cafile=sys.argv[2])
        raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
        tls = context.wrap_socket(raw, server_hostname="proxy.test")
        def get(path):
            tls.sendall(("GET %s HTTP/1.1\\r\\nHost: proxy.test\\r\\n\\r\\n" % path).encode())
            data = b""
            while b"\\r\\n\\r\\n" not in data:
                data += tls.recv(65536)
            head, _, body = data.partition(b"\\r\\n\\r\\n")
            lines = head.split(b"\\r\\n")
            length = int([l.split(b":")[1] for l in lines if l.lower().startswith(b"content-length:")][0])
            while len(body) < length:
                body += tls.recv(65536)
            return lines[0].decode()
        subject = dict(item[0] for item in tls.getpeercert()["subject"])
        print("subject " + subject["commonName"], flush=True)
        print("first " + get("/1"), flush=True)
        open("ready", "w").close()
        deadline = time.time() + 20
        while not os.path.exists(sys.argv[3]) and time.time() < deadline:
            time.sleep(0.05)
        print("second " + get("/2"), flush=True)
        """

    @Test("a certificate sealed under another master key leaves the listener of that instance unbound, with the reason")
    func otherMasterKey() async throws {
        let fixture = try TLSFixture()
        let leaf = try fixture.leaf("one.test", dnsNames: ["one.test"])
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            _ = try await Self.httpsProxy(server, backend: backend, certificate: leaf)
            let otherKey = try MasterKey(bytes: [UInt8](repeating: 7, count: 32))
            let other = try await TestServer.start(storeConfiguration: server.storeConfiguration, masterKey: otherKey)
            do {
                try await other.waitUntil("the listener's state") { other.proxy?.listenerStates()["web-listener"]?.error != nil }
                let state = other.proxy?.listenerStates()["web-listener"]
                #expect(state?.bound == false)
                #expect(state?.error?.contains("sealed under master key \(TestServer.masterKey.id)") == true, "\(String(describing: state?.error))")
                try await other.stop()
            } catch {
                try? await other.stop()
                throw error
            }
        }
    }
}
