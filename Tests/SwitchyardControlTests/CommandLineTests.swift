import Foundation
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
    }
}
