/// A listening socket: where it binds, what it speaks, and which pools its traffic goes to.
public struct ListenerSpec: Codable, Equatable, Sendable {
    public var bind: String
    public var port: Int
    public var `protocol`: ListenerProtocol
    public var defaultPool: String?
    public var routes: [RouteSpec]
    public var tls: TLSSpec?
    public var allow: [String]
    public var deny: [String]
    /// Proxies in front of this listener: their forwarding fields are kept and appended to.
    public var trustedProxies: [String]
    /// Open client connections at most (on each instance); nil: only the process-wide cap holds.
    public var maxConnections: Int?
    public var timeouts: ListenerTimeouts
    public var rateLimit: RateLimitSpec?
    /// `http` listeners: every request is answered with a 308 to the same host and target over `https`
    /// (routes and `default_pool` are then not needed, and not used).
    public var redirectHttps: Bool
    /// `https` listeners: `Strict-Transport-Security: max-age=N` on every response (nil: none).
    public var hstsMaxAgeS: Int?

    /// The most `hsts_max_age_s` takes: ten years (browsers cap it lower; two years is the usual value).
    public static let maxHSTSMaxAge = 315_360_000

    public init(
        bind: String = "0.0.0.0", port: Int, protocol: ListenerProtocol = .http, defaultPool: String? = nil,
        routes: [RouteSpec] = [], tls: TLSSpec? = nil, allow: [String] = [], deny: [String] = [], trustedProxies: [String] = [],
        maxConnections: Int? = nil, timeouts: ListenerTimeouts = ListenerTimeouts(), rateLimit: RateLimitSpec? = nil,
        redirectHttps: Bool = false, hstsMaxAgeS: Int? = nil
    ) {
        self.bind = bind
        self.port = port
        self.protocol = `protocol`
        self.defaultPool = defaultPool
        self.routes = routes
        self.tls = tls
        self.allow = allow
        self.deny = deny
        self.trustedProxies = trustedProxies
        self.maxConnections = maxConnections
        self.timeouts = timeouts
        self.rateLimit = rateLimit
        self.redirectHttps = redirectHttps
        self.hstsMaxAgeS = hstsMaxAgeS
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        bind = try container.decode(String.self, forKey: .bind)
        port = try container.decode(Int.self, forKey: .port)
        self.protocol = try container.decode(ListenerProtocol.self, forKey: .protocol)
        defaultPool = try container.decodeIfPresent(String.self, forKey: .defaultPool)
        routes = try container.decode([RouteSpec].self, forKey: .routes)
        tls = try container.decodeIfPresent(TLSSpec.self, forKey: .tls)
        allow = try container.decode([String].self, forKey: .allow)
        deny = try container.decode([String].self, forKey: .deny)
        // Audit rows written before the field existed lack it.
        trustedProxies = try container.decodeIfPresent([String].self, forKey: .trustedProxies) ?? []
        maxConnections = try container.decodeIfPresent(Int.self, forKey: .maxConnections)
        timeouts = try container.decodeIfPresent(ListenerTimeouts.self, forKey: .timeouts) ?? ListenerTimeouts()
        rateLimit = try container.decodeIfPresent(RateLimitSpec.self, forKey: .rateLimit)
        redirectHttps = try container.decodeIfPresent(Bool.self, forKey: .redirectHttps) ?? false
        hstsMaxAgeS = try container.decodeIfPresent(Int.self, forKey: .hstsMaxAgeS)
    }

    /// Every pool this listener sends traffic to.
    public var referencedPools: Set<String> {
        var names = Set(routes.map(\.pool))
        if let defaultPool { names.insert(defaultPool) }
        return names
    }

    /// The protocol of the pools this listener may use.
    public var poolProtocol: PoolProtocol { self.protocol == .tcp ? .tcp : .http }

