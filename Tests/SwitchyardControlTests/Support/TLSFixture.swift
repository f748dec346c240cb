import Dispatch
import Foundation

/// Certificates made for one test with the `openssl` command, in a temporary directory: a CA, an
/// intermediate it signed, and leaves the intermediate signed (each leaf's PEM is leaf then
/// intermediate, the chain a server sends). Clients trust the CA only, so a handshake that verifies
/// proves that the chain was sent.
final class TLSFixture: Sendable {
    let directory: URL

    var caPath: String { directory.appendingPathComponent("ca.pem").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-subj", "/CN=Switchyard Test CA", "-days", "2")
        try openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "intermediate.key",
            "-out", "intermediate.csr", "-subj", "/CN=Switchyard Test Intermediate")
        try write("intermediate.ext", "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n")
        try openssl("x509", "-req", "-in", "intermediate.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "intermediate.pem", "-days", "2", "-extfile", "intermediate.ext")
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A leaf named `name` (its CN) for `dnsNames` (SAN), RSA 2048 or ECDSA P-256: (chain PEM, key PEM).
    func leaf(_ name: String, dnsNames: [String], rsa: Bool = false) throws -> (certificate: String, key: String) {
        let keyType = rsa ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        try openssl(["req"] + keyType + ["-nodes", "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(name)"])
        try write("\(name).ext", "subjectAltName=" + dnsNames.map { "DNS:\($0)" }.joined(separator: ",") + "\n")
        try openssl("x509", "-req", "-in", "\(name).csr", "-CA", "intermediate.pem", "-CAkey", "intermediate.key", "-CAcreateserial",
            "-out", "\(name).crt", "-days", "2", "-extfile", "\(name).ext")
        let chain = try read("\(name).crt") + read("intermediate.pem")
        return (chain, try read("\(name).key"))
    }

    func read(_ file: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
    }

    func write(_ file: String, _ text: String) throws {
        try text.write(to: directory.appendingPathComponent(file), atomically: true, encoding: .utf8)
    }

    private func openssl(_ arguments: String...) throws { try openssl(arguments) }

    private func openssl(_ arguments: [String]) throws {
        let result = try Command.run("openssl", arguments, in: directory)
        guard result.status == 0 else { throw TestSetupError("openssl \(arguments.prefix(2).joined(separator: " ")): \(result.stderr)") }
    }
}

/// Runs a command (found on PATH) to its end: exit status, stdout and stderr.
enum Command {
    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ command: String, _ arguments: [String], in directory: URL? = nil, input: Data? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments
        if let directory { process.currentDirectoryURL = directory }
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        try process.run()
        // Both pipes are drained while the command runs, so that neither can fill and stall it.
        let group = DispatchGroup()
        nonisolated(unsafe) var out = Data()
        nonisolated(unsafe) var err = Data()
        group.enter()
        DispatchQueue.global().async {
            out = stdout.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            err = stderr.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        if let input { stdin.fileHandleForWriting.write(input) }
        try? stdin.fileHandleForWriting.close()
        group.wait()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    /// `run` off the cooperative thread pool.
    static func runAsync(_ command: String, _ arguments: [String], in directory: URL? = nil, input: Data? = nil) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try run(command, arguments, in: directory, input: input) })
            }
        }
    }
}
