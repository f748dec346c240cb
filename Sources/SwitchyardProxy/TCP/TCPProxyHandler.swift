import Foundation
import NIOCore
import SwitchyardIO

/// One client connection of a TCP listener: picks a backend (trying others when a connect fails, up
/// to the pool's retries), then moves bytes both ways as they come. Reads pause on the side whose peer
/// cannot take more (backpressure), and a half-close on one side is passed on to the other.
final class TCPProxyHandler: SocketConnectionDelegate, UpstreamOwner, DrainableConnection, DeadlineTimerOwner {
    private let worker: ProxyWorker
    private let listenerName: String
    private let listenerCounters: TrafficCounters
    private let clientKey: [UInt8]
    private let connection: SocketConnection
    private var upstream: UpstreamConnection?
    private var slot: BackendSlot?
    private var balancer: PoolBalancer?
    /// Bytes the client sent before the backend connection was up.
    private var early: ByteBuffer?
    private var tried: [Int] = []
    private var clientInputClosed = false
    private var backendDoneSending = false
    private var closed = false
    private var started = NIODeadline.now()

    /// The connection caps this connection holds a place in, until it closes.
    private let gate: ConnectionGate

    /// The session's idle deadline, moved on every byte either way.
    private lazy var idleTimer = DeadlineTimer(loop: connection.loop, owner: self)
    private var idleTimeout = TimeAmount.seconds(600)

    init(connection: SocketConnection, worker: ProxyWorker, listenerName: String, clientKey: [UInt8], gate: ConnectionGate) {
        self.connection = connection
        self.gate = gate
        self.worker = worker
        self.listenerName = listenerName
        self.listenerCounters = worker.shared.metrics.listener(listenerName)
        self.clientKey = clientKey
    }

    var clientIsWritable: Bool { connection.isWritable }

    /// Takes the connection over; nothing is read from the client until a backend is connected.
    func start() {
        connection.delegate = self
        connection.pauseReads()
        listenerCounters.connectionOpened()
        started = .now()
        let config = worker.currentConfig()
        guard let listener = config.listeners[listenerName], let pool = listener.spec.defaultPool, let balancer = worker.balancer(for: pool)
        else {
            connection.close()
            return
        }
        idleTimeout = worker.shared.limits.overridden(by: listener.spec.timeouts).tcpIdleTimeout
        idleTimer.set(started + idleTimeout)
        self.balancer = balancer
        listenerCounters.requestStarted()
        balancer.counters.requestStarted()
        connect()
    }

    private func connect() {
        guard var balancer, !closed else { return }
        if !tried.isEmpty, let current = worker.balancer(for: balancer.pool.name) {
            // A retry: the failure may just have changed who is healthy.
            balancer = current
            self.balancer = current
        }
        guard let index = balancer.pick(clientKey: clientKey, excluding: tried) else {
            finish(failed: true)
            connection.close()
            return
        }
        let slot = balancer.slots[index]
        UpstreamConnector.connect(slot, on: connection.loop, timeout: .milliseconds(Int64(balancer.pool.spec.timeouts.connectMs))) {
            [self] result in
            switch result {
            case .success(let upstream):
                guard !closed else {
                    upstream.close()
                    return
                }
                worker.shared.health.requestSucceeded(slot.key)
                upstream.owner = self
                self.upstream = upstream
                self.slot = slot
                slot.inFlight += 1
                slot.opened(self)
                slot.counters.requestStarted()
                if let early {
                    upstream.write(early)
                    upstream.flush()
                    self.early = nil
                }
                if clientInputClosed { upstream.closeOutput() }
                if upstream.isWritable { connection.resumeReads() }
            case .failure(let error):
                if let error = error as? SocketError, error.isLocalResourceShortage {
                    // This process is out of descriptors or ports: no backend's fault, none to retry.
                    finish(failed: true)
                    connection.close()
                    return
                }
                slot.counters.failed()
                worker.shared.health.requestFailed(slot.key, reason: "connect failed: \(error)")
                tried.append(index)
                if tried.count <= balancer.pool.spec.retries {
                    balancer.counters.retried()
                    connect()
                } else {
                    finish(failed: true)
                    connection.close()
                }
            }
        }
    }

    func connectionRead(_ buffer: ByteBuffer) {
        idleTimer.set(connection.loop.turnTime + idleTimeout)
        if let upstream {
            upstream.write(buffer)
        } else if early == nil {
            early = buffer
        } else {
            var buffer = buffer
            early!.writeBuffer(&buffer)
        }
    }

    func connectionReadComplete() {
        upstream?.flush()
    }

    func connectionInputClosed() {
        clientInputClosed = true
        upstream?.closeOutput()
        if backendDoneSending { connection.closeAfterFlush() }
    }

    func connectionClosed(error: (any Error)?) {
        closed = true
        idleTimer.cancel()
        upstream?.owner = nil
        upstream?.close()
        finish(failed: false)
        listenerCounters.connectionClosed()
        gate.leave()
    }

    func connectionWritabilityChanged(isWritable: Bool) {
        if isWritable { upstream?.resumeReads() } else { upstream?.pauseReads() }
    }

    func upstreamRead(_ buffer: ByteBuffer) {
        idleTimer.set(connection.loop.turnTime + idleTimeout)
        connection.write(buffer)
    }

    /// No byte either way for the listener's `tcp_idle_ms`: both sides close.
    func deadlineReached() {
        guard !closed else { return }
        listenerCounters.timedOut(.tcpIdle)
        connection.close()
    }

    func upstreamReadComplete() {
        connection.flush()
    }

    func upstreamInputClosed() {
        backendDoneSending = true
        // The backend finished sending: the client sees its end of input once what came before is sent.
        connection.closeOutput()
        if clientInputClosed {
            upstream?.close()
            connection.closeAfterFlush()
        }
    }

    func upstreamClosed() {
        upstream = nil
        connection.closeAfterFlush()
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if isWritable { connection.resumeReads() } else { connection.pauseReads() }
    }

    func forceClose() {
        connection.close()
    }

    private var finished = false

    private func finish(failed: Bool) {
        guard !finished, let balancer else { return }
        finished = true
        let nanoseconds = (NIODeadline.now() - started).nanoseconds
        let status: Int? = failed ? nil : 200
        balancer.counters.requestFinished(status: status, nanoseconds: nanoseconds)
        listenerCounters.requestFinished(status: status, nanoseconds: nanoseconds)
        if let slot {
            slot.inFlight -= 1
            slot.closed(self)
            slot.counters.requestFinished(status: status, nanoseconds: nanoseconds)
        }
    }
}
