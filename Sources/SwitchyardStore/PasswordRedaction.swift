/// Hides the password of every URL in a text (`postgres://user:secret@host/db` becomes
/// `postgres://user:***@host/db`), for error messages and log lines that quote a database URL.
///
/// It works on the text, not on a parsed URL: the URLs it must hide passwords in are often the ones that
/// did not parse (a password with an unescaped `@`, `/` or `#`). So the user information is everything
/// between `://` and the last `@` before the end of the URL (white space or a quote), and the password
/// is what follows its first `:`. A query holding an `@` hides a little more than the password, never less.
public enum PasswordRedaction {
    public static let mask = "***"

    public static func redacting(_ text: String) -> String {
        guard text.contains("://") else { return text }
        var result = ""
        var rest = Substring(text)
        while let scheme = rest.range(of: "://") {
            result += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let end = rest.firstIndex { $0.isWhitespace || $0 == "'" || $0 == "\"" || $0 == "`" } ?? rest.endIndex
            let url = rest[..<end]
            if let at = url.lastIndex(of: "@"), let colon = url[..<at].firstIndex(of: ":") {
                result += url[...colon]
                result += mask
                result += url[at...]
            } else {
                result += url
            }
            rest = rest[end...]
        }
        return result + rest
    }
}
