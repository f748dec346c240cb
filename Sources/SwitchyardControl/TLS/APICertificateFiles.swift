import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

#if canImport(Glibc)
    import Glibc
#endif

/// The control API's certificate chain and private key, read from two PEM files, and read again when
/// either file changes (looked at, at a handshake, at most once a second): a renewed certificate,
/// written by an ACME client for instance, reaches new connections without a restart, while open
/// connections keep theirs. A pair that does not load (a half-written file, a key that does not match
/// the certificate) is logged and ignored: the last good pair goes on being served.
public final class APICertificateFiles: Sendable {
    public let certificatePath: String
    public let keyPath: String
    private let logger: Logger
    private let state: NIOLockedValueBox<State>

    /// How often, at most, a handshake looks at the files.
    static let recheckInterval: Duration = .seconds(1)

    struct Pair {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
        /// 0 for the pair loaded at start, which the base configuration already holds.
        var generation: Int
    }

    struct State {
        var pair: Pair
        /// The files as they were when last looked at, loaded or not (so that a bad pair is reported once).
        var stamp: FileStamp
        var checkedAt: ContinuousClock.Instant
    }

    /// What identifies a file's content without reading it: inode, size and modification time (of the
    /// target, when the path is a symbolic link, as with certbot's `live/` directory).
    struct FileStamp: Equatable {
        var certificate: [Int]
        var key: [Int]
    }

    /// Loads both files; throws a message naming the file when either is unusable.
    public init(certificatePath: String, keyPath: String, logger: Logger) throws {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.logger = logger
        let stamp = Self.stamp(certificatePath: certificatePath, keyPath: keyPath)
        let pair = try Self.load(certificatePath: certificatePath, keyPath: keyPath, generation: 0)
        state = NIOLockedValueBox(State(pair: pair, stamp: stamp, checkedAt: .now))
    }

    /// The API's TLS settings: TLS 1.2 and 1.3, the Mozilla "intermediate" cipher suites, curves X25519,
    /// P-256 and P-384, ALPN `http/1.1`, and the current pair for every handshake.
    public func serverConfiguration() -> TLSConfiguration {
        let pair = state.withLockedValue { $0.pair }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: pair.chain.map { .certificate($0) }, privateKey: .privateKey(pair.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuites = Self.tls12CipherSuites
        configuration.curves = [.x25519, .secp256r1, .secp384r1]
        configuration.applicationProtocols = ["http/1.1"]
        configuration.sslContextCallback = { [self] _, promise in
            let pair = currentPair()
            guard pair.generation > 0 else { return promise.succeed(.noChanges) }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain.map { .certificate($0) }
            override.privateKey = .privateKey(pair.key)
            promise.succeed(override)
        }
        return configuration
    }

    /// Mozilla "intermediate" (v5.7) for TLS 1.2, in its order; the TLS 1.3 suites are all three, always.
    static let tls12CipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    /// The pair to serve now, after looking at the files if a second has passed since the last look.
    func currentPair(now: ContinuousClock.Instant = .now) -> Pair {
        state.withLockedValue { state in
            guard now - state.checkedAt >= Self.recheckInterval else { return state.pair }
            state.checkedAt = now
            let stamp = Self.stamp(certificatePath: certificatePath, keyPath: keyPath)
            guard stamp != state.stamp else { return state.pair }
            state.stamp = stamp
            do {
                let generation = state.pair.generation + 1
                state.pair = try Self.loadElsewhere(certificatePath: certificatePath, keyPath: keyPath, generation: generation)
                logger.info("control API certificate reloaded", metadata: ["certificate": "\(certificatePath)"])
            } catch {
                logger.warning(
                    "control API certificate not reloaded: the previous one is still served",
                    metadata: ["certificate": "\(certificatePath)", "error": "\(error)"])
            }
            return state.pair
        }
    }

    static func load(certificatePath: String, keyPath: String, generation: Int) throws -> Pair {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw APICertificateError("cannot read a PEM certificate chain from \(certificatePath) (--api-tls-cert): \(error)")
        }
        guard !chain.isEmpty else { throw APICertificateError("\(certificatePath) (--api-tls-cert) holds no certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw APICertificateError("cannot read a PEM private key from \(keyPath) (--api-tls-key): \(error)")
        }
        // A context refuses a key that is not the leaf's: the mistake is reported here, not at each handshake.
        do {
            _ = try NIOSSLContext(
                configuration: .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
        } catch {
            throw APICertificateError("the key in \(keyPath) (--api-tls-key) does not match the certificate in \(certificatePath): \(error)")
        }
        return Pair(chain: chain, key: key, generation: generation)
    }

    /// `load` on another thread, waited for: a pair that fails to load leaves errors in the TLS
    /// library's per-thread error queue, which would fail the next handshake of the calling event loop.
    /// (`DispatchQueue.sync` would run the work on the calling thread.)
    static func loadElsewhere(certificatePath: String, keyPath: String, generation: Int) throws -> Pair {
        let outcome = NIOLockedValueBox<Result<Pair, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let result = Result { try load(certificatePath: certificatePath, keyPath: keyPath, generation: generation) }
            outcome.withLockedValue { $0 = result }
            done.signal()
        }
        done.wait()
        return try outcome.withLockedValue { $0! }.get()
    }

    static func stamp(certificatePath: String, keyPath: String) -> FileStamp {
        FileStamp(certificate: fileStamp(certificatePath), key: fileStamp(keyPath))
    }

    private static func fileStamp(_ path: String) -> [Int] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        return [Int(info.st_ino), Int(info.st_size), info.st_mtim.tv_sec, info.st_mtim.tv_nsec]
    }
}

public struct APICertificateError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
