/// A JSON value whose objects keep their keys in insertion order, so responses read like Stripe's.
///
/// Simulator objects are stored as `JSON` shaped after Stripe's fixtures: creating an object starts from a
/// template with every field, requests set fields, and `previous_attributes` is a diff of two snapshots.
enum JSON: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSON])
    case object(JSONObject)

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var int: Int? {
        if case .int(let value) = self { return value }
        return nil
    }

    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var array: [JSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var object: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    var isNull: Bool { self == .null }

    /// This object without `key` (anything else unchanged).
    func removing(_ key: String) -> JSON {
        guard var members = object else { return self }
        members[key] = nil
        return .object(members)
    }

    /// Reads or writes a member of an object; reading anything else gives `.null`, writing turns it into an object.
    subscript(key: String) -> JSON {
        get { object?[key] ?? .null }
        set {
            var members = object ?? JSONObject()
            members[key] = newValue
            self = .object(members)
        }
    }

    /// Reads an array element; out of range or not an array gives `.null`.
    subscript(index: Int) -> JSON {
        guard let array, array.indices.contains(index) else { return .null }
        return array[index]
    }

    /// Follows a dotted path of object members (`"status_transitions.paid_at"`).
    subscript(path path: String) -> JSON {
        get {
            var current = self
            for key in path.split(separator: ".") { current = current[String(key)] }
            return current
        }
        set {
            let keys = path.split(separator: ".").map(String.init)
            self.set(keys[...], to: newValue)
        }
    }

    private mutating func set(_ keys: ArraySlice<String>, to value: JSON) {
        guard let first = keys.first else {
            self = value
            return
        }
        var child = self[first]
        child.set(keys.dropFirst(), to: value)
        self[first] = child
    }

    /// Makes a string, or `.null` for `nil`.
    static func from(_ value: String?) -> JSON { value.map(JSON.string) ?? .null }

    /// Makes an int, or `.null` for `nil`.
    static func from(_ value: Int?) -> JSON { value.map(JSON.int) ?? .null }
}

/// The members of a JSON object, in insertion order.
struct JSONObject: Sendable, Hashable, Sequence {
    private(set) var keys: [String] = []
    private var values: [String: JSON] = [:]

    init() {}

    init(_ pairs: [(String, JSON)]) {
        for (key, value) in pairs { self[key] = value }
    }

    var count: Int { keys.count }

    subscript(key: String) -> JSON? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    func makeIterator() -> some IteratorProtocol<(key: String, value: JSON)> {
        var index = 0
        let keys = self.keys
        let values = self.values
        return AnyIterator {
            guard index < keys.count else { return nil }
            defer { index += 1 }
            return (keys[index], values[keys[index]] ?? .null)
        }
    }

    static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.values == rhs.values
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(values)
    }
}

extension JSON: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    init(nilLiteral: ()) { self = .null }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(integerLiteral value: Int) { self = .int(value) }
    init(stringLiteral value: String) { self = .string(value) }
    init(arrayLiteral elements: JSON...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, JSON)...) { self = .object(JSONObject(elements)) }
}

extension JSON {
    /// The keys of `self` whose values differ from `old`, with the old values: Stripe's `previous_attributes`.
    ///
    /// Plain hashes (no `object` member, such as `metadata` or `status_transitions`) are diffed member by member;
    /// API objects, lists and scalars are reported whole.
    func previousAttributes(from old: JSON) -> JSON? {
        guard let new = object, let before = old.object else { return nil }
        var changed = JSONObject()
        for (key, value) in new {
            let oldValue = before[key] ?? .null
            guard oldValue != value else { continue }
            if let nested = value.object, nested["object"] == nil, oldValue.object?["object"] == nil,
                oldValue.object != nil, let inner = value.previousAttributes(from: oldValue)
            {
                changed[key] = inner
            } else {
                changed[key] = oldValue
            }
        }
        for (key, value) in before where new[key] == nil { changed[key] = value }
        return changed.count == 0 ? nil : .object(changed)
    }
}
