import Foundation
import SwitchyardStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Bootstrap admin token")
struct BootstrapTokenTests {
    static func mode(_ path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw TestSetupError("stat \(path): \(errno)") }
        return Int(info.st_mode & 0o777)
    }

    static func scratchDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "sy-bootstrap-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a generated admin token is written 0600 into a 0700 directory, whatever the umask, and never logged")
    func generatedTokenFile() async throws {
        let scratch = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let path = "\(scratch)/secrets/admin-token"
        let (logger, lines) = RecordingLogHandler.logger()
        let database = try await TestServer.createDatabase()
        defer { Task { try? await TestServer.dropDatabase(database) } }
        // The most permissive umask: the modes must not come from it.
        let previous = umask(0)
        let server: TestServer
        do {
            server = try await TestServer.start(
                storeConfiguration: database, dataPlane: false, adminToken: nil, adminTokenFile: path, logger: logger)
            umask(previous)
        } catch {
            umask(previous)
            throw error
        }
        do {
            let secret = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .newlines)
            #expect(secret.hasPrefix("sy_"))
            #expect(try Self.mode(path) == 0o600)
            #expect(try Self.mode("\(scratch)/secrets") == 0o700)
            // Only the file itself: no temporary file left beside it.
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(scratch)/secrets") == ["admin-token"])
            #expect(try await server.get("/v1/tokens", token: secret).status == 200)

            let logged = lines.all
            #expect(!logged.isEmpty)
            #expect(!logged.contains { $0.contains(secret) }, "the secret reached the log: \(logged)")
            #expect(logged.contains { $0.contains("admin token") && $0.contains(path) }, "no log line names the file: \(logged)")
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()

        // A second start finds the token and leaves the file alone.
        let before = try String(contentsOfFile: path, encoding: .utf8)
        let again = try await TestServer.start(storeConfiguration: database, dataPlane: false, adminToken: nil, adminTokenFile: path)
        try await again.stop()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == before)
        #expect(try await again.sql("SELECT count(*)::text FROM tokens") == ["1"])
    }

    @Test("a token file directory that others may enter is refused before any token exists")
    func openDirectoryRefused() async throws {
        let scratch = try Self.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let directory = "\(scratch)/shared"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        let database = try await TestServer.createDatabase()
        defer { Task { try? await TestServer.dropDatabase(database) } }
        do {
            let server = try await TestServer.start(
                storeConfiguration: database, dataPlane: false, adminToken: nil, adminTokenFile: "\(directory)/admin-token")
            try? await server.stop()
            Issue.record("the server started with its token file in a directory of mode 0755")
        } catch {
            #expect("\(error)".contains("chmod 700"), "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        // Nothing was created that nobody knows the secret of: the next start can still make the token.
        #expect(try await TestServer.sql("SELECT count(*)::text FROM tokens", in: database) == ["0"])
    }
}
