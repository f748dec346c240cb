import Foundation

/// The paths and methods of openapi.yaml, read from the contract itself, to tell "no such path" (404)
/// from "no such method on this path" (405 with `Allow`).
struct RouteTable: Sendable {
    private var routes: [(segments: [Substring], methods: [String])] = []

    init(openAPIDocument: Data) {
        var current: [Substring]?
        var methods: [String] = []
        for line in String(decoding: openAPIDocument, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                if let current { routes.append((current, methods)) }
                current = line.dropFirst(2).dropLast().split(separator: "/")
                methods = []
            } else if current != nil, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let key = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "put", "post", "patch", "delete"].contains(key) { methods.append(key.uppercased()) }
            } else if !line.hasPrefix(" "), !line.isEmpty, current != nil {
                routes.append((current!, methods))
                current = nil
            }
        }
        if let current { routes.append((current, methods)) }
    }

    /// The methods the contract allows on `path`, or nil when it has no such path.
    func allowedMethods(for path: String) -> [String]? {
        let segments = path.split(separator: "/")
        for route in routes where route.segments.count == segments.count {
            let matches = zip(route.segments, segments).allSatisfy { template, actual in template.hasPrefix("{") || template == actual }
            if matches { return route.methods }
        }
        return nil
    }
}
