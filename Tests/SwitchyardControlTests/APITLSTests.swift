import Foundation
import SwitchyardControl
import Testing

/// The control API over HTTPS (`--api-tls-cert`, `--api-tls-key`): certificates made in the test
/// (`TLSFixture`), real clients (`curl`, `openssl s_client`), the certificate files replaced while
/// the server runs.
@Suite("Control API over HTTPS", .serialized)
struct APITLSTests {
    /// Writes a leaf for `api.test` whose CN is `name` into `<name>.chain.pem` and `<name>.key.pem`.
    static func leafFiles(_ fixture: TLSFixture, _ name: String) throws -> (certificate: String, key: String) {
        let leaf = try fixture.leaf(name, dnsNames: ["api.test"])
        try fixture.write("\(name).chain.pem", leaf.certificate)
        try fixture.write("\(name).key.pem", leaf.key)
        return (fixture.directory.appendingPathComponent("\(name).chain.pem").path, fixture.directory.appendingPathComponent("\(name).key.pem").path)
    }

    /// Replaces `destination` by `source`'s content, as an ACME client does (a new file renamed over the old).
    static func replace(_ destination: String, with source: String) throws {
        let temporary = destination + ".new"
        try FileManager.default.copyItem(atPath: source, toPath: temporary)
        _ = rename(temporary, destination)
    }

    static func curl(_ fixture: TLSFixture, port: Int, _ arguments: [String]) async throws -> Command.Outcome {
        try await ProxyTLSTests.curl(fixture, host: "api.test", port: port, arguments)
    }

    static func withServer<T>(_ files: APICertificateFiles, _ body: (TestServer) async throws -> T) async throws -> T {
        try await TestServer.with(dataPlane: false, apiTLS: files, body)
    }

    @Test("the API answers over TLS 1.2 and 1.3 with the chain sent and ALPN http/1.1; TLS 1.1 and plain HTTP are refused")
    func servesHTTPS() async throws {
        let fixture = try TLSFixture()
        let (certificate, key) = try Self.leafFiles(fixture, "api-one")
        let files = try APICertificateFiles(certificatePath: certificate, keyPath: key, logger: TestServer.logger)
        try await Self.withServer(files) { server in
            let port = server.port
            let pools = try await Self.curl(
                fixture, port: port,
                ["-v", "-H", "Authorization: Bearer \(TestServer.adminToken)", "-w", "[%{http_code} %{ssl_verify_result}]", "https://api.test:\(port)/v1/pools"])
            #expect(pools.stdout.hasSuffix("[200 0]"), "\(pools.stdout) \(pools.stderr)")
            #expect(pools.stderr.contains("SSL connection using TLSv1.3"), "\(pools.stderr)")
            #expect(pools.stderr.contains("ALPN: server accepted http/1.1"), "\(pools.stderr)")
            #expect(pools.stderr.contains("subject: CN=api-one"), "\(pools.stderr)")
            let tls12 = try await Self.curl(
                fixture, port: port, ["-v", "-o", "/dev/null", "-w", "%{http_code}", "--tls-max", "1.2", "https://api.test:\(port)/healthz"])
            #expect(tls12.stdout == "200", "\(tls12.stderr)")
            #expect(tls12.stderr.contains("TLSv1.2 / ECDHE-ECDSA-"), "\(tls12.stderr)")
            let cbc = try await Self.curl(
                fixture, port: port, ["-o", "/dev/null", "--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-AES128-SHA", "https://api.test:\(port)/healthz"])
            #expect(cbc.status != 0, "a CBC suite outside the Mozilla intermediate set was accepted")
            let tls11 = try await Command.runAsync(
                "openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], input: Data())
            #expect(tls11.status != 0 && !tls11.stdout.contains("Cipher is ECDHE"), "\(tls11.stdout)")
            let plain = try await RawHTTP.exchange(port: port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout: 3)
            #expect(!plain.hasPrefix("HTTP/"), "\(plain)")
        }
    }

    @Test("replaced certificate files reach new connections without a restart; a pair that does not match is ignored")
    func reloadsChangedFiles() async throws {
        let fixture = try TLSFixture()
        let (certificate, key) = try Self.leafFiles(fixture, "api-one")
        let two = try Self.leafFiles(fixture, "api-two")
        let other = try Self.leafFiles(fixture, "api-other")
        let (logger, lines) = RecordingLogHandler.logger()
        let files = try APICertificateFiles(certificatePath: certificate, keyPath: key, logger: logger)
        try await Self.withServer(files) { server in
            let port = server.port
            let url = "https://api.test:\(port)/healthz"
            let before = try await Self.curl(fixture, port: port, ["-v", "-o", "/dev/null", url])
            #expect(before.stderr.contains("subject: CN=api-one"), "\(before.stderr)")

            try Self.replace(certificate, with: two.certificate)
            try Self.replace(key, with: two.key)
            try await Task.sleep(for: .milliseconds(1100))
            let after = try await Self.curl(fixture, port: port, ["-v", "-o", "/dev/null", "-w", "%{http_code}", url])
            #expect(after.stdout == "200" && after.stderr.contains("subject: CN=api-two"), "\(after.stderr)")
            #expect(lines.all.contains { $0.contains("control API certificate reloaded") })

            // A certificate whose key has not been written yet: the last good pair goes on.
            try Self.replace(certificate, with: other.certificate)
            try await Task.sleep(for: .milliseconds(1100))
            let mismatched = try await Self.curl(fixture, port: port, ["-v", "-o", "/dev/null", "-w", "%{http_code}", url])
            #expect(mismatched.stdout == "200" && mismatched.stderr.contains("subject: CN=api-two"), "\(mismatched.stderr)")
            #expect(lines.all.contains { $0.contains("control API certificate not reloaded") })
            // The key arrives: the new pair is served.
            try Self.replace(key, with: other.key)
            try await Task.sleep(for: .milliseconds(1100))
            let completed = try await Self.curl(fixture, port: port, ["-v", "-o", "/dev/null", "-w", "%{http_code}", url])
            #expect(completed.stdout == "200" && completed.stderr.contains("subject: CN=api-other"), "\(completed.stderr)")
        }
    }

    @Test("unusable files stop the start with a message naming the option")
    func refusesUnusableFiles() throws {
        let fixture = try TLSFixture()
        let (certificate, key) = try Self.leafFiles(fixture, "api-one")
        let two = try Self.leafFiles(fixture, "api-two")
        #expect(throws: APICertificateError.self) { try APICertificateFiles(certificatePath: certificate, keyPath: two.key, logger: TestServer.logger) }
        do {
            _ = try APICertificateFiles(certificatePath: certificate, keyPath: two.key, logger: TestServer.logger)
        } catch {
            #expect("\(error)".contains("--api-tls-key") && "\(error)".contains("does not match"), "\(error)")
        }
        do {
            _ = try APICertificateFiles(certificatePath: fixture.directory.path + "/missing.pem", keyPath: key, logger: TestServer.logger)
            Issue.record("a missing certificate file was accepted")
        } catch {
            #expect("\(error)".contains("--api-tls-cert"), "\(error)")
        }
        do {
            _ = try APICertificateFiles(certificatePath: certificate, keyPath: certificate, logger: TestServer.logger)
            Issue.record("a certificate given as the key was accepted")
        } catch {
            #expect("\(error)".contains("--api-tls-key"), "\(error)")
        }
    }
}
