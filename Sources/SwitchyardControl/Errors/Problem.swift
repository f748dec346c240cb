import Foundation
import HTTPTypes
import OpenAPIRuntime
import SwitchyardCore
import SwitchyardStore

/// An RFC 9457 problem document, the body of every error response.
struct Problem: Encodable, Sendable {
    var type: String
    var title: String
    var status: Int
    var detail: String?
    var errors: [FieldError]?

    struct FieldError: Encodable, Sendable {
        var field: String
        var message: String
    }

    static let typeBase = "https://switchyard.dev/problems/"

    init(status: Int, slug: String, title: String, detail: String?, errors: [SwitchyardCore.FieldError]? = nil) {
        self.type = Problem.typeBase + slug
        self.title = title
        self.status = status
        self.detail = detail
        self.errors = errors?.map { FieldError(field: $0.field, message: $0.message) }
    }

    init(_ error: APIError) {
        switch error {
        case .validation(let errors):
            let summary = errors.map(\.description).joined(separator: "; ")
            self.init(status: 400, slug: "validation", title: "Invalid request", detail: summary, errors: errors)
        case .badRequest(let detail):
            self.init(status: 400, slug: "bad-request", title: "Bad request", detail: detail)
        case .unauthorized(let detail):
            self.init(status: 401, slug: "unauthorized", title: "Unauthorized", detail: detail)
        case .forbidden(let detail):
            self.init(status: 403, slug: "forbidden", title: "Forbidden", detail: detail)
        case .notFound(let detail):
            self.init(status: 404, slug: "not-found", title: "Not found", detail: detail)
        case .conflict(let detail):
            self.init(status: 409, slug: "conflict", title: "Conflict", detail: detail)
        case .conflictingFields(let errors):
            self.init(
                status: 409, slug: "conflict", title: "Conflict with the stored configuration",
                detail: errors.map(\.description).joined(separator: "; "), errors: errors)
        case .preconditionFailed(let detail):
            self.init(status: 412, slug: "precondition-failed", title: "Precondition failed", detail: detail)
        case .unsupportedMediaType(let detail):
            self.init(status: 415, slug: "unsupported-media-type", title: "Unsupported media type", detail: detail)
        case .unavailable(let detail):
            self.init(status: 503, slug: "store-unavailable", title: "Store unavailable", detail: detail)
        case .tooLarge(let detail):
            self.init(status: 413, slug: "too-large", title: "Request body too large", detail: detail)
        case .requestTimeout(let detail):
            self.init(status: 408, slug: "request-timeout", title: "Request timeout", detail: detail)
        case .busy(let detail):
            self.init(status: 503, slug: "busy", title: "Busy", detail: detail)
        case .noMasterKey:
            self.init(
                status: 503, slug: "master-key-not-configured", title: "Master key not configured",
                detail: "certificates need the master key that encrypts their private keys: set SWITCHYARD_MASTER_KEY_FILE or serve --master-key-file")
        }
    }

    var json: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{\"status\":\(status)}".utf8)
    }

    var response: (HTTPResponse, HTTPBody) {
        var fields = HTTPFields()
        fields[.contentType] = "application/problem+json"
        if status == 401 { fields[.wwwAuthenticate] = "Bearer realm=\"switchyard\"" }
        if type == Problem.typeBase + "busy" { fields[.retryAfter] = "1" }
        return (HTTPResponse(status: .init(code: status), headerFields: fields), HTTPBody(json))
    }
}
