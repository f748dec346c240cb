import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import PostgresNIO
import ServiceLifecycle
import SwitchyardControl
import SwitchyardCore
import SwitchyardProxy
import SwitchyardStore
import Testing

/// A real Switchyard control plane for one test: its own PostgreSQL database (created and dropped
/// here), the API on a port the kernel picks, and an HTTP client that talks to it over a socket.
struct TestServer: Sendable {
    static let adminToken = "test-admin-secret"

    let port: Int
    let storeConfiguration: StoreConfiguration
    let group: ServiceGroup
    let finished: Task<Void, any Error>
    /// The data plane serving this server's snapshots (nil for a control plane alone).
    var proxy: ProxyService? = nil

    /// The server's PostgreSQL URL for administration (creating test databases).
    static var adminURL: String {
        get throws {
            let environment = ProcessInfo.processInfo.environment
            guard let url = environment["SWITCHYARD_TEST_DATABASE_URL"] ?? environment["DATABASE_URL"] else {
                throw TestSetupError("set SWITCHYARD_TEST_DATABASE_URL (scripts/test does) to a PostgreSQL that may create databases")
            }
            return url
        }
    }

    /// The master key of every test server: the file of SWITCHYARD_MASTER_KEY_FILE (scripts/test makes
    /// one), else a random key for this run.
    static let masterKey: MasterKey = {
        if let path = ProcessInfo.processInfo.environment["SWITCHYARD_MASTER_KEY_FILE"], !path.isEmpty {
            return try! MasterKey(contentsOfFile: path)
        }
        var generator = SystemRandomNumberGenerator()
        return try! MasterKey(bytes: (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }()

    static let logger: Logger = {
        var logger = Logger(label: "switchyard-test")
        logger.logLevel = ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }()

    /// Creates a fresh database and runs `body` against a server on it; everything is torn down after.
    static func with<T>(
        pollInterval: Duration = .seconds(5), dataPlane: Bool = true, apiLimits: APILimits = APILimits(), apiTLS: APICertificateFiles? = nil,
        masterKey: MasterKey? = TestServer.masterKey, _ body: (TestServer) async throws -> T
    ) async throws -> T {
        let database = try await createDatabase()
        let server = try await start(
            storeConfiguration: database, pollInterval: pollInterval, dataPlane: dataPlane, apiLimits: apiLimits, apiTLS: apiTLS, masterKey: masterKey)
        do {
            let value = try await body(server)
            try await server.stop()
            try await dropDatabase(database)
            return value
        } catch {
            try? await server.stop()
            try? await dropDatabase(database)
            throw error
        }
    }

    /// `dataPlane: false` starts the control plane alone (`serve --proxy-threads 0`). `adminToken: nil`
    /// lets the server generate the bootstrap token (into `adminTokenFile`). A server that fails to start
    /// throws its error.
    static func start(
        storeConfiguration: StoreConfiguration, pollInterval: Duration = .seconds(5), dataPlane: Bool = true,
        adminToken: String? = TestServer.adminToken, adminTokenFile: String? = nil, apiLimits: APILimits = APILimits(),
        apiTLS: APICertificateFiles? = nil, masterKey: MasterKey? = TestServer.masterKey, logger: Logger = TestServer.logger
    ) async throws -> TestServer {
        let store = Store(configuration: storeConfiguration, logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let snapshot = RuntimeConfigBox()
        // Two event loops, so that tests see connections spread over loops as in production.
        OpenFiles.raise()
        let proxy =
            try dataPlane
            ? ProxyService(
                configuration: .init(eventLoops: 2, limits: HTTPLimits(headTimeout: .milliseconds(500))), box: snapshot, logger: logger)
            : nil
        let control = ControlService(
            configuration: .init(
                api: .init(host: "127.0.0.1", port: 0, limits: apiLimits, tls: apiTLS, masterKey: masterKey), instanceName: "test", adminToken: adminToken, adminTokenFile: adminTokenFile,
                heartbeatInterval: .milliseconds(200), pollInterval: pollInterval),
            store: store, snapshot: snapshot, dataPlane: proxy, logger: logger,
            onRunning: { port in continuation.yield(port) })
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: store)]
        if let proxy { services.append(.init(service: proxy)) }
        services.append(.init(service: control))
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        let finished = Task { try await group.run() }
        Task {
            _ = await finished.result
            continuation.finish()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            try await finished.value
            throw TestSetupError("the server did not start")
        }
        return TestServer(port: port, storeConfiguration: storeConfiguration, group: group, finished: finished, proxy: proxy)
    }

    /// Shuts the server down gracefully; after 10 s it is cancelled, and after 5 s more the test goes
    /// on without it (a service stuck where cancellation cannot reach, e.g. a query on a dead
    /// connection, then leaks instead of holding up the whole suite).
    func stop() async throws {
        await group.triggerGracefulShutdown()
        let finished = self.finished
        let deadline = Task {
            try await Task.sleep(for: .seconds(10))
            finished.cancel()
        }
        defer { deadline.cancel() }
        let resumed = NIOLockedValueBox(false)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeOnce: @Sendable () -> Void = {
                if resumed.withLockedValue({ done in
                    defer { done = true }
                    return !done
                }) {
                    continuation.resume()
                }
            }
            Task {
                _ = await finished.result
                resumeOnce()
            }
            Task {
                try? await Task.sleep(for: .seconds(15))
                resumeOnce()
            }
        }
    }

