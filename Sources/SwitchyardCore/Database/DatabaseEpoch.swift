/// The cluster's current assignment of the writer role. Every change of the writer bumps the
/// number, so an instance that routes by an older epoch can be recognised and waited for; a nil
/// writer (during a switchover or failover) means no instance sends writes anywhere.
public struct DatabaseEpoch: Equatable, Codable, Sendable {
    public var number: UInt64
    public var writer: String?

    public init(number: UInt64, writer: String?) {
        self.number = number
        self.writer = writer
    }

    /// The next epoch, with the given writer.
    public func next(writer: String?) -> DatabaseEpoch {
        DatabaseEpoch(number: number + 1, writer: writer)
    }
}
