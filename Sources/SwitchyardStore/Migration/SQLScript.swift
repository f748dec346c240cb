import Foundation

/// Splits a migration file into single statements (the extended query protocol takes one at a time),
/// respecting quotes, dollar-quoted bodies and comments.
public enum SQLScript {
    public static func statements(in script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var chars = Array(script)
        chars.append("\n")
        var index = 0
        var dollarTag: String?
        while index < chars.count {
            let char = chars[index]
            let next = index + 1 < chars.count ? chars[index + 1] : "\0"
            if let tag = dollarTag {
                if char == "$", String(chars[index..<min(chars.count, index + tag.count)]) == tag {
                    current += tag
                    index += tag.count
                    dollarTag = nil
                    continue
                }
                current.append(char)
                index += 1
                continue
            }
            switch char {
            case "-" where next == "-":
                while index < chars.count && chars[index] != "\n" { index += 1 }
                continue
            case "'", "\"":
                current.append(char)
                index += 1
                while index < chars.count {
                    current.append(chars[index])
                    if chars[index] == char {
                        if index + 1 < chars.count && chars[index + 1] == char {
                            current.append(char)
                            index += 2
                            continue
                        }
                        break
                    }
                    index += 1
                }
                index += 1
                continue
            case "$":
                var end = index + 1
                while end < chars.count && (chars[end].isLetter || chars[end].isNumber || chars[end] == "_") { end += 1 }
                if end < chars.count && chars[end] == "$" {
                    let tag = String(chars[index...end])
                    current += tag
                    index = end + 1
                    dollarTag = tag
                    continue
                }
            case ";":
                let statement = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !statement.isEmpty { statements.append(statement) }
                current = ""
                index += 1
                continue
            default:
                break
            }
            current.append(char)
            index += 1
        }
        let last = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !last.isEmpty { statements.append(last) }
        return statements
    }
}
