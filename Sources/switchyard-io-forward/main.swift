// A bare HTTP/1.1 forwarder on SwitchyardIO, for `scripts/bench-transport`: what the transport
// itself costs per proxied request, against HAProxy, before the proxy's own logic. Each client
// connection gets one keep-alive backend connection (round robin over the origins); requests are
// GETs without bodies, forwarded as received once their head is complete; responses are framed by
// Content-Length. Not a product: no routing, limits, timeouts or retries.
//
// Usage: switchyard-io-forward LISTEN_PORT ORIGIN_PORT... (all on 127.0.0.1)
#if os(Linux)
    import Glibc
    import NIOCore
    import SwitchyardIO

    let arguments = CommandLine.arguments
    guard arguments.count >= 3, let listenPort = Int(arguments[1]) else {
        print("usage: switchyard-io-forward LISTEN_PORT ORIGIN_PORT...")
        exit(2)
    }
    let origins = try arguments[2...].map { try SocketAddress(ipAddress: "127.0.0.1", port: Int($0)!) }

    /// Where a head ends (CRLFCRLF), if it does.
    func headLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index + 4
        }
        return nil
    }

    /// The Content-Length value of a response head (0 if absent).
    func contentLength(_ head: UnsafeRawBufferPointer) -> Int {
        let name = Array("\r\ncontent-length:".utf8)
        guard head.count > name.count else { return 0 }
        outer: for start in 0..<(head.count - name.count) {
            for offset in 0..<name.count where head[start + offset] | 0x20 != name[offset] | 0x20 { continue outer }
            var index = start + name.count
            while index < head.count && head[index] == 32 { index += 1 }
            var value = 0
            while index < head.count, head[index] >= 48, head[index] <= 57 {
                value = value * 10 + Int(head[index] - 48)
                index += 1
            }
            return value
        }
        return 0
    }

    /// One client connection and its backend connection.
    final class Forwarder {
        let client: SocketConnection
        var backend: SocketConnection?
        var request = ByteBuffer()
        var responseLeft = 0
        var clientSide: Side!
        var backendSide: Side!
        let finished: (Forwarder) -> Void

        final class Side: SocketConnectionDelegate {
            weak var forwarder: Forwarder?
            let isClient: Bool
            init(_ forwarder: Forwarder, isClient: Bool) {
                self.forwarder = forwarder
                self.isClient = isClient
            }
            func connectionRead(_ buffer: ByteBuffer) {
                guard let forwarder else { return }
                isClient ? forwarder.fromClient(buffer) : forwarder.fromBackend(buffer)
            }
            func connectionReadComplete() {
                guard let forwarder else { return }
                isClient ? forwarder.backend?.flush() : forwarder.client.flush()
            }
            func connectionWritabilityChanged(isWritable: Bool) {
                guard let forwarder else { return }
                let other = isClient ? forwarder.backend : forwarder.client
                isWritable ? other?.resumeReads() : other?.pauseReads()
            }
            func connectionInputClosed() { forwarder?.closeBoth() }
            func connectionClosed(error: (any Error)?) { forwarder?.closeBoth() }
        }

        init(client: SocketConnection, origin: SocketAddress, finished: @escaping (Forwarder) -> Void) {
            self.client = client
            self.finished = finished
            clientSide = Side(self, isClient: true)
            backendSide = Side(self, isClient: false)
            client.delegate = clientSide
            client.pauseReads()
            SocketConnector.connect(to: origin, on: client.loop, timeout: .seconds(5)) { [self] result in
                guard case .success(let connection) = result else { return closeBoth() }
                backend = connection
                connection.delegate = backendSide
                client.resumeReads()
            }
        }

        func fromClient(_ buffer: ByteBuffer) {
            guard let backend else { return }
            if request.readableBytes == 0 && buffer.withUnsafeReadableBytes({ headLength($0) }) != nil {
                backend.write(buffer)
                return
            }
            var buffer = buffer
            request.writeBuffer(&buffer)
            if request.withUnsafeReadableBytes({ headLength($0) }) != nil {
                backend.write(request)
                request = ByteBuffer()
            }
        }

        func fromBackend(_ buffer: ByteBuffer) {
            if responseLeft == 0, let head = buffer.withUnsafeReadableBytes({ bytes in headLength(bytes).map { ($0, contentLength(bytes)) } }) {
                responseLeft = head.0 + head.1
            }
            responseLeft -= buffer.readableBytes
            client.write(buffer)
        }

        func closeBoth() {
            client.close()
            backend?.close()
            finished(self)
        }
    }

    /// The forwarders alive, by client connection (confined to the loop).
    final class Server: @unchecked Sendable {
        var next = 0
        var forwarders: [ObjectIdentifier: Forwarder] = [:]

        func accept(_ connection: SocketConnection) {
            let key = ObjectIdentifier(connection)
            forwarders[key] = Forwarder(client: connection, origin: origins[next % origins.count]) { [self] _ in
                forwarders[key] = nil
            }
            next += 1
        }
    }

    let loop = try EpollEventLoop(name: "io-forward")
    let server = Server()
    let listener = try loop.submit {
        try SocketListener(bindingTo: try SocketAddress(ipAddress: "127.0.0.1", port: listenPort), on: loop) { server.accept($0) }
    }.wait()
    print("listening on 127.0.0.1:\(listener.localAddress.port!)")
    while true { sleep(3600) }
#else
    print("switchyard-io-forward needs Linux (epoll)")
#endif
