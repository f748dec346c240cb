import Foundation
import NIOCore

/// One client connection of a TCP listener: picks a backend (trying others when a connect fails, up
/// to the pool's retries), then moves bytes both ways as they come. Reads pause on the side whose peer
/// cannot take more (backpressure), and a half-close on one side is passed on to the other.
final class TCPProxyHandler: ChannelDuplexHandler, UpstreamOwner, DrainableConnection {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let worker: ProxyWorker
    private let listenerName: String
    private let listenerCounters: TrafficCounters
    private let clientKey: [UInt8]
    private var context: ChannelHandlerContext!
    private var upstream: UpstreamConnection?
    private var slot: BackendSlot?
    private var balancer: PoolBalancer?
    /// Bytes the client sent before the backend connection was up.
    private var early: ByteBuffer?
    private var tried: [Int] = []
    private var readPending = false
    private var clientInputClosed = false
    private var backendDoneSending = false
    private var closed = false
    private var started = NIODeadline.now()

    init(worker: ProxyWorker, listenerName: String, clientKey: [UInt8]) {
        self.worker = worker
        self.listenerName = listenerName
        self.listenerCounters = worker.shared.metrics.listener(listenerName)
        self.clientKey = clientKey
    }

    var clientIsWritable: Bool { context.channel.isWritable }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        listenerCounters.connectionOpened()
        started = .now()
        let config = worker.currentConfig()
        guard let pool = config.listeners[listenerName]?.spec.defaultPool, let balancer = worker.balancer(for: pool) else {
            context.close(promise: nil)
            return
        }
        self.balancer = balancer
        listenerCounters.requestStarted()
        balancer.counters.requestStarted()
        connect()
        context.fireChannelActive()
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
            context.close(promise: nil)
            return
        }
        let slot = balancer.slots[index]
        UpstreamConnector.connect(
            slot, on: context.eventLoop, timeout: .milliseconds(Int64(balancer.pool.spec.timeouts.connectMs)), halfClosure: true
        ) { [self] result in
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
                resumeReads()
            case .failure(let error):
                slot.counters.failed()
                worker.shared.health.requestFailed(slot.key, reason: "connect failed: \(error)")
                tried.append(index)
                if tried.count <= balancer.pool.spec.retries {
                    balancer.counters.retried()
                    connect()
                } else {
                    finish(failed: true)
                    context.close(promise: nil)
                }
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if let upstream {
            upstream.write(buffer)
        } else if early == nil {
            early = buffer
        } else {
            var buffer = buffer
            early!.writeBuffer(&buffer)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        upstream?.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.inputClosed) = event as? ChannelEvent {
            clientInputClosed = true
            upstream?.closeOutput()
            if backendDoneSending { context.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        upstream?.owner = nil
        upstream?.close()
        finish(failed: false)
        listenerCounters.connectionClosed()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { upstream?.resumeReads() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        // Nothing is read until the backend is connected, nor while it cannot take more.
        if upstream?.isWritable ?? false {
            context.read()
        } else {
            readPending = true
        }
    }

    private func resumeReads() {
        if readPending {
            readPending = false
            context.read()
        }
    }

    func upstreamRead(_ buffer: ByteBuffer) {
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    func upstreamReadComplete() {
        context.flush()
    }

    func upstreamInputClosed() {
        backendDoneSending = true
        context.flush()
        context.close(mode: .output, promise: nil)
        if clientInputClosed {
            upstream?.close()
            context.close(promise: nil)
        }
    }

    func upstreamClosed() {
        upstream = nil
        context.flush()
        context.close(promise: nil)
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if isWritable { resumeReads() }
    }

    func forceClose() {
        context.close(promise: nil)
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
