/// DNS host names as the API accepts them: RFC 1123 labels, at most 253 bytes, the last label starting
/// with a letter (so that "999.1.1.1" is a mistyped address, not a name).
public enum HostName {
    public static func isValid(_ name: String, allowWildcard: Bool = false) -> Bool {
        name.utf8.count <= 253 && TextPattern.matches(name, allowWildcard ? TextPattern.routeHost : TextPattern.fullHostName)
    }
}
