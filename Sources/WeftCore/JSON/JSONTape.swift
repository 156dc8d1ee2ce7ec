public import Foundation

extension JSONValue {
    /// Decodes a `Decodable` straight from JSON bytes, with the same results and errors as
    /// `try JSONValue.parse(data).decode(T.self)` (`CanonicalCoding`'s conventions: dates as milliseconds since 1970,
    /// keys as written; of duplicate member names the first counts), without building the value tree.
    ///
    /// The whole document is checked, as `parse(_:)` checks it, into an index of where each value starts and ends; a
    /// member is then found by comparing its name's bytes, and only the members the type asks for are read. A vendor
    /// payload of which a few members matter (a Stripe invoice has about seventy) costs a scan and those members,
    /// where the tree cost a dictionary and a string for every member at every level.
    /// - Throws: `JSONParseError` when the bytes are not a JSON document; `DecodingError` when they do not have the
    ///   type's shape.
    public static func decode<T: Decodable>(_ type: T.Type, fromJSON data: Data) throws -> T {
        let tape = try JSONTape(data)
        return try JSONTapeDecoder(tape: tape, entry: 0, codingPath: []).decode(T.self)
    }
}

/// A checked JSON document and an index of its values in document order (`JSONValue.decode(_:fromJSON:)`). A class:
/// every decoder and container of one decoding holds it, with one reference count instead of two arrays'.
final class JSONTape: Sendable {
    enum Kind: UInt8, Sendable {
        case object, array, string, number, literal
    }

    /// One value. An object's entry is followed by its members, each a name (a `string` entry) and then its value;
    /// an array's by its elements.
    struct Entry: Sendable {
        var kind: Kind
        /// Whether a string has escapes (only then is its name compared through a decoded `String`).
        var escaped: Bool
        /// Byte offsets of the value: `start` at its first byte, `end` just after its last.
        var start: Int32
        var end: Int32
        /// The index of the entry after this value and everything inside it.
        var next: Int32
        /// Members of an object, elements of an array.
        var count: Int32

        /// A string's entry as the tape's entry number `position`: the value after it is the next entry.
        func appended(at position: Int) -> Entry {
            var entry = self
            entry.next = Int32(position + 1)
            return entry
        }
    }

    let bytes: [UInt8]
    let entries: [Entry]

    init(_ data: Data) throws(JSONParseError) {
        let bytes = [UInt8](data)
        guard bytes.count < Int(Int32.max) else { throw JSONParseError(offset: 0, reason: "document too large") }
        self.bytes = bytes
        let indexed = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONParseError) -> [Entry] in
                var parser = JSONBytesParser(bytes: raw)
                var entries: [Entry] = []
                entries.reserveCapacity(raw.count / 8)
                parser.skipWhitespace()
                try parser.record(into: &entries)
                parser.skipWhitespace()
                guard parser.index == raw.count else { throw parser.fail("unexpected data after the document") }
                return entries
            }
        }
        entries = try indexed.get()
    }

    /// The value of `entry`, built (for `JSONValue` members and for error messages).
    func value(at entry: Int) -> JSONValue {
        bytes.withUnsafeBytes { raw in
            var parser = JSONBytesParser(bytes: raw)
            parser.index = Int(entries[entry].start)
            // Checked when the tape was made: it parses again without error.
            return (try? parser.value()) ?? .null
        }
    }

    /// The string at `entry` (a member name or a string value).
    func string(at entry: Int) -> String {
        value(at: entry).stringValue ?? ""
    }

    /// The value of member `name` of the object at `object`: the first of that name, as the tree keeps it. Names are
    /// compared as bytes (one with escapes through its decoded `String`), in one pass over the object's members.
    func member(_ name: String, of object: Int) -> Int? {
        var name = name
        return name.withUTF8 { wanted in
            entries.withUnsafeBufferPointer { entries in
                bytes.withUnsafeBufferPointer { bytes in
                    var entry = object + 1
                    let end = Int(entries[object].next)
                    while entry < end {
                        let key = entries[entry]
                        let start = Int(key.start) + 1
                        let length = Int(key.end) - 1 - start
                        if key.escaped {
                            if string(at: entry).utf8.elementsEqual(wanted) { return entry + 1 }
                        } else if length == wanted.count
                            && (length == 0 || memcmp(wanted.baseAddress!, bytes.baseAddress! + start, length) == 0)
                        {
                            return entry + 1
                        }
                        entry = Int(entries[entry + 1].next)
                    }
                    return nil
                }
            }
        }
    }

    func isNull(_ entry: Int) -> Bool {
        entries[entry].kind == .literal && bytes[Int(entries[entry].start)] == UInt8(ascii: "n")
    }
}

