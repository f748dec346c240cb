import Foundation
import NIOCore
import SwitchyardIO
import Testing

/// `TLSContext` and TLS connections of `SwitchyardIO` without the proxy: a listener on two event loops
/// whose connections answer every request head with a small response, checked with `openssl s_client`.
@Suite("Transport: TLS", .serialized)
struct TLSTransportTests {
    /// Answers each request head with "ok", and closes when the client half-closes.
    final class Responder: SocketConnectionDelegate {
        let connection: SocketConnection
        var received = ""

        init(_ connection: SocketConnection) {
            self.connection = connection
        }

        func connectionRead(_ buffer: ByteBuffer) {
            received += String(buffer: buffer)
            while let end = received.range(of: "\r\n\r\n") {
                let head = received[..<end.upperBound]
                received = String(received[end.upperBound...])
                connection.write(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"))
                if head.lowercased().contains("connection: close") { connection.closeAfterFlush() }
            }
        }

        func connectionReadComplete() { connection.flush() }
        func connectionWritabilityChanged(isWritable: Bool) {}
        func connectionInputClosed() { connection.closeAfterFlush() }
        func connectionClosed(error: (any Error)?) {}
    }

    /// Two loops accepting from one socket, as the proxy's workers do; `body` gets the port.
    static func withServer(_ context: TLSContext, _ body: (Int) async throws -> Void) async throws {
        let loops = [try EpollEventLoop(), try EpollEventLoop()]
        let accept: @Sendable (SocketConnection) -> Void = { connection in connection.delegate = Responder(connection) }
        var listeners: [SocketListener] = []
        var failure: (any Error)?
        do {
            let primary = try await loops[0].submit {
                try SocketListener(bindingTo: try SocketAddress(ipAddress: "127.0.0.1", port: 0), on: loops[0], tls: context, accept: accept)
            }.get()
            listeners.append(primary)
            listeners.append(try await loops[1].submit { try SocketListener(sharing: primary, on: loops[1], accept: accept) }.get())
            try await body(primary.localAddress.port!)
        } catch {
            failure = error
        }
        for listener in listeners.reversed() { try? await listener.loop.submit { listener.close() }.get() }
        for loop in loops { try? await loop.shutdownGracefully() }
        if let failure { throw failure }
    }

    /// `openssl s_client` with `arguments`: one request, then the server closes; stdout and stderr together.
    static func sClient(port: Int, _ arguments: [String], in fixture: TLSFixture) async throws -> String {
        let request = Data("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
        let result = try await Command.runAsync(
            "openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", fixture.caPath, "-ign_eof"] + arguments, in: fixture.directory,
            input: request)
        return result.stdout + result.stderr
    }

    @Test("SNI picks the certificate: exact name, then wildcard, else the first (no SNI, an IP, an unknown name)")
    func certificateBySNI() async throws {
        let fixture = try TLSFixture()
        let one = try fixture.leaf("one.test", dnsNames: ["one.test"])
        let two = try fixture.leaf("two.test", dnsNames: ["two.test", "*.two.test"], rsa: true)
        let three = try fixture.leaf("three.test", dnsNames: ["*.three.test", "exact.two.test"])
        let context = try TLSContext(
            certificates: [one, two, three].map { TLSContext.Certificate(certificatePEM: $0.certificate, privateKeyPEM: $0.key) })
        #expect(context.names == [["one.test"], ["two.test", "*.two.test"], ["*.three.test", "exact.two.test"]])
        try await Self.withServer(context) { port in
            let expectations: [([String], String)] = [
                (["-servername", "one.test"], "one.test"),
                (["-servername", "TWO.test"], "two.test"),
                (["-servername", "a.two.test"], "two.test"),
                // An exact name wins over a wildcard of an earlier certificate.
                (["-servername", "exact.two.test"], "three.test"),
                (["-servername", "b.three.test"], "three.test"),
                (["-servername", "a.b.three.test"], "one.test"),
                (["-servername", "unknown.test"], "one.test"),
                (["-servername", "127.0.0.1"], "one.test"),
                (["-noservername"], "one.test"),
            ]
            for (arguments, subject) in expectations {
                let output = try await Self.sClient(port: port, arguments, in: fixture)
                #expect(output.contains("subject=CN = \(subject)\n"), "\(arguments): \(output)")
                #expect(output.contains("Verify return code: 0 (ok)") && output.contains("HTTP/1.1 200 OK"), "\(arguments): \(output)")
                #expect(output.contains("ALPN protocol: http/1.1") == false)
            }
            let alpn = try await Self.sClient(port: port, ["-servername", "one.test", "-alpn", "h2,http/1.1"], in: fixture)
            #expect(alpn.contains("ALPN protocol: http/1.1"), "\(alpn)")
            let h2Only = try await Self.sClient(port: port, ["-servername", "one.test", "-alpn", "h2"], in: fixture)
            #expect(h2Only.contains("No ALPN negotiated") && h2Only.contains("HTTP/1.1 200 OK"), "\(h2Only)")
        }
    }

