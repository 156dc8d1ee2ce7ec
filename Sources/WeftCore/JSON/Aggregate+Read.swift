public import Foundation

/// Why stored aggregate bytes cannot be read: not JSON, or JSON of another shape.
public struct AggregateReadError: Error, Hashable, Sendable, CustomStringConvertible {
    public var description: String
}

extension Aggregate {
    /// Reads an aggregate as stored (`canonicalJSON()`, or `CanonicalCoding.encoder`'s output for it): the same value
    /// `CanonicalCoding.decoder` decodes from the same bytes, read in one pass over them instead of through
    /// `Decodable`, which cost the store's load of each aggregate several times as much. Unknown members are ignored,
    /// `aliases` and an emission's `input` may be missing (aggregates stored before they existed); anything else
    /// missing or of another type is an error.
    public init(canonicalJSON data: Data) throws(AggregateReadError) {
        let read: Result<Aggregate, JSONParseError> = data.withUnsafeBytes { raw in
            var parser = JSONBytesParser(bytes: raw)
            return Result { () throws(JSONParseError) -> Aggregate in try parser.aggregateDocument() }
        }
        switch read {
        case .success(let aggregate): self = aggregate
        case .failure(let error): throw AggregateReadError(description: "a stored aggregate cannot be read: \(error)")
        }
    }
}

extension JSONBytesParser {
    mutating func aggregateDocument() throws(JSONParseError) -> Aggregate {
        skipWhitespace()
        var records: [String: RecordState]?
        var emitted: [String: Aggregate.Emission]?
        var aliases: [EntityKey]?
        try object("an aggregate") { key, parser throws(JSONParseError) in
            switch key {
            case "records" where records == nil:
                records = try parser.members("records") { parser throws(JSONParseError) in try parser.recordState() }
            case "emitted" where emitted == nil:
                emitted = try parser.members("emitted") { parser throws(JSONParseError) in try parser.emission() }
            case "aliases" where aliases == nil:
                if try parser.skipNull() { return }
                var all: [EntityKey] = []
                try parser.array("aliases") { parser throws(JSONParseError) in all.append(EntityKey(try parser.stringValue("an alias"))) }
                aliases = all
            default:
                try parser.skipValue()
            }
        }
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected data after the document") }
        guard let records else { throw fail("an aggregate without records") }
        guard let emitted else { throw fail("an aggregate without emitted") }
        return Aggregate(records: records, emitted: emitted, aliases: aliases ?? [])
    }

    /// A record in either stored shape (see `RecordState.StoredShape`): with `versions` or `sources` it is the earlier
    /// one, which needs both and ignores the shared ones; otherwise the shared ones and the others are read, each
    /// optional. As `Decodable` does, the members of the shape not taken are not read at all.
    mutating func recordState() throws(JSONParseError) -> RecordState {
        var fields: [String: JSONValue]?
        var versions: [String: SourceVersion]?
        var sources: [String: SystemName]?
        var versionsSeen = false
        var sourcesSeen = false
        // Where the shared shape's members start, read once the shape is known.
        var versionAt: Int?
        var sourceAt: Int?
        var otherVersionsAt: Int?
        var otherSourcesAt: Int?
        try object("a record") { key, parser throws(JSONParseError) in
            switch key {
            case "fields" where fields == nil:
                guard case .object(let members) = try parser.value() else { throw parser.fail("a record's fields are not an object") }
                fields = members
            case "versions" where !versionsSeen:
                versionsSeen = true
                versions = try parser.members("versions") { parser throws(JSONParseError) in try parser.sourceVersion() }
            case "sources" where !sourcesSeen:
                sourcesSeen = true
                sources = try parser.members("sources") { parser throws(JSONParseError) in
                    SystemName(try parser.stringValue("a source"))
                }
            case "version": try parser.note(&versionAt)
            case "source": try parser.note(&sourceAt)
            case "otherVersions": try parser.note(&otherVersionsAt)
            case "otherSources": try parser.note(&otherSourcesAt)
            default:
                try parser.skipValue()
            }
        }
        guard let fields else { throw fail("a record without fields") }
        if versionsSeen || sourcesSeen {
            guard let versions, let sources else { throw fail("a record without versions or sources") }
            return RecordState(fields: fields, versions: versions, sources: sources)
        }
        let end = index
        defer { index = end }
        let shape = RecordState.StoredShape(
            version: try noted(versionAt) { parser throws(JSONParseError) in try parser.sourceVersion() },
            source: try noted(sourceAt) { parser throws(JSONParseError) in SystemName(try parser.stringValue("a source")) },
            otherVersions: try noted(otherVersionsAt) { parser throws(JSONParseError) in
                try parser.members("other versions") { parser throws(JSONParseError) in
                    try parser.skipNull() ? .none : try parser.sourceVersion()
                }
            } ?? [:],
            otherSources: try noted(otherSourcesAt) { parser throws(JSONParseError) in
                try parser.members("other sources") { parser throws(JSONParseError) in
                    try parser.skipNull() ? .none : SystemName(try parser.stringValue("a source"))
                }
            } ?? [:])
        return RecordState(fields: fields, shape)
    }

