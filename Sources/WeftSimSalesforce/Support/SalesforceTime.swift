/// Salesforce's time formats. REST answers datetimes as `2024-01-01T00:00:00.000+0000` and dates as `2024-01-01`;
/// SOQL datetime literals are `2024-01-01T00:00:00Z` or carry an offset (`+01:00`); SOAP (outbound messages) writes
/// `2024-01-01T00:00:00.000Z`. Internally time is unix milliseconds, UTC.
enum SalesforceTime {
    /// `ms` as `2024-01-01T00:00:00.000+0000`.
    static func rest(_ ms: Int) -> String { iso(ms) + "+0000" }

    /// `ms` as `2024-01-01T00:00:00.000Z`.
    static func soap(_ ms: Int) -> String { iso(ms) + "Z" }

    /// The UTC day of `ms` as `2024-01-01`.
    static func date(_ ms: Int) -> String {
        let (year, month, day) = civil(fromDays: floorDiv(ms, 86_400_000))
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    private static func iso(_ ms: Int) -> String {
        let days = floorDiv(ms, 86_400_000)
        let inDay = ms - days * 86_400_000
        let seconds = inDay / 1000
        return date(ms) + "T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(inDay % 1000, 3))"
    }

    /// Parses `YYYY-MM-DD` into the unix milliseconds of its UTC midnight.
    static func parseDate(_ text: String) -> Int? {
        let chars = Array(text.utf8)
        guard chars.count == 10 else { return nil }
        return parseDay(chars)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM|±HHMM)` into unix milliseconds.
    static func parseDateTime(_ text: String) -> Int? {
        let chars = Array(text.utf8)
        guard chars.count >= 20, let day = parseDay(chars), chars[10] == UInt8(ascii: "T") || chars[10] == UInt8(ascii: " "),
            chars[13] == UInt8(ascii: ":"), chars[16] == UInt8(ascii: ":"),
            let hour = number(chars, 11..<13), let minute = number(chars, 14..<16), let second = number(chars, 17..<19),
            hour < 24, minute < 60, second < 61
        else { return nil }
        var ms = day + (hour * 3600 + minute * 60 + second) * 1000
        var index = 19
        if chars[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            var fraction = 0
            while index < chars.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(chars[index]) {
                if digits < 3 {
                    fraction = fraction * 10 + Int(chars[index] - UInt8(ascii: "0"))
                    digits += 1
                }
                index += 1
            }
            guard digits > 0 else { return nil }
            while digits < 3 {
                fraction *= 10
                digits += 1
            }
            ms += fraction
        }
        guard index < chars.count else { return nil }
        if chars[index] == UInt8(ascii: "Z") {
            return index == chars.count - 1 ? ms : nil
        }
        guard chars[index] == UInt8(ascii: "+") || chars[index] == UInt8(ascii: "-") else { return nil }
        let sign = chars[index] == UInt8(ascii: "+") ? 1 : -1
        let rest = Array(chars[(index + 1)...])
        let offset: Int
        if rest.count == 5, rest[2] == UInt8(ascii: ":"), let h = number(rest, 0..<2), let m = number(rest, 3..<5) {
            offset = h * 60 + m
        } else if rest.count == 4, let h = number(rest, 0..<2), let m = number(rest, 2..<4) {
            offset = h * 60 + m
        } else {
            return nil
        }
        return ms - sign * offset * 60_000
    }

    private static func parseDay(_ chars: [UInt8]) -> Int? {
        guard chars.count >= 10, chars[4] == UInt8(ascii: "-"), chars[7] == UInt8(ascii: "-"),
            let year = number(chars, 0..<4), let month = number(chars, 5..<7), let day = number(chars, 8..<10),
            (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        return days(year: year, month: month, day: day) * 86_400_000
    }

    private static func number(_ chars: [UInt8], _ range: Range<Int>) -> Int? {
        guard range.upperBound <= chars.count else { return nil }
        var value = 0
        for index in range {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(chars[index]) else { return nil }
            value = value * 10 + Int(chars[index] - UInt8(ascii: "0"))
        }
        return value
    }

    private static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : (a - b + 1) / b }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Howard Hinnant's `civil_from_days`.
    private static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// Howard Hinnant's `days_from_civil`.
    private static func days(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
