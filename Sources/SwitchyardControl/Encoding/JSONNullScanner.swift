/// Whether a JSON text has a `null` literal anywhere (outside strings), found with one pass over its
/// bytes. Request bodies almost never have one, so the full parse that names the offending field runs
/// only when this says yes (a 10,000-backend configuration is ~1 MiB: a second Foundation parse of it
/// cost more than the scan by two orders of magnitude).
enum JSONNullScanner {
    static func containsNull(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        var inString = false
        while index < count {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\") {
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else if byte == UInt8(ascii: "n"), index + 3 < count, bytes[index + 1] == UInt8(ascii: "u"),
                bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "l")
            {
                return true
            }
            index += 1
        }
        return false
    }
}
