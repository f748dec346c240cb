import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SwitchyardControl
import SwitchyardCore
import SwitchyardIO
import SwitchyardProxy
import SwitchyardStore

@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "A load balancer run through an HTTP API, with its state in PostgreSQL.",
        subcommands: [Serve.self, Migrate.self])
}

/// Options every command that talks to PostgreSQL takes.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "PostgreSQL URL (env DATABASE_URL), e.g. postgres://user:pw@127.0.0.1:5432/switchyard")
    var databaseURL: String? = ProcessInfo.processInfo.environment["DATABASE_URL"]

    @Option(help: "Log level: \(Self.logLevels) (env LOG_LEVEL).")
    var logLevel: String = ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "info"

    static let logLevels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")

    /// The level `logLevel` names, in any case; a level that does not exist is an error at start, not
    /// silently "info" (a typo would otherwise hide the very messages someone asked for).
    var level: Logger.Level {
        get throws {
            guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
                throw ValidationError("invalid log level '\(logLevel)' (--log-level or LOG_LEVEL): expected one of \(Self.logLevels)")
            }
            return level
        }
    }

    func validate() throws {
        _ = try level
    }

    func makeLogger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = (try? level) ?? .info
        return logger
    }

    func storeConfiguration() throws -> StoreConfiguration {
        guard let databaseURL, !databaseURL.isEmpty else {
            throw ValidationError("no database: pass --database-url or set DATABASE_URL (scripts/run starts a local PostgreSQL)")
        }
        return try StoreConfiguration(url: databaseURL)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Migrate the store, then serve the control API and proxy traffic until SIGTERM/SIGINT.")

    @OptionGroup var store: StoreOptions

    @Option(help: "Address of the control API (env SWITCHYARD_API).")
    var api: String = ProcessInfo.processInfo.environment["SWITCHYARD_API"] ?? "127.0.0.1:9900"

    @Option(
        name: .customLong("api-tls-cert"),
        help:
            "PEM certificate chain (leaf first) for serving the control API over HTTPS (env SWITCHYARD_API_TLS_CERT); needs --api-tls-key. Read again when the file changes."
    )
    var apiTLSCert: String? = ProcessInfo.processInfo.environment["SWITCHYARD_API_TLS_CERT"].flatMap { $0.isEmpty ? nil : $0 }

    @Option(name: .customLong("api-tls-key"), help: "PEM private key of --api-tls-cert (env SWITCHYARD_API_TLS_KEY).")
    var apiTLSKey: String? = ProcessInfo.processInfo.environment["SWITCHYARD_API_TLS_KEY"].flatMap { $0.isEmpty ? nil : $0 }

    @Option(help: "Name of this instance in GET /v1/instances (env SWITCHYARD_INSTANCE_NAME).")
    var instanceName: String = ProcessInfo.processInfo.environment["SWITCHYARD_INSTANCE_NAME"] ?? ProcessInfo.processInfo.hostName

    @Option(
        help:
            "Where a generated bootstrap admin token is written, mode 0600, in a directory only its owner may enter (env SWITCHYARD_ADMIN_TOKEN_FILE); empty: only shown on the terminal."
    )
    var adminTokenFile: String = ProcessInfo.processInfo.environment["SWITCHYARD_ADMIN_TOKEN_FILE"] ?? ".switchyard/secrets/admin-token"

    @Option(
        help:
            "File holding the 256-bit master key that encrypts certificates' private keys, as base64 (openssl rand -base64 32), mode 0600 (env SWITCHYARD_MASTER_KEY_FILE). Every instance of one database needs the same key. Without it, certificates cannot be created or served."
    )
    var masterKeyFile: String? = ProcessInfo.processInfo.environment["SWITCHYARD_MASTER_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 }

    @Option(
        help:
            "Event loops (threads) of the data plane (env SWITCHYARD_PROXY_THREADS); default: one per core. 0 runs the control plane alone: no listeners, no health probes."
    )
    var proxyThreads: Int =
        ProcessInfo.processInfo.environment["SWITCHYARD_PROXY_THREADS"].flatMap { Int($0) }
        ?? ProcessInfo.processInfo.activeProcessorCount

    @Option(
        help:
            "Client connections at most, over every listener of this instance (env SWITCHYARD_MAX_CONNECTIONS); default: half the open-file limit (raised to its hard limit at start), less a reserve of 256."
    )
    var maxConnections: Int? = ProcessInfo.processInfo.environment["SWITCHYARD_MAX_CONNECTIONS"].flatMap { Int($0) }

    @Option(help: "Seconds after which an API connection that sends nothing is closed (env SWITCHYARD_API_IDLE_TIMEOUT; default 60).")
    var apiIdleTimeout: Int = Self.environmentInteger("SWITCHYARD_API_IDLE_TIMEOUT") ?? Int(Self.apiDefaults.idleTimeout.components.seconds)

    @Option(help: "Seconds a request body may take to arrive, however steadily (env SWITCHYARD_API_BODY_TIMEOUT; default 60).")
    var apiBodyTimeout: Int = Self.environmentInteger("SWITCHYARD_API_BODY_TIMEOUT") ?? Int(Self.apiDefaults.bodyTimeout.components.seconds)

    @Option(help: "API connections open at once; more wait in the accept queue (env SWITCHYARD_API_MAX_CONNECTIONS; default 512).")
    var apiMaxConnections: Int = Self.environmentInteger("SWITCHYARD_API_MAX_CONNECTIONS") ?? Self.apiDefaults.maximumConnections

    @Option(help: "Largest API request body in bytes, whatever its Content-Type (env SWITCHYARD_API_MAX_BODY_BYTES; default 16 MiB).")
    var apiMaxBodyBytes: Int = Self.environmentInteger("SWITCHYARD_API_MAX_BODY_BYTES") ?? Self.apiDefaults.maximumBodyBytes

    @Option(help: "API request bodies over 64 KiB held at once; another is answered 503 (env SWITCHYARD_API_MAX_LARGE_BODIES; default 4).")
    var apiMaxLargeBodies: Int = Self.environmentInteger("SWITCHYARD_API_MAX_LARGE_BODIES") ?? Self.apiDefaults.maximumLargeBodies

    static let apiDefaults = APILimits()

    /// An integer from the environment; a value that is not one is reported by `validate()`.
    static func environmentInteger(_ name: String) -> Int? {
        ProcessInfo.processInfo.environment[name].flatMap { Int($0) }
    }

    var apiLimits: APILimits {
        var limits = APILimits()
        limits.idleTimeout = .seconds(apiIdleTimeout)
        limits.bodyTimeout = .seconds(apiBodyTimeout)
        limits.maximumConnections = apiMaxConnections
        limits.maximumBodyBytes = apiMaxBodyBytes
        limits.maximumLargeBodies = apiMaxLargeBodies
        return limits
    }

    func validate() throws {
        guard proxyThreads >= 0 else { throw ValidationError("--proxy-threads must be 0 (no data plane) or more") }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be 1 or more") }
        for name in [
            "SWITCHYARD_PROXY_THREADS", "SWITCHYARD_MAX_CONNECTIONS", "SWITCHYARD_API_IDLE_TIMEOUT", "SWITCHYARD_API_BODY_TIMEOUT",
            "SWITCHYARD_API_MAX_CONNECTIONS", "SWITCHYARD_API_MAX_BODY_BYTES", "SWITCHYARD_API_MAX_LARGE_BODIES",
        ] {
            if let value = ProcessInfo.processInfo.environment[name], Int(value) == nil {
                throw ValidationError("\(name) must be an integer, not '\(value)'")
            }
        }
        guard apiIdleTimeout >= 1 else { throw ValidationError("--api-idle-timeout must be at least 1 (seconds)") }
        guard apiBodyTimeout >= 1 else { throw ValidationError("--api-body-timeout must be at least 1 (seconds)") }
        guard apiMaxConnections >= 1 else { throw ValidationError("--api-max-connections must be at least 1") }
        guard apiMaxBodyBytes >= 1024 else { throw ValidationError("--api-max-body-bytes must be at least 1024") }
        guard apiMaxLargeBodies >= 1 else { throw ValidationError("--api-max-large-bodies must be at least 1") }
        guard (apiTLSCert == nil) == (apiTLSKey == nil) else {
            throw ValidationError("--api-tls-cert and --api-tls-key go together: pass both for HTTPS, or neither")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
        let logger = store.makeLogger("switchyard")
        let masterKey = try masterKeyFile.map { path in
            do {
                return try MasterKey(contentsOfFile: path)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        if let masterKey, let masterKeyFile {
            logger.info("master key loaded", metadata: ["file": "\(masterKeyFile)", "key_id": "\(masterKey.id)"])
            let mode = (try? FileManager.default.attributesOfItem(atPath: masterKeyFile)[.posixPermissions] as? Int) ?? 0
            if mode & 0o077 != 0 {
                logger.warning(
                    "the master key file may be read by others than its owner: chmod 600 it", metadata: ["file": "\(masterKeyFile)"])
            }
        } else {
            logger.notice("no master key (--master-key-file, SWITCHYARD_MASTER_KEY_FILE): certificates cannot be created or served")
        }
        let storeService = Store(configuration: try store.storeConfiguration(), logger: logger)
        let snapshot = RuntimeConfigBox()
        let apiTLS = try apiTLSCert.map { certificate in
            try APICertificateFiles(certificatePath: certificate, keyPath: apiTLSKey ?? "", logger: logger)
        }
        let openFiles = OpenFileLimit.raiseToHardLimit()
        DescriptorBudget.configure(openFiles: openFiles)
        let proxy =
            try proxyThreads == 0
            ? nil
            : ProxyService(
                configuration: .init(
                    eventLoops: proxyThreads, maxConnections: maxConnections ?? OpenFileLimit.defaultMaxConnections(openFiles: openFiles)),
                box: snapshot, logger: logger)
        let control = ControlService(
            configuration: .init(
                api: try ControlServer.Configuration(address: api, limits: apiLimits, tls: apiTLS, masterKey: masterKey), instanceName: instanceName,
                adminToken: ProcessInfo.processInfo.environment["SWITCHYARD_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
                adminTokenFile: adminTokenFile),
            store: storeService, snapshot: snapshot, dataPlane: proxy, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: storeService)]
        if let proxy { services.append(.init(service: proxy)) }
        services.append(.init(service: control))
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the database migrations and exit (serve also does this).")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let logger = store.makeLogger("switchyard")
        let storeService = Store(configuration: try store.storeConfiguration(), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await storeService.run() }
            let applied = try await Migrator().migrate(storeService)
            print(applied.isEmpty ? "migrations: nothing to apply" : "migrations applied: \(applied.joined(separator: ", "))")
            group.cancelAll()
        }
    }
}
