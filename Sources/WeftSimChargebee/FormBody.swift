import Foundation

/// Request parameters as Chargebee reads them: flat names with brackets.
///
/// Chargebee's bracket syntax puts the index last: `subscription_items[item_price_id][0]=p` and
/// `subscription_items[quantity][0]=2` describe one element; `billing_address[line1]=…` is a member of a hash;
/// filters are `occurred_at[after]=…` and `sort_by[asc]=occurred_at`.
struct FormBody: Sendable, Hashable {
    /// Decoded pairs in request order (the last value of a repeated name wins on lookup).
    private(set) var pairs: [Pair] = []
    private var values: [String: String] = [:]

    struct Pair: Sendable, Hashable {
        var name: String
        var value: String
    }

    init() {}

    /// Parses `application/x-www-form-urlencoded` text.
    init(encoded: String) {
        for part in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(pieces[0])
            guard !name.isEmpty else { continue }
            append(name, pieces.count > 1 ? Self.decode(pieces[1]) : "")
        }
    }

    /// Builds parameters from already-decoded pairs (the Swift API).
    init(pairs: [(String, String)]) {
        for (name, value) in pairs { append(name, value) }
    }

    private mutating func append(_ name: String, _ value: String) {
        pairs.append(Pair(name: name, value: value))
        values[name] = value
    }

    static func == (lhs: FormBody, rhs: FormBody) -> Bool { lhs.values == rhs.values }
    func hash(into hasher: inout Hasher) { hasher.combine(values) }

    /// Every parameter name.
    var names: Set<String> { Set(values.keys) }

    /// The value of `name`; an empty value counts as absent.
    func string(_ name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    func requiredString(_ name: String) throws(ChargebeeError) -> String {
        guard let value = string(name) else { throw .paramRequired(name) }
        return value
    }

    func int(_ name: String) throws(ChargebeeError) -> Int? {
        guard let raw = string(name) else { return nil }
        guard let value = Int(raw) else { throw .paramInvalid(name, "invalid integer value") }
        return value
    }

    func bool(_ name: String) throws(ChargebeeError) -> Bool? {
        guard let raw = string(name) else { return nil }
        switch raw.lowercased() {
        case "true": return true
        case "false": return false
        default: throw .paramInvalid(name, "invalid boolean value")
        }
    }

    /// The members of `prefix[member]=…`, e.g. `billing_address`.
    func hash(_ prefix: String) -> [String: String] {
        var result: [String: String] = [:]
        let head = prefix + "["
        for (name, value) in values where name.hasPrefix(head) && name.hasSuffix("]") {
            let member = name.dropFirst(head.count).dropLast()
            guard !member.contains("["), !member.contains("]") else { continue }
            result[String(member)] = value
        }
        return result
    }

    /// The elements of `prefix[field][index]=…`, in index order, each as field → value.
    func indexed(_ prefix: String) throws(ChargebeeError) -> [[String: String]] {
        var byIndex: [Int: [String: String]] = [:]
        let head = prefix + "["
        for (name, value) in values where name.hasPrefix(head) {
            let rest = name.dropFirst(head.count)
            guard let close = rest.firstIndex(of: "]") else { continue }
            let field = String(rest[..<close])
            let tail = rest[rest.index(after: close)...]
            guard tail.hasPrefix("["), tail.hasSuffix("]"), let index = Int(tail.dropFirst().dropLast()), index >= 0
            else { throw .paramInvalid(name, "the index must be given as \(prefix)[\(field)][0]") }
            byIndex[index, default: [:]][field] = value
        }
        return byIndex.keys.sorted().map { byIndex[$0]! }
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = String(text).replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}
