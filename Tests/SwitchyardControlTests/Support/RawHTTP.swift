import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Sends raw bytes to a port and reads until the peer closes or `timeout` passes: for requests no HTTP
/// client would send (hardening tests) and for watching exactly what the proxy answers.
enum RawHTTP {
    static func exchange(port: Int, _ request: String, timeout: Double = 5, closeWrite: Bool = false) async throws -> String {
        try await exchange(port: port, Array(request.utf8), timeout: timeout, closeWrite: closeWrite)
    }

    static func exchange(port: Int, _ request: [UInt8], timeout: Double = 5, closeWrite: Bool = false) async throws -> String {
        let connection = try RawConnection(port: port, timeout: timeout)
        connection.send(bytes: request)
        if closeWrite { shutdown(connection.fd, Int32(SHUT_WR)) }
        return await connection.receiveUntilClosed()
    }
}
