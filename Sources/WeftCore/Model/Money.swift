import Foundation

/// An ISO 4217 currency code, always upper case.
public struct CurrencyCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// Accepts three ASCII letters in any case; anything else is `nil`.
    public init?(rawValue: String) {
        guard rawValue.count == 3, rawValue.allSatisfy({ $0.isASCII && $0.isLetter }) else { return nil }
        self.rawValue = rawValue.uppercased()
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let code = CurrencyCode(rawValue: raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a currency code"))
        }
        self = code
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    /// Digits after the decimal point in this currency's minor unit (ISO 4217; Stripe's zero-decimal list).
    public var minorUnitDigits: Int {
        switch rawValue {
        case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF",
            "XOF", "XPF":
            return 0
        case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
            return 3
        default:
            return 2
        }
    }

    public static let usd = CurrencyCode(rawValue: "USD")!
    public static let eur = CurrencyCode(rawValue: "EUR")!
}

/// An amount of money: integer minor units plus a currency. Never a floating-point amount.
public struct Money: Hashable, Sendable, Codable, CustomStringConvertible {
    public var amountMinor: Int64
    public var currency: CurrencyCode

    public init(amountMinor: Int64, currency: CurrencyCode) {
        self.amountMinor = amountMinor
        self.currency = currency
    }

    /// `12.50 USD`.
    public var description: String { "\(decimalString) \(currency)" }

    /// The amount in major units as an exact decimal string, e.g. `-12.05`.
    public var decimalString: String {
        let digits = currency.minorUnitDigits
        guard digits > 0 else { return String(amountMinor) }
        let magnitude = amountMinor.magnitude
        var scale: UInt64 = 1
        for _ in 0..<digits { scale *= 10 }
        let fraction = String(magnitude % scale)
        let padded = String(repeating: "0", count: digits - fraction.count) + fraction
        return (amountMinor < 0 ? "-" : "") + String(magnitude / scale) + "." + padded
    }

    /// The amount in major units for wire formats that only take JSON numbers (Odoo). Exact for amounts below 2^53.
    public var majorUnits: Double {
        var scale = 1.0
        for _ in 0..<currency.minorUnitDigits { scale *= 10 }
        return Double(amountMinor) / scale
    }

    /// Minor units of a decimal amount written as text (`"1250.5"` in EUR → 125050), as CRMs send amounts; rounded
    /// half to even past the currency's digits. `nil` when the text is not a number or does not fit.
    public static func minorUnits(decimal text: String, currency: CurrencyCode) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, let value = Decimal(string: trimmed, locale: Locale(identifier: "en_US_POSIX")) else {
            return nil
        }
        var scaled = value * pow(10, currency.minorUnitDigits)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &scaled, 0, .bankers)
        let number = NSDecimalNumber(decimal: rounded)
        guard number.doubleValue.magnitude < 9.0e15 else { return nil }
        return number.int64Value
    }

    /// Converts a major-unit number read from a wire format (Odoo) to minor units, rounding half away from zero.
    public static func fromMajorUnits(_ value: Double, currency: CurrencyCode) -> Money {
        var scale = 1.0
        for _ in 0..<currency.minorUnitDigits { scale *= 10 }
        return Money(amountMinor: Int64((value * scale).rounded(.toNearestOrAwayFromZero)), currency: currency)
    }
}
