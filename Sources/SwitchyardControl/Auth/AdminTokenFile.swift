import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The file a generated bootstrap admin secret is written to. The secret is never readable by anyone but
/// the owner, not even for an instant: the file is created with O_CREAT|O_EXCL and mode 0600 under a
/// temporary name (so the umask cannot widen it and nothing already there, such as a symlink, is
/// followed), filled, synced, then renamed into place, inside a directory that only its owner can enter.
struct AdminTokenFile: Sendable {
    let path: String

    var directory: String { (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent }

    /// A written file under its temporary name, waiting for `commit()` (or `discard()`).
    struct Staged: Sendable {
        let temporaryPath: String
        let path: String

        /// Gives the file its final name (atomically replacing an older one). Should that fail, the error
        /// names the temporary file, which then still holds the secret.
        func commit() throws {
            guard rename(temporaryPath, path) == 0 else { throw AdminTokenFileError.system("rename \(temporaryPath) to", path, errno) }
        }

        func discard() {
            unlink(temporaryPath)
        }
    }

    /// Makes sure the directory exists and is private, then writes `secret` under a temporary name.
    /// Everything that can fail before the token exists fails here.
    func stage(_ secret: String) throws -> Staged {
        try preparePrivateDirectory()
        let temporaryPath = "\(directory)/.\((path as NSString).lastPathComponent).\(UUID().uuidString.prefix(8)).tmp"
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(0o600))
        guard descriptor >= 0 else { throw AdminTokenFileError.system("open", temporaryPath, errno) }
        do {
            defer { close(descriptor) }
            // The umask can only narrow 0600; this makes the mode exactly 0600 whatever it is.
            guard fchmod(descriptor, mode_t(0o600)) == 0 else { throw AdminTokenFileError.system("fchmod", temporaryPath, errno) }
            var bytes = Array((secret + "\n").utf8)[...]
            while !bytes.isEmpty {
                let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw AdminTokenFileError.system("write", temporaryPath, errno)
                }
                bytes = bytes.dropFirst(written)
            }
            guard fsync(descriptor) == 0 else { throw AdminTokenFileError.system("fsync", temporaryPath, errno) }
        } catch {
            unlink(temporaryPath)
            throw error
        }
        return Staged(temporaryPath: temporaryPath, path: path)
    }

    /// Creates the directory with mode 0700 when it is missing (its parents with the usual mode); an
    /// existing one must belong to this user and be closed to group and others.
    func preparePrivateDirectory() throws {
        let directory = self.directory
        var info = stat()
        if stat(directory, &info) != 0 {
            guard errno == ENOENT else { throw AdminTokenFileError.system("stat", directory, errno) }
            let parent = (directory as NSString).deletingLastPathComponent
            if !parent.isEmpty { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
            guard mkdir(directory, mode_t(0o700)) == 0 || errno == EEXIST else { throw AdminTokenFileError.system("mkdir", directory, errno) }
            guard stat(directory, &info) == 0 else { throw AdminTokenFileError.system("stat", directory, errno) }
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw AdminTokenFileError.notADirectory(directory) }
        guard info.st_uid == geteuid() else { throw AdminTokenFileError.notOwned(directory) }
        let mode = Int(info.st_mode & 0o777)
        guard mode & 0o077 == 0 else { throw AdminTokenFileError.notPrivate(directory, mode: mode) }
    }
}

enum AdminTokenFileError: Error, CustomStringConvertible {
    case notADirectory(String)
    case notOwned(String)
    case notPrivate(String, mode: Int)
    case system(String, String, Int32)

    var description: String {
        switch self {
        case .notADirectory(let path): "the admin token file's directory \(path) is not a directory"
        case .notOwned(let path):
            "the admin token file's directory \(path) belongs to another user; choose --admin-token-file in a directory of your own"
        case .notPrivate(let path, let mode):
            "the admin token file's directory \(path) has mode \(String(mode, radix: 8)): others could read the token; "
                + "make it private (chmod 700 \(path)) or choose --admin-token-file elsewhere"
        case .system(let call, let path, let code): "\(call) \(path): \(String(cString: strerror(code)))"
        }
    }
}
