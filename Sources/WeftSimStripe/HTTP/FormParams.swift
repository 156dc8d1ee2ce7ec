import Foundation

/// Request parameters in Stripe's bracket syntax, decoded from a form body or a query string.
///
/// `metadata[k]=v` makes a hash, `items[0][price]=p` an indexed list (a hash with integer keys that reads as a
/// list), `expand[]=a&expand[]=b` an appended list. Empty values (`metadata[k]=`) are kept: Stripe uses them to
/// unset a field.
struct FormParams: Sendable, Hashable {
    indirect enum Node: Sendable, Hashable {
        case value(String)
        case hash([String: Node], order: [String])
        case list([Node])

        /// Equal when they say the same: a hash's members in any order (the order a client wrote them in is not part of
        /// the request, so an idempotent retry with its parameters reordered is the same request), a list's in order.
        static func == (lhs: Node, rhs: Node) -> Bool {
            switch (lhs, rhs) {
            case (.value(let left), .value(let right)): left == right
            case (.hash(let left, _), .hash(let right, _)): left == right
            case (.list(let left), .list(let right)): left == right
            default: false
            }
        }

        func hash(into hasher: inout Hasher) {
            switch self {
            case .value(let value):
                hasher.combine(0)
                hasher.combine(value)
            case .hash(let values, _):
                hasher.combine(1)
                hasher.combine(values)
            case .list(let values):
                hasher.combine(2)
                hasher.combine(values)
            }
        }

        var string: String? {
            if case .value(let value) = self { return value }
            return nil
        }

        /// The members of a hash, in the order first seen.
        var members: [(String, Node)]? {
            guard case .hash(let values, let order) = self else { return nil }
            return order.compactMap { key in values[key].map { (key, $0) } }
        }

        /// A list, or a hash with integer keys read as a list in key order.
        var elements: [Node]? {
            switch self {
            case .list(let values): return values
            case .hash(let values, _):
                let indexed = values.compactMap { key, value in Int(key).map { ($0, value) } }
                guard indexed.count == values.count else { return nil }
                return indexed.sorted { $0.0 < $1.0 }.map(\.1)
            case .value: return nil
            }
        }

        subscript(key: String) -> Node? {
            if case .hash(let values, _) = self { return values[key] }
            return nil
        }
    }

    /// The decoded pairs, in request order (kept for idempotency comparisons).
    private(set) var pairs: [(key: String, value: String)] = []
    /// The top level as a hash.
    private(set) var root: Node = .hash([:], order: [])

    init() {}

    /// Parses `application/x-www-form-urlencoded` text.
    init(encoded: String) {
        for part in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(pieces[0])
            let value = pieces.count > 1 ? Self.decode(pieces[1]) : ""
            guard !key.isEmpty else { continue }
            append(key: key, value: value)
        }
    }

    /// Builds parameters from already-decoded pairs (the Swift API).
    init(pairs: [(String, String)]) {
        for (key, value) in pairs { append(key: key, value: value) }
    }

    static func == (lhs: FormParams, rhs: FormParams) -> Bool { lhs.root == rhs.root }
    func hash(into hasher: inout Hasher) { hasher.combine(root) }

    /// The top-level parameter names.
    var topLevelKeys: [String] { root.members?.map(\.0) ?? [] }

    subscript(key: String) -> Node? { root[key] }

    private mutating func append(key: String, value: String) {
        pairs.append((key, value))
        let path = Self.path(key)
        root = Self.insert(value, at: path[...], into: root)
    }

    /// Splits `a[b][0][]` into `["a", "b", "0", ""]`.
    private static func path(_ key: String) -> [String] {
        guard let open = key.firstIndex(of: "[") else { return [key] }
        var components = [String(key[..<open])]
        var rest = key[open...]
        while rest.first == "[", let close = rest.firstIndex(of: "]") {
            components.append(String(rest[rest.index(after: rest.startIndex)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return components
    }

    private static func insert(_ value: String, at path: ArraySlice<String>, into node: Node?) -> Node {
        guard let key = path.first else { return .value(value) }
        let rest = path.dropFirst()
        if key.isEmpty {
            var elements: [Node]
            if case .list(let existing) = node { elements = existing } else { elements = [] }
            // `items[][price]=a&items[][quantity]=1` fills the last element until one of its keys repeats.
            if let nextKey = rest.first, !nextKey.isEmpty, let last = elements.last, last[nextKey] == nil {
                elements[elements.count - 1] = insert(value, at: rest, into: last)
            } else {
                elements.append(insert(value, at: rest, into: nil))
            }
            return .list(elements)
        }
        var values: [String: Node] = [:]
        var order: [String] = []
        if case .hash(let existing, let existingOrder) = node {
            values = existing
            order = existingOrder
        }
        if values[key] == nil { order.append(key) }
        values[key] = insert(value, at: rest, into: values[key])
        return .hash(values, order: order)
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
