import Foundation
import SwitchyardStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Data plane: connection limits and descriptor exhaustion")
struct ProxyLimitsTests {
    @Test("max_connections: at the cap new connections wait in the backlog, counted in /metrics, and are served once a place frees")
    func listenerCap() async throws {
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        try await TestServer.with { server in
            let port = try await server.proxy(pool: "web", backends: [("a", backend.port)], listener: ["max_connections": 2])
            let held = try [RawConnection(port: port), RawConnection(port: port)]
            for connection in held {
                connection.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(await connection.receive(until: "a\n").hasPrefix("HTTP/1.1 200 "))
            }
            // Connected by the kernel, not accepted: its request waits.
            let waiting = try RawConnection(port: port, timeout: 0.3)
            waiting.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(await waiting.receive(until: "a\n").isEmpty)
            let metrics = try await server.get("/metrics", token: nil).text
            #expect(metrics.contains("switchyard_listener_accept_paused_total{listener=\"web-listener\",reason=\"connection_limit\"}"))
            #expect(!metrics.contains("switchyard_listener_accept_paused_total{listener=\"web-listener\",reason=\"connection_limit\"} 0\n"))
            #expect(metrics.contains("switchyard_listener_active_connections{listener=\"web-listener\"} 2\n"))

            held[0].send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            #expect(await held[0].closedByPeer())
            waiting.setTimeout(5)
            #expect(await waiting.receive(until: "a\n").hasPrefix("HTTP/1.1 200 "))

            // A lower cap applies to new connections at once; nobody is cut.
            let lowered = try await server.put(
                "/v1/listeners/web-listener?wait=applied", ["bind": "127.0.0.1", "port": port, "default_pool": "web", "max_connections": 1])
            #expect(lowered.status == 200, "\(lowered.text)")
            held[1].send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await held[1].receive(until: "a\n").hasPrefix("HTTP/1.1 200 "))
        }
    }

    @Test("out of descriptors (a child process with a small RLIMIT_NOFILE): accepting pauses with backoff instead of spinning, and resumes")
    func descriptorExhaustion() async throws {
        let binary = try Self.switchyardBinary()
        let backend = try await TestBackend.start("a")
        defer { Task { await backend.stop() } }
        let database = try await TestServer.createDatabase()
        defer { Task { try? await TestServer.dropDatabase(database) } }
        let apiPort = try TestServer.freePort()
        let listenerPort = try TestServer.freePort()
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-nofile-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [
            "-c",
            "ulimit -n 128 && exec \"$0\" serve --database-url \"$1\" --api 127.0.0.1:\(apiPort) --proxy-threads 1 --max-connections 100000 --admin-token-file /dev/null",
            binary, database.urlForTests,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["SWITCHYARD_ADMIN_TOKEN"] = TestServer.adminToken
        environment["LOG_LEVEL"] = "warning"
        process.environment = environment
        let output = try FileHandle(forWritingTo: log)
        process.standardOutput = output
        process.standardError = output
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let api = "127.0.0.1:\(apiPort)"
        try await Self.waitFor("the child's API") { (try? await RawHTTP.exchange(port: apiPort, "GET /readyz HTTP/1.1\r\nHost: \(api)\r\nConnection: close\r\n\r\n", timeout: 1))?.hasPrefix("HTTP/1.1 200") == true }
        let config =
            #"{"pools": [{"name": "web", "health_check": {"type": "none"}, "backends": [{"name": "a", "address": "127.0.0.1", "port": \#(backend.port)}]}], "listeners": [{"name": "l", "bind": "127.0.0.1", "port": \#(listenerPort), "default_pool": "web"}]}"#
        let put = try await RawHTTP.exchange(
            port: apiPort,
            "PUT /v1/config?wait=applied HTTP/1.1\r\nHost: \(api)\r\nAuthorization: Bearer \(TestServer.adminToken)\r\nContent-Type: application/json\r\nContent-Length: \(config.utf8.count)\r\nConnection: close\r\n\r\n\(config)")
        #expect(put.hasPrefix("HTTP/1.1 200"), "\(put.prefix(300))")
        try await Self.waitFor("the listener") { (try? await RawHTTP.exchange(port: listenerPort, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout: 1))?.hasPrefix("HTTP/1.1 200") == true }

        // More connections than the process has descriptors: the kernel's backlog holds the rest.
        var held: [RawConnection] = []
        for _ in 0..<200 { held.append(try RawConnection(port: listenerPort, timeout: 0.2)) }
        try await Task.sleep(for: .milliseconds(300))
        let before = try Self.cpuSeconds(of: process.processIdentifier)
        try await Task.sleep(for: .seconds(1))
        let spent = try Self.cpuSeconds(of: process.processIdentifier) - before
        // A spinning accept loop burns a whole core (~1 s here); paused with backoff, almost nothing.
        #expect(spent < 0.4, "the child used \(spent) s of CPU in 1 s while out of descriptors")

        // The first connections were accepted before descriptors ran out. Their requests need a backend
        // connection: one may find the pooled one (or a descriptor something else just freed), the
        // others cannot open a socket. That is this process's shortage, answered 503, and never
        // counted against the backend.
        for connection in held[0..<5] { connection.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n") }
        var answers: [String] = []
        for connection in held[0..<5] { answers.append(await connection.receive(until: "\r\n\r\n")) }
        #expect(answers.contains { $0.hasPrefix("HTTP/1.1 503 ") }, "\(answers)")

        held.removeAll()
        try await Self.waitFor("traffic again") { (try? await RawHTTP.exchange(port: listenerPort, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout: 1))?.hasPrefix("HTTP/1.1 200") == true }
        let metrics = try await RawHTTP.exchange(port: apiPort, "GET /metrics HTTP/1.1\r\nHost: \(api)\r\nConnection: close\r\n\r\n")
        #expect(metrics.contains("switchyard_listener_accept_paused_total{listener=\"l\",reason=\"out_of_resources\"}"))
        #expect(!metrics.contains("switchyard_listener_accept_paused_total{listener=\"l\",reason=\"out_of_resources\"} 0\n"))
        #expect(metrics.contains("switchyard_backend_failures_total{pool=\"web\",backend=\"a\"} 0\n"))
        let logged = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let lines = logged.components(separatedBy: "cannot accept").count - 1
        #expect(lines >= 1 && lines <= 3, "\(lines) log lines about accepting:\n\(logged.suffix(2000))")
    }

    /// The `switchyard` executable beside the test bundle (`swift build --build-tests` builds both).
    static func switchyardBinary() throws -> String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundle.appendingPathComponent("switchyard").path, FileManager.default.currentDirectoryPath + "/.build/debug/switchyard"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw TestSetupError("no switchyard executable next to \(bundle.path): run swift build --build-tests")
    }

    /// User plus system CPU time of a process so far, from /proc.
    static func cpuSeconds(of pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
        let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
        return (Double(fields[11])! + Double(fields[12])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func waitFor(_ what: String, within: Duration = .seconds(20), _ condition: () async -> Bool) async throws {
        let end = ContinuousClock.now + within
        while !(await condition()) {
            guard ContinuousClock.now < end else { throw TestSetupError("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

extension StoreConfiguration {
    /// The database as a URL, for a child process's `--database-url`.
    var urlForTests: String {
        let credentials = password.map { "\(username):\($0)" } ?? username
        return "postgres://\(credentials)@\(host):\(port)/\(database)"
    }
}
