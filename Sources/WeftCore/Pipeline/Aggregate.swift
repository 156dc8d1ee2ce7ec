public import Foundation

/// One canonical record's current state: every field with the source version that set it.
///
/// Stored (`Codable`, `Aggregate.canonicalJSON()`) with the version and the source most of its fields share written
/// once, and only the others by field (see `StoredShape`): one event usually sets all of a record's fields, and a
/// version and a source for each was half of a stored aggregate. The earlier shape, a version and a source per field
/// (`versions`, `sources`), still reads.
public struct RecordState: Hashable, Sendable, Codable {
    public var fields: [String: JSONValue]
    public var versions: [String: SourceVersion]
    /// The system that last set each field.
    public var sources: [String: SystemName]

    public init(fields: [String: JSONValue] = [:], versions: [String: SourceVersion] = [:], sources: [String: SystemName] = [:]) {
        self.fields = fields
        self.versions = versions
        self.sources = sources
    }

    /// How the record is stored: the version and the source most of its fields share (`nil` when no field has one),
    /// and by name every version and source that is not that one: of a field that has another, of a name that is not a
    /// field, and `.none` for a field that has none. Reading sets each field to the shared ones, then applies the
    /// others, which gives back the record exactly. Of equally common ones the later version and the first source by
    /// name are shared, so that a record is always stored the same way.
    struct StoredShape {
        var version: SourceVersion?
        var source: SystemName?
        var otherVersions: [String: SourceVersion?]
        var otherSources: [String: SystemName?]
    }

    var storedShape: StoredShape {
        // Few distinct values: counted in a list, not a dictionary.
        var versionCounts: [(SourceVersion, Int)] = []
        var sourceCounts: [(SystemName, Int)] = []
        // Fields that have a version, a source.
        var versioned = 0
        var sourced = 0
        for key in fields.keys {
            if let version = versions[key] {
                versioned += 1
                Self.tally(version, in: &versionCounts)
            }
            if let source = sources[key] {
                sourced += 1
                Self.tally(source, in: &sourceCounts)
            }
        }
        let version = versionCounts.max { ($0.1, $0.0) < ($1.1, $1.0) }?.0
        let source = sourceCounts.max { ($0.1, $1.0.rawValue) < ($1.1, $0.0.rawValue) }?.0
        return StoredShape(
            version: version, source: source,
            otherVersions: Self.others(versions, shared: version, fields: fields, named: versioned),
            otherSources: Self.others(sources, shared: source, fields: fields, named: sourced))
    }

    private static func tally<Value: Equatable>(_ value: Value, in counts: inout [(Value, Int)]) {
        if let index = counts.firstIndex(where: { $0.0 == value }) {
            counts[index].1 += 1
        } else {
            counts.append((value, 1))
        }
    }

    /// The entries of `all` that reading would not give back from `shared` alone. `named`: how many fields `all` has
    /// an entry for; when that is all of them and all of its entries (the usual record), nothing is looked up by name.
    private static func others<Value: Equatable>(
        _ all: [String: Value], shared: Value?, fields: [String: JSONValue], named: Int
    ) -> [String: Value?] {
        var others: [String: Value?] = [:]
        let onlyFields = named == all.count
        for (key, value) in all where value != shared || (!onlyFields && fields[key] == nil) {
            others[key] = .some(value)
        }
        if shared != nil, named < fields.count {
            for key in fields.keys where all[key] == nil { others[key] = .some(.none) }
        }
        return others
    }

    /// A record from its stored shape (the inverse of `storedShape`).
    init(fields: [String: JSONValue], _ shape: StoredShape) {
        var versions: [String: SourceVersion] = [:]
        var sources: [String: SystemName] = [:]
        if let version = shape.version {
            versions.reserveCapacity(fields.count)
            for key in fields.keys { versions[key] = version }
        }
        if let source = shape.source {
            sources.reserveCapacity(fields.count)
            for key in fields.keys { sources[key] = source }
        }
        for (key, version) in shape.otherVersions { versions[key] = version }
        for (key, source) in shape.otherSources { sources[key] = source }
        self.init(fields: fields, versions: versions, sources: sources)
    }

    private enum CodingKeys: String, CodingKey {
        case fields, version, source, otherVersions, otherSources
        /// The earlier shape's.
        case versions, sources
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let fields = try container.decode([String: JSONValue].self, forKey: .fields)
        if container.contains(.versions) || container.contains(.sources) {
            self.init(
                fields: fields, versions: try container.decode([String: SourceVersion].self, forKey: .versions),
                sources: try container.decode([String: SystemName].self, forKey: .sources))
            return
        }
        self.init(
            fields: fields,
            StoredShape(
                version: try container.decodeIfPresent(SourceVersion.self, forKey: .version),
                source: try container.decodeIfPresent(SystemName.self, forKey: .source),
                otherVersions: try container.decodeIfPresent([String: SourceVersion?].self, forKey: .otherVersions) ?? [:],
                otherSources: try container.decodeIfPresent([String: SystemName?].self, forKey: .otherSources) ?? [:]))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        let shape = storedShape
        try container.encode(fields, forKey: .fields)
        try container.encodeIfPresent(shape.version, forKey: .version)
        try container.encodeIfPresent(shape.source, forKey: .source)
        if !shape.otherVersions.isEmpty { try container.encode(shape.otherVersions, forKey: .otherVersions) }
        if !shape.otherSources.isEmpty { try container.encode(shape.otherSources, forKey: .otherSources) }
    }

