#if os(Linux)
    import CSwitchyardIO
    import CSwitchyardTLS
    import Glibc
    import NIOCore

    /// What a `SocketConnection` tells its owner, always on the connection's loop.
    public protocol SocketConnectionDelegate: AnyObject {
        /// Bytes arrived. The buffer may be kept (the loop then reads into new memory).
        func connectionRead(_ buffer: ByteBuffer)
        /// The end of a batch of reads: the moment to flush what they caused.
        func connectionReadComplete()
        /// Pending output crossed the high watermark (false) or fell back below the low one (true).
        func connectionWritabilityChanged(isWritable: Bool)
        /// The peer finished sending (end of input). Output stays open until `close` or `closeOutput`.
        func connectionInputClosed()
        /// The connection is closed; `error` is nil for a close asked for. Delivered after the call that
        /// closed it returned, never from inside it.
        func connectionClosed(error: (any Error)?)
    }

    /// A non-blocking TCP connection on an `EpollEventLoop`: `recv` into the loop's buffer, writes queued
    /// until `flush`, then `send` (one buffer) or `sendmsg` (several). Edge-triggered, so pausing reads
    /// costs nothing and resuming reads what came meanwhile. Confined to its loop.
    ///
    /// With TLS (`beginServerTLS`, an https listener's connections) an OpenSSL session sits under the
    /// same interface: the delegate gets plaintext and writes plaintext, and backpressure, half-close
    /// and closing behave as on a plain connection. The handshake runs first, on the socket's edges,
    /// within its deadline; writes made meanwhile wait for it. Output goes through `SSL_write` (small
    /// flushed buffers gathered into one record), input through `SSL_read` until it wants more input,
    /// since OpenSSL may hold decrypted bytes that no edge announces. A close sends `close_notify`.
    public final class SocketConnection: EpollHandler {
        public let loop: EpollEventLoop
        public var delegate: (any SocketConnectionDelegate)?
        public private(set) var isOpen = true
        public private(set) var isWritable = true
        /// Bytes written and not yet sent.
        public private(set) var pendingBytes = 0
        public let lowWatermark: Int
        public let highWatermark: Int

        private let fd: Int32
        private var pending = CircularBuffer<ByteBuffer>(initialCapacity: 4)
        /// How many of `pending` (from the front) were flushed.
        private var flushedCount = 0
        /// A send hit a full socket buffer: wait for the output edge.
        private var waitingForOutput = false
        private var readsPaused = false
        /// An input edge came while reads were paused (or reading stopped early): read on resume.
        private var readReady = false
        private var inputClosed = false
        /// The peer's end of input was signalled (EPOLLRDHUP): a short read no longer means that nothing
        /// is left, since the end itself comes with no further edge.
        private var peerFinished = false
        private var closeOutputWhenFlushed = false
        private var closeWhenFlushed = false

        // TLS (nil on a plain connection).
        private var tls: OpaquePointer?
        /// Keeps the certificates alive while the session may still pick one.
        private var tlsContext: TLSContext?
        private var handshaking = false
        private var handshakeTimer: ScheduledTimer?
        /// A TLS write needs input first (OpenSSL is reading a handshake message): retried on the input edge.
        private var writeWantsInput = false
        /// A TLS read needs to send first (a handshake message in answer): retried on the output edge.
        private var readWantsOutput = false
        /// The largest TLS record's plaintext: small flushed buffers are gathered up to this.
        private static let tlsRecordSize = 16 * 1024

        private var readSize = 2048
        private static let minimumReadSize = 2048
        private static let maximumReadSize = 64 * 1024

        /// Reads per input edge before letting other sockets have their turn.
        private static let readsPerEvent = 4
        static let events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue

        init(fd: Int32, loop: EpollEventLoop, lowWatermark: Int = 32 * 1024, highWatermark: Int = 64 * 1024) {
            self.fd = fd
            self.loop = loop
            self.lowWatermark = lowWatermark
            self.highWatermark = highWatermark
        }

        deinit {
            if let tls { c_switchyard_tls_session_free(tls) }
        }

        // MARK: TLS

        /// Whether the connection speaks TLS.
        public var isTLS: Bool { tlsContext != nil }

        /// Makes this a TLS server connection; called before the loop delivers its first event.
        /// The handshake must complete within `handshakeTimeout` (`setHandshakeDeadline` changes it).
        func beginServerTLS(_ context: TLSContext, handshakeTimeout: TimeAmount) -> Bool {
            guard let session = c_switchyard_tls_session_new(context.server, fd) else { return false }
            tls = session
            tlsContext = context
            handshaking = true
            setHandshakeDeadline(.now() + handshakeTimeout)
            return true
        }

        /// The TLS handshake must be complete by `deadline`, or the connection closes with a `TLSError`.
        public func setHandshakeDeadline(_ deadline: NIODeadline) {
            guard handshaking, isOpen else { return }
            handshakeTimer?.cancel()
            handshakeTimer = loop.scheduleTimer(at: deadline) { [weak self] in
                guard let self, self.handshaking, self.isOpen else { return }
                self.close(error: TLSError("TLS handshake not complete in time"))
            }
        }

        /// One step of the handshake; once complete, what was written meanwhile goes out and what came
        /// with the handshake is read.
        private func continueHandshake() {
            guard let tls, handshaking else { return }
            let result = c_switchyard_tls_handshake(tls)
            guard result == 1 else {
                if result == C_SWITCHYARD_TLS_WANT_READ || result == C_SWITCHYARD_TLS_WANT_WRITE { return }
                close(
                    error: result == C_SWITCHYARD_TLS_CLOSED
                        ? TLSError("the peer closed during the TLS handshake") : TLSError.last("TLS handshake failed"))
                return
            }
            handshaking = false
            handshakeTimer?.cancel()
            handshakeTimer = nil
            if flushedCount > 0 { sendFlushed() }
            guard isOpen, !inputClosed else { return }
            if readsPaused {
                readReady = true
            } else {
                readAvailable()
            }
        }

        // MARK: Output

        /// Queues `buffer`; nothing is sent before `flush`.
        public func write(_ buffer: ByteBuffer) {
            guard isOpen else { return }
            pending.append(buffer)
            pendingBytes += buffer.readableBytes
            if isWritable && pendingBytes > highWatermark {
                isWritable = false
                delegate?.connectionWritabilityChanged(isWritable: false)
            }
        }

        /// Sends everything written so far (what the socket cannot take now goes when it can).
        public func flush() {
            guard isOpen else { return }
            flushedCount = pending.count
            if !waitingForOutput { sendFlushed() }
        }

        /// Half-closes: the peer sees the end of input once everything written was sent.
        public func closeOutput() {
            guard isOpen else { return }
            if pending.isEmpty {
                shutdownOutput()
            } else {
                closeOutputWhenFlushed = true
                flush()
            }
        }

        /// Closes once everything written was sent.
        public func closeAfterFlush() {
            guard isOpen else { return }
            if pending.isEmpty {
                close()
            } else {
                closeWhenFlushed = true
                flush()
            }
        }

        /// The end of output: TLS's `close_notify`, then the TCP half-close.
        private func shutdownOutput() {
            if let tls, !handshaking { c_switchyard_tls_shutdown(tls) }
            shutdown(fd, Int32(SHUT_WR))
        }

        /// Closes now; unsent bytes are dropped. The delegate hears of it on the next loop turn.
        public func close(error: (any Error)? = nil) {
            guard isOpen else { return }
            isOpen = false
            if let tls {
                // close_notify on a close asked for (a failed session has nothing more to say).
                if error == nil && !handshaking { c_switchyard_tls_shutdown(tls) }
                c_switchyard_tls_session_free(tls)
                self.tls = nil
                handshakeTimer?.cancel()
                handshakeTimer = nil
            }
            loop.deregister(fd: fd)
            Glibc.close(fd)
            DescriptorBudget.release()
            pending.removeAll()
            pendingBytes = 0
            flushedCount = 0
            loop.executeLater { [self] in
                let delegate = self.delegate
                self.delegate = nil
                delegate?.connectionClosed(error: error)
            }
        }

        private func sendFlushed() {
            if tls != nil {
                sendFlushedTLS()
                return
            }
            while flushedCount > 0 && isOpen {
                let attempted: Int
                let sent: Int
                if flushedCount == 1 {
                    attempted = pending[pending.startIndex].readableBytes
                    if attempted == 0 {
                        _ = pending.removeFirst()
                        flushedCount -= 1
                        continue
                    }
                    sent = pending[pending.startIndex].withUnsafeReadableBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                } else {
                    (attempted, sent) = sendVector()
                }
                if sent < 0 {
                    if errno == EAGAIN {
                        waitingForOutput = true
                        break
                    }
                    if errno == EINTR { continue }
                    close(error: SocketError(operation: "send", errno: errno))
                    return
                }
                consume(sent)
                if sent < attempted {
                    waitingForOutput = true
                    break
                }
            }
            finishSending()
        }

        /// After a round of sends: writability, and a close or half-close that waited for the output.
        private func finishSending() {
            if !isWritable && pendingBytes < lowWatermark && isOpen {
                isWritable = true
                delegate?.connectionWritabilityChanged(isWritable: true)
            }
            guard isOpen, flushedCount == 0, pending.isEmpty else { return }
            if closeWhenFlushed {
                close()
            } else if closeOutputWhenFlushed {
                closeOutputWhenFlushed = false
                shutdownOutput()
            }
        }

        /// `sendFlushed` through the TLS session. A write that OpenSSL could not finish is repeated later
        /// with the same bytes at its start, as it requires: they are still the front of `pending`.
        private func sendFlushedTLS() {
            guard let tls, !handshaking, !writeWantsInput else { return }
            while flushedCount > 0 && isOpen {
                let front = pending[pending.startIndex]
                if front.readableBytes == 0 {
                    _ = pending.removeFirst()
                    flushedCount -= 1
                    continue
                }
                let result: Int32
                if flushedCount > 1 && front.readableBytes < Self.tlsRecordSize {
                    result = withUnsafeTemporaryAllocation(byteCount: Self.tlsRecordSize, alignment: 16) { record in
                        let length = gatherFlushed(into: record)
                        return c_switchyard_tls_write(tls, record.baseAddress, Int32(length))
                    }
                } else {
                    result = front.withUnsafeReadableBytes { c_switchyard_tls_write(tls, $0.baseAddress, Int32(min($0.count, 1 << 30))) }
                }
                if result > 0 {
                    consume(Int(result))
                    continue
                }
                if result == C_SWITCHYARD_TLS_WANT_WRITE {
                    waitingForOutput = true
                } else if result == C_SWITCHYARD_TLS_WANT_READ {
                    writeWantsInput = true
                } else {
                    close(error: TLSError.last("TLS write failed"))
                    return
                }
                break
            }
            finishSending()
        }

        /// Copies the flushed buffers, from the front, into `record` until it is full; returns the length.
        private func gatherFlushed(into record: UnsafeMutableRawBufferPointer) -> Int {
            var length = 0
            var index = pending.startIndex
            for _ in 0..<flushedCount {
                let room = record.count - length
                guard room > 0 else { break }
                length += pending[index].withUnsafeReadableBytes { bytes in
                    let count = min(bytes.count, room)
                    if count > 0 { (record.baseAddress! + length).copyMemory(from: bytes.baseAddress!, byteCount: count) }
                    return count
                }
                index = pending.index(after: index)
            }
            return length
        }

        /// One `sendmsg` of up to 64 flushed buffers: (bytes attempted, bytes sent or -1).
        private func sendVector() -> (Int, Int) {
            let count = min(flushedCount, 64)
            return withUnsafeTemporaryAllocation(of: iovec.self, capacity: count) { vectors in
                var attempted = 0
                var index = pending.startIndex
                // The buffers stay in `pending` (alive) for the duration of the call.
                for slot in 0..<count {
                    let length = pending[index].readableBytes
                    let base = pending[index].withUnsafeReadableBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress) }
                    vectors[slot] = iovec(iov_base: base, iov_len: length)
                    attempted += length
                    index = pending.index(after: index)
                }
                var message = msghdr()
                message.msg_iov = vectors.baseAddress
                message.msg_iovlen = count
                return (attempted, sendmsg(fd, &message, Int32(MSG_NOSIGNAL)))
            }
        }

        /// Drops `count` sent bytes from the front of `pending`.
        private func consume(_ count: Int) {
            var left = count
            pendingBytes -= count
            while flushedCount > 0 {
                let length = pending[pending.startIndex].readableBytes
                guard length <= left else {
                    pending[pending.startIndex].moveReaderIndex(forwardBy: left)
                    return
                }
                _ = pending.removeFirst()
                flushedCount -= 1
                left -= length
            }
        }

        // MARK: Input

        /// Stops delivering reads (backpressure); the kernel buffers, then the peer waits.
        public func pauseReads() {
            readsPaused = true
        }

        /// Delivers reads again, starting with what arrived while paused (on the next loop turn).
        public func resumeReads() {
            guard readsPaused else { return }
            readsPaused = false
            guard readReady else { return }
            readReady = false
            loop.executeLater { [self] in
                if isOpen && !readsPaused { readAvailable() }
            }
        }

        private func readAvailable() {
            if tls != nil {
                readAvailableTLS()
                return
            }
            var delivered = false
            var drained = false
            for _ in 0..<Self.readsPerEvent {
                guard isOpen, !readsPaused, !inputClosed else { break }
                // If the last reader kept its bytes, this takes fresh memory of this connection's size.
                loop.readBuffer.clear(minimumCapacity: readSize)
                let size = readSize
                let count = loop.readBuffer.withUnsafeMutableWritableBytes { recv(fd, $0.baseAddress, size, 0) }
                if count > 0 {
                    loop.readBuffer.moveWriterIndex(forwardBy: count)
                    adaptReadSize(after: count)
                    delivered = true
                    delegate?.connectionRead(loop.readBuffer)
                    if count < size && !peerFinished {
                        drained = true
                        break
                    }
                } else if count == 0 {
                    drained = true
                    peerEndedInput(afterDelivering: &delivered)
                    break
                } else if errno == EAGAIN {
                    drained = true
                    break
                } else if errno != EINTR {
                    close(error: SocketError(operation: "recv", errno: errno))
                    return
                }
            }
            finishReads(delivered: delivered, drained: drained)
        }

        /// The peer finished sending: the batch read so far ends first, then the delegate learns it.
        @inline(__always)
        private func peerEndedInput(afterDelivering delivered: inout Bool) {
            inputClosed = true
            if delivered {
                delivered = false
                delegate?.connectionReadComplete()
            }
            if isOpen { delegate?.connectionInputClosed() }
        }

        /// Ends a batch of reads (plain or TLS): the delegate's batch end, and, when bytes may still be
        /// waiting, a read later. Edge-triggered: no new edge comes for bytes already waiting (or held by
        /// the TLS session), so remember them.
        @inline(__always)
        private func finishReads(delivered: Bool, drained: Bool) {
            if delivered && isOpen { delegate?.connectionReadComplete() }
            if !drained && isOpen && !inputClosed {
                if readsPaused {
                    readReady = true
                } else {
                    loop.executeLater { [self] in
                        if isOpen && !readsPaused { readAvailable() } else { readReady = true }
                    }
                }
            }
        }

        /// `readAvailable` through the TLS session: reads until OpenSSL wants more input (it may hold
        /// decrypted bytes, or bytes it read ahead, that no edge will announce).
        private func readAvailableTLS() {
            guard let tls, !handshaking else { return }
            var delivered = false
            var drained = false
            reading: for _ in 0..<Self.readsPerEvent {
                guard isOpen, !readsPaused, !inputClosed else { break }
                let size = min(readSize, Self.tlsRecordSize)
                loop.readBuffer.clear(minimumCapacity: size)
                let count = loop.readBuffer.withUnsafeMutableWritableBytes { c_switchyard_tls_read(tls, $0.baseAddress, Int32(size)) }
                if count > 0 {
                    loop.readBuffer.moveWriterIndex(forwardBy: Int(count))
                    adaptReadSize(after: Int(count))
                    delivered = true
                    delegate?.connectionRead(loop.readBuffer)
                    continue
                }
                switch count {
                case C_SWITCHYARD_TLS_WANT_READ:
                    drained = true
                case C_SWITCHYARD_TLS_WANT_WRITE:
                    readWantsOutput = true
                    drained = true
                case C_SWITCHYARD_TLS_CLOSED:
                    drained = true
                    peerEndedInput(afterDelivering: &delivered)
                default:
                    close(error: TLSError.last("TLS read failed"))
                    return
                }
                break reading
            }
            finishReads(delivered: delivered, drained: drained)
        }

        /// Follows the sizes this connection's reads come in (as SwiftNIO's adaptive allocator does):
        /// doubles after a read that filled it, halves after one that used a quarter. A handler that
        /// keeps what it read (a slow client's pending output, half a request head) then holds memory
        /// of about that size, not the loop's whole buffer.
        private func adaptReadSize(after count: Int) {
            if count == readSize {
                readSize = min(readSize * 2, Self.maximumReadSize)
            } else if count <= readSize / 4 {
                readSize = max(readSize / 2, Self.minimumReadSize)
            }
        }

        // MARK: EpollHandler

        func handleEvents(_ events: UInt32) {
            if tls != nil {
                handleTLSEvents(events)
                return
            }
            if events & EPOLLOUT.rawValue != 0 && waitingForOutput {
                waitingForOutput = false
                sendFlushed()
            }
            guard isOpen else { return }
            if events & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue) != 0 { peerFinished = true }
            if events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                if readsPaused || inputClosed {
                    readReady = !inputClosed
                    if events & EPOLLERR.rawValue != 0 { failWithSocketError() }
                } else {
                    readAvailable()
                }
            }
        }

        private func handleTLSEvents(_ events: UInt32) {
            if handshaking {
                continueHandshake()
                return
            }
            let input = events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
            if events & EPOLLOUT.rawValue != 0 {
                if waitingForOutput {
                    waitingForOutput = false
                    sendFlushed()
                }
                if readWantsOutput && isOpen {
                    readWantsOutput = false
                    if readsPaused || inputClosed { readReady = !inputClosed } else { readAvailable() }
                }
            }
            guard isOpen, input else { return }
            if writeWantsInput {
                writeWantsInput = false
                sendFlushed()
                guard isOpen else { return }
            }
            if readsPaused || inputClosed {
                readReady = !inputClosed
                if events & EPOLLERR.rawValue != 0 { failWithSocketError() }
            } else {
                readAvailable()
            }
        }

        func loopStopped() {
            close()
        }

        private func failWithSocketError() {
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            if code != 0 { close(error: SocketError(operation: "socket", errno: code)) }
        }

        // MARK: Descriptors

        /// A non-blocking, close-on-exec TCP socket of `address`'s family (-1 on failure, errno set).
        static func openStreamSocket(for address: SocketAddress) -> Int32 {
            socket(Int32(address.protocol.rawValue), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }

        /// Small writes go out at once: the proxy already batches what belongs together before it sends.
        static func disableNagle(_ fd: Int32) {
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }

        // MARK: Addresses

        /// The peer's address (nil once closed, or if the kernel no longer knows it).
        public var remoteAddress: SocketAddress? {
            guard isOpen else { return nil }
            return Self.address(of: fd, peer: true)
        }

        public var localAddress: SocketAddress? {
            guard isOpen else { return nil }
            return Self.address(of: fd, peer: false)
        }

        static func address(of fd: Int32, peer: Bool) -> SocketAddress? {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let result = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { peer ? getpeername(fd, $0, &length) : getsockname(fd, $0, &length) }
            }
            guard result == 0 else { return nil }
            return SocketAddress(storage)
        }
    }

    extension SocketAddress {
        /// From a kernel address (IPv4 or IPv6).
        init?(_ storage: sockaddr_storage) {
            var storage = storage
            switch Int32(storage.ss_family) {
            case AF_INET:
                let address = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self) }
                self = SocketAddress(address)
            case AF_INET6:
                let address = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self) }
                self = SocketAddress(address)
            default:
                return nil
            }
        }
    }
#endif