    @Test("sessions resume: TLS 1.3 and 1.2 tickets, and the TLS 1.2 session cache, on either loop")
    func resumption() async throws {
        let fixture = try TLSFixture()
        let one = try fixture.leaf("one.test", dnsNames: ["one.test"])
        let context = try TLSContext(certificates: [TLSContext.Certificate(certificatePEM: one.certificate, privateKeyPEM: one.key)])
        try await Self.withServer(context) { port in
            for (index, variant) in [["-tls1_3"], ["-tls1_2"], ["-tls1_2", "-no_ticket"]].enumerated() {
                let file = "session-\(index)"
                let first = try await Self.sClient(port: port, variant + ["-servername", "one.test", "-sess_out", file], in: fixture)
                #expect(first.contains("New, TLSv1."), "\(variant): \(first)")
                // Several times: the kernel hands the connections to both loops.
                for _ in 0..<4 {
                    let again = try await Self.sClient(port: port, variant + ["-servername", "one.test", "-sess_in", file], in: fixture)
                    #expect(again.contains("Reused, TLSv1.") && again.contains("HTTP/1.1 200 OK"), "\(variant): \(again)")
                }
            }
        }
    }

    @Test("ticket keys rotate: a ticket under the previous key still resumes, one under the key before is refused")
    func ticketKeyRotation() async throws {
        let fixture = try TLSFixture()
        let one = try fixture.leaf("one.test", dnsNames: ["one.test"])
        let context = try TLSContext(certificates: [TLSContext.Certificate(certificatePEM: one.certificate, privateKeyPEM: one.key)])
        try await Self.withServer(context) { port in
            let first = try await Self.sClient(port: port, ["-tls1_3", "-servername", "one.test", "-sess_out", "ticket"], in: fixture)
            #expect(first.contains("New, TLSv1.3"), "\(first)")
            context.rotateTicketKeys()
            let previous = try await Self.sClient(port: port, ["-tls1_3", "-servername", "one.test", "-sess_in", "ticket"], in: fixture)
            #expect(previous.contains("Reused, TLSv1.3"), "\(previous)")
            context.rotateTicketKeys()
            let expired = try await Self.sClient(port: port, ["-tls1_3", "-servername", "one.test", "-sess_in", "ticket"], in: fixture)
            #expect(expired.contains("New, TLSv1.3") && expired.contains("HTTP/1.1 200 OK"), "\(expired)")
        }
    }

    @Test("unusable certificates and keys are refused with the reason")
    func refusals() throws {
        let fixture = try TLSFixture()
        let one = try fixture.leaf("one.test", dnsNames: ["one.test"])
        let two = try fixture.leaf("two.test", dnsNames: ["two.test"])
        let cases: [(String, String, String)] = [
            (one.certificate, two.key, "the private key does not match the certificate"),
            ("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", one.key, "no certificate in certificate_pem"),
            (one.certificate, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "no private key in private_key_pem"),
        ]
        for (certificate, key, reason) in cases {
            #expect {
                try TLSContext(certificates: [TLSContext.Certificate(certificatePEM: certificate, privateKeyPEM: key)])
            } throws: { error in
                (error as? TLSError)?.description.hasPrefix(reason) == true
            }
        }
        #expect(throws: TLSError.self) { try TLSContext(certificates: []) }
    }
}