    /// Decodes the record into its typed form (e.g. `Customer`); `nil` when mandatory fields are still missing.
    public func decode<T: Decodable>(_ type: T.Type) -> T? {
        try? JSONValue.object(fields).decode(T.self)
    }

    /// A stable signature of the record's field values (not their versions or sources): equal signatures, equal
    /// values. Cheaper than decoding the record, so routing can tell an unchanged record without decoding it.
    public var signature: UInt64 { Self.signature(of: fields) }

    /// The signature of a field map (`signature` of a record holding `fields`).
    public static func signature(of fields: [String: JSONValue]) -> UInt64 {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1024)
        guard (try? JSONValue.object(fields).write(to: &bytes)) != nil else { return 0 }
        return CanonicalCoding.fingerprint(bytes)
    }

    /// The signatures of two field maps drawn from `fields`, in one pass over them: `part` says, for each field, the
    /// value (if any) it has in the first and in the second (`.none` for none: a `nil` literal can be `JSONValue.null`). The same values as `signature(of:)` of each map, without
    /// building the maps (routing signs every invoice and payment of an aggregate in two parts on every event).
    static func signatures(
        of fields: [String: JSONValue], _ part: (String, JSONValue) -> (first: JSONValue?, second: JSONValue?)
    ) -> (first: UInt64, second: UInt64) {
        var first: [UInt8] = [UInt8(ascii: "{")]
        var second: [UInt8] = [UInt8(ascii: "{")]
        first.reserveCapacity(1024)
        second.reserveCapacity(256)
        var firstWritable = true
        var secondWritable = true
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            let (inFirst, inSecond) = part(key, value)
            if let inFirst { firstWritable = firstWritable && member(key, inFirst, to: &first) }
            if let inSecond { secondWritable = secondWritable && member(key, inSecond, to: &second) }
        }
        first.append(UInt8(ascii: "}"))
        second.append(UInt8(ascii: "}"))
        return (
            firstWritable ? CanonicalCoding.fingerprint(first) : 0, secondWritable ? CanonicalCoding.fingerprint(second) : 0
        )
    }

    /// Appends `"key":value` (after a comma unless it is the object's first member); `false` when the value cannot be
    /// written (a non-finite number).
    private static func member(_ key: String, _ value: JSONValue, to output: inout [UInt8]) -> Bool {
        if output.count > 1 { output.append(UInt8(ascii: ",")) }
        JSONValue.writeString(key, to: &output)
        output.append(UInt8(ascii: ":"))
        return (try? value.write(to: &output)) != nil
    }
}

/// The canonical state of everything under one entity key (e.g. one Stripe customer with its subscriptions, invoices,
/// payments and refunds), plus what has been emitted to targets so far. Stored as one row; changed in one transaction.
public struct Aggregate: Hashable, Sendable, Codable {
    /// Records by `ExternalRef.description`.
    public var records: [String: RecordState]
    /// What each target was last told, per command key: the number of emissions and a fingerprint of the last one.
    public var emitted: [String: Emission]
    /// Provisional entity keys this aggregate has adopted (sorted): events keyed by one of them (an
    /// `invoice_payment` that names only its invoice, a refund that names only its charge) are processed here.
    public var aliases: [EntityKey]

    public init(records: [String: RecordState] = [:], emitted: [String: Emission] = [:], aliases: [EntityKey] = []) {
        self.records = records
        self.emitted = emitted
        self.aliases = aliases
    }

    private enum CodingKeys: String, CodingKey {
        case records, emitted, aliases
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        records = try container.decode([String: RecordState].self, forKey: .records)
        emitted = try container.decode([String: Emission].self, forKey: .emitted)
        // Aggregates written before aliases existed have none.
        aliases = try container.decodeIfPresent([EntityKey].self, forKey: .aliases) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(records, forKey: .records)
        try container.encode(emitted, forKey: .emitted)
        if !aliases.isEmpty { try container.encode(aliases, forKey: .aliases) }
    }

    /// The provisional keys that should lead to this aggregate, given its records: the key of every invoice it holds,
    /// of the payment intents that paid it (its own, and its partial payments'), and of every charge its invoices,
    /// payments and refunds name.
    public var aliasKeys: Set<EntityKey> {
        var keys: Set<EntityKey> = []
        for kind in [EntityKind.invoice, .payment, .refund] {
            for (ref, state) in records(of: kind) { Self.insertAliasKeys(of: ref, state, into: &keys) }
        }
        return keys
    }

    /// The provisional keys that lead to the records `refs` (see `aliasKeys`).
    public func aliasKeys(of refs: some Sequence<ExternalRef>) -> Set<EntityKey> {
        var keys: Set<EntityKey> = []
        for ref in refs {
            if let state = records[ref.description] { Self.insertAliasKeys(of: ref, state, into: &keys) }
        }
        return keys
    }

