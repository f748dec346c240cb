import Logging
import NIOCore
import SwitchyardCore
import SwitchyardIO
import Synchronization

/// Binds and unbinds the listening sockets as the snapshot changes. A listener whose socket cannot be
/// bound (port taken, address not local) is reported in its state and tried again on the next
/// reconcile; nothing else is disturbed. A removed listener stops accepting at once; its connections
/// finish their exchange and are then closed.
actor ListenerManager {
    private struct Bound {
        let listener: RuntimeListener
        /// One listener per event loop, all on the first one's socket (which it closes: last).
        let sockets: [SocketListener]
        /// The listener's `max_connections`, inside the process-wide cap.
        let gate: ConnectionGate
        /// The certificates its TLS context was made from (https only), and whether that context lets
        /// sessions resume: to tell when to make another.
        let certificates: [RuntimeCertificate]
        let sessionResumption: Bool

        func close() async {
            for socket in sockets.reversed() {
                try? await socket.loop.submit { socket.close() }.get()
            }
        }
    }

    private let workers: [ProxyWorker]
    private let logger: Logger
    private var bound: [String: Bound] = [:]
    private let states = Mutex<[String: ListenerBindState]>([:])
    /// Every client connection of every listener: `--max-connections`.
    private let processGate: ConnectionGate
    private let pauses: AcceptPauseReporter

    init(workers: [ProxyWorker], maxConnections: Int, logger: Logger) {
        self.workers = workers
        self.logger = logger
        processGate = ConnectionGate(limit: maxConnections)
        pauses = AcceptPauseReporter(logger: logger)
    }

    /// Client connections open now, over every listener.
    nonisolated var openConnections: Int { processGate.count }

    nonisolated func currentStates() -> [String: ListenerBindState] { states.withLock { $0 } }

    func reconcile(_ config: RuntimeConfig) async {
        var next: [String: ListenerBindState] = [:]
        for (name, existing) in bound {
            guard let listener = config.listeners[name], !listener.needsRebind(from: existing.listener) else {
                await existing.close()
                bound[name] = nil
                logger.info("listener unbound", metadata: ["listener": "\(name)"])
                continue
            }
            existing.gate.setLimit(listener.spec.maxConnections)
            var certificates = existing.certificates
            var sessionResumption = existing.sessionResumption
            var certificateError: String?
            do {
                certificates = try await replaceCertificates(of: existing, with: listener, in: config)
                sessionResumption = Self.sessionResumption(of: listener)
            } catch {
                // The sockets keep serving the certificates they have.
                let reason = Self.describe(error)
                if states.withLock({ $0[name]?.error }) != reason {
                    logger.error("listener keeps its previous certificates", metadata: ["listener": "\(name)", "error": "\(reason)"])
                }
                certificateError = reason
            }
            bound[name] = Bound(
                listener: listener, sockets: existing.sockets, gate: existing.gate, certificates: certificates, sessionResumption: sessionResumption)
            next[name] = ListenerBindState(bound: true, error: certificateError)
        }
        for (name, listener) in config.listeners.sorted(by: { $0.key < $1.key }) where bound[name] == nil {
            do {
                let gate = ConnectionGate(limit: listener.spec.maxConnections, parent: processGate)
                let certificates = try Self.certificates(of: listener, in: config)
                let tls = try Self.tlsContext(for: certificates, sessionResumption: Self.sessionResumption(of: listener))
                let sockets = try await bind(listener, gate: gate, tls: tls)
                bound[name] = Bound(
                    listener: listener, sockets: sockets, gate: gate, certificates: certificates,
                    sessionResumption: Self.sessionResumption(of: listener))
                next[name] = ListenerBindState(bound: true)
                logger.info("listener bound", metadata: ["listener": "\(name)", "address": "\(listener.bind):\(listener.spec.port)"])
            } catch {
                let reason = Self.describe(error)
                next[name] = ListenerBindState(bound: false, error: reason)
                if states.withLock({ $0[name]?.error }) != reason {
                    logger.error("listener could not bind", metadata: ["listener": "\(name)", "error": "\(reason)"])
                }
            }
        }
        states.withLock { $0 = next }
        workers.first?.shared.rateLimiters.retain(config.listeners)
    }

    func closeAll() async {
        for (_, existing) in bound { await existing.close() }
        bound = [:]
        states.withLock { $0 = [:] }
    }

    /// The certificates an https listener names, in its order (the first is the default); empty for
    /// other protocols. Throws for one whose key the snapshot could not open.
    private static func certificates(of listener: RuntimeListener, in config: RuntimeConfig) throws -> [RuntimeCertificate] {
        guard listener.spec.protocol == .https else { return [] }
        let names = listener.spec.tls?.certificates ?? []
        guard !names.isEmpty else { throw TLSError("tls: no certificate") }
        return try names.map { name in
            guard let certificate = config.certificates[name] else {
                throw TLSError("tls: certificate '\(name)' is not available: \(config.unavailableCertificates[name] ?? "no such certificate")")
            }
            return certificate
        }
    }

    private static func sessionResumption(of listener: RuntimeListener) -> Bool {
        listener.spec.tls?.sessionResumption ?? true
    }

    /// One context for every loop of a listener (they share its session cache and ticket keys); nil
    /// without certificates (not https).
    private static func tlsContext(for certificates: [RuntimeCertificate], sessionResumption: Bool) throws -> TLSContext? {
        guard !certificates.isEmpty else { return nil }
        do {
            return try TLSContext(
                certificates: certificates.map { TLSContext.Certificate(certificatePEM: $0.spec.certificatePem, privateKeyPEM: $0.privateKeyPem) },
                sessionResumption: sessionResumption)
        } catch let error as TLSError {
            throw TLSError("tls: \(error.description)")
        }
    }

    /// Gives a bound https listener's sockets a new context when its certificates changed (another list,
    /// or a certificate replaced): new handshakes get it, open connections keep theirs.
    private func replaceCertificates(of existing: Bound, with listener: RuntimeListener, in config: RuntimeConfig) async throws
        -> [RuntimeCertificate]
    {
        let certificates = try Self.certificates(of: listener, in: config)
        let sessionResumption = Self.sessionResumption(of: listener)
        guard certificates != existing.certificates || sessionResumption != existing.sessionResumption,
            let context = try Self.tlsContext(for: certificates, sessionResumption: sessionResumption)
        else { return certificates }
        for socket in existing.sockets {
            try await socket.loop.submit { socket.replaceTLS(context) }.get()
        }
        logger.info("listener certificates replaced", metadata: ["listener": "\(listener.name)"])
        return certificates
    }

    /// Binds `listener` on every event loop, or on none (what was bound is closed again).
    private func bind(_ listener: RuntimeListener, gate: ConnectionGate, tls: TLSContext?) async throws -> [SocketListener] {
        let address = try SocketAddress(ipAddress: listener.bind.description, port: listener.spec.port)
        var sockets: [SocketListener] = []
        let pauses = pauses
        do {
            for worker in workers {
                let name = listener.name
                let isTCP = listener.spec.protocol == .tcp
                let primary = sockets.first
                let socket = try await worker.eventLoop.submit {
                    let accept = { (connection: SocketConnection) in
                        Self.accept(connection, listener: name, isTCP: isTCP, gate: gate, worker: worker)
                    }
                    let paused = { (reason: AcceptPause) in pauses.paused(listener: name, reason, counters: worker.shared.metrics.listener(name)) }
                    if let primary {
                        return try SocketListener(sharing: primary, on: worker.eventLoop, gate: gate, paused: paused, accept: accept)
                    }
                    return try SocketListener(bindingTo: address, on: worker.eventLoop, gate: gate, tls: tls, paused: paused, accept: accept)
                }.get()
                sockets.append(socket)
            }
        } catch {
            await Bound(listener: listener, sockets: sockets, gate: gate, certificates: [], sessionResumption: true).close()
            throw error
        }
        return sockets
    }

    /// A new client connection: refused by the listener's firewall (closed before a byte is read), or
    /// given its handler, which leaves `gate` when the connection closes.
    private static func accept(_ connection: SocketConnection, listener name: String, isTCP: Bool, gate: ConnectionGate, worker: ProxyWorker) {
        let client = ClientAddress(connection.remoteAddress)
        guard let listener = worker.currentConfig().listeners[name], let client, listener.admits(client.address) else {
            gate.leave()
            connection.close()
            return
        }
        if connection.isTLS {
            // The handshake counts against the listener's head timeout: a client that stalls in it is closed.
            connection.setHandshakeDeadline(.now() + worker.shared.limits.overridden(by: listener.spec.timeouts).headTimeout)
        }
        if let limiter = worker.shared.rateLimiters.limiter(for: name, listener.spec.rateLimit),
            let retryAfter = limiter.admitConnection(ClientRateLimiter.clientKey(client.address.bytes))
        {
            // Over the client's connection rate: HTTP clients are told when to come back, TCP ones refused.
            let counters = worker.shared.metrics.listener(name)
            counters.connectionRateLimited()
            gate.leave()
            if isTCP {
                connection.close()
            } else {
                counters.answered(status: 429)
                connection.write(
                    ProxyErrorResponse.make(
                        status: 429, detail: "too many connections from this client", close: true, retryAfter: retryAfter,
                        allocator: ByteBufferAllocator()))
                connection.closeAfterFlush()
            }
            return
        }
        if isTCP {
            TCPProxyHandler(connection: connection, worker: worker, listenerName: name, clientKey: client.address.bytes, gate: gate).start()
        } else {
            HTTPProxyHandler(
                connection: connection, worker: worker, listenerName: name, clientIP: client.text, clientKey: client.address.bytes, gate: gate
            ).start()
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? SocketError {
            switch error.errno {
            case 98: return "address already in use"
            case 99: return "address not available on this host"
            case 13: return "permission denied (ports below 1024 need privileges)"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

/// A client's address as the proxy uses it: for the firewall and hashing, and as text for
/// X-Forwarded-For. IPv4-mapped IPv6 addresses (a listener on "::") count as the IPv4 address.
struct ClientAddress {
    let address: IPAddress
    let text: String

    init?(_ socketAddress: SocketAddress?) {
        guard let socketAddress, let text = socketAddress.ipAddress else { return nil }
        var bytes: [UInt8]
        switch socketAddress {
        case .v4(let v4):
            bytes = withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6):
            bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                bytes = Array(bytes[12...])
                guard let address = IPAddress(bytes: bytes) else { return nil }
                self.address = address
                self.text = address.description
                return
            }
        default:
            return nil
        }
        guard let address = IPAddress(bytes: bytes) else { return nil }
        self.address = address
        self.text = text
    }
}
