#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The interactive terminal a person started the server from, the only place a generated secret is shown.
/// Standard error and output that are not terminals (a file, a pipe, a journal) are log streams: a
/// secret written there is kept and copied wherever the logs go.
struct SecretTerminal: Sendable {
    let descriptor: Int32

    /// Standard error if it is a terminal, else standard output if it is one, else nil.
    static func interactive() -> SecretTerminal? {
        for descriptor in [STDERR_FILENO, STDOUT_FILENO] where isatty(descriptor) == 1 {
            return SecretTerminal(descriptor: descriptor)
        }
        return nil
    }

    func show(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            bytes = bytes.dropFirst(written)
        }
    }
}
