import Foundation
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftServer
import WeftTools

/// `CanonicalCoding.encode` / `tree(of:)` build canonical JSON without Foundation's `JSONEncoder`. Command
/// fingerprints are stored in aggregates, so the bytes must be exactly those `CanonicalCoding.encoder` writes: a
/// difference would make every command look changed once after an upgrade.
@Suite("Encoding to canonical JSON without JSONEncoder")
struct TreeEncodingTests {
    func expectSameAsFoundation<T: Encodable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let foundation = try CanonicalCoding.encoder.encode(value)
        let ours = try CanonicalCoding.encode(value)
        #expect(
            String(decoding: ours, as: UTF8.self) == String(decoding: foundation, as: UTF8.self), sourceLocation: sourceLocation)
        #expect(try CanonicalCoding.tree(of: value) == JSONValue.parse(foundation), sourceLocation: sourceLocation)
    }

    /// Every command and every aggregate (`emitted` holds unsigned fingerprints a `JSONValue` cannot: the fallback)
    /// the pipeline builds for a story of both Stripe shapes.
    @Test func sameBytesAsFoundationForEveryCommandAndAggregateOfAStory() throws {
        var commands = 0
        var carried = 0
        _ = try TreeDecodingTests.storyAggregates(prefix: "E") { result in
            for command in result.commands {
                try expectSameAsFoundation(command.payload)
                // The bytes the router hands the store are the payload's own canonical JSON.
                #expect(try command.encodedPayload() == CanonicalCoding.encode(command.payload))
                if command.canonicalPayload != nil { carried += 1 }
                commands += 1
            }
            // Aggregates hold unsigned fingerprints above Int64.max: the fallback to JSONEncoder.
            if let aggregate = result.aggregate { try expectSameAsFoundation(aggregate) }
        }
        #expect(commands > 50)
        #expect(carried == commands)
    }

    /// Bytes a command carries are dropped when its payload changes, and never part of its equality.
    @Test func carriedBytesFollowThePayload() throws {
        let customer = Customer(ref: ExternalRef(system: "stripe", kind: .customer, id: "cus_1"), name: "Ann")
        let payload = TargetCommand.upsertCustomer(customer)
        var command = NewCommand(
            target: "odoo", entityKey: EntityKey("k"), idempotencyKey: IdempotencyKey("i"), payload: payload,
            canonicalPayload: try CanonicalCoding.encode(payload))
        #expect(command == NewCommand(target: "odoo", entityKey: EntityKey("k"), idempotencyKey: IdempotencyKey("i"), payload: payload))
        var renamed = customer
        renamed.name = "Bob"
        command.payload = .upsertCustomer(renamed)
        #expect(command.canonicalPayload == nil)
        #expect(try command.encodedPayload() == CanonicalCoding.encode(TargetCommand.upsertCustomer(renamed)))
    }

    /// The fingerprint is the same over a buffer and over a sequence without one.
    @Test func fingerprintsAgreeOverBuffersAndSequences() {
        let bytes = Array("{\"a\":[1,2,3],\"é\":\"x\"}".utf8)
        let expected = CanonicalCoding.fingerprint(bytes.lazy.map { $0 })
        #expect(CanonicalCoding.fingerprint(Data(bytes)) == expected)
        #expect(CanonicalCoding.fingerprint(bytes) == expected)
        #expect(CanonicalCoding.fingerprint([UInt8]()) == 0xcbf2_9ce4_8422_2325)
    }

    enum Shape: Codable, Equatable {
        case circle(radius: Double)
        case labelled(String, at: Date)
        case none
    }

    class Base: Encodable {
        var id = "b/1"
        enum Keys: String, CodingKey { case id }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(id, forKey: .id)
        }
    }

    final class Derived: Base {
        var extra: [Int] = [1, 2]
        enum DerivedKeys: String, CodingKey { case extra, base }
        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: DerivedKeys.self)
            try container.encode(extra, forKey: .extra)
            try super.encode(to: container.superEncoder(forKey: .base))
            try super.encode(to: container.superEncoder())
        }
    }

    struct Sample: Encodable {
        var text = "quote \" backslash \\ slash / tab \t newline \n bell \u{07} é 😀 \u{2028}"
        var numbers: [Double] = [0.1, 1e21, 1e-7, 2.0, 123_456_789_012_345.0, -3.5, 9_007_199_254_740_991]
        var small: Float = 0.1
        var integers: (Int8, UInt16, Int32, UInt64) = (-8, 16, -32, 64)
        var optionalSet: String? = "here"
        var optionalUnset: String? = nil
        var nested: [String: [Int: String]] = ["b": [2: "two", 10: "ten"], "a": [:], "B": [1: "one"]]
        var shapes: [Shape] = [.circle(radius: 1.5), .labelled("x", at: Date(timeIntervalSince1970: 1_750_000_000.123)), .none]
        var when = Date(timeIntervalSince1970: 1_750_000_001)
        var link = URL(string: "https://example.com/a/b?c=d")!
        var bytes = Data([0, 1, 2, 250])
        var money = Money(amountMinor: 1234, currency: CurrencyCode(rawValue: "EUR")!)
        var empty: [String] = []
        var derived = Derived()

        enum CodingKeys: String, CodingKey {
            case text, numbers, small, integers, optionalSet, optionalUnset, nested, shapes, when, link, bytes, money, empty
            case derived
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(text, forKey: .text)
            try container.encode(numbers, forKey: .numbers)
            try container.encode(small, forKey: .small)
            var tuple = container.nestedUnkeyedContainer(forKey: .integers)
            try tuple.encode(integers.0)
            try tuple.encode(integers.1)
            try tuple.encode(integers.2)
            try tuple.encode(integers.3)
            try container.encodeIfPresent(optionalSet, forKey: .optionalSet)
            try container.encodeIfPresent(optionalUnset, forKey: .optionalUnset)
            try container.encode(nested, forKey: .nested)
            try container.encode(shapes, forKey: .shapes)
            try container.encode(when, forKey: .when)
            try container.encode(link, forKey: .link)
            try container.encode(bytes, forKey: .bytes)
            try container.encode(money, forKey: .money)
            try container.encode(empty, forKey: .empty)
            try container.encode(derived, forKey: .derived)
        }
    }

    @Test func sameBytesAsFoundationForEveryKindOfValue() throws {
        try expectSameAsFoundation(Sample())
        try expectSameAsFoundation([Optional("a"), nil])
        try expectSameAsFoundation("top-level string")
        try expectSameAsFoundation(42)
        // Whole numbers from 2^53 up that fit Int64 are written with an exponent but read back as integers: these
        // take the fallback to JSONEncoder.
        try expectSameAsFoundation([9_007_199_254_740_994, 1e16, 1e18])
        try expectSameAsFoundation(JSONValue.object(["z": 1, "a": [.null, 2.5]]))
    }

    @Test func aNumberThatIsNotFiniteIsRefused() {
        #expect(throws: EncodingError.self) { try CanonicalCoding.encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try CanonicalCoding.encode(["x": Double.infinity]) }
        #expect(throws: EncodingError.self) { try CanonicalCoding.tree(of: [Double.nan]) }
    }
}