    /// Rules that need nothing but the listener itself.
    public func check(into errors: inout FieldErrorCollector) {
        if IPAddress(bind) == nil { errors.add("bind", "must be an IPv4 or IPv6 address, e.g. 0.0.0.0 or ::") }
        errors.check("port", port, in: 1...65535)
        if let defaultPool, !ResourceName.isValid(defaultPool) { errors.add("default_pool", ResourceName.rule) }
        switch self.protocol {
        case .tcp:
            if !routes.isEmpty { errors.add("routes", "a tcp listener has no routes; use default_pool") }
            if defaultPool == nil { errors.add("default_pool", "is required for a tcp listener") }
        case .http, .https:
            if defaultPool == nil && routes.isEmpty && !redirectHttps {
                errors.add("default_pool", "is required when there are no routes")
            }
        }
        if redirectHttps && self.protocol != .http {
            errors.add("redirect_https", "only an http listener redirects to https")
        }
        if let hstsMaxAgeS {
            if self.protocol != .https {
                errors.add("hsts_max_age_s", "only an https listener sends Strict-Transport-Security")
            } else {
                errors.check("hsts_max_age_s", hstsMaxAgeS, in: 0...Self.maxHSTSMaxAge)
            }
        }
        if routes.count > 1000 { errors.add("routes", "at most 1000 routes") }
        if allow.count > 10_000 { errors.add("allow", "at most 10000 networks") }
        if deny.count > 10_000 { errors.add("deny", "at most 10000 networks") }
        if trustedProxies.count > 10_000 { errors.add("trusted_proxies", "at most 10000 networks") }
        if let maxConnections { errors.check("max_connections", maxConnections, in: 1...10_000_000) }
        timeouts.check(into: &errors, protocol: self.protocol)
        rateLimit?.check(into: &errors, protocol: self.protocol)
        for (index, route) in routes.enumerated() {
            route.check(into: &errors, field: "routes[\(index)]")
        }
        switch (self.protocol, tls) {
        case (.https, nil): errors.add("tls", "is required for an https listener")
        case (.https, let tls?): tls.check(into: &errors)
        case (_, .some): errors.add("tls", "only an https listener takes tls")
        case (_, nil): break
        }
        for (field, networks) in [("allow", allow), ("deny", deny), ("trusted_proxies", trustedProxies)] {
            for (index, network) in networks.enumerated() where IPNetwork(network) == nil {
                errors.add("\(field)[\(index)]", "must be a CIDR network such as 192.0.2.0/24 or 2001:db8::/32")
            }
        }
    }

    /// Whether two listeners would fight for the same socket.
    public func sharesSocket(with other: ListenerSpec) -> Bool {
        guard port == other.port, let mine = IPAddress(bind), let theirs = IPAddress(other.bind) else { return false }
        if mine == theirs { return true }
        // A wildcard bind takes the port on every address of its family (and `::` usually on IPv4 too).
        return (mine.isUnspecified && (theirs.isIPv4 == mine.isIPv4 || !mine.isIPv4))
            || (theirs.isUnspecified && (theirs.isIPv4 == mine.isIPv4 || !theirs.isIPv4))
    }
}

public enum ListenerProtocol: String, Codable, Sendable, CaseIterable {
    case http, https, tcp
}

public struct RouteSpec: Codable, Equatable, Sendable {
    public var host: String?
    public var pathPrefix: String?
    public var pool: String

    public init(host: String? = nil, pathPrefix: String? = nil, pool: String) {
        self.host = host
        self.pathPrefix = pathPrefix
        self.pool = pool
    }

    func check(into errors: inout FieldErrorCollector, field: String) {
        if let host, !HostName.isValid(host, allowWildcard: true) {
            errors.add("\(field).host", "must be a host name such as example.com or *.example.com")
        }
        if let pathPrefix, pathPrefix.utf8.count > 1024 || !TextPattern.matches(pathPrefix, TextPattern.path) {
            errors.add("\(field).path_prefix", "must start with '/' and hold only printable ASCII (percent-encode the rest)")
        }
        if !ResourceName.isValid(pool) { errors.add("\(field).pool", ResourceName.rule) }
    }
}

public struct TLSSpec: Codable, Equatable, Sendable {
    /// The certificates this listener serves, by name: a client's SNI picks the one with that exact
    /// name, else one whose wildcard covers it, else the first.
    public var certificates: [String]
    /// Whether clients may resume sessions (tickets and the session cache): on unless turned off, as
    /// HAProxy's `no-tls-tickets` or nginx's `ssl_session_tickets off` do, so that every connection
    /// makes a full handshake with fresh keys.
    public var sessionResumption: Bool

    public init(certificates: [String], sessionResumption: Bool = true) {
        self.certificates = certificates
        self.sessionResumption = sessionResumption
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        certificates = try container.decodeIfPresent([String].self, forKey: .certificates) ?? []
        sessionResumption = try container.decodeIfPresent(Bool.self, forKey: .sessionResumption) ?? true
    }

    /// The most certificates one listener names.
    public static let maxCertificates = 100

    func check(into errors: inout FieldErrorCollector) {
        if certificates.isEmpty { errors.add("tls.certificates", "an https listener names at least one certificate") }
        if certificates.count > Self.maxCertificates { errors.add("tls.certificates", "at most \(Self.maxCertificates) certificates") }
        for (index, name) in certificates.enumerated() {
            if !ResourceName.isValid(name) { errors.add("tls.certificates[\(index)]", ResourceName.rule) }
        }
        if Set(certificates).count != certificates.count { errors.add("tls.certificates", "names a certificate twice") }
    }
}