    private static func insertAliasKeys(of ref: ExternalRef, _ state: RecordState, into keys: inout Set<EntityKey>) {
        switch ref.kind {
        case .invoice:
            keys.insert(EntityKey.of(ref))
            if let charge = state.fields["chargeID"]?.stringValue { keys.insert(.charge(charge, system: ref.system)) }
            if let payment = try? state.fields["paymentRef"]?.decode(ExternalRef.self) { keys.insert(EntityKey.of(payment)) }
        case .payment, .refund:
            if let charge = state.fields["chargeID"]?.stringValue { keys.insert(.charge(charge, system: ref.system)) }
            if let intent = try? state.fields["intentRef"]?.decode(ExternalRef.self) { keys.insert(EntityKey.of(intent)) }
        default:
            break
        }
    }

    /// Adopts the alias keys not adopted yet, and returns them (sorted) for the store to record.
    public mutating func adoptAliases(excluding own: EntityKey) -> [EntityKey] {
        adopt(aliasKeys, excluding: own)
    }

    /// `adoptAliases(excluding:)` when only the records `changed` changed since the aggregate last adopted its alias
    /// keys: only theirs can be new. An aggregate that never adopted any (one stored before aliases existed) looks at
    /// all its records.
    public mutating func adoptAliases(excluding own: EntityKey, changed: some Sequence<ExternalRef>) -> [EntityKey] {
        adopt(aliases.isEmpty ? aliasKeys : aliasKeys(of: changed), excluding: own)
    }

    private mutating func adopt(_ keys: Set<EntityKey>, excluding own: EntityKey) -> [EntityKey] {
        guard !keys.isEmpty else { return [] }
        let known = Set(aliases)
        // A customer's key is never provisional: the stores move only events under other keys when they adopt one.
        let new = keys.filter { $0 != own && !$0.isCustomer && !known.contains($0) }.sorted { $0.rawValue < $1.rawValue }
        guard !new.isEmpty else { return [] }
        aliases = (aliases + new).sorted { $0.rawValue < $1.rawValue }
        return new
    }

    /// The state of one record, if known.
    public func record(_ ref: ExternalRef) -> RecordState? { records[ref.description] }

    /// All records of one kind, with their refs, ordered by ref for determinism.
    public func records(of kind: EntityKind) -> [(ref: ExternalRef, state: RecordState)] {
        // Keys are `ref.description`: match the kind on the key's bytes and sort by key, so that records of other
        // kinds cost no parsing and the sort builds no strings (routing asks this several times per event).
        let infix = Array("/\(kind.rawValue)/".utf8)
        return records.filter { key, _ in
            key.utf8.firstIndex(of: UInt8(ascii: "/")).map { key.utf8[$0...].starts(with: infix) } ?? false
        }
        .sorted { $0.key < $1.key }
        .compactMap { key, state -> (ExternalRef, RecordState)? in
            let parts = key.split(separator: "/", maxSplits: 2).map(String.init)
            guard parts.count == 3 else { return nil }
            return (ExternalRef(system: SystemName(parts[0]), kind: kind, id: parts[2]), state)
        }
    }

    /// A record emission: how many commands were written for a key, the fingerprint of the last payload, and the
    /// signature of what that payload was derived from (`input`, see `CommandRouter`): routing skips a key whose
    /// input has not changed since, without deriving its command again. `nil` in emissions written before inputs were
    /// recorded, and for commands derived from the whole aggregate.
    public struct Emission: Hashable, Sendable, Codable {
        public var count: Int
        public var fingerprint: UInt64
        public var input: UInt64?
        public init(count: Int, fingerprint: UInt64, input: UInt64? = nil) {
            self.count = count
            self.fingerprint = fingerprint
            self.input = input
        }
    }
}

/// The JSON coding used for canonical records and command payloads: ISO-8601 instants, sorted keys.
public enum CanonicalCoding {
    /// Encoder for canonical values.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }

    /// Decoder for canonical values.
    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }

    /// A canonical value as a `JSONValue` (for field maps).
    public static func jsonValue(_ value: some Encodable) -> JSONValue {
        (try? tree(of: value)) ?? .null
    }

    /// Two fingerprints as one, order-sensitive (`combine(a, b) != combine(b, a)` in general); stable across runs.
    public static func combine(_ first: UInt64, _ second: UInt64) -> UInt64 {
        var hash = first
        for shift in stride(from: 0, to: 64, by: 8) {
            hash ^= (second >> UInt64(shift)) & 0xff
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// 64-bit FNV-1a of bytes: a cheap, stable fingerprint (not a security hash).
    public static func fingerprint(_ bytes: some Sequence<UInt8>) -> UInt64 {
        func fnv(_ bytes: some Sequence<UInt8>) -> UInt64 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
            return hash
        }
        // Over the buffer when there is one: iterating `Data` byte by byte costs several times as much.
        return bytes.withContiguousStorageIfAvailable { fnv($0) } ?? fnv(bytes)
    }
}