extension JSONBytesParser {
    /// Checks the value at `index` as `value()` does and appends its entries instead of building it.
    mutating func record(into entries: inout [JSONTape.Entry]) throws(JSONParseError) {
        guard index < bytes.count else { throw fail("unexpected end of input") }
        if bytes[index] == UInt8(ascii: "\"") { return try recordString(into: &entries) }
        let start = index
        let position = entries.count
        entries.append(JSONTape.Entry(kind: .literal, escaped: false, start: Int32(start), end: 0, next: 0, count: 0))
        var count: Int32 = 0
        switch bytes[index] {
        case UInt8(ascii: "{"):
            entries[position].kind = .object
            try forEachMember(name: { parser throws(JSONParseError) in try parser.checkedString() }) {
                name, parser throws(JSONParseError) in
                entries.append(name.appended(at: entries.count))
                try parser.record(into: &entries)
                count += 1
            }
        case UInt8(ascii: "["):
            entries[position].kind = .array
            try forEachElement { parser throws(JSONParseError) in
                try parser.record(into: &entries)
                count += 1
            }
        case UInt8(ascii: "t"): _ = try literal("true", .bool(true))
        case UInt8(ascii: "f"): _ = try literal("false", .bool(false))
        case UInt8(ascii: "n"): _ = try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            entries[position].kind = .number
            _ = try number()
        default: throw fail("unexpected character")
        }
        entries[position].end = Int32(index)
        entries[position].next = Int32(entries.count)
        entries[position].count = count
    }

    /// Checks the string at `index` as `string()` does and appends its entry.
    private mutating func recordString(into entries: inout [JSONTape.Entry]) throws(JSONParseError) {
        entries.append(try checkedString().appended(at: entries.count))
    }

    /// Checks the string at `index` as `string()` does, moves past it and gives its entry, to be placed with
    /// `appended(at:)`.
    private mutating func checkedString() throws(JSONParseError) -> JSONTape.Entry {
        let start = index
        try skipString()
        // `skipString` moves past a string with escapes by decoding it; one without has no backslash at all.
        let escaped = UnsafeRawBufferPointer(rebasing: bytes[start..<index]).contains(UInt8(ascii: "\\"))
        return JSONTape.Entry(kind: .string, escaped: escaped, start: Int32(start), end: Int32(index), next: 0, count: 0)
    }
}

