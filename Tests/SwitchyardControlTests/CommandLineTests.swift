import Foundation
import SwitchyardStore
import Testing

/// The `switchyard` executable itself, for what is decided before the server starts.
@Suite("Command line")
struct CommandLineTests {
    struct Run {
        var status: Int32
        var output: String
    }

    /// The executable built beside this test bundle.
    static var executable: URL {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("switchyard")
    }

    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var inherited = ProcessInfo.processInfo.environment
        for name in ["LOG_LEVEL", "DATABASE_URL"] { inherited[name] = nil }
        process.environment = inherited.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    @Test("an unknown log level stops the start, naming the value and the levels there are")
    func invalidLogLevel() throws {
        let database = "postgres://sy:pw-not-shown@127.0.0.1:1/none"
        let flag = try Self.run(["serve", "--log-level", "verbose", "--database-url", database])
        #expect(flag.status != 0)
        #expect(flag.output.contains("'verbose'") && flag.output.contains("trace, debug, info, notice, warning, error, critical"), "\(flag.output)")

        let environment = try Self.run(["migrate", "--database-url", database], environment: ["LOG_LEVEL": "loud"])
        #expect(environment.status != 0)
        #expect(environment.output.contains("'loud'") && environment.output.contains("LOG_LEVEL"), "\(environment.output)")
        #expect(!(flag.output + environment.output).contains("pw-not-shown"))
    }

    @Test("API limits from the environment must be integers; flags must be in range")
    func apiLimitOptions() throws {
        let database = "postgres://sy:pw@127.0.0.1:1/none"
        let environment = try Self.run(["serve", "--database-url", database], environment: ["SWITCHYARD_API_MAX_CONNECTIONS": "lots"])
        #expect(environment.status != 0)
        #expect(environment.output.contains("SWITCHYARD_API_MAX_CONNECTIONS") && environment.output.contains("'lots'"), "\(environment.output)")
        let flag = try Self.run(["serve", "--database-url", database, "--api-max-body-bytes", "10"])
        #expect(flag.status != 0)
        #expect(flag.output.contains("--api-max-body-bytes"), "\(flag.output)")
    }

    @Test("a database URL in an error at start never shows its password")
    func databaseURLRedactedAtStart() throws {
        // No host: refused before any connection is tried.
        let run = try Self.run(["migrate", "--database-url", "postgres://sy:pw-not-shown@/switchyard", "--log-level", "INFO"])
        #expect(run.status != 0)
        #expect(run.output.contains("postgres://sy:***@/switchyard"), "\(run.output)")
        #expect(!run.output.contains("pw-not-shown"))
    }

    @Test("passwords are hidden in every URL of a text, parsable or not")
    func passwordRedaction() throws {
        let cases: [(String, String)] = [
            ("postgres://user:secret@host:5432/db", "postgres://user:***@host:5432/db"),
            ("postgres://user@host/db", "postgres://user@host/db"),
            ("postgres://host/db", "postgres://host/db"),
            ("got 'postgres://u:p@ss/w#rd@db.example:5432/x?sslmode=require' here", "got 'postgres://u:***@db.example:5432/x?sslmode=require' here"),
            ("a postgresql://a:1@h/d and b postgres://b:2@h/d", "a postgresql://a:***@h/d and b postgres://b:***@h/d"),
            ("no url at all", "no url at all"),
            ("postgres://user:@host/db", "postgres://user:***@host/db"),
        ]
        for (text, expected) in cases { #expect(PasswordRedaction.redacting(text) == expected) }

        #expect(throws: StoreError.self) { try StoreConfiguration(url: "postgres://u:hunter2@/db") }
        do {
            _ = try StoreConfiguration(url: "mysql://u:hunter2@host/db")
        } catch {
            #expect("\(error)".contains("mysql://u:***@host/db") && !"\(error)".contains("hunter2"), "\(error)")
        }
        #expect(!"\(StoreError.unavailable("cannot reach postgres://u:hunter2@h/db"))".contains("hunter2"))
    }
}
