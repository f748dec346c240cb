/// Per-client rate limits of a listener: token buckets per client address (an IPv4 address, or an
/// IPv6 /64, which one subscriber usually holds whole). A field left out sets no limit of its kind.
public struct RateLimitSpec: Codable, Equatable, Sendable {
    /// New connections per second one client may open (sustained).
    public var connectionsPerSecond: Int?
    /// Connections a client may open at once before the rate applies; default: the rate.
    public var connectionBurst: Int?
    /// HTTP requests per second one client may send (sustained); not for tcp listeners.
    public var requestsPerSecond: Int?
    /// Requests a client may send at once before the rate applies; default: the rate.
    public var requestBurst: Int?

    public init(connectionsPerSecond: Int? = nil, connectionBurst: Int? = nil, requestsPerSecond: Int? = nil, requestBurst: Int? = nil) {
        self.connectionsPerSecond = connectionsPerSecond
        self.connectionBurst = connectionBurst
        self.requestsPerSecond = requestsPerSecond
        self.requestBurst = requestBurst
    }

    func check(into errors: inout FieldErrorCollector, protocol listenerProtocol: ListenerProtocol) {
        let fields: [(String, Int?)] = [
            ("rate_limit.connections_per_second", connectionsPerSecond), ("rate_limit.connection_burst", connectionBurst),
            ("rate_limit.requests_per_second", requestsPerSecond), ("rate_limit.request_burst", requestBurst),
        ]
        for (field, value) in fields {
            if let value { errors.check(field, value, in: 1...1_000_000) }
        }
        if connectionBurst != nil && connectionsPerSecond == nil {
            errors.add("rate_limit.connection_burst", "needs connections_per_second")
        }
        if requestBurst != nil && requestsPerSecond == nil { errors.add("rate_limit.request_burst", "needs requests_per_second") }
        if listenerProtocol == .tcp {
            for (field, value) in fields.suffix(2) where value != nil { errors.add(field, "applies to http and https listeners only") }
        }
    }
}
