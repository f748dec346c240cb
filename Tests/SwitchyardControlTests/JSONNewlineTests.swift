import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
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

    /// What reaches the connection: each call to the writer underneath, with the text it carries.
    struct RecordingWriter: ResponseBodyWriter {
        let calls: NIOLockedValueBox<[String]>

        func write(_ buffer: ByteBuffer) async throws {
            calls.withLockedValue { $0.append("write \(String(buffer: buffer).debugDescription)") }
        }

        func write(contentsOf buffers: some Sequence<ByteBuffer>) async throws {
            let texts = buffers.map { String(buffer: $0).debugDescription }
            calls.withLockedValue { $0.append("batch \(texts.joined(separator: " "))") }
        }

        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
            calls.withLockedValue { $0.append("finish") }
        }
    }

    func calls(_ body: (inout NewlineTerminatedWriter) async throws -> Void) async throws -> [String] {
        let calls = NIOLockedValueBox<[String]>([])
        var writer = NewlineTerminatedWriter(base: RecordingWriter(calls: calls))
        try await body(&writer)
        try await writer.finish(nil)
        return calls.withLockedValue { $0 }
    }

    @Test("the newline goes out with the last buffer: no write of its own")
    func newlineRidesWithTheLastBuffer() async throws {
        #expect(try await calls { try await $0.write(ByteBuffer(string: "{}")) } == [#"batch "{}" "\n""#, "finish"])
        #expect(
            try await calls {
                try await $0.write(ByteBuffer(string: "{"))
                try await $0.write(ByteBuffer(string: "}"))
            } == [#"write "{""#, #"batch "}" "\n""#, "finish"])
        #expect(
            try await calls { try await $0.write(contentsOf: ["[", "1", "]"].map { ByteBuffer(string: $0) }) }
                == [#"batch "[" "1""#, #"batch "]" "\n""#, "finish"])
        #expect(try await calls { _ in } == [#"write "\n""#, "finish"])
    }
}
