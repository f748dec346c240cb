import Foundation
import SwitchyardCore

/// The JSON form of resources in `settings` columns and audit rows: the API's snake_case fields.
enum ResourceJSON {
    static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Resources are plain value types of strings, numbers and enums: encoding cannot fail.
        let data = try! encoder.encode(value)
        return String(decoding: data, as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(type, from: Data(text.utf8))
        } catch {
            throw StoreError.corruptRow("\(T.self): \(error)")
        }
    }

    static func encode(_ state: ResourceState) -> String {
        switch state {
        case .pool(let spec): encode(spec)
        case .backend(let spec): encode(spec)
        case .listener(let spec): encode(spec)
        case .certificate(let spec): encode(spec)
        }
    }

    static func decodeState(kind: ResourceKind, from text: String) throws -> ResourceState? {
        switch kind {
        case .pool: .pool(try decode(PoolSpec.self, from: text))
        case .backend: .backend(try decode(BackendSpec.self, from: text))
        case .listener: .listener(try decode(ListenerSpec.self, from: text))
        case .certificate: .certificate(try decode(CertificateSpec.self, from: text))
        case .token: nil
        }
    }
}

/// The parts of a listener kept in its `settings` column.
struct ListenerSettings: Codable, Sendable {
    var tls: TLSSpec?
    var allow: [String]
    var deny: [String]
    /// Absent in rows written before the field existed: none.
    var trustedProxies: [String]?
    var maxConnections: Int?
    var timeouts: ListenerTimeouts?
    var rateLimit: RateLimitSpec?
    /// Absent in rows written before the fields existed (and when off): false, none.
    var redirectHttps: Bool?
    var hstsMaxAgeS: Int?
}
