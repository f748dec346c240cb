/// A listener as the data plane uses it: parsed address, resolved routes and firewall networks.
public struct RuntimeListener: Equatable, Sendable {
    public let name: String
    public let spec: ListenerSpec
    public let bind: IPAddress
    public let routes: [RuntimeRoute]
    public let allow: [IPNetwork]
    public let deny: [IPNetwork]
    public let trustedProxies: [IPNetwork]

    init?(name: String, spec: ListenerSpec) {
        guard let bind = IPAddress(spec.bind) else { return nil }
        let allow = spec.allow.compactMap(IPNetwork.init)
        let deny = spec.deny.compactMap(IPNetwork.init)
        let trustedProxies = spec.trustedProxies.compactMap(IPNetwork.init)
        guard allow.count == spec.allow.count, deny.count == spec.deny.count, trustedProxies.count == spec.trustedProxies.count else {
            return nil
        }
        self.name = name
        self.spec = spec
        self.bind = bind
        self.routes = spec.routes.map(RuntimeRoute.init)
        self.allow = allow
        self.deny = deny
        self.trustedProxies = trustedProxies
    }

    /// Whether a client may connect: deny wins; a non-empty allow list admits only its networks.
    public func admits(_ client: IPAddress) -> Bool {
        if deny.contains(where: { $0.contains(client) }) { return false }
        return allow.isEmpty || allow.contains { $0.contains(client) }
    }

    /// Whether a client's forwarding fields are kept (it is a proxy in front of this listener).
    public func trusts(_ client: IPAddress) -> Bool {
        !trustedProxies.isEmpty && trustedProxies.contains { $0.contains(client) }
    }

    /// The pool a request goes to: the first route whose host and path prefix match, else the default.
    /// Paths are compared normalised (`RequestPath.normalized`) and prefixes at segment boundaries, so
    /// "/api" takes "/api" and "/api/x" but not "/apix", and "/pub/../admin" is "/admin".
    public func pool(host: String?, path: String) -> String? {
        let normalizedHost = host.map(RuntimeRoute.normalize)
        let normalizedPath = RequestPath.normalized(path)
        for route in routes where route.matches(host: normalizedHost, path: normalizedPath) { return route.pool }
        return spec.defaultPool
    }

    /// Whether a change from `old` needs the socket rebound (anything else, certificates included,
    /// applies to new connections).
    public func needsRebind(from old: RuntimeListener) -> Bool {
        bind != old.bind || spec.port != old.spec.port || spec.protocol != old.spec.protocol
    }
}

public struct RuntimeRoute: Equatable, Sendable {
    /// Lower-cased host, or its suffix with the leading dot for a wildcard ("*.example.com" → ".example.com").
    public let host: String?
    public let isWildcard: Bool
    public let pathPrefix: String?
    public let pool: String

    init(_ spec: RouteSpec) {
        if let host = spec.host?.lowercased(), host.hasPrefix("*.") {
            self.host = String(host.dropFirst())
            isWildcard = true
        } else {
            host = spec.host?.lowercased()
            isWildcard = false
        }
        pathPrefix = spec.pathPrefix.map(RequestPath.normalized)
        pool = spec.pool
    }

    func matches(host requestHost: String?, path: String) -> Bool {
        if let host {
            guard let requestHost else { return false }
            if isWildcard {
                guard requestHost.hasSuffix(host), requestHost.count > host.count else { return false }
            } else if requestHost != host {
                return false
            }
        }
        if let pathPrefix, !RequestPath.hasPrefix(path, segmentsOf: pathPrefix) { return false }
        return true
    }

    /// "Example.COM:8080" → "example.com"; "[::1]:80" → "[::1]"; a trailing dot is dropped.
    static func normalize(_ host: String) -> String {
        var host = host.lowercased()
        if host.hasPrefix("[") {
            if let end = host.firstIndex(of: "]") { host = String(host[...end]) }
        } else if let colon = host.lastIndex(of: ":") {
            host = String(host[..<colon])
        }
        if host.hasSuffix(".") { host.removeLast() }
        return host
    }
}
