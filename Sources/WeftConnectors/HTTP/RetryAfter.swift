public import Foundation

/// Parses the `Retry-After` header: delay-seconds or an HTTP-date (IMF-fixdate, RFC 850 or asctime).
public enum RetryAfter {
    /// The longest delay taken from a target: a longer one (a broken header, a date years ahead) is read as this, so
    /// that no arithmetic on it can overflow and the command is tried again within a day.
    public static let longest = Duration.seconds(86_400)

    /// The delay the header asks for, measured from `now`, at most `longest`; `nil` when absent or unreadable. Dates
    /// in the past give zero.
    public static func parse(_ value: String?, now: Date = Date()) -> Duration? {
        guard let raw = value?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        if raw.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
            // Too many digits for an Int64 is still a number of seconds: a very long one.
            return min(Int64(raw).map { Duration.seconds($0) } ?? longest, longest)
        }
        guard let date = httpDate(raw, now: now) else { return nil }
        let interval = min(date.timeIntervalSince(now), Double(longest.components.seconds))
        return interval <= 0 ? .zero : .milliseconds(Int64((interval * 1000).rounded(.up)))
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// `Sun, 06 Nov 1994 08:49:37 GMT`, `Sunday, 06-Nov-94 08:49:37 GMT` or `Sun Nov  6 08:49:37 1994`.
    /// A two-digit year (RFC 850) is the latest year with those digits that is not more than 50 years after `now`'s
    /// (RFC 9110 §5.6.7). Years outside 1–9999 are unreadable.
    static func httpDate(_ text: String, now: Date = Date()) -> Date? {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "-" }).map(String.init)
        var day: Int?
        var month: Int?
        var year: Int?
        var clock: [Int]?
        for token in tokens.dropFirst() {
            if token.contains(":") {
                let parts = token.split(separator: ":").compactMap { Int($0) }
                guard parts.count == 3 else { return nil }
                clock = parts
            } else if let index = months.firstIndex(of: token.lowercased()) {
                month = index + 1
            } else if let number = Int(token) {
                if day == nil && token.count <= 2 {
                    day = number
                } else {
                    year = token.count == 2 ? fullYear(twoDigits: number, now: now) : number
                }
            } else if token.uppercased() != "GMT" && token.uppercased() != "UTC" {
                return nil
            }
        }
        guard let day, let month, let year, let clock, (1...31).contains(day), (1...9999).contains(year),
            clock.allSatisfy({ $0 >= 0 }), clock[0] < 24, clock[1] < 60, clock[2] < 61
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(clock[0] * 3600 + clock[1] * 60 + clock[2])
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    static func fullYear(twoDigits: Int, now: Date) -> Int {
        let days = Int((now.timeIntervalSince1970 / 86_400).rounded(.down))
        // The year of `now`, from its day count (the inverse of `daysFromCivil`, to the year only).
        var year = 1970 + days / 366
        while daysFromCivil(year: year + 1, month: 1, day: 1) <= days { year += 1 }
        var candidate = year - year % 100 + twoDigits
        if candidate > year + 50 { candidate -= 100 }
        return candidate
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
