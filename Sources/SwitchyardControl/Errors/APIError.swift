import SwitchyardCore
import SwitchyardStore

/// Everything a handler can refuse with; mapped to problem+json in one place (`Problem.init(error:)`).
public enum APIError: Error, Sendable {
    case validation([FieldError])
    case badRequest(String)
    case unauthorized(String)
    case forbidden(String)
    case notFound(String)
    case conflict(String)
    /// The request is well-formed but its fields conflict with the stored configuration.
    case conflictingFields([FieldError])
    case preconditionFailed(String)
    case unsupportedMediaType(String)
    case unavailable(String)
    /// The request body is larger than the API takes (413).
    case tooLarge(String)
    /// The request body took too long to arrive (408).
    case requestTimeout(String)
    /// Too many large requests at once: retry shortly (503 with `Retry-After`).
    case busy(String)
    /// A private key to encrypt, and no master key to do it with (503).
    case noMasterKey

    /// A draft the core refused (a `ValidationFailure`), as a 400.
    public static func rejected(_ error: any Error) -> APIError {
        if let failure = error as? ValidationFailure { return .validation(failure.errors) }
        return .badRequest("\(error)")
    }

    public static func invalid(_ field: String, _ message: String) -> APIError {
        .validation([FieldError(field: field, message: message)])
    }
}
