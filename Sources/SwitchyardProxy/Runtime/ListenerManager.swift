import Logging
import NIOCore
import NIOPosix
import SwitchyardCore
import Synchronization

/// Binds and unbinds the listening sockets as the snapshot changes. A listener whose socket cannot be
/// bound (port taken, address not local) is reported in its state and tried again on the next
/// reconcile; nothing else is disturbed. A removed listener stops accepting at once; its connections
/// finish their exchange and are then closed.
actor ListenerManager {
    private struct Bound {
        let listener: RuntimeListener
        let channel: any Channel
    }

    private let workers: [ObjectIdentifier: ProxyWorker]
    private let group: any EventLoopGroup
    private let logger: Logger
    private var bound: [String: Bound] = [:]
    private let states = Mutex<[String: ListenerBindState]>([:])

    init(workers: [ObjectIdentifier: ProxyWorker], group: any EventLoopGroup, logger: Logger) {
        self.workers = workers
        self.group = group
        self.logger = logger
    }

    nonisolated func currentStates() -> [String: ListenerBindState] { states.withLock { $0 } }

    func reconcile(_ config: RuntimeConfig) async {
        var next: [String: ListenerBindState] = [:]
        for (name, existing) in bound {
            guard let listener = config.listeners[name], !listener.needsRebind(from: existing.listener) else {
                try? await existing.channel.close()
                bound[name] = nil
                logger.info("listener unbound", metadata: ["listener": "\(name)"])
                continue
            }
            bound[name] = Bound(listener: listener, channel: existing.channel)
            next[name] = ListenerBindState(bound: true)
        }
        for (name, listener) in config.listeners.sorted(by: { $0.key < $1.key }) where bound[name] == nil {
            if listener.spec.protocol == .https {
                next[name] = ListenerBindState(bound: false, error: "TLS termination is not available in this build")
                continue
            }
            do {
                let channel = try await bind(listener)
                bound[name] = Bound(listener: listener, channel: channel)
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
    }

    func closeAll() async {
        for (_, existing) in bound { try? await existing.channel.close() }
        bound = [:]
        states.withLock { $0 = [:] }
    }

    private func bind(_ listener: RuntimeListener) async throws -> any Channel {
        let workers = self.workers
        let name = listener.name
        let isTCP = listener.spec.protocol == .tcp
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: isTCP)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let worker = workers[ObjectIdentifier(channel.eventLoop)] else { throw ChannelError.ioOnClosedChannel }
                    let client = ClientAddress(channel.remoteAddress)
                    // The firewall: a refused client is closed before a byte is read.
                    guard let listener = worker.currentConfig().listeners[name], client.map({ listener.admits($0.address) }) ?? false else {
                        throw ChannelError.ioOnClosedChannel
                    }
                    if isTCP {
                        try channel.pipeline.syncOperations.addHandler(
                            TCPProxyHandler(worker: worker, listenerName: name, clientKey: client!.address.bytes))
                    } else {
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPProxyHandler(worker: worker, listenerName: name, clientIP: client!.text, clientKey: client!.address.bytes))
                    }
                }
            }
            .bind(host: listener.bind.description, port: listener.spec.port)
            .get()
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? IOError {
            switch error.errnoCode {
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
