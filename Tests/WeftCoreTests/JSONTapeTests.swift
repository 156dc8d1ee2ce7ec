import Foundation
import PropertyBased
import Testing
import WeftCore

/// `JSONValue.decode(_:fromJSON:)` decodes straight from the bytes what `JSONValue.parse(_:)` and then
/// `decode(_:)` give through the tree: the same values, and for a document or a shape they refuse, the same kind of
/// error at the same coding path.
@Suite("Decoding from JSON bytes")
struct JSONTapeTests {
    enum Status: String, Decodable, Equatable {
        case open, paid
    }

    struct Line: Decodable, Equatable {
        var id: String
        var amount: Int64
        var quantity: Int?
        var tags: [String]?
    }

    struct Document: Decodable, Equatable {
        var id: String
        var status: Status?
        var total: Int64
        var ratio: Double?
        var live: Bool?
        var created: Date?
        var lines: [Line]?
        var nested: [[Int]]?
        var metadata: [String: String]?
        var extra: JSONValue?
        var maybe: [Int?]?
    }

    /// What one path gave: the value, or the error's kind and coding path.
    enum Outcome<T: Equatable>: Equatable {
        case value(T)
        case notJSON
        case shape(kind: String, path: String)

        /// The outcome with a failing member of `metadata` (a dictionary) not named: a dictionary's members are
        /// decoded in the order its keys are listed, which is the document's on the bytes and the hash order on the
        /// tree, so of two bad members (a null, a number) either may be the one reported, and its kind of error with it.
        var keyedByDictionary: Self {
            guard case .shape(_, let path) = self, path.hasPrefix("metadata.") else { return self }
            return .shape(kind: "a member of a dictionary", path: "metadata.*")
        }

        init(_ body: () throws -> T) {
            do {
                self = .value(try body())
            } catch is JSONParseError {
                self = .notJSON
            } catch let error as DecodingError {
                let (kind, context, key): (String, DecodingError.Context?, (any CodingKey)?) =
                    switch error {
                    case .typeMismatch(_, let context): ("typeMismatch", context, nil)
                    case .valueNotFound(_, let context): ("valueNotFound", context, nil)
                    case .keyNotFound(let key, let context): ("keyNotFound", context, key)
                    case .dataCorrupted(let context): ("dataCorrupted", context, nil)
                    @unknown default: ("unknown", nil, nil)
                    }
                let path = ((context?.codingPath ?? []) + (key.map { [$0] } ?? [])).map(\.stringValue)
                self = .shape(kind: kind, path: path.joined(separator: "."))
            } catch {
                self = .shape(kind: "\(type(of: error))", path: "")
            }
        }
    }

    static func both<T: Decodable & Equatable>(_ type: T.Type, _ text: String) -> (tape: Outcome<T>, tree: Outcome<T>) {
        let data = Data(text.utf8)
        return (
            Outcome { try JSONValue.decode(T.self, fromJSON: data) },
            Outcome { try JSONValue.parse(data).decode(T.self) }
        )
    }

    @Test(arguments: JSONParseTests.samples)
    func acceptsAndRejectsWhatTheParserDoes(_ text: String) {
        let (tape, tree) = Self.both(JSONValue.self, text)
        #expect(tape == tree, "\(text)")
    }

    static let documents: [String] = [
        #"{"id":"in_1","status":"paid","total":1200,"lines":[{"id":"il_1","amount":1200,"quantity":1,"tags":["a"]}]}"#,
        #"{"total":5,"id":"x","ratio":0.5,"live":true,"created":1700000000000,"nested":[[1,2],[],[3]]}"#,
        #"{"id":"x","total":1,"metadata":{"k":"v","é":"ü"},"extra":{"any":[1,"two",null,{"b":false}]}}"#,
        #"{"id":"x","total":1,"maybe":[1,null,3]}"#,
        // Escaped names match the names they stand for; of duplicates the first counts.
        #"{"\u0069d":"escaped","tot\u0061l":7}"#, #"{"id":"first","id":"second","total":1,"total":2}"#,
        // Nulls: optional members are absent, a required one is a valueNotFound.
        #"{"id":"x","total":1,"status":null,"lines":null,"ratio":null}"#, #"{"id":null,"total":1}"#,
        // Whole doubles read as integers, others do not.
        #"{"id":"x","total":1.0e3}"#, #"{"id":"x","total":1.5}"#, #"{"id":"x","total":"1"}"#,
        // Wrong shapes, at every depth.
        #"{"id":"x"}"#, #"[]"#, #""text""#, "null", #"{"id":"x","total":1,"lines":{}}"#,
        #"{"id":"x","total":1,"lines":[{"id":"l","amount":"no"}]}"#, #"{"id":"x","total":1,"lines":[{"amount":1}]}"#,
        #"{"id":"x","total":1,"lines":[null]}"#, #"{"id":"x","total":1,"status":"void"}"#,
        #"{"id":"x","total":1,"status":{"a":1}}"#, #"{"id":7,"total":1}"#, #"{"id":"x","total":1,"nested":[[1],["a"]]}"#,
        #"{"id":"x","total":1,"metadata":{"k":1}}"#, #"{"id":"x","total":99999999999999999999}"#,
        // Not JSON, also where the type never looks.
        #"{"id":"x","total":1,"unused":[1,}"#, #"{"id":"x","total":1,"unused":"\ud800"}"#, #"{"id":"x","total":1} x"#,
    ]

