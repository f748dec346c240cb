#if os(Linux)
    import CSwitchyardTLS

    /// A TLS failure: a certificate or key that cannot be used, or a handshake, read or write that failed.
    public struct TLSError: Error, CustomStringConvertible, Sendable {
        public let description: String

        public init(_ description: String) {
            self.description = description
        }

        /// The calling thread's last failure as the shim recorded it.
        static func last(_ fallback: String) -> TLSError {
            let reason = String(cString: c_switchyard_tls_failure())
            return TLSError(reason.isEmpty ? fallback : reason)
        }
    }

    /// The server side of TLS for one listener, over OpenSSL 3 (`CSwitchyardTLS`): TLS 1.2 and 1.3 only,
    /// Mozilla's "intermediate" ciphers and the groups X25519, P-256 and P-384, ALPN `http/1.1`, each
    /// certificate's chain sent after it. Several certificates: a client's SNI picks the one with that
    /// exact name, else one whose wildcard covers it, else the first (no SNI, an IP address, an unknown
    /// name). Sessions resume from a cache or from tickets; both live in the context, which every event
    /// loop shares (OpenSSL's contexts are thread-safe), so a ticket from one loop is good on another.
    /// Ticket keys are random, replaced every hour, and the one before is still accepted for an hour.
    /// Immutable once made.
    public final class TLSContext: @unchecked Sendable {
        /// A certificate (PEM: the leaf, then its chain in order) and its private key (PEM, unencrypted).
        public struct Certificate: Sendable {
            public var certificatePEM: String
            public var privateKeyPEM: String

            public init(certificatePEM: String, privateKeyPEM: String) {
                self.certificatePEM = certificatePEM
                self.privateKeyPEM = privateKeyPEM
            }
        }

        let server: OpaquePointer
        /// The DNS names each certificate is picked for (SAN DNS names, else the subject's CN), lower-cased.
        public let names: [[String]]

        /// The first certificate is the default. Throws for an unreadable certificate or key, or a key
        /// that is not the certificate's. Without `sessionResumption` no session is cached and no ticket
        /// sent or accepted: every handshake is a full one.
        public init(certificates: [Certificate], sessionResumption: Bool = true) throws {
            guard !certificates.isEmpty else { throw TLSError("no certificate") }
            guard let server = c_switchyard_tls_server_new(sessionResumption ? 1 : 0) else { throw TLSError("out of memory") }
            var names: [[String]] = []
            for (index, certificate) in certificates.enumerated() {
                var error = [CChar](repeating: 0, count: 512)
                let certificateBytes = Array(certificate.certificatePEM.utf8)
                let keyBytes = Array(certificate.privateKeyPEM.utf8)
                let result = certificateBytes.withUnsafeBytes { certificatePEM in
                    keyBytes.withUnsafeBytes { keyPEM in
                        c_switchyard_tls_server_add(
                            server, certificatePEM.baseAddress?.assumingMemoryBound(to: CChar.self), certificatePEM.count,
                            keyPEM.baseAddress?.assumingMemoryBound(to: CChar.self), keyPEM.count, &error, error.count)
                    }
                }
                guard result == 0 else {
                    c_switchyard_tls_server_free(server)
                    let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    throw TLSError(certificates.count == 1 ? reason : "certificate \(index + 1): \(reason)")
                }
                let count = c_switchyard_tls_server_name_count(server, index)
                names.append((0..<count).compactMap { c_switchyard_tls_server_name(server, index, $0).map { String(cString: $0) } })
            }
            self.server = server
            self.names = names
        }

        /// Replaces the session ticket key now. Keys are replaced every hour anyway, and tickets under
        /// the key before the current one are still accepted; after two rotations a ticket is refused.
        public func rotateTicketKeys() {
            c_switchyard_tls_server_rotate_ticket_keys(server)
        }

        deinit {
            c_switchyard_tls_server_free(server)
        }
    }
#endif