    // MARK: Databases

    static func createDatabase() async throws -> StoreConfiguration {
        let admin = try StoreConfiguration(url: try adminURL)
        let name = "sy_test_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        try await runAdmin(admin, "CREATE DATABASE \(name)")
        return admin.with(database: name)
    }

    static func dropDatabase(_ configuration: StoreConfiguration) async throws {
        let admin = try StoreConfiguration(url: try adminURL)
        try await runAdmin(admin, "DROP DATABASE IF EXISTS \(configuration.database) WITH (FORCE)")
    }

    static func runAdmin(_ admin: StoreConfiguration, _ sql: String) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: admin.host, port: admin.port, username: admin.username, password: admin.password, database: admin.database,
                tls: .disable),
            id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
    }

    /// Runs `body` with a store of its own on the test's database, running until `body` returns.
    func withStore(_ body: (Store) async throws -> Void) async throws {
        let store = Store(configuration: storeConfiguration, logger: Self.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            try await body(store)
            group.cancelAll()
        }
    }

    /// Runs `sql` in the test's own database and returns the first column of every row as text.
    func sql(_ sql: String) async throws -> [String?] {
        try await Self.sql(sql, in: storeConfiguration)
    }

    /// Runs `sql` in the database of `storeConfiguration` (with or without a server on it).
    static func sql(_ sql: String, in storeConfiguration: StoreConfiguration) async throws -> [String?] {
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: storeConfiguration.host, port: storeConfiguration.port, username: storeConfiguration.username,
                password: storeConfiguration.password, database: storeConfiguration.database, tls: .disable),
            id: 2, logger: Self.logger)
        do {
            var values: [String?] = []
            for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger).decode(String?.self) {
                values.append(value)
            }
            try await connection.close()
            return values
        } catch {
            try? await connection.close()
            throw error
        }
    }

    // MARK: HTTP

    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        }

        var text: String { String(decoding: body, as: UTF8.self) }

        /// The `field`s named in a problem+json `errors` list.
        var errorFields: [String] {
            (json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
        }

        subscript(header name: String) -> String? { headers.first(name: name) }

        var generation: Int? { self[header: "Switchyard-Generation"].flatMap { Int($0) } }
    }

    /// Sends one request. `token` defaults to the admin token; pass nil for none.
    func request(
        _ method: HTTPMethod, _ path: String, json: Any? = nil, rawBody: String? = nil, token: String? = TestServer.adminToken,
        headers extra: [String: String] = [:]
    ) async throws -> Response {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            request.body = .bytes(try JSONSerialization.data(withJSONObject: json))
            request.headers.add(name: "Content-Type", value: "application/json")
        } else if let rawBody {
            request.body = .bytes(Data(rawBody.utf8))
        }
        for (name, value) in extra { request.headers.replaceOrAdd(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
        let body = try await response.body.collect(upTo: 64 << 20)
        return Response(status: Int(response.status.code), headers: response.headers, body: Data(buffer: body))
    }

    func get(_ path: String, token: String? = TestServer.adminToken) async throws -> Response {
        try await request(.GET, path, token: token)
    }

    func post(_ path: String, _ json: Any, token: String? = TestServer.adminToken, headers: [String: String] = [:]) async throws -> Response {
        try await request(.POST, path, json: json, token: token, headers: headers)
    }

    func put(_ path: String, _ json: Any, headers: [String: String] = [:]) async throws -> Response {
        try await request(.PUT, path, json: json, headers: headers)
    }

    func patch(_ path: String, _ json: Any, headers: [String: String] = [:]) async throws -> Response {
        try await request(.PATCH, path, json: json, headers: headers)
    }

    func delete(_ path: String, headers: [String: String] = [:]) async throws -> Response {
        try await request(.DELETE, path, headers: headers)
    }

    /// Creates a pool and backends (on loopback addresses), expecting success. Without a `health_check`
    /// in `extra` the pool has none: the data plane of a test probes only the origins it starts, never
    /// an address or name that only stands for one.
    @discardableResult
    func makePool(_ name: String, _ extra: [String: Any] = [:], backends: [String] = []) async throws -> Response {
        var body = extra
        body["name"] = name
        if body["health_check"] == nil { body["health_check"] = ["type": "none"] }
        let response = try await post("/v1/pools", body)
        #expect(response.status == 201, "create pool \(name): \(response.text)")
        for (index, backend) in backends.enumerated() {
            let created = try await post("/v1/pools/\(name)/backends", ["name": backend, "address": "127.0.0.\(index + 1)", "port": 8080])
            #expect(created.status == 201, "create backend \(backend): \(created.text)")
        }
        return response
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