    @Test(arguments: documents)
    func decodesWhatTheTreeDecodes(_ text: String) {
        let (tape, tree) = Self.both(Document.self, text)
        #expect(tape == tree, "\(text)")
    }

    @Test func readsTheMembersItIsAskedFor() throws {
        let text = #"{"id":"in_1","skip":{"deep":[{"x":[1,2,{"y":"z"}]}]},"total":42,"lines":[{"id":"a","amount":1}]}"#
        let document = try JSONValue.decode(Document.self, fromJSON: Data(text.utf8))
        #expect(document.id == "in_1")
        #expect(document.total == 42)
        #expect(document.lines == [Line(id: "a", amount: 1, quantity: nil, tags: nil)])
    }

    /// Random documents around the shape of `Document`: members present or not, null, of the wrong type, nested,
    /// repeated, escaped; every one decodes (or fails) alike on both paths.
    @Test func randomDocumentsDecodeAlike() async {
        await propertyCheck(count: 400, input: Gen.int(in: 0...1_000_000_000)) { seed in
            var random = SplitMix(seed: UInt64(seed))
            let text = Self.randomDocument(&random)
            let (tape, tree) = Self.both(Document.self, text)
            #expect(tape.keyedByDictionary == tree.keyedByDictionary, "\(text)")
        }
    }

    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func randomScalar(_ random: inout SplitMix) -> String {
        switch Int.random(in: 0..<9, using: &random) {
        case 0: "null"
        case 1: Bool.random(using: &random) ? "true" : "false"
        case 2: String(Int64.random(in: -5...5_000_000, using: &random))
        case 3: "\(Double(Int.random(in: -100...100, using: &random)) / 8)"
        case 4: #""open""#
        case 5: #""paid""#
        case 6: #""in_\#(Int.random(in: 0...99, using: &random))""#
        case 7: #""\u00e9\n\"q\"""#
        default: "1e2"
        }
    }

    static func randomValue(_ random: inout SplitMix, depth: Int) -> String {
        guard depth < 3, Int.random(in: 0..<3, using: &random) == 0 else { return randomScalar(&random) }
        if Bool.random(using: &random) {
            let count = Int.random(in: 0...3, using: &random)
            return "[" + (0..<count).map { _ in randomValue(&random, depth: depth + 1) }.joined(separator: ",") + "]"
        }
        let names = ["id", "amount", "quantity", "tags", "k", "é"]
        let count = Int.random(in: 0...3, using: &random)
        let members = (0..<count).map { _ in
            #""\#(names.randomElement(using: &random)!)":\#(randomValue(&random, depth: depth + 1))"#
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    static func randomDocument(_ random: inout SplitMix) -> String {
        let names = [
            "id", "status", "total", "ratio", "live", "created", "lines", "nested", "metadata", "extra", "maybe", "other",
            "\\u0069d",
        ]
        var members: [String] = []
        if Int.random(in: 0..<4, using: &random) > 0 { members.append(#""id":"in_\#(Int.random(in: 0...9, using: &random))""#) }
        if Int.random(in: 0..<4, using: &random) > 0 { members.append(#""total":\#(Int.random(in: 0...999, using: &random))"#) }
        for _ in 0..<Int.random(in: 0...6, using: &random) {
            let name = names.randomElement(using: &random)!
            let value: String
            switch name {
            case "lines":
                let count = Int.random(in: 0...3, using: &random)
                value =
                    "["
                    + (0..<count).map { _ in
                        Bool.random(using: &random)
                            ? #"{"id":"il","amount":\#(Int.random(in: 0...9, using: &random))}"#
                            : randomValue(&random, depth: 1)
                    }.joined(separator: ",") + "]"
            default: value = randomValue(&random, depth: 0)
            }
            members.insert(#""\#(name)":\#(value)"#, at: Int.random(in: 0...members.count, using: &random))
        }
        return "{" + members.joined(separator: ",") + "}"
    }
}
