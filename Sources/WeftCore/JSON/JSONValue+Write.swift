public import Foundation

/// A value that cannot be written as JSON (a non-finite number).
public struct JSONWriteError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String { "a number that is not finite cannot be written as JSON" }
}

extension JSONValue {
    /// Appends the value as compact JSON, object members in sorted key order: the bytes `JSONEncoder` writes with
    /// `.sortedKeys` and `.withoutEscapingSlashes`. Numbers: integers as written, doubles in Swift's shortest
    /// round-trip form (a whole one without `.0`); non-finite doubles throw.
    public func write(to output: inout [UInt8]) throws(JSONWriteError) {
        switch self {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number): output.append(contentsOf: String(number).utf8)
        case .double(let number):
            guard number.isFinite else { throw JSONWriteError() }
            // As `JSONEncoder` writes it: the shortest round-trip form, a whole number without its `.0`.
            let text = number.description
            output.append(contentsOf: (text.hasSuffix(".0") ? text.dropLast(2) : Substring(text)).utf8)
        case .string(let text): Self.writeString(text, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                try element.write(to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            try Self.writeObject(members, to: &output) { value, output throws(JSONWriteError) in try value.write(to: &output) }
        }
    }

    /// Writes `{"key":value,…}` with keys sorted, each value by `body`.
    public static func writeObject<Value>(
        _ members: [String: Value], to output: inout [UInt8],
        _ body: (Value, inout [UInt8]) throws(JSONWriteError) -> Void
    ) throws(JSONWriteError) {
        output.append(UInt8(ascii: "{"))
        // Sorted with their values, so that no value is looked up again by its key.
        for (index, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            writeString(member.key, to: &output)
            output.append(UInt8(ascii: ":"))
            try body(member.value, &output)
        }
        output.append(UInt8(ascii: "}"))
    }

    /// Writes a JSON string literal: `"` and `\` escaped, control characters as `\n`-style or `\u00XX` escapes, the
    /// rest as UTF-8.
    public static func writeString(_ text: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        // Most strings (ids, names, codes) need no escape: copied in one append, without a check per byte's append.
        let plain = text.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
                return false
            }
            output.append(contentsOf: bytes)
            return true
        }
        if plain == true {
            output.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)],
                    hex[Int(byte & 0x0F)],
                ])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

extension Aggregate {
    /// The aggregate as stored: the same JSON `CanonicalCoding.encoder` writes for it (read back with
    /// `CanonicalCoding.decoder`), written directly instead of through `Encodable`, which is the pipeline's largest
    /// cost per event otherwise.
    public func canonicalJSON() throws(JSONWriteError) -> Data {
        var output: [UInt8] = []
        output.reserveCapacity(4096)
        output.append(UInt8(ascii: "{"))
        if !aliases.isEmpty {
            output.append(contentsOf: #""aliases":["#.utf8)
            for (index, alias) in aliases.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                JSONValue.writeString(alias.rawValue, to: &output)
            }
            output.append(contentsOf: "],".utf8)
        }
        output.append(contentsOf: #""emitted":"#.utf8)
        try JSONValue.writeObject(emitted, to: &output) { emission, output throws(JSONWriteError) in
            output.append(contentsOf: #"{"count":\#(emission.count),"fingerprint":\#(emission.fingerprint)"#.utf8)
            if let input = emission.input { output.append(contentsOf: #","input":\#(input)"#.utf8) }
            output.append(UInt8(ascii: "}"))
        }
        output.append(contentsOf: #","records":"#.utf8)
        try JSONValue.writeObject(records, to: &output) { record, output throws(JSONWriteError) in
            let shape = record.storedShape
            output.append(contentsOf: #"{"fields":"#.utf8)
            try JSONValue.writeObject(record.fields, to: &output) { value, output throws(JSONWriteError) in
                try value.write(to: &output)
            }
            if !shape.otherSources.isEmpty {
                output.append(contentsOf: #","otherSources":"#.utf8)
                try JSONValue.writeObject(shape.otherSources, to: &output) { source, output in
                    Self.writeSource(source, to: &output)
                }
            }
            if !shape.otherVersions.isEmpty {
                output.append(contentsOf: #","otherVersions":"#.utf8)
                try JSONValue.writeObject(shape.otherVersions, to: &output) { version, output in
                    Self.writeVersion(version, to: &output)
                }
            }
            if let source = shape.source {
                output.append(contentsOf: #","source":"#.utf8)
                Self.writeSource(source, to: &output)
            }
            if let version = shape.version {
                output.append(contentsOf: #","version":"#.utf8)
                Self.writeVersion(version, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
        output.append(UInt8(ascii: "}"))
        return Data(output)
    }

    private static func writeSource(_ source: SystemName?, to output: inout [UInt8]) {
        guard let source else { return output.append(contentsOf: "null".utf8) }
        JSONValue.writeString(source.rawValue, to: &output)
    }

    private static func writeVersion(_ version: SourceVersion?, to output: inout [UInt8]) {
        guard let version else { return output.append(contentsOf: "null".utf8) }
        output.append(contentsOf: #"{"millis":\#(version.millis),"ordinal":\#(version.ordinal)}"#.utf8)
    }
}
