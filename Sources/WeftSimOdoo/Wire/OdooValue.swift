import Foundation
import WeftCore
import WeftXMLRPC

/// A JSON value whose objects keep their member order, written the way Odoo's Python `json` module writes it
/// (`", "` and `": "` separators, raw UTF-8, no escaped slashes).
indirect enum OdooValue: Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([OdooValue])
    case object([(String, OdooValue)])

    /// Converts a `JSONValue`; object members are sorted by key, since `JSONValue` objects have no order.
    init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .int(let value): self = .int(value)
        case .double(let value): self = .double(value)
        case .string(let value): self = .string(value)
        case .array(let elements): self = .array(elements.map(OdooValue.init))
        case .object(let members):
            self = .object(members.keys.sorted().map { ($0, OdooValue(members[$0]!)) })
        }
    }

    /// The same value as a `JSONValue` (member order is lost).
    var json: JSONValue {
        switch self {
        case .null: return .null
        case .bool(let value): return .bool(value)
        case .int(let value): return .int(value)
        case .double(let value): return .double(value)
        case .string(let value): return .string(value)
        case .array(let elements): return .array(elements.map(\.json))
        case .object(let members):
            return .object(Dictionary(members.map { ($0.0, $0.1.json) }, uniquingKeysWith: { _, last in last }))
        }
    }

    /// The member `key` of an object.
    subscript(key: String) -> OdooValue? {
        if case .object(let members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }

    /// The value as XML-RPC; `nil` when it contains a `null` (Odoo marshals with `allow_none=False`).
    var xmlrpc: XMLRPCValue? {
        switch self {
        case .null: return nil
        case .bool(let value): return .bool(value)
        case .int(let value): return .int(value)
        case .double(let value): return .double(value)
        case .string(let value): return .string(value)
        case .array(let elements):
            var converted: [XMLRPCValue] = []
            converted.reserveCapacity(elements.count)
            for element in elements {
                guard let value = element.xmlrpc else { return nil }
                converted.append(value)
            }
            return .array(converted)
        case .object(let members):
            var converted: [String: XMLRPCValue] = [:]
            for (key, element) in members {
                guard let value = element.xmlrpc else { return nil }
                converted[key] = value
            }
            return .structure(converted)
        }
    }

    /// The JSON text.
    var jsonText: String {
        var output = ""
        output.reserveCapacity(256)
        write(into: &output)
        return output
    }

    /// Appends the JSON text to `output`.
    func write(into output: inout String) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .int(let value): output += String(value)
        case .double(let value): output += Self.pythonFloat(value)
        case .string(let value): Self.writeString(value, into: &output)
        case .array(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += ", " }
                element.write(into: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, member) in members.enumerated() {
                if index > 0 { output += ", " }
                Self.writeString(member.0, into: &output)
                output += ": "
                member.1.write(into: &output)
            }
            output += "}"
        }
    }

    /// Python's `repr` of a float (shortest round-trip text, always with a fraction or an exponent).
    static func pythonFloat(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
        let text = value.description
        return text
    }

    private static func writeString(_ value: String, into output: inout String) {
        output += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }
}

/// Python `repr` of decoded JSON values, for error messages that quote a domain leaf or a value.
enum PythonRepr {
    /// `repr(value)` of the Python object Odoo would have decoded from `value`.
    static func of(_ value: JSONValue) -> String {
        switch value {
        case .null: return "None"
        case .bool(let flag): return flag ? "True" : "False"
        case .int(let number): return String(number)
        case .double(let number): return OdooValue.pythonFloat(number)
        case .string(let text): return string(text)
        case .array(let elements): return "[" + elements.map(of).joined(separator: ", ") + "]"
        case .object(let members):
            return "{" + members.keys.sorted().map { string($0) + ": " + of(members[$0]!) }.joined(separator: ", ") + "}"
        }
    }

    /// `repr` of a domain leaf, a tuple.
    static func tuple(_ elements: [JSONValue]) -> String {
        "(" + elements.map(of).joined(separator: ", ") + (elements.count == 1 ? ",)" : ")")
    }

    /// `repr(text)`: single quotes unless the text holds a single quote and no double quote.
    static func string(_ text: String) -> String {
        let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var output = String(quote)
        for character in text {
            switch character {
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            default:
                if character == quote { output += "\\" + String(quote) } else { output.append(character) }
            }
        }
        output.append(quote)
        return output
    }
}
