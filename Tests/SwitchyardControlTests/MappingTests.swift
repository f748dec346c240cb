import Foundation
import OpenAPIRuntime
import SwitchyardCore
import Testing

@testable import SwitchyardControl

@Suite struct MappingTests {
    @Test func backendStateMatchesItsCodableEncoding() throws {
        for spec in [
            BackendSpec(address: "10.0.0.1", port: 8080),
            BackendSpec(address: "web.internal", port: 443, weight: 0, backup: true, adminState: .maintenance),
        ] {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            let viaJSON = try JSONDecoder().decode(OpenAPIValueContainer.self, from: try encoder.encode(spec))
            #expect(jsonValue(.backend(spec)) == viaJSON)
        }
    }
}