    /// Keeps where the value at `index` starts in `start` unless a member of the same name came first, and moves past it.
    mutating func note(_ start: inout Int?) throws(JSONParseError) {
        if start == nil { start = index }
        try skipValue()
    }

    /// The value noted at `start` read by `read`; `nil` when none was noted or it is `null`.
    mutating func noted<Value>(_ start: Int?, _ read: (inout JSONBytesParser) throws(JSONParseError) -> Value)
        throws(JSONParseError) -> Value?
    {
        guard let start else { return nil }
        index = start
        return try skipNull() ? nil : try read(&self)
    }

    mutating func sourceVersion() throws(JSONParseError) -> SourceVersion {
        var millis: Int64?
        var ordinal: Int64?
        try object("a source version") { key, parser throws(JSONParseError) in
            switch key {
            case "millis" where millis == nil: millis = try parser.integer("millis")
            case "ordinal" where ordinal == nil: ordinal = try parser.integer("ordinal")
            default: try parser.skipValue()
            }
        }
        guard let millis, let ordinal, let small = Int(exactly: ordinal) else { throw fail("a source version without millis or ordinal") }
        return SourceVersion(millis: millis, ordinal: small)
    }

    mutating func emission() throws(JSONParseError) -> Aggregate.Emission {
        var count: Int64?
        var fingerprint: UInt64?
        var input: UInt64?
        try object("an emission") { key, parser throws(JSONParseError) in
            switch key {
            case "count" where count == nil: count = try parser.integer("count")
            case "fingerprint" where fingerprint == nil: fingerprint = try parser.unsigned("fingerprint")
            case "input" where input == nil: input = try parser.skipNull() ? nil : try parser.unsigned("input")
            default: try parser.skipValue()
            }
        }
        guard let count, let fingerprint, let small = Int(exactly: count) else { throw fail("an emission without count or fingerprint") }
        return Aggregate.Emission(count: small, fingerprint: fingerprint, input: input)
    }

    /// The members of the object at `index`, each value read by `read`; of duplicate names the first wins (as with
    /// Foundation's decoder).
    mutating func members<Value>(
        _ what: String, _ read: (inout JSONBytesParser) throws(JSONParseError) -> Value
    ) throws(JSONParseError) -> [String: Value] {
        var all: [String: Value] = [:]
        try object(what) { name, parser throws(JSONParseError) in
            let value = try read(&parser)
            if all[name] == nil { all[name] = value }
        }
        return all
    }

    /// Walks an object, failing with `what` when the value at `index` is not one.
    mutating func object(_ what: String, _ body: (String, inout JSONBytesParser) throws(JSONParseError) -> Void)
        throws(JSONParseError)
    {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { throw fail("\(what) is not an object") }
        try forEachMember(body)
    }

    mutating func array(_ what: String, _ body: (inout JSONBytesParser) throws(JSONParseError) -> Void) throws(JSONParseError) {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "[") else { throw fail("\(what) is not an array") }
        try forEachElement(body)
    }

    mutating func stringValue(_ what: String) throws(JSONParseError) -> String {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("\(what) is not a string") }
        return try string()
    }

    /// Moves past a `null` at `index`, if that is what is there.
    mutating func skipNull() throws(JSONParseError) -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "n") else { return false }
        _ = try literal("null", .null)
        return true
    }

    mutating func integer(_ what: String) throws(JSONParseError) -> Int64 {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index])
        else { throw fail("\(what) is not a number") }
        guard case .int(let value) = try number() else { throw fail("\(what) is not a whole number") }
        return value
    }

    /// A whole number from 0 to `UInt64.max`, which `number()` would read as a `Double` above `Int64.max`.
    mutating func unsigned(_ what: String) throws(JSONParseError) -> UInt64 {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        let delimited = index == bytes.count || !Self.continuesNumber(bytes[index])
        guard delimited, !text.isEmpty, text == "0" || !text.hasPrefix("0"), let value = UInt64(text) else {
            index = start
            throw fail("\(what) is not a whole number from 0 to \(UInt64.max)")
        }
        return value
    }

    static func continuesNumber(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: "+")
    }
}
