import Foundation
import OpenAPIRuntime

/// RFC 3339 timestamps in UTC to the second (`2026-11-26T16:06:27Z`), as the generated code's default
/// `.iso8601` writes them, but formatted with integer arithmetic: Foundation's formatter goes through
/// ICU and cost more than everything else in a list of 10,000 backends. Parsing, which is rare, is
/// left to Foundation.
struct InternetDateTranscoder: DateTranscoder {
    private let fallback: ISO8601DateTranscoder = .iso8601

    func encode(_ date: Date) throws -> String {
        guard let text = Self.text(of: date) else { return try fallback.encode(date) }
        return withUnsafeBytes(of: text) { String(decoding: $0, as: UTF8.self) }
    }

    /// The length of every date `write` writes: `yyyy-MM-ddTHH:mm:ssZ`.
    static let length = 20

    /// A date's text in a value of its own (no heap): 20 bytes.
    typealias Text = (UInt64, UInt64, UInt32)

    /// The date's text, as `write` writes it; nil outside the years it covers.
    static func text(of date: Date) -> Text? {
        var text: Text = (0, 0, 0)
        let written = withUnsafeMutableBytes(of: &text) { write(date, into: $0.bindMemory(to: UInt8.self)) }
        return written ? text : nil
    }

    /// Writes `date` into the first `length` bytes of `text`, as `append` does.
    static func write(_ date: Date, into text: UnsafeMutableBufferPointer<UInt8>) -> Bool {
        // Foundation (ICU) first rounds to the millisecond, then drops the fraction: do the same.
        let seconds = ((date.timeIntervalSince1970 * 1000).rounded() / 1000).rounded(.down)
        // Years 1900 through 9999 only. Anything else is Foundation's business: before 1582 it switches
        // to the Julian calendar.
        guard seconds >= -2_208_988_800, seconds < 253_402_300_800, text.count >= length else { return false }
        let total = Int(seconds)
        let days = total.floorDivided(by: 86_400)
        let secondOfDay = total - days * 86_400
        let (year, month, day) = Self.civil(fromDays: days)
        write(year, digits: 4, into: text, at: 0)
        text[4] = UInt8(ascii: "-")
        write(month, digits: 2, into: text, at: 5)
        text[7] = UInt8(ascii: "-")
        write(day, digits: 2, into: text, at: 8)
        text[10] = UInt8(ascii: "T")
        write(secondOfDay / 3600, digits: 2, into: text, at: 11)
        text[13] = UInt8(ascii: ":")
        write(secondOfDay / 60 % 60, digits: 2, into: text, at: 14)
        text[16] = UInt8(ascii: ":")
        write(secondOfDay % 60, digits: 2, into: text, at: 17)
        text[19] = UInt8(ascii: "Z")
        return true
    }

    func decode(_ string: String) throws -> Date {
        try fallback.decode(string)
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `civil_from_days`).
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = z.floorDivided(by: 146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func write(_ value: Int, digits: Int, into text: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
        var value = value
        for index in stride(from: offset + digits - 1, through: offset, by: -1) {
            text[index] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
        }
    }
}

extension Int {
    fileprivate func floorDivided(by divisor: Int) -> Int {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
