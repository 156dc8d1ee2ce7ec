public import Foundation

/// A SOQL statement whose interpolated values are literals, never query text: `\(string)` becomes a quoted, escaped
/// string, `\(date)` a UTC datetime (`2024-01-01T00:00:00Z`), `\(day: date)` a date (`2024-01-01`), numbers and
/// booleans their SOQL form, `\(strings)` an `IN` list, and `\(field: name)` an API name checked against
/// `[A-Za-z][A-Za-z0-9_]*` (dots allowed for relationships). Only the literal segments are taken as written.
///
/// ```swift
/// let soql: SalesforceSOQL = "SELECT Id FROM Opportunity WHERE Weft_Key__c = \(key) AND SystemModstamp > \(since)"
/// ```
public struct SalesforceSOQL: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringInterpolation {
    /// The statement as sent.
    public let text: String
    /// An interpolated field name that is not an API name; the client refuses to send the statement.
    public let invalidIdentifier: String?

    public init(stringLiteral value: String) {
        text = value
        invalidIdentifier = nil
    }

    public init(stringInterpolation: StringInterpolation) {
        text = stringInterpolation.text
        invalidIdentifier = stringInterpolation.invalidIdentifier
    }

    public var description: String { text }

    /// Builds the statement and its literals.
    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        var text = ""
        var invalidIdentifier: String?

        public init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        public mutating func appendLiteral(_ literal: String) { text += literal }

        /// A quoted, escaped string literal.
        public mutating func appendInterpolation(_ value: String) { text += SalesforceSOQL.quote(value) }

        /// A UTC datetime literal, `2024-01-01T00:00:00Z`.
        public mutating func appendInterpolation(_ value: Date) { text += SalesforceSOQL.dateTime(value) }

        /// A date literal, `2024-01-01` (UTC).
        public mutating func appendInterpolation(day value: Date) { text += SalesforceSOQL.date(value) }

        /// An integer literal.
        public mutating func appendInterpolation<Number: BinaryInteger>(_ value: Number) { text += String(value) }

        /// `true` or `false`.
        public mutating func appendInterpolation(_ value: Bool) { text += value ? "true" : "false" }

        /// `NULL` for `nil`, else the quoted string.
        public mutating func appendInterpolation(_ value: String?) {
            text += value.map(SalesforceSOQL.quote) ?? "null"
        }

        /// An `IN` list of quoted strings: `('a','b')`.
        public mutating func appendInterpolation(_ values: [String]) {
            text += "(" + values.map(SalesforceSOQL.quote).joined(separator: ",") + ")"
        }

        /// A field or object API name (`Weft_Key__c`, `Account.Name`), checked, never quoted.
        public mutating func appendInterpolation(field name: String) {
            if !SalesforceSOQL.isIdentifier(name) && invalidIdentifier == nil { invalidIdentifier = name }
            text += name
        }
    }

    // MARK: Literals

    /// `'…'` with SOQL's escapes: `\\`, `\'`, `\"`, `\n`, `\r`, `\t`, `\b`, `\f`.
    public static func quote(_ value: String) -> String {
        var out = "'"
        out.reserveCapacity(value.utf8.count + 2)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "'"
    }

    /// A quoted `LIKE` pattern that matches `value` literally, with `%` and `_` escaped and `%` around it when
    /// `contains` is set.
    public static func likeLiteral(_ value: String, contains: Bool = false) -> String {
        var escaped = String(quote(value).dropFirst().dropLast())
        escaped = escaped.replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
        return contains ? "'%" + escaped + "%'" : "'" + escaped + "'"
    }

    /// `2024-01-01T00:00:00Z` (UTC, whole seconds: SOQL datetime literals take no fraction).
    public static func dateTime(_ date: Date) -> String {
        let seconds = Int64((date.timeIntervalSince1970).rounded(.down))
        let (year, month, day) = civil(days: floorDiv(seconds, 86_400))
        let time = seconds - floorDiv(seconds, 86_400) * 86_400
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(time / 3600, 2)):\(pad(time / 60 % 60, 2)):"
            + "\(pad(time % 60, 2))Z"
    }

    /// `2024-01-01` (the UTC day).
    public static func date(_ date: Date) -> String {
        let seconds = Int64((date.timeIntervalSince1970).rounded(.down))
        let (year, month, day) = civil(days: floorDiv(seconds, 86_400))
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    /// An API name: letters, digits and underscores, starting with a letter; dots join relationship names.
    public static func isIdentifier(_ name: String) -> Bool {
        guard !name.isEmpty else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { part in
            guard let first = part.utf8.first, first.isASCIILetter else { return false }
            return part.utf8.allSatisfy { $0.isASCIILetter || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
        }
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : (a - b + 1) / b
    }

    /// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    private static func civil(days: Int64) -> (Int64, Int64, Int64) {
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
}

extension UInt8 {
    fileprivate var isASCIILetter: Bool { (self >= 0x41 && self <= 0x5A) || (self >= 0x61 && self <= 0x7A) }
}
