/// What one client of the control API may hold: the same care the data plane takes with its listeners.
public struct APILimits: Sendable {
    /// A connection on which no request (or part of one) arrives for this long is closed; a request
    /// that is being answered (`?wait=applied` included) never counts as idle.
    public var idleTimeout: Duration
    /// Connections open at once. Past it new connections wait in the kernel's accept queue until one closes.
    public var maximumConnections: Int
    /// How long a request body may take to arrive, however steadily it trickles (the idle timeout only
    /// catches silence): past it the request is answered 408.
    public var bodyTimeout: Duration
    /// The largest request body, whatever its Content-Type (a whole configuration of 10,000 backends is ~1 MiB).
    public var maximumBodyBytes: Int
    /// A body larger than this is a large one: at most `maximumLargeBodies` are held at once.
    public var largeBodyBytes: Int
    /// Large bodies read at once; another is answered 503 with `Retry-After: 1`.
    public var maximumLargeBodies: Int
    /// How long a bearer token that is not in the store is remembered as unknown (no query to repeat it).
    public var unknownTokenLifetime: Duration

    public init(
        idleTimeout: Duration = .seconds(60), bodyTimeout: Duration = .seconds(60), maximumConnections: Int = 512,
        maximumBodyBytes: Int = 16 << 20,
        largeBodyBytes: Int = 64 << 10, maximumLargeBodies: Int = 4, unknownTokenLifetime: Duration = .seconds(10)
    ) {
        self.idleTimeout = idleTimeout
        self.bodyTimeout = bodyTimeout
        self.maximumConnections = maximumConnections
        self.maximumBodyBytes = maximumBodyBytes
        self.largeBodyBytes = largeBodyBytes
        self.maximumLargeBodies = maximumLargeBodies
        self.unknownTokenLifetime = unknownTokenLifetime
    }
}
