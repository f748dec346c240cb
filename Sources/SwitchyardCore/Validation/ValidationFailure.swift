/// Every bad field of one request, reported at once (problem+json `errors`).
public struct ValidationFailure: Error, Equatable, Sendable {
    public var errors: [FieldError]

    public init(_ errors: [FieldError]) {
        self.errors = errors
    }
}

/// Collects field errors while a draft is checked, so that all of them are reported together.
public struct FieldErrorCollector: Sendable {
    public private(set) var errors: [FieldError] = []
    /// Prefix added to every field, e.g. `pools[3].` when a pool is checked inside a config document.
    public let prefix: String

    public init(prefix: String = "") {
        self.prefix = prefix
    }

    public mutating func add(_ field: String, _ message: String) {
        errors.append(FieldError(field: prefix + field, message: message))
    }

    public mutating func append(contentsOf other: [FieldError]) {
        errors.append(contentsOf: other)
    }

    /// Checks that `value` lies in `range`; returns it unchanged either way.
    public mutating func check(_ field: String, _ value: Int, in range: ClosedRange<Int>) {
        if !range.contains(value) {
            add(field, "must be between \(range.lowerBound) and \(range.upperBound)")
        }
    }

    public func throwIfAny() throws(ValidationFailure) {
        if !errors.isEmpty { throw ValidationFailure(errors) }
    }
}