/// A `Decoder` over one value of a `JSONTape`: the same results and errors as `JSONTreeDecoder` over the tree of
/// the same bytes.
struct JSONTapeDecoder: Decoder {
    let tape: JSONTape
    let entry: Int
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard tape.entries[entry].kind == .object else {
            throw DecodingError.typeMismatch(
                [String: JSONValue].self, .init(codingPath: codingPath, debugDescription: "expected an object"))
        }
        return KeyedDecodingContainer(TapeKeyedContainer(tape: tape, object: entry, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard tape.entries[entry].kind == .array else {
            throw DecodingError.typeMismatch([JSONValue].self, .init(codingPath: codingPath, debugDescription: "expected an array"))
        }
        return TapeUnkeyedContainer(tape: tape, array: entry, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { TapeSingleContainer(decoder: self) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if let scalar = try Self.scalar(T.self, tape, entry, at: codingPath) { return scalar }
        return try T(from: self)
    }

    /// The value at `entry` as `T` when `T` is one of the types `JSONTreeDecoder` reads itself, by the same rules;
    /// `nil` for every other type, which decodes itself.
    static func scalar<T>(_ type: T.Type, _ tape: JSONTape, _ entry: Int, at path: @autoclosure () -> [any CodingKey]) throws
        -> T?
    {
        // A type that reads itself gets the value built (a scalar is cheap to build; a container only when `T` is
        // `JSONValue` or for a type mismatch's error, which names the value found) and read by the tree's rules.
        guard JSONTreeDecoder.readsItself(T.self) else { return nil }
        return try JSONTreeDecoder.scalar(T.self, tape.value(at: entry), at: path())
    }
}

private struct TapeKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let tape: JSONTape
    let object: Int
    let codingPath: [any CodingKey]

    var allKeys: [Key] {
        var keys: [Key] = []
        var seen: Set<String> = []
        var entry = object + 1
        let end = Int(tape.entries[object].next)
        while entry < end {
            let name = tape.string(at: entry)
            if seen.insert(name).inserted, let key = Key(stringValue: name) { keys.append(key) }
            entry = Int(tape.entries[entry + 1].next)
        }
        return keys
    }

    func contains(_ key: Key) -> Bool { tape.member(key.stringValue, of: object) != nil }

    private func member(_ key: Key) throws -> Int {
        guard let value = tape.member(key.stringValue, of: object) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { tape.isNull(try member(key)) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let value = try member(key)
        if tape.isNull(value) {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [key], debugDescription: "null"))
        }
        return try decode(T.self, at: value, key)
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = tape.member(key.stringValue, of: object), !tape.isNull(value) else { return nil }
        return try decode(T.self, at: value, key)
    }

    /// The member `key`, whose value is the entry `value` (not null), as `T`: a scalar read directly (its coding path
    /// built only for an error), anything else by `T` from a decoder of its own.
    private func decode<T: Decodable>(_ type: T.Type, at value: Int, _ key: Key) throws -> T {
        if let scalar = try JSONTapeDecoder.scalar(T.self, tape, value, at: codingPath + [key]) { return scalar }
        return try T(from: JSONTapeDecoder(tape: tape, entry: value, codingPath: codingPath + [key]))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try JSONTapeDecoder(tape: tape, entry: try member(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try JSONTapeDecoder(tape: tape, entry: try member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        JSONTreeDecoder(value: tape.member("super", of: object).map(tape.value(at:)) ?? .null, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        JSONTreeDecoder(
            value: tape.member(key.stringValue, of: object).map(tape.value(at:)) ?? .null, codingPath: codingPath + [key])
    }
}

private struct TapeUnkeyedContainer: UnkeyedDecodingContainer {
    let tape: JSONTape
    let codingPath: [any CodingKey]
    let count: Int?
    var currentIndex = 0
    /// The entry of the element at `currentIndex`.
    private var entry: Int

    init(tape: JSONTape, array: Int, codingPath: [any CodingKey]) {
        self.tape = tape
        self.codingPath = codingPath
        count = Int(tape.entries[array].count)
        entry = array + 1
    }

    var isAtEnd: Bool { currentIndex >= count ?? 0 }

    mutating func next() throws -> JSONTapeDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                JSONValue.self, .init(codingPath: codingPath, debugDescription: "unkeyed container is at its end"))
        }
        defer {
            currentIndex += 1
            entry = Int(tape.entries[entry].next)
        }
        return JSONTapeDecoder(tape: tape, entry: entry, codingPath: codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if tape.isNull(entry) {
            currentIndex += 1
            entry = Int(tape.entries[entry].next)
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let child = try next()
        if tape.isNull(child.entry) {
            throw DecodingError.valueNotFound(type, .init(codingPath: child.codingPath, debugDescription: "null"))
        }
        return try child.decode(type)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }

    mutating func superDecoder() throws -> any Decoder { try next() }
}

private struct TapeSingleContainer: SingleValueDecodingContainer {
    let decoder: JSONTapeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.tape.isNull(decoder.entry) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if decoder.tape.isNull(decoder.entry) {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "null"))
        }
        return try decoder.decode(type)
    }
}
