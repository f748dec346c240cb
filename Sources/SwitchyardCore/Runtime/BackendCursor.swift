/// Walks a pool's backends, which snapshots keep in name order, beside names taken in ascending
/// order: finds a backend by name without hashing, and reports each one passed over. A changed pool
/// is followed this way against its previous version.
public struct BackendCursor {
    public let backends: [RuntimeBackend]
    private var position = 0

    public init(_ backends: [RuntimeBackend]) {
        self.backends = backends
    }

    /// The index of the backend named `name`, if any (names must be asked in ascending order);
    /// `passed` gets the index of every backend before it that no name asked for.
    public mutating func index(of name: String, passing passed: (Int) -> Void = { _ in }) -> Int? {
        while position < backends.count && backends[position].name < name {
            passed(position)
            position += 1
        }
        guard position < backends.count, backends[position].name == name else { return nil }
        defer { position += 1 }
        return position
    }

    /// Hands the index of every backend not reached yet to `passed`.
    public mutating func finish(passing passed: (Int) -> Void) {
        while position < backends.count {
            passed(position)
            position += 1
        }
    }
}
