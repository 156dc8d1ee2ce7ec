import WeftCore

/// Builders for canonical field values, equal to what `CanonicalCoding.jsonValue` produces for the same values
/// (tested), but without a round trip through `JSONEncoder` for the hot, simple cases.
struct StripeCanonicalValues: Sendable {
    let system: SystemName

    /// An `ExternalRef` value.
    func ref(_ kind: EntityKind, _ id: String) -> JSONValue {
        .object(["system": .string(system.rawValue), "kind": .string(kind.rawValue), "id": .string(id)])
    }

    /// An `ExternalRef`.
    func externalRef(_ kind: EntityKind, _ id: String) -> ExternalRef {
        ExternalRef(system: system, kind: kind, id: id)
    }

    /// A unix-seconds instant as canonical milliseconds since 1970.
    static func date(_ seconds: Int64?) -> JSONValue {
        guard let seconds else { return .null }
        return .int(seconds * 1000)
    }

    static func string(_ value: String?) -> JSONValue {
        value.map(JSONValue.string) ?? .null
    }

    static func int(_ value: Int64?) -> JSONValue {
        value.map(JSONValue.int) ?? .null
    }

    static func bool(_ value: Bool?) -> JSONValue {
        value.map(JSONValue.bool) ?? .null
    }

    /// A `Money` value; `nil` unless both the amount and a valid currency are known.
    static func money(_ amount: Int64?, _ currency: CurrencyCode?) -> JSONValue? {
        guard let amount, let currency else { return nil }
        return .object(["amountMinor": .int(amount), "currency": .string(currency.rawValue)])
    }

    /// A Stripe currency (lower case) as a canonical code (upper case); `nil` when absent or not a code.
    static func currency(_ raw: String?) -> CurrencyCode? {
        raw.flatMap(CurrencyCode.init(rawValue:))
    }
}
