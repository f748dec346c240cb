/// How the end of a message body is found (RFC 9112 §6.3).
public enum BodyFraming: Equatable, Sendable {
    /// No body: the message ends with its head.
    case none
    case contentLength(Int)
    case chunked
    /// A response body that ends when the backend closes the connection.
    case untilClose
}
