import Foundation
import PropertyBased
import Testing
import WeftCore

/// How a record is stored: the version and the source most of its fields share once, the others by name. Both writers
/// (`Aggregate.canonicalJSON()`, `CanonicalCoding.encoder`) and both readers (`Aggregate(canonicalJSON:)`,
/// `CanonicalCoding.decoder`) must give back exactly the record, whatever it holds, and still read the earlier shape.
@Suite("Stored records")
struct RecordStorageTests {
    static let early = SourceVersion(millis: 1_750_000_000_000, ordinal: 1)
    static let late = SourceVersion(millis: 1_750_000_001_000, ordinal: 0)

    /// Every way of writing and reading `aggregate` gives it back.
    static func roundTrips(_ aggregate: Aggregate) throws -> Bool {
        let direct = try aggregate.canonicalJSON()
        let encoded = try CanonicalCoding.encoder.encode(aggregate)
        return try [
            Aggregate(canonicalJSON: direct), Aggregate(canonicalJSON: encoded),
            CanonicalCoding.decoder.decode(Aggregate.self, from: direct),
            CanonicalCoding.decoder.decode(Aggregate.self, from: encoded),
        ].allSatisfy { $0 == aggregate } && direct == encoded
    }

    static func stored(_ record: RecordState) throws -> [String: Any] {
        let data = try Aggregate(records: ["r": record]).canonicalJSON()
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let records = try #require(document["records"] as? [String: Any])
        return try #require(records["r"] as? [String: Any])
    }

    @Test func theVersionAndSourceMostFieldsShareAreStoredOnceAndTheRestByName() throws {
        let record = RecordState(
            fields: ["a": 1, "b": 2, "c": 3, "d": 4, "e": nil],
            versions: ["a": Self.early, "b": Self.early, "c": Self.early, "d": Self.late, "gone": Self.late],
            sources: ["a": "stripe", "b": "stripe", "c": "odoo", "d": "stripe", "e": "stripe"])
        let stored = try Self.stored(record)
        #expect(Set(stored.keys) == ["fields", "version", "source", "otherVersions", "otherSources"])
        #expect(stored["source"] as? String == "stripe")
        #expect((stored["version"] as? [String: Any])?["millis"] as? Int64 == Self.early.millis)
        // `d` has another version, `gone` is not a field, `e` has none.
        let otherVersions = try #require(stored["otherVersions"] as? [String: Any])
        #expect(Set(otherVersions.keys) == ["d", "gone", "e"])
        #expect(otherVersions["e"] is NSNull)
        #expect((otherVersions["d"] as? [String: Any])?["millis"] as? Int64 == Self.late.millis)
        let otherSources = try #require(stored["otherSources"] as? [String: Any])
        #expect(Set(otherSources.keys) == ["c"])
        #expect(try Self.roundTrips(Aggregate(records: ["r": record])))
    }

    @Test func aRecordWhoseFieldsShareOneVersionAndSourceStoresNeitherByName() throws {
        let record = RecordState(
            fields: ["a": 1, "b": "x"], versions: ["a": Self.late, "b": Self.late], sources: ["a": "stripe", "b": "stripe"])
        #expect(Set(try Self.stored(record).keys) == ["fields", "version", "source"])
        // Empty, and versions and sources without fields.
        #expect(Set(try Self.stored(RecordState()).keys) == ["fields"])
        let orphans = RecordState(fields: [:], versions: ["a": Self.late], sources: ["a": "odoo"])
        #expect(Set(try Self.stored(orphans).keys) == ["fields", "otherVersions", "otherSources"])
        for record in [record, RecordState(), orphans] { #expect(try Self.roundTrips(Aggregate(records: ["r": record]))) }
    }

    /// Of equally common versions the later one is shared, of sources the first by name: the same record is stored as
    /// the same bytes whatever order its dictionaries iterate in.
    @Test func tiesAreBrokenTheSameWayEveryTime() throws {
        let record = RecordState(
            fields: ["a": 1, "b": 2, "c": 3, "d": 4],
            versions: ["a": Self.early, "b": Self.late, "c": Self.early, "d": Self.late],
            sources: ["a": "stripe", "b": "odoo", "c": "stripe", "d": "odoo"])
        let stored = try Self.stored(record)
        #expect((stored["version"] as? [String: Any])?["millis"] as? Int64 == Self.late.millis)
        #expect(stored["source"] as? String == "odoo")
        let bytes = try Aggregate(records: ["r": record]).canonicalJSON()
        // The same record built with its dictionaries filled in another order.
        var copy = RecordState()
        for key in ["d", "c", "b", "a"] {
            copy.fields[key] = record.fields[key]
            copy.versions[key] = record.versions[key]
            copy.sources[key] = record.sources[key]
        }
        #expect(try Aggregate(records: ["r": copy]).canonicalJSON() == bytes)
    }

    /// Aggregates stored before: a version and a source for every field.
    @Test func theEarlierShapeStillReads() throws {
        let text = #"""
            {"emitted":{},"records":{"r":{"fields":{"a":1,"b":null},"sources":{"a":"stripe","b":"odoo","x":"odoo"},
            "versions":{"a":{"millis":5,"ordinal":1},"b":{"millis":6,"ordinal":0}}}}}
            """#
        let expected = Aggregate(records: [
            "r": RecordState(
                fields: ["a": 1, "b": nil],
                versions: ["a": SourceVersion(millis: 5, ordinal: 1), "b": SourceVersion(millis: 6)],
                sources: ["a": "stripe", "b": "odoo", "x": "odoo"])
        ])
        #expect(try Aggregate(canonicalJSON: Data(text.utf8)) == expected)
        #expect(try CanonicalCoding.decoder.decode(Aggregate.self, from: Data(text.utf8)) == expected)
        // Written again, it takes the new shape and reads back the same.
        #expect(try Self.roundTrips(expected))
    }

    @Test func randomRecordsComeBackExactly() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...1_000_000_000)) { seed in
            var random = JSONTapeTests.SplitMix(seed: UInt64(seed))
            var records: [String: RecordState] = [:]
            for index in 0..<Int.random(in: 0...4, using: &random) {
                records["r\(index)"] = Self.randomRecord(&random)
            }
            let aggregate = Aggregate(records: records)
            #expect((try? Self.roundTrips(aggregate)) == true, "seed \(seed)")
        }
    }

    /// Fields drawn from a few names, each with one of a few versions and sources or none; some versions and sources
    /// for names that are not fields.
    static func randomRecord(_ random: inout JSONTapeTests.SplitMix) -> RecordState {
        let versions = (0..<3).map { _ in
            SourceVersion(millis: Int64.random(in: -2...2, using: &random), ordinal: Int.random(in: 0...1, using: &random))
        }
        let sources: [SystemName] = ["stripe", "odoo", "hubspot"]
        var record = RecordState()
        for name in ["a", "b", "c", "d", "e", "f"] {
            if Int.random(in: 0..<4, using: &random) > 0 { record.fields[name] = .int(Int64.random(in: 0...9, using: &random)) }
            if Int.random(in: 0..<5, using: &random) > 0 { record.versions[name] = versions.randomElement(using: &random) }
            if Int.random(in: 0..<5, using: &random) > 0 { record.sources[name] = sources.randomElement(using: &random) }
        }
        return record
    }
}
