/// What a token may do. `admin` includes `write`, which includes `read`.
public enum Scope: String, Codable, Sendable, CaseIterable, Comparable {
    case read, write, admin

    private var rank: Int {
        switch self {
        case .read: 0
        case .write: 1
        case .admin: 2
        }
    }

    public static func < (lhs: Scope, rhs: Scope) -> Bool { lhs.rank < rhs.rank }
}

extension Collection<Scope> {
    /// Whether a token holding these scopes may act where `required` is needed.
    public func grants(_ required: Scope) -> Bool {
        contains { $0 >= required }
    }
}
