import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

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
        try openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-subj", "/CN=Switchyard Test CA", "-days", "2")
        try openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "intermediate.key",
            "-out", "intermediate.csr", "-subj", "/CN=Switchyard Test Intermediate")
        try write("intermediate.ext", "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n")
        try openssl(
            "x509", "-req", "-in", "intermediate.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "intermediate.pem", "-days", "2", "-extfile", "intermediate.ext")
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    /// A leaf named `name` (its CN) for `dnsNames` and `ipAddresses` (SAN), RSA 2048 or ECDSA P-256:
    /// (chain PEM, key PEM).
    func leaf(_ name: String, dnsNames: [String], ipAddresses: [String] = [], rsa: Bool = false) throws -> (certificate: String, key: String) {
        let keyType = rsa ? ["-newkey", "rsa:2048"] : ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        try openssl(["req"] + keyType + ["-nodes", "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(name)"])
        let alternatives = dnsNames.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }
        try write("\(name).ext", "subjectAltName=" + alternatives.joined(separator: ",") + "\n")
        try openssl(
            "x509", "-req", "-in", "\(name).csr", "-CA", "intermediate.pem", "-CAkey", "intermediate.key", "-CAcreateserial",
            "-out", "\(name).crt", "-days", "2", "-extfile", "\(name).ext")
        let chain = try read("\(name).crt") + read("intermediate.pem")
        return (chain, try read("\(name).key"))
    }

    /// A leaf for `name` that expired in 2020 (valid in January 2020 only), signed by the intermediate:
    /// (chain PEM, key PEM).
    func expiredLeaf(_ name: String) throws -> (certificate: String, key: String) {
        try openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(name).key", "-out", "\(name).csr",
            "-subj", "/CN=\(name)")
        try write("index.txt", "")
        try write("ca.cnf", "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = ca.serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n")
        try write("ca.serial", "1000\n")
        try openssl(
            "ca", "-batch", "-config", "ca.cnf", "-cert", "intermediate.pem", "-keyfile", "intermediate.key", "-in", "\(name).csr",
            "-out", "\(name).crt", "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-notext")
        return (try read("\(name).crt") + read("intermediate.pem"), try read("\(name).key"))
    }

    /// The SHA-256 fingerprint of the first certificate of `pem` as `openssl x509` prints it, made
    /// lower-case hex without colons.
    func fingerprint(_ pem: String) throws -> String {
        try write("fingerprint.pem", pem)
        let result = try Command.run("openssl", ["x509", "-in", "fingerprint.pem", "-noout", "-fingerprint", "-sha256"], in: directory)
        guard result.status == 0, let equals = result.stdout.firstIndex(of: "=") else { throw TestSetupError("openssl x509: \(result.stderr)") }
        return result.stdout[result.stdout.index(after: equals)...].trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: ":", with: "").lowercased()
    }

    /// The intermediate's PEM (the CA of every leaf).
    var intermediate: String { (try? read("intermediate.pem")) ?? "" }

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

/// Runs a command (found on PATH) to its end: exit status, stdout and stderr. Spawned with
/// `posix_spawnp` and read through raw descriptors, not with Foundation's `Process` and
/// `FileHandle`: their reads stop the test process on EINTR (`try!`), and the suite spawns many
/// short-lived children whose SIGCHLD can interrupt a read.
enum Command {
    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func run(_ command: String, _ arguments: [String], in directory: URL? = nil, input: Data? = nil) throws -> Outcome {
        var argv = [command] + arguments
        if let directory { argv = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory.path] + argv }
        var stdinPipe: [Int32] = [-1, -1]
        var stdoutPipe: [Int32] = [-1, -1]
        var stderrPipe: [Int32] = [-1, -1]
        guard pipe(&stdinPipe) == 0, pipe(&stdoutPipe) == 0, pipe(&stderrPipe) == 0 else {
            for fd in stdinPipe + stdoutPipe + stderrPipe where fd >= 0 { close(fd) }
            throw TestSetupError("pipe failed")
        }
        // Only the child's 0, 1 and 2 (made by dup2, which clears the flag) survive its exec.
        for fd in stdinPipe + stdoutPipe + stderrPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        var pid = pid_t()
        let spawned = posix_spawnp(&pid, argv[0], &actions, nil, cArguments, environ)
        close(stdinPipe[0])
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard spawned == 0 else {
            close(stdinPipe[1])
            close(stdoutPipe[0])
            close(stderrPipe[0])
            throw TestSetupError("cannot run \(argv[0]): errno \(spawned)")
        }
        // The inputs are small: they fit in the pipe, whatever the child does first.
        if let input {
            input.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(stdinPipe[1], bytes.baseAddress! + offset, bytes.count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0 && errno == EINTR {
                        continue
                    } else {
                        break  // the child does not read its input
                    }
                }
            }
        }
        close(stdinPipe[1])
        var received: [[UInt8]] = [[], []]
        var descriptors = [
            pollfd(fd: stdoutPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: stderrPipe[0], events: Int16(POLLIN), revents: 0),
        ]
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while descriptors.contains(where: { $0.fd >= 0 }) {
            if poll(&descriptors, 2, -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in 0..<2 where descriptors[index].fd >= 0 && descriptors[index].revents != 0 {
                let count = read(descriptors[index].fd, &buffer, buffer.count)
                if count > 0 {
                    received[index] += buffer[0..<count]
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    close(descriptors[index].fd)
                    descriptors[index].fd = -1
                }
            }
        }
        for descriptor in descriptors where descriptor.fd >= 0 { close(descriptor.fd) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw TestSetupError("waitpid failed: errno \(errno)") }
        }
        // Exited: its code; killed by a signal: 128 + the signal, as a shell reports it.
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + status & 0x7f
        return Outcome(status: code, stdout: String(decoding: received[0], as: UTF8.self), stderr: String(decoding: received[1], as: UTF8.self))
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
