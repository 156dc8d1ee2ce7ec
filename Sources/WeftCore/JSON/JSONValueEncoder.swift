public import Foundation

extension CanonicalCoding {
    /// `value` as canonical JSON: the bytes `CanonicalCoding.encoder` writes for it (keys sorted, slashes unescaped,
    /// dates as milliseconds since 1970, integral numbers without a fraction), built without Foundation's
    /// `JSONEncoder`, which was the pipeline's largest cost per event (routing fingerprints every command it computes,
    /// and the store encodes every command it writes).
    public static func encode(_ value: some Encodable) throws -> Data {
        let tree: JSONValue
        do {
            tree = try JSONValueEncoder.node(of: value, codingPath: []).value
        } catch is JSONValueEncoder.Unrepresentable {
            return try encoder.encode(value)
        }
        var output: [UInt8] = []
        output.reserveCapacity(512)
        try tree.write(to: &output)
        return Data(output)
    }

    /// `value` as a `JSONValue`: what parsing `encode(value)` gives (integral numbers as `.int`), without the text.
    public static func tree(of value: some Encodable) throws -> JSONValue {
        do {
            return try JSONValueEncoder.node(of: value, codingPath: []).value
        } catch is JSONValueEncoder.Unrepresentable {
            return try JSONValue.parse(encoder.encode(value))
        }
    }
}

