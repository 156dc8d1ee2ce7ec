import Foundation

extension JSONValue {
    /// Decodes a `Decodable` straight from the value tree, with `CanonicalCoding`'s conventions (dates as milliseconds
    /// since 1970, keys as written). Same results as serialising the value and decoding the bytes with
    /// `CanonicalCoding.decoder`, without the round trip through text (the pipeline does this for every record of an
    /// aggregate on every event).
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONTreeDecoder(value: self, codingPath: []).decode(T.self)
    }
}

/// A `Decoder` over a `JSONValue`.
struct JSONTreeDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else {
            throw DecodingError.typeMismatch(
                [String: JSONValue].self, .init(codingPath: codingPath, debugDescription: "expected an object"))
        }
        return KeyedDecodingContainer(KeyedContainer(members: members, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw DecodingError.typeMismatch([JSONValue].self, .init(codingPath: codingPath, debugDescription: "expected an array"))
        }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleContainer(decoder: self) }

    // MARK: Scalars

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if let scalar = try Self.scalar(T.self, value, at: codingPath) { return scalar }
        return try T(from: self)
    }

    /// Whether `scalar(_:_:at:)` reads `T` itself from any value (returning it or throwing a type mismatch), rather
    /// than leaving it to decode itself: the standard scalars, dates and `JSONValue`. `ExternalRef`, read directly
    /// only when well formed, is not one of them.
    static func readsItself<T>(_ type: T.Type) -> Bool {
        T.self == String.self || T.self == Int.self || T.self == Int64.self || T.self == Bool.self || T.self == Date.self
            || T.self == Double.self || T.self == JSONValue.self || T.self == Float.self || T.self == Int8.self
            || T.self == Int16.self || T.self == Int32.self || T.self == UInt.self || T.self == UInt8.self
            || T.self == UInt16.self || T.self == UInt32.self || T.self == UInt64.self
    }

    /// `value` as `T` when `T` is one of the types this decoder reads itself (the standard scalars, dates, `JSONValue`);
    /// `nil` for every other type, which decodes itself. The types are told apart by their metatypes, not by casts
    /// (every member of every record is decoded here), and `path` is built only for an error.
    static func scalar<T>(_ type: T.Type, _ value: JSONValue, at path: @autoclosure () -> [any CodingKey]) throws -> T? {
        func mismatch<U>(_ expected: U.Type) -> DecodingError {
            .typeMismatch(expected, .init(codingPath: path(), debugDescription: "expected \(expected), found \(value)"))
        }
        func double() throws -> Double {
            switch value {
            case .int(let number): return Double(number)
            case .double(let number): return number
            default: throw mismatch(Double.self)
            }
        }
        func integer<I: FixedWidthInteger>(_ kind: I.Type) throws -> T {
            let exact: I? =
                switch value {
                case .int(let number): I(exactly: number)
                case .double(let number): I(exactly: number)
                default: nil
                }
            guard let exact else { throw mismatch(kind) }
            return unsafeBitCast(exact, to: T.self)
        }
        if T.self == String.self {
            guard case .string(let text) = value else { throw mismatch(String.self) }
            return unsafeBitCast(text, to: T.self)
        }
        if T.self == Int.self { return try integer(Int.self) }
        if T.self == Int64.self { return try integer(Int64.self) }
        if T.self == Bool.self {
            guard case .bool(let flag) = value else { throw mismatch(Bool.self) }
            return unsafeBitCast(flag, to: T.self)
        }
        if T.self == Date.self { return unsafeBitCast(Date(timeIntervalSince1970: try double() / 1000), to: T.self) }
        if T.self == Double.self { return unsafeBitCast(try double(), to: T.self) }
        if T.self == JSONValue.self { return unsafeBitCast(value, to: T.self) }
        // Every other standard scalar decodes itself through a single-value container, which would land back here.
        if T.self == Float.self { return unsafeBitCast(Float(try double()), to: T.self) }
        if T.self == Int8.self { return try integer(Int8.self) }
        if T.self == Int16.self { return try integer(Int16.self) }
        if T.self == Int32.self { return try integer(Int32.self) }
        if T.self == UInt.self { return try integer(UInt.self) }
        if T.self == UInt8.self { return try integer(UInt8.self) }
        if T.self == UInt16.self { return try integer(UInt16.self) }
        if T.self == UInt32.self { return try integer(UInt32.self) }
        if T.self == UInt64.self { return try integer(UInt64.self) }
        // The most decoded record of all (every record names its own ref and others'): read directly when well formed;
        // anything else goes through `Decodable`, for its errors.
        if T.self == ExternalRef.self, case .object(let members) = value, members.count == 3,
            case .string(let system)? = members["system"], case .string(let kind)? = members["kind"],
            let entityKind = EntityKind(rawValue: kind), case .string(let id)? = members["id"]
        {
            return unsafeBitCast(ExternalRef(system: SystemName(system), kind: entityKind, id: id), to: T.self)
        }
        return nil
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    func child(_ key: Key) throws -> JSONTreeDecoder {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
        }
        return JSONTreeDecoder(value: value, codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
        }
        return value == .null
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
        }
        if case .null = value {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [key], debugDescription: "null"))
        }
        // A scalar member is read without a decoder of its own (and its coding path is built only for an error).
        if let scalar = try JSONTreeDecoder.scalar(T.self, value, at: codingPath + [key]) { return scalar }
        return try T(from: JSONTreeDecoder(value: value, codingPath: codingPath + [key]))
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = members[key.stringValue] else { return nil }
        if case .null = value { return nil }
        if let scalar = try JSONTreeDecoder.scalar(T.self, value, at: codingPath + [key]) { return scalar }
        return try T(from: JSONTreeDecoder(value: value, codingPath: codingPath + [key]))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try child(key).unkeyedContainer() }

    func superDecoder() throws -> any Decoder {
        JSONTreeDecoder(value: members["super"] ?? .null, codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        JSONTreeDecoder(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

/// The coding key of an array element (`Index 3`), for coding paths.
struct IndexKey: CodingKey {
    var stringValue: String { "Index \(intValue ?? 0)" }
    var intValue: Int?
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    mutating func next() throws -> JSONTreeDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                JSONValue.self, .init(codingPath: codingPath, debugDescription: "unkeyed container is at its end"))
        }
        defer { currentIndex += 1 }
        return JSONTreeDecoder(value: elements[currentIndex], codingPath: codingPath + [IndexKey(currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { return false }
        if elements[currentIndex] == .null {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let child = try next()
        if child.value == .null {
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

private struct SingleContainer: SingleValueDecodingContainer {
    let decoder: JSONTreeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.value == .null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if decoder.value == .null {
            throw DecodingError.valueNotFound(type, .init(codingPath: codingPath, debugDescription: "null"))
        }
        return try decoder.decode(type)
    }
}
