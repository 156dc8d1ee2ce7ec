public import WeftCore

extension XMLRPCValue {
    /// Converts a JSON value: `null` becomes `<nil/>`, objects become structs.
    public init(_ json: JSONValue) {
        switch json {
        case .null: self = .nil
        case .bool(let value): self = .bool(value)
        case .int(let value): self = .int(value)
        case .double(let value): self = .double(value)
        case .string(let value): self = .string(value)
        case .array(let elements): self = .array(elements.map(XMLRPCValue.init))
        case .object(let members): self = .structure(members.mapValues(XMLRPCValue.init))
        }
    }
}

extension JSONValue {
    /// Converts an XML-RPC value: `dateTime` keeps its text, `base64` becomes its base64 text (as Odoo's JSON APIs
    /// send binary fields), `<nil/>` becomes `null`.
    public init(_ value: XMLRPCValue) {
        switch value {
        case .nil: self = .null
        case .bool(let value): self = .bool(value)
        case .int(let value): self = .int(value)
        case .double(let value): self = .double(value)
        case .string(let value): self = .string(value)
        case .dateTime(let value): self = .string(value)
        case .base64(let bytes): self = .string(Base64.encode(bytes))
        case .array(let elements): self = .array(elements.map(JSONValue.init))
        case .structure(let members): self = .object(members.mapValues(JSONValue.init))
        }
    }
}
