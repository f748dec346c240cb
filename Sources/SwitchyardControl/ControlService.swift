import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SwitchyardCore
import SwitchyardStore
import Synchronization

/// The control plane as one `Service`: migrates the store, creates the bootstrap admin token when there is
/// none, then serves the API and heartbeats until shutdown. Run it beside the `Store` in a `ServiceGroup`.
public struct ControlService: Service {
    public struct Configuration: Sendable {
        public var api: ControlServer.Configuration
        public var instanceName: String
        /// The bootstrap admin token's secret (SWITCHYARD_ADMIN_TOKEN); generated when nil.
        public var adminToken: String?
        /// Where a generated bootstrap token is written (mode 0600, in a directory only its owner may
        /// enter; see `AdminTokenFile`); nil or empty: shown on the terminal only.
        public var adminTokenFile: String?
        public var heartbeatInterval: Duration
        /// How often the configuration is re-read when no NOTIFY arrives (a fallback).
        public var pollInterval: Duration

        public init(
            api: ControlServer.Configuration = .init(), instanceName: String = ProcessInfo.processInfo.hostName,
            adminToken: String? = nil, adminTokenFile: String? = nil, heartbeatInterval: Duration = .seconds(5),
            pollInterval: Duration = .seconds(5)
        ) {
            self.pollInterval = pollInterval
            self.api = api
            self.instanceName = instanceName
            self.adminToken = adminToken
            self.adminTokenFile = adminTokenFile
            self.heartbeatInterval = heartbeatInterval
        }
    }

    let configuration: Configuration
    let store: Store
    let metrics: APIMetrics
    /// The snapshot in force, kept current by the change feed (the data plane reads it).
    public let snapshot: RuntimeConfigBox
    let logger: Logger
    let onRunning: @Sendable (Int) async -> Void
    /// The data plane serving `snapshot`, told of every swap (nil: control plane only).
    let dataPlane: (any DataPlane)?

    public init(
        configuration: Configuration, store: Store, metrics: APIMetrics = APIMetrics(), snapshot: RuntimeConfigBox = RuntimeConfigBox(),
        dataPlane: (any DataPlane)? = nil, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.dataPlane = dataPlane
        self.configuration = configuration
        self.snapshot = snapshot
        self.store = store
        self.metrics = metrics
        self.logger = logger
        self.onRunning = onRunning
    }

    public func run() async throws {
        try await migrateWhenReachable()
        try await CertificateImport(store: store, masterKey: configuration.api.masterKey, logger: logger).run()
        try await bootstrapAdminToken()
        let tokenCache = TokenCache(unknownLifetime: configuration.api.limits.unknownTokenLifetime)
        let observed = ObservedState(dataPlane: dataPlane)
        let server = ControlServer(
            configuration: configuration.api, store: store, metrics: metrics, tokenCache: tokenCache, observed: observed, logger: logger)
        let application = try server.makeApplication(onRunning: onRunning)
        let instanceID = UUID()
        let heartbeat = InstanceHeartbeat(
            id: instanceID, store: store, name: configuration.instanceName, metrics: metrics, snapshot: snapshot, observed: observed,
            interval: configuration.heartbeatInterval, logger: logger)
        let applier = SnapshotApplier(
            box: snapshot, store: store, instanceID: instanceID, metrics: metrics, dataPlane: dataPlane,
            masterKey: configuration.api.masterKey, logger: logger)
        let tokenGeneration = Mutex<Int64?>(nil)
        let feed = ConfigChangeFeed(store: store, pollInterval: configuration.pollInterval, logger: logger) { stored in
            // A token created or revoked on any instance: forget the verified ones.
            let tokensChanged = tokenGeneration.withLock { seen in
                defer { seen = stored.tokenGeneration }
                return seen != stored.tokenGeneration
            }
            if tokensChanged { tokenCache.invalidateAll() }
            await applier.apply(stored)
        }
        // The feed waits for a PostgreSQL connection as long as it takes; shutting down must not wait for
        // it (while PostgreSQL is down that could be forever), so it runs beside the group and is cancelled.
        let feedTask = Task { try await feed.run() }
        defer { feedTask.cancel() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.run() }
            group.addTask { try await heartbeat.run() }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Applies migrations, waiting for PostgreSQL if it is not up yet (a refused migration is fatal).
    private func migrateWhenReachable() async throws {
        let migrator = try Migrator()
        var delay = Duration.milliseconds(250)
        while true {
            do {
                let applied = try await migrator.migrate(store)
                if !applied.isEmpty { logger.info("migrations applied", metadata: ["files": "\(applied.joined(separator: ", "))"]) }
                return
            } catch StoreError.unavailable(let message) {
                if Task.isShuttingDownGracefully || Task.isCancelled { throw CancellationError() }
                logger.warning("waiting for PostgreSQL", metadata: ["error": "\(PasswordRedaction.redacting(message))"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Creates the first admin token when there is none. A generated secret is written to the token file
    /// (see `AdminTokenFile`) and shown only on an interactive terminal: never in the log stream, which
    /// may be collected and kept elsewhere; the log line names the file instead.
    private func bootstrapAdminToken() async throws {
        if let secret = configuration.adminToken {
            if try await store.bootstrapAdminToken(name: "admin", secretHash: TokenSecret.hash(secret)) {
                logger.notice("created the admin token from SWITCHYARD_ADMIN_TOKEN")
            }
            return
        }
        guard try await !store.hasTokens() else { return }
        let file = configuration.adminTokenFile.flatMap { $0.isEmpty ? nil : AdminTokenFile(path: $0) }
        let terminal = SecretTerminal.interactive()
        guard file != nil || terminal != nil else {
            throw ControlServiceError.nowhereToShowAdminToken
        }
        let secret = TokenSecret.generate()
        // Written before the token exists: a file that cannot be written must not leave a token nobody knows.
        let staged = try file?.stage(secret)
        let created: Bool
        do {
            created = try await store.bootstrapAdminToken(name: "admin", secretHash: TokenSecret.hash(secret))
        } catch {
            staged?.discard()
            throw error
        }
        guard created else {
            // Another instance created the first token meanwhile.
            staged?.discard()
            return
        }
        try staged?.commit()
        if let file {
            logger.notice("created the admin token; its secret is in the admin token file", metadata: ["file": "\(file.path)"])
        } else {
            logger.notice("created the admin token; its secret was shown on the terminal only")
        }
        terminal?.show("switchyard: created the admin token \(secret)\(file.map { " (also in \($0.path))" } ?? "")\n")
    }
}

public enum ControlServiceError: Error, CustomStringConvertible {
    case nowhereToShowAdminToken

    public var description: String {
        switch self {
        case .nowhereToShowAdminToken:
            "there is no token yet, and a generated admin token would reach nobody: no --admin-token-file and no terminal; "
                + "set SWITCHYARD_ADMIN_TOKEN or --admin-token-file"
        }
    }
}
