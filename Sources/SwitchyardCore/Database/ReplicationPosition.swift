/// A point in a database's replication stream. Positions of one cluster are totally ordered (a
/// later position contains everything an earlier one does) and the distance between two is a
/// number of bytes, which is how replica lag is measured against `max_lag_bytes`.
///
/// PostgreSQL's is `LSN`, a WAL byte offset. A MySQL engine would supply its own: binary log
/// coordinates give the same order and byte distance within one source.
public protocol ReplicationPosition: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// How many bytes `self` is ahead of `earlier`; 0 when it is not ahead.
    func bytesAhead(of earlier: Self) -> UInt64
}
