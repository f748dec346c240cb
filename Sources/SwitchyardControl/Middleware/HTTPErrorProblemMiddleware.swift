import Foundation
import HTTPTypes
import Hummingbird

/// Errors raised outside the OpenAPI operations (no such path, wrong method) also leave as problem+json.
struct HTTPErrorProblemMiddleware<Context: Hummingbird.RequestContext>: RouterMiddleware {
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let status = Int(error.status.code)
            let problem: Problem
            var headers = HTTPFields()
            if status == 404, let allowed = routes.allowedMethods(for: request.uri.path) {
                headers[.allow] = allowed.joined(separator: ", ")
                problem = Problem(
                    status: 405, slug: "method-not-allowed", title: "Method not allowed",
                    detail: "\(request.method.rawValue) is not allowed on \(request.uri.path); allowed: \(allowed.joined(separator: ", "))")
                headers[.contentType] = "application/problem+json"
                return Response(status: .methodNotAllowed, headers: headers, body: .init(byteBuffer: ByteBuffer(data: problem.json)))
            }
            switch status {
            case 404:
                problem = Problem(
                    status: 404, slug: "not-found", title: "Not found",
                    detail: "no such path: \(request.method.rawValue) \(request.uri.path); see GET /openapi.yaml")
            case 405:
                problem = Problem(status: 405, slug: "method-not-allowed", title: "Method not allowed", detail: error.body)
            case 413:
                problem = Problem(status: 413, slug: "too-large", title: "Request body too large", detail: error.body)
            default:
                problem = Problem(status: status, slug: "http-\(status)", title: error.status.reasonPhrase, detail: error.body)
            }
            headers[.contentType] = "application/problem+json"
            return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: problem.json)))
        }
    }
}
