/// A listener's client-side timeouts; a field left out takes the data plane's default (documented in
/// docs/proxy.md, "Timeouts"). Backend-side timeouts belong to pools (`TimeoutsSpec`).
public struct ListenerTimeouts: Codable, Equatable, Sendable {
    /// From a request's first byte (or the end of the previous response) to its complete head: 408.
    public var clientHeadMs: Int?
    /// Longest silence while a request body is being received: 408.
    public var clientBodyMs: Int?
    /// Bytes per second a request body must average once `clientBodyMs` has passed since its head; 0: no minimum.
    public var clientBodyMinRate: Int?
    /// Longest time the client may leave a response unread (its socket buffer full): the connection closes.
    public var clientSendMs: Int?
    /// Longest idle time of a kept-alive connection between requests.
    public var clientIdleMs: Int?
    /// Longest time a TCP session may pass no byte either way.
    public var tcpIdleMs: Int?

    public init(
        clientHeadMs: Int? = nil, clientBodyMs: Int? = nil, clientBodyMinRate: Int? = nil, clientSendMs: Int? = nil,
        clientIdleMs: Int? = nil, tcpIdleMs: Int? = nil
    ) {
        self.clientHeadMs = clientHeadMs
        self.clientBodyMs = clientBodyMs
        self.clientBodyMinRate = clientBodyMinRate
        self.clientSendMs = clientSendMs
        self.clientIdleMs = clientIdleMs
        self.tcpIdleMs = tcpIdleMs
    }

    func check(into errors: inout FieldErrorCollector, protocol listenerProtocol: ListenerProtocol) {
        let durations: [(String, Int?, ClosedRange<Int>)] = [
            ("timeouts.client_head_ms", clientHeadMs, 1...3_600_000), ("timeouts.client_body_ms", clientBodyMs, 1...3_600_000),
            ("timeouts.client_send_ms", clientSendMs, 1...3_600_000), ("timeouts.client_idle_ms", clientIdleMs, 1...86_400_000),
            ("timeouts.tcp_idle_ms", tcpIdleMs, 1...604_800_000),
        ]
        for (field, value, range) in durations {
            if let value { errors.check(field, value, in: range) }
        }
        if let clientBodyMinRate { errors.check("timeouts.client_body_min_rate", clientBodyMinRate, in: 0...1_000_000_000) }
        if listenerProtocol == .tcp {
            for (field, value) in [("client_head_ms", clientHeadMs), ("client_body_ms", clientBodyMs), ("client_body_min_rate", clientBodyMinRate)]
            where value != nil {
                errors.add("timeouts.\(field)", "applies to http and https listeners only")
            }
        } else if tcpIdleMs != nil {
            errors.add("timeouts.tcp_idle_ms", "applies to tcp listeners only")
        }
    }
}
