/// One XML-RPC value, as Python's `xmlrpc.client` and Odoo put it on the wire.
///
/// `dateTime` keeps the ISO 8601 text exactly as sent (`20261122T22:00:17`); `base64` holds the decoded bytes.
public enum XMLRPCValue: Sendable, Hashable {
    /// `<int>`, `<i4>` or `<i8>`.
    case int(Int64)
    /// `<boolean>0</boolean>` or `<boolean>1</boolean>`.
    case bool(Bool)
    /// `<string>` or a `<value>` without a type element.
    case string(String)
    /// `<double>`.
    case double(Double)
    /// `<dateTime.iso8601>`, text as sent.
    case dateTime(String)
    /// `<base64>`, decoded.
    case base64([UInt8])
    /// `<array><data>…</data></array>`.
    case array([XMLRPCValue])
    /// `<struct>` with `<member>` name/value pairs.
    case structure([String: XMLRPCValue])
    /// `<nil/>` (the `allow_none` extension).
    case `nil`
}

extension XMLRPCValue {
    /// The member `key` of a struct, or `nil`.
    public subscript(key: String) -> XMLRPCValue? {
        if case .structure(let members) = self { return members[key] }
        return nil
    }

    /// The integer payload, or `nil`.
    public var intValue: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The string payload, or `nil`.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The elements of an array, or `nil`.
    public var arrayValue: [XMLRPCValue]? {
        if case .array(let value) = self { return value }
        return nil
    }
}

extension XMLRPCValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral, ExpressibleByNilLiteral
{
    /// A `string` value.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An `int` value.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// A `bool` value.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An `array` value.
    public init(arrayLiteral elements: XMLRPCValue...) { self = .array(elements) }
    /// A `double` value.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// The `nil` value.
    public init(nilLiteral: ()) { self = .nil }
    /// A `structure` value; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, XMLRPCValue)...) {
        self = .structure(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
