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