/// An `Encoder` that builds a `JSONValue` tree with `CanonicalCoding`'s conventions. Containers share reference
/// boxes, as `JSONEncoder`'s do, so a value may ask for its container more than once and nested containers write
/// into their parent.
final class JSONValueEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    /// What the value encoded (nothing yet: it encodes as `{}`, as with `JSONEncoder`).
    var node: Node?

    init(codingPath: [any CodingKey]) {
        self.codingPath = codingPath
    }

    /// A value under construction.
    enum Node {
        case value(JSONValue)
        case object(ObjectBox)
        case array(ArrayBox)

        var value: JSONValue {
            switch self {
            case .value(let value): value
            case .object(let box): .object(box.members.mapValues(\.value))
            case .array(let box): .array(box.elements.map(\.value))
            }
        }
    }

    final class ObjectBox {
        var members: [String: Node] = [:]
    }

    final class ArrayBox {
        var elements: [Node] = []
    }

    /// The node for `value`: scalars and the types `JSONEncoder` treats specially directly, the rest through
    /// `encode(to:)`.
    static func node<T: Encodable>(of value: T, codingPath: @autoclosure () -> [any CodingKey]) throws -> Node {
        if let scalar = try scalar(value, codingPath: codingPath()) { return .value(scalar) }
        let encoder = JSONValueEncoder(codingPath: codingPath())
        try value.encode(to: encoder)
        return encoder.node ?? .object(ObjectBox())
    }

    /// The JSON of a scalar, a date, a URL or bytes; `nil` for anything else. The types are told apart by their
    /// metatypes, not by casts (every member of every command is encoded here), and `codingPath` is built only for an
    /// error.
    static func scalar<T: Encodable>(_ value: T, codingPath: @autoclosure () -> [any CodingKey]) throws -> JSONValue? {
        func cast<U>(_ type: U.Type) -> U { unsafeBitCast(value, to: U.self) }
        if T.self == String.self { return .string(cast(String.self)) }
        if T.self == Int.self { return .int(Int64(cast(Int.self))) }
        if T.self == Int64.self { return .int(cast(Int64.self)) }
        if T.self == Bool.self { return .bool(cast(Bool.self)) }
        if T.self == Double.self { return try double(cast(Double.self), codingPath: codingPath()) }
        if T.self == JSONValue.self { return cast(JSONValue.self) }
        if T.self == Date.self { return try double(cast(Date.self).timeIntervalSince1970 * 1000, codingPath: codingPath()) }
        if T.self == URL.self { return .string(cast(URL.self).absoluteString) }
        if T.self == Data.self { return .string(cast(Data.self).base64EncodedString()) }
        if T.self == Int32.self { return .int(Int64(cast(Int32.self))) }
        if T.self == Int16.self { return .int(Int64(cast(Int16.self))) }
        if T.self == Int8.self { return .int(Int64(cast(Int8.self))) }
        if T.self == UInt8.self { return .int(Int64(cast(UInt8.self))) }
        if T.self == UInt16.self { return .int(Int64(cast(UInt16.self))) }
        if T.self == UInt32.self { return .int(Int64(cast(UInt32.self))) }
        if T.self == UInt.self { return try unsigned(UInt64(cast(UInt.self)), codingPath: codingPath()) }
        if T.self == UInt64.self { return try unsigned(cast(UInt64.self), codingPath: codingPath()) }
        // `JSONEncoder` writes a Float's own shortest form: read that text back as a Double to keep it.
        if T.self == Float.self {
            let number = cast(Float.self)
            return try double(Double(number.description) ?? Double(number), codingPath: codingPath())
        }
        if T.self == ExternalRef.self {
            let ref = cast(ExternalRef.self)
            return .object(["system": .string(ref.system.rawValue), "kind": .string(ref.kind.rawValue), "id": .string(ref.id)])
        }
        return nil
    }

    /// A number as `JSONEncoder` writes it and `JSONValue.parse` reads it back: whole values below 2^53 (which it
    /// writes without a fraction or exponent) as integers, the rest as doubles; NaN and infinities cannot be written.
    static func double(_ number: Double, codingPath: [any CodingKey]) throws -> JSONValue {
        guard number.isFinite else {
            throw EncodingError.invalidValue(
                number, .init(codingPath: codingPath, debugDescription: "a number that is not finite cannot be written as JSON"))
        }
        guard let exact = Int64(exactly: number) else { return .double(number) }
        // From 2^53 up `JSONEncoder` writes a whole number with an exponent, which `JSONValue.parse` reads back as
        // an integer: no one value serves both, so these take the fallback.
        guard abs(number) < 9_007_199_254_740_992 else { throw Unrepresentable() }
        return .int(exact)
    }

    /// A value no `JSONValue` both writes and reads back as `JSONEncoder` does (an unsigned number above
    /// `Int64.max`, a whole double from 2^53 up): the caller falls back to `JSONEncoder`.
    struct Unrepresentable: Error {}

    static func unsigned(_ number: UInt64, codingPath: [any CodingKey]) throws -> JSONValue {
        guard let exact = Int64(exactly: number) else { throw Unrepresentable() }
        return .int(exact)
    }

    func objectBox() -> ObjectBox {
        if case .object(let box) = node { return box }
        let box = ObjectBox()
        node = .object(box)
        return box
    }

    func arrayBox() -> ArrayBox {
        if case .array(let box) = node { return box }
        let box = ArrayBox()
        node = .array(box)
        return box
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedContainer<Key>(box: objectBox(), codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedContainer(box: arrayBox(), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(encoder: self)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: JSONValueEncoder.ObjectBox
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) { box.members[key.stringValue] = .value(.null) }
    mutating func encode(_ value: String, forKey key: Key) { box.members[key.stringValue] = .value(.string(value)) }
    mutating func encode(_ value: Bool, forKey key: Key) { box.members[key.stringValue] = .value(.bool(value)) }
    mutating func encode(_ value: Int, forKey key: Key) { box.members[key.stringValue] = .value(.int(Int64(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) { box.members[key.stringValue] = .value(.int(value)) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        box.members[key.stringValue] = try JSONValueEncoder.node(of: value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let nested = JSONValueEncoder.ObjectBox()
        box.members[key.stringValue] = .object(nested)
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = JSONValueEncoder.ArrayBox()
        box.members[key.stringValue] = .array(nested)
        return UnkeyedContainer(box: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        let box = box
        return SlotEncoder(codingPath: codingPath) { box.members["super"] = $0 }
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let box = box
        return SlotEncoder(codingPath: codingPath + [key]) { box.members[key.stringValue] = $0 }
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let box: JSONValueEncoder.ArrayBox
    let codingPath: [any CodingKey]
    var count: Int { box.elements.count }

    mutating func encodeNil() { box.elements.append(.value(.null)) }
    mutating func encode(_ value: String) { box.elements.append(.value(.string(value))) }
    mutating func encode(_ value: Bool) { box.elements.append(.value(.bool(value))) }
    mutating func encode(_ value: Int) { box.elements.append(.value(.int(Int64(value)))) }
    mutating func encode(_ value: Int64) { box.elements.append(.value(.int(value))) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        box.elements.append(try JSONValueEncoder.node(of: value, codingPath: codingPath + [IndexKey(count)]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = JSONValueEncoder.ObjectBox()
        let path = codingPath + [IndexKey(count)]
        box.elements.append(.object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(box: nested, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = JSONValueEncoder.ArrayBox()
        let path = codingPath + [IndexKey(count)]
        box.elements.append(.array(nested))
        return UnkeyedContainer(box: nested, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let index = box.elements.count
        box.elements.append(.object(JSONValueEncoder.ObjectBox()))
        let box = box
        return SlotEncoder(codingPath: codingPath + [IndexKey(index)]) { box.elements[index] = $0 }
    }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let encoder: JSONValueEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() { encoder.node = .value(.null) }
    mutating func encode(_ value: String) { encoder.node = .value(.string(value)) }
    mutating func encode(_ value: Bool) { encoder.node = .value(.bool(value)) }
    mutating func encode(_ value: Int) { encoder.node = .value(.int(Int64(value))) }
    mutating func encode(_ value: Int64) { encoder.node = .value(.int(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        encoder.node = try JSONValueEncoder.node(of: value, codingPath: codingPath)
    }
}

/// The encoder handed out by `superEncoder`: whatever is encoded into it is stored in its slot of the parent as
/// soon as it is asked for a container (and again when a single value is written).
private final class SlotEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    let inner: JSONValueEncoder
    let store: (JSONValueEncoder.Node) -> Void

    init(codingPath: [any CodingKey], store: @escaping (JSONValueEncoder.Node) -> Void) {
        self.codingPath = codingPath
        self.inner = JSONValueEncoder(codingPath: codingPath)
        self.store = store
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let container = inner.container(keyedBy: type)
        if let node = inner.node { store(node) }
        return container
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let container = inner.unkeyedContainer()
        if let node = inner.node { store(node) }
        return container
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SlotSingleContainer(slot: self) }
}

private struct SlotSingleContainer: SingleValueEncodingContainer {
    let slot: SlotEncoder
    var codingPath: [any CodingKey] { slot.codingPath }

    mutating func encodeNil() { slot.store(.value(.null)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        slot.store(try JSONValueEncoder.node(of: value, codingPath: codingPath))
    }
}
