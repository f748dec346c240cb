import Foundation
import SwitchyardAPI
import Testing

@testable import SwitchyardControl

@Suite("JSON answers end with a newline")
struct JSONNewlineTests {
    /// The answer is JSON followed by exactly one newline, and Content-Length (when sent) counts it.
    func expectNewlineTerminatedJSON(
        _ response: TestServer.Response, status: Int, contentType: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == status, sourceLocation: sourceLocation)
        #expect(response[header: "Content-Type"]?.hasPrefix(contentType) == true, sourceLocation: sourceLocation)
        #expect(response.body.last == UInt8(ascii: "\n"), "\(response.text.suffix(20).debugDescription)", sourceLocation: sourceLocation)
        #expect(response.body.dropLast().last != UInt8(ascii: "\n"), "one newline, not two", sourceLocation: sourceLocation)
        #expect((try? JSONSerialization.jsonObject(with: response.body.dropLast())) != nil, sourceLocation: sourceLocation)
        if let length = response[header: "Content-Length"] {
            #expect(Int(length) == response.body.count, sourceLocation: sourceLocation)
        }
    }

    @Test("resources, lists (the pre-encoded one too), the configuration and problems")
    func answers() async throws {
        try await TestServer.with { server in
            try await server.makePool("web", backends: ["web-1", "web-2"])
            let json = "application/json"
            let problem = "application/problem+json"

            expectNewlineTerminatedJSON(try await server.get("/v1/pools/web"), status: 200, contentType: json)
            expectNewlineTerminatedJSON(try await server.get("/v1/pools/web/backends/web-1"), status: 200, contentType: json)
            expectNewlineTerminatedJSON(try await server.get("/v1/pools"), status: 200, contentType: json)
            // Written by `BackendListWriter` and sent by `PreencodedBodyMiddleware`, in one page and in several.
            expectNewlineTerminatedJSON(try await server.get("/v1/pools/web/backends"), status: 200, contentType: json)
            expectNewlineTerminatedJSON(try await server.get("/v1/pools/web/backends?limit=1"), status: 200, contentType: json)
            expectNewlineTerminatedJSON(try await server.get("/v1/config"), status: 200, contentType: json)
            expectNewlineTerminatedJSON(try await server.get("/healthz", token: nil), status: 200, contentType: json)
            expectNewlineTerminatedJSON(
                try await server.post("/v1/pools/web/backends", ["name": "web-3", "address": "127.0.0.13", "port": 8080]),
                status: 201, contentType: json)

            // Problems: from a handler, from the generated code, from authentication, and from the router.
            expectNewlineTerminatedJSON(try await server.get("/v1/pools/nope"), status: 404, contentType: problem)
            expectNewlineTerminatedJSON(try await server.post("/v1/pools", ["name": 7]), status: 400, contentType: problem)
            expectNewlineTerminatedJSON(try await server.get("/v1/pools", token: nil), status: 401, contentType: problem)
            expectNewlineTerminatedJSON(try await server.get("/v2/whatever"), status: 404, contentType: problem)
            expectNewlineTerminatedJSON(try await server.request(.DELETE, "/v1/pools"), status: 405, contentType: problem)

            // Other media types are sent as they are.
            let contract = try await server.get("/openapi.yaml", token: nil)
            #expect(contract.body == OpenAPIDocument.yaml)
        }
    }

    @Test func jsonMediaTypes() {
        #expect(isJSONMediaType("application/json"))
        #expect(isJSONMediaType("application/json; charset=utf-8"))
        #expect(isJSONMediaType("Application/Problem+JSON"))
        #expect(!isJSONMediaType("application/yaml"))
        #expect(!isJSONMediaType("text/plain; version=0.0.4"))
        #expect(!isJSONMediaType("application/jsonx"))
        #expect(!isJSONMediaType(nil))
    }
}
