/// Why the proxy answers a request itself instead of forwarding it.
public enum RequestRejection: Error, Equatable, Sendable {
    case badRequest(String)
    case uriTooLong
    case headTooLarge(String)
    case versionNotSupported
    case headTimeout

    public var status: Int {
        switch self {
        case .badRequest: 400
        case .uriTooLong: 414
        case .headTooLarge: 431
        case .versionNotSupported: 505
        case .headTimeout: 408
        }
    }

    public var detail: String {
        switch self {
        case .badRequest(let why): why
        case .uriTooLong: "request line too long"
        case .headTooLarge(let why): why
        case .versionNotSupported: "only HTTP/1.0 and HTTP/1.1 are served"
        case .headTimeout: "request head not received in time"
        }
    }
}
