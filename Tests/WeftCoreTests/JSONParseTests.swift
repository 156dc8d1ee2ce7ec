import Foundation
import Testing
import WeftCore

/// `JSONValue.parse` must give exactly what decoding `JSONValue` through Foundation's `JSONDecoder` gives (the
/// behaviour it replaced, for speed), and reject what that rejects.
@Suite("JSON parsing")
struct JSONParseTests {
    static func viaFoundation(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    static let samples: [String] = [
        #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#, "  [ 1 , 2 ,3 ]  ", "0", "-0", "1.0", "1e2", "1E0", "-1.0e1",
        "1.5", "0.1", "-12.75", "1.00000000000000001", "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "1e300", "123456789.125", #""plain""#, #""esc \" \\ \/ \b \f \n \r \t""#,
        #""\u00e9\u4e2d\ud83d\ude00""#, #""Zoë — ünïcödé 😀""#, "[]", "{}", #"{"dup":1,"dup":2}"#, "[[[[[]]]]]",
        "true", "false", "null", #"{"a" : { "b" : [ 1 , { "c" : null } ] } }"#,
        // Rejected by both.
        "", "01", "1.", ".5", "-", "+1", "1e", "[1 2]", "{\"a\" 1}", "tru", "nul", "\"open",
        "\"bad \\x escape\"", "\"\\ud83d alone\"", "\"\\ude00\"", "\"tab\there\"", "1e400", "[1]x", "{'a':1}",
    ]

    @Test(arguments: samples)
    func agreesWithFoundation(_ text: String) {
        let ours = try? JSONValue.parse(Data(text.utf8))
        #expect(ours == Self.viaFoundation(text), "\(text)")
    }

    /// `serialized()` writes directly what `JSONEncoder` (sorted keys, slashes unescaped) writes for the same value.
    @Test(arguments: samples + [#"[1e20, 1e16, 2.5, 1e-5, 0.0001, 1.5e-7, -0.0, 1.7976931348623157e308]"#])
    func serialisesAsFoundationDoes(_ text: String) throws {
        guard let value = try? JSONValue.parse(Data(text.utf8)) else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let expected = try encoder.encode(value)
        #expect(String(decoding: value.serialized(), as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }

    @Test func controlCharactersAndWholeDoublesSerialiseAsFoundationDoes() throws {
        let value = JSONValue.object([
            "s": .string("a/b\u{7f}\u{1f}\u{0}é\u{2028}\"\\\u{8}\u{c}\n\r\t"),
            "d": .array([.double(1), .double(-3), .double(0.5)]),
        ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(String(decoding: value.serialized(), as: UTF8.self) == String(decoding: try encoder.encode(value), as: UTF8.self))
        #expect(JSONValue.double(.nan).serialized() == Data("null".utf8))
    }

    /// A projection builds less but checks the whole document: the same documents are accepted and rejected.
    @Test(arguments: samples)
    func projectionAcceptsAndRejectsTheSameDocuments(_ text: String) {
        let whole = try? JSONValue.parse(Data(text.utf8))
        #expect((try? JSONValue.parse(Data(text.utf8), keeping: .all)) == whole, "\(text)")
        let nothing = try? JSONValue.parse(Data(text.utf8), keeping: .members([:]))
        #expect((nothing == nil) == (whole == nil), "\(text)")
    }

    @Test func projectionKeepsOnlyTheNamedMembers() throws {
        let text =
            #"{"id":"evt_1","noise":{"deep":[1,2,{"x":"\u00e9"}]},"data":{"object":{"id":"in_1","lines":[{"a":1}],"#
            + #""customer":{"id":"cus_1","name":"n"}},"other":true},"list":[{"k":1,"z":2},{"z":3}],"id2":null}"#
        let projection = JSONProjection.members([
            "id": .all, "data": .members(["object": .members(["id": .all, "customer": .members(["id": .all])])]),
            "list": .members(["k": .all]), "missing": .all,
        ])
        let kept = try JSONValue.parse(Data(text.utf8), keeping: projection)
        #expect(kept == ["id": "evt_1", "data": ["object": ["id": "in_1", "customer": ["id": "cus_1"]]], "list": [["k": 1], [:]]])
    }

    /// What is skipped is still checked: a broken member that is not kept rejects the document.
    @Test func brokenSkippedMembersStillReject() {
        let broken = [
            #"{"keep":1,"skip":"\ud83d alone"}"#, #"{"skip":[1 2],"keep":1}"#, #"{"skip":{"a" 1}}"#, "{\"skip\":\"tab\there\"}",
            #"{"skip":01}"#, #"{"skip":"open}"#, #"{"skip":[1,]}"#, #"{"keep":1} x"#,
        ]
        for text in broken {
            #expect(throws: JSONParseError.self, "\(text)") {
                try JSONValue.parse(Data(text.utf8), keeping: .members(["keep": .all]))
            }
        }
        var invalidUTF8 = Data(#"{"keep":1,"skip":"a"#.utf8)
        invalidUTF8.append(contentsOf: [0xC3, 0x28])
        invalidUTF8.append(contentsOf: #""}"#.utf8)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(invalidUTF8, keeping: .members(["keep": .all])) }
        #expect(throws: JSONParseError.self) { try JSONValue.parse(invalidUTF8) }
    }

    /// Foundation accepts a trailing comma; RFC 8259 does not, and neither do we.
    @Test func rejectsTrailingCommas() {
        for text in ["[1,]", #"{"a":1,}"#, "[,]"] {
            #expect(throws: JSONParseError.self) { try JSONValue.parse(Data(text.utf8)) }
        }
    }

    @Test func keepsIntegersAndDoublesApart() throws {
        #expect(try JSONValue.parse(Data("[1, 1.0, 1.5, 2e3, -0.25]".utf8)) == [1, 1, 1.5, 2000, -0.25])
        #expect(try JSONValue.parse(Data("9007199254740993".utf8)) == .int(9_007_199_254_740_993))
    }

    @Test func rejectsInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Data([0x22, 0xC3, 0x28, 0x22])) }
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Data(deep.utf8)) }
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect((try? JSONValue.parse(Data(fine.utf8))) != nil)
    }

    /// Every body captured from real Odoo servers (`../shared/reference/odoo-wire`), when it is there.
    @Test func agreesWithFoundationOnTheOdooCorpus() throws {
        let directory = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared/reference/odoo-wire").standardizedFileURL
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.filter { $0.hasSuffix(".jsonl") }
        guard let files, !files.isEmpty else { return }
        var lines = 0
        for file in files {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let ours = try JSONValue.parse(Data(line.utf8))
                #expect(ours == Self.viaFoundation(String(line)))
                if let raw = ours["response"]?["body_raw"]?.stringValue {
                    #expect((try? JSONValue.parse(Data(raw.utf8))) == Self.viaFoundation(raw))
                }
                lines += 1
            }
        }
        #expect(lines > 100)
    }
}
