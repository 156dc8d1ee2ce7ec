import Foundation
import Testing
import WeftCore
import WeftXMLRPC

/// Decodes the real XML-RPC bodies captured from Odoo 18 and 19 (`../shared/reference/odoo-wire`).
@Suite(.enabled(if: XMLRPCCorpus.isAvailable, "the shared Odoo wire corpus is not present"))
struct XMLRPCCorpusTests {
    @Test(arguments: ["xmlrpc-19.jsonl", "xmlrpc-18.jsonl"])
    func decodesEveryCapturedResponse(file: String) throws {
        var decodedCount = 0
        for entry in try XMLRPCCorpus.entries(file) {
            guard entry["response"]?["status"]?.intValue == 200, let body = entry["response"]?["body"]?.stringValue else { continue }
            let response = try XMLRPC.decodeResponse(Array(body.utf8))
            decodedCount += 1
            // Odoo writes struct members in insertion order; where that order is also sorted the bytes must match.
            if case .value(let value) = response, !value.hasUnsortedStruct(in: body) {
                #expect(XMLRPC.encodeResponse(value) == body, "\(entry["case"]?.stringValue ?? "")")
            }
            if case .fault(let code, let message) = response {
                #expect(XMLRPC.encodeFault(code: code, message: message) == body, "\(entry["case"]?.stringValue ?? "")")
            }
        }
        #expect(decodedCount >= 35)
    }

    @Test(arguments: ["xmlrpc-19.jsonl", "xmlrpc-18.jsonl"])
    func reencodesEveryCapturedCall(file: String) throws {
        for entry in try XMLRPCCorpus.entries(file) {
            let name = entry["case"]?.stringValue ?? ""
            guard name != "error.malformed_xml", let original = entry["request"]?["body"]?.stringValue else { continue }
            // The capture replaced the key with a bare `<API_KEY>`; put back a value that is valid XML text.
            let body = original.replacingOccurrences(of: "<API_KEY>", with: "API_KEY")
            let call = try XMLRPC.decodeCall(Array(body.utf8))
            let encoded = XMLRPC.encodeCall(method: call.method, params: call.params)
            let again = try XMLRPC.decodeCall(Array(encoded.utf8))
            #expect(again.method == call.method && again.params == call.params, "\(name)")
            if !call.params.contains(where: { $0.hasUnsortedStruct(in: body) }) {
                #expect(encoded == body, "\(name)")
            }
        }
    }

    @Test func decodesLegacyStringFaultCodes() throws {
        let entry = try #require(
            try XMLRPCCorpus.entries("xmlrpc-19.jsonl").first { $0["case"]?.stringValue == "execute_kw.bad_key.xmlrpc_v1" })
        let body = try #require(entry["response"]?["body"]?.stringValue)
        #expect(try XMLRPC.decodeResponse(Array(body.utf8)) == .fault(code: "AccessDenied", message: "Access Denied"))
    }

    @Test func malformedRequestsAreRejected() throws {
        let entry = try #require(
            try XMLRPCCorpus.entries("xmlrpc-19.jsonl").first { $0["case"]?.stringValue == "error.malformed_xml" })
        let body = try #require(entry["request"]?["body"]?.stringValue)
        #expect(throws: XMLRPCError.self) { try XMLRPC.decodeCall(Array(body.utf8)) }
    }
}

enum XMLRPCCorpus {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("../shared/reference/odoo-wire").standardizedFileURL

    static var isAvailable: Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("xmlrpc-19.jsonl").path)
    }

    static func entries(_ file: String) throws -> [JSONValue] {
        let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONValue.parse(Data($0.utf8)) }
    }
}

extension XMLRPCValue {
    /// `true` when some struct with several members appears in `body` in an order other than sorted.
    func hasUnsortedStruct(in body: String) -> Bool {
        switch self {
        case .structure(let members):
            if members.count > 1 {
                let positions = members.keys.sorted().map { body.range(of: "<name>\($0)</name>")?.lowerBound }
                let found = positions.compactMap { $0 }
                if found.count != positions.count || found != found.sorted() { return true }
            }
            return members.values.contains { $0.hasUnsortedStruct(in: body) }
        case .array(let elements):
            return elements.contains { $0.hasUnsortedStruct(in: body) }
        default:
            return false
        }
    }
}
