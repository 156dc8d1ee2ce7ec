/// A translation between the values one system shows for a field and Weft's canonical values, which are the ERP's
/// names: HubSpot's `industry` option `COMPUTER_SOFTWARE` ↔ the Odoo industry `Information and communication`, a
/// CRM's payment terms `net_30` ↔ Odoo's `30 Days`.
///
/// Several system values may stand for one canonical value (HubSpot has about 150 industries, Odoo 21): each reads as
/// that value, and the first one listed is what Weft writes for it. A system value stands for one canonical value only.
/// That is safe because a field has one owner: Weft writes a field only to the systems that do not own it, so a value
/// is never read from a system and written back to it. Values are compared without regard to case (Odoo finds an
/// industry or payment term by name that way, and an option typed into a config in another case is still that
/// option). A value the map does not name passes through unchanged both ways, so a map need only name what differs.
public struct ValueMap: Sendable, Hashable {
    /// The pairs as configured: system value, canonical value.
    public let pairs: [Pair]
    private let canonicalBySystem: [String: String]
    private let systemByCanonical: [String: String]

    /// One configured translation.
    public struct Pair: Sendable, Hashable {
        public var system: String
        public var canonical: String

        public init(system: String, canonical: String) {
            self.system = system
            self.canonical = canonical
        }
    }

    /// Two pairs with one system value (ignoring case).
    public struct Clash: Error, Sendable, Hashable {
        /// The second pair's system value.
        public var value: String
        /// The indexes in the configured pairs of the two that clash.
        public var first: Int
        public var second: Int

        public init(value: String, first: Int, second: Int) {
            self.value = value
            self.first = first
            self.second = second
        }
    }

    /// No translation: every value passes through.
    public static let identity = ValueMap(validated: [])

    /// - Throws: `Clash` for two pairs with one system value (ignoring case).
    public init(_ pairs: [Pair]) throws(Clash) {
        var systemIndex: [String: Int] = [:]
        for (index, pair) in pairs.enumerated() {
            if let earlier = systemIndex.updateValue(index, forKey: Self.folded(pair.system)) {
                throw Clash(value: pair.system, first: earlier, second: index)
            }
        }
        self.init(validated: pairs)
    }

    private init(validated pairs: [Pair]) {
        self.pairs = pairs
        var canonicalBySystem: [String: String] = [:]
        var systemByCanonical: [String: String] = [:]
        for pair in pairs {
            canonicalBySystem[Self.folded(pair.system)] = pair.canonical
            // The first system value listed for a canonical value is the one written.
            if systemByCanonical[Self.folded(pair.canonical)] == nil { systemByCanonical[Self.folded(pair.canonical)] = pair.system }
        }
        self.canonicalBySystem = canonicalBySystem
        self.systemByCanonical = systemByCanonical
    }

    /// Whether the map translates nothing.
    public var isEmpty: Bool { pairs.isEmpty }

    /// The canonical value of what the system shows (itself when the map does not name it).
    public func canonical(_ systemValue: String?) -> String? {
        guard let systemValue, !pairs.isEmpty else { return systemValue }
        return canonicalBySystem[Self.folded(systemValue)] ?? systemValue
    }

    /// What the system should show for a canonical value: the first system value listed for it (itself when the map
    /// does not name it).
    public func system(_ canonicalValue: String?) -> String? {
        guard let canonicalValue, !pairs.isEmpty else { return canonicalValue }
        return systemByCanonical[Self.folded(canonicalValue)] ?? canonicalValue
    }

    /// The configured system values that are not among `options` (a dropdown's or picklist's values) exactly as
    /// written: Weft writes a value as configured, and the system takes only its own spelling. Each comes with the
    /// option it matches apart from case, if there is one.
    public func systemValues(notIn options: some Sequence<String>) -> [(value: String, option: String?)] {
        let options = Array(options)
        let exact = Set(options)
        var folded: [String: String] = [:]
        for option in options where folded[Self.folded(option)] == nil { folded[Self.folded(option)] = option }
        return pairs.map(\.system).filter { !exact.contains($0) }.map { ($0, folded[Self.folded($0)]) }
    }

    /// `a, b (the option is B)`: values `systemValues(notIn:)` found, for a message.
    public static func describe(_ missing: [(value: String, option: String?)]) -> String {
        missing.map { item in item.option.map { "\(item.value) (the option is \($0))" } ?? item.value }.joined(separator: ", ")
    }

    private static func folded(_ value: String) -> String { value.lowercased() }

    public static func == (lhs: ValueMap, rhs: ValueMap) -> Bool { lhs.pairs == rhs.pairs }
    public func hash(into hasher: inout Hasher) { hasher.combine(pairs) }
}
