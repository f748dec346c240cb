import Foundation
// The types and server protocol generated from openapi.yaml (the one contract; the repository root's
// openapi.yaml links here), and the document itself for GET /openapi.yaml.
@_exported import OpenAPIRuntime

public enum OpenAPIDocument {
    /// The contract as shipped with the binary.
    public static let yaml: Data = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"), let data = try? Data(contentsOf: url) else {
            return Data("openapi: 3.1.0\n".utf8)
        }
        return data
    }()
}
