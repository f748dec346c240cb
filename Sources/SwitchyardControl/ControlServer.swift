import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import OpenAPIHummingbird
import ServiceLifecycle
import SwitchyardAPI
import SwitchyardStore

/// The control API's HTTP server: Hummingbird serving the handlers generated from openapi.yaml.
public struct ControlServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var limits: APILimits
        /// HTTPS when set (`--api-tls-cert`, `--api-tls-key`); plain HTTP otherwise.
        public var tls: APICertificateFiles?
        /// Seals certificates' private keys; nil: certificates cannot be created (503), nor served.
        public var masterKey: MasterKey?

        public init(
            host: String = "127.0.0.1", port: Int = 9900, limits: APILimits = APILimits(), tls: APICertificateFiles? = nil,
            masterKey: MasterKey? = nil
        ) {
            self.host = host
            self.port = port
            self.limits = limits
            self.tls = tls
            self.masterKey = masterKey
        }

        /// Parses "host:port" ("[::1]:9900" for IPv6).
        public init(address: String, limits: APILimits = APILimits(), tls: APICertificateFiles? = nil, masterKey: MasterKey? = nil) throws {
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
                (0...65535).contains(port)
            else {
                throw ControlServerError.invalidAddress(address)
            }
            var host = String(address[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self.init(host: host.isEmpty ? "0.0.0.0" : host, port: port, limits: limits, tls: tls, masterKey: masterKey)
        }
    }

    public let configuration: Configuration
    public let store: Store
    public let metrics: APIMetrics
    let observed: ObservedState
    let tokenCache: TokenCache
    let logger: Logger

    public init(
        configuration: Configuration, store: Store, metrics: APIMetrics = APIMetrics(), observed: ObservedState = ObservedState(dataPlane: nil),
        logger: Logger
    ) {
        self.init(
            configuration: configuration, store: store, metrics: metrics,
            tokenCache: TokenCache(unknownLifetime: configuration.limits.unknownTokenLifetime), observed: observed, logger: logger)
    }

    init(configuration: Configuration, store: Store, metrics: APIMetrics, tokenCache: TokenCache, observed: ObservedState, logger: Logger) {
        self.observed = observed
        self.configuration = configuration
        self.store = store
        self.metrics = metrics
        self.tokenCache = tokenCache
        self.logger = logger
    }

    /// The Hummingbird application; `onRunning` learns the bound port (useful with port 0).
    public func makeApplication(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let limits = configuration.limits
        let router = Router()
        // Outermost, so that every JSON answer (problems of the middleware below included) ends with a newline.
        router.add(middleware: JSONNewlineMiddleware())
        router.add(middleware: HTTPErrorProblemMiddleware(routes: RouteTable(openAPIDocument: OpenAPIDocument.yaml)))
        let handler = APIHandler(
            store: store, metrics: metrics, tokenCache: tokenCache, openAPIDocument: OpenAPIDocument.yaml, observed: observed,
            masterKey: configuration.masterKey, logger: logger)
        try handler.registerHandlers(
            on: router,
            configuration: .init(
                dateTranscoder: InternetDateTranscoder(), jsonEncodingOptions: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]),
            middlewares: [
                // The body's limits first, so that its time counts from the request's start (a token lookup
                // included); nothing reads the body before `NullRejectingMiddleware`, after authentication.
                ProblemMiddleware(metrics: metrics, logger: logger),
                BodyLimitMiddleware(limits: limits, gate: LargeBodyGate(limit: limits.maximumLargeBodies)),
                AuthMiddleware(store: store, cache: tokenCache), NullRejectingMiddleware(),
                EnumValueMiddleware(),
                WaitAppliedMiddleware(store: store), PreencodedBodyMiddleware(),
            ])
        let logger = self.logger
        let scheme = configuration.tls == nil ? "http" : "https"
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: TimeAmount(limits.idleTimeout)))
        return Application(
            router: router,
            server: try configuration.tls.map { try .tls(http1, tlsConfiguration: $0.serverConfiguration()) } ?? http1,
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "switchyard",
                availableConnectionsDelegate: .maximum(limits.maximumConnections, logger: logger)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info(
                    "control API listening",
                    metadata: ["address": "\(channel.localAddress?.description ?? "?")", "scheme": "\(scheme)"])
                await onRunning(port)
            },
            logger: logger)
    }
}

public enum ControlServerError: Error, CustomStringConvertible {
    case invalidAddress(String)

    public var description: String {
        switch self {
        case .invalidAddress(let address): "invalid API address '\(address)': expected host:port, e.g. 127.0.0.1:9900"
        }
    }
}
