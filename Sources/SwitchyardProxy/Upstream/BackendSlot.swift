import NIOCore

/// One backend as one event loop knows it: its idle keep-alive connections, every open connection (to
/// close them when the backend is drained or removed), requests in flight, and its counters. Kept
/// across snapshots while the backend's address stays the same, so pooled connections survive config
/// changes that do not touch it.
final class BackendSlot {
    /// "pool/backend".
    let key: String
    let host: String
    let port: Int
    /// The address connections go to: the backend's own when it is one, else its name resolved (once,
    /// off the loop, by `UpstreamConnector`).
    var resolvedAddress: SocketAddress?
    let counters: TrafficCounters
    /// Requests in flight (HTTP) or sessions (TCP) from this event loop: what least connections compares.
    var inFlight = 0
    /// Whether the backend may still be sent new requests (false once drained, in maintenance or removed).
    private(set) var accepting = true
    private var drainEpoch = 0
    private var idle: [UpstreamConnection] = []
    private var open: [ObjectIdentifier: any DrainableConnection] = [:]

    init(key: String, host: String, port: Int, counters: TrafficCounters) {
        self.key = key
        self.host = host
        self.port = port
        self.counters = counters
        self.resolvedAddress = try? SocketAddress(ipAddress: host, port: port)
    }

    /// The most recently used idle connection (warmest), if any.
    func checkoutIdle(now: NIODeadline, maxIdle: TimeAmount) -> UpstreamConnection? {
        while let connection = idle.popLast() {
            if connection.isUsable && now - connection.idleSince < maxIdle { return connection }
            connection.close()
        }
        return nil
    }

    func checkin(_ connection: UpstreamConnection, now: NIODeadline) {
        connection.idleSince = now
        idle.append(connection)
    }

    func opened(_ connection: any DrainableConnection) { open[ObjectIdentifier(connection)] = connection }

    func closed(_ connection: any DrainableConnection) {
        open[ObjectIdentifier(connection)] = nil
        if let upstream = connection as? UpstreamConnection, let index = idle.firstIndex(where: { $0 === upstream }) {
            idle.remove(at: index)
        }
    }

    /// Closes idle connections that outstayed `maxIdle`.
    func closeIdle(olderThan maxIdle: TimeAmount, now: NIODeadline) {
        let expired = idle.filter { now - $0.idleSince >= maxIdle }
        for connection in expired { connection.close() }
    }

    /// Stops new requests (closing idle connections now and, after `timeout`, whatever is still busy),
    /// or takes them again when the operator re-enables the backend before then.
    func setAccepting(_ accepting: Bool, drainTimeout timeout: TimeAmount, on eventLoop: any EventLoop) {
        guard accepting != self.accepting else { return }
        self.accepting = accepting
        drainEpoch += 1
        guard !accepting else { return }
        for connection in idle { connection.close() }
        idle.removeAll()
        guard !open.isEmpty else { return }
        let epoch = drainEpoch
        eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            guard drainEpoch == epoch else { return }
            for connection in open.values { connection.forceClose() }
        }
    }
}

/// A connection that a drain may have to cut when its timeout is over.
protocol DrainableConnection: AnyObject {
    func forceClose()
}
