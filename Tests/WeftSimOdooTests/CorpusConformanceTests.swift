import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WeftCore
@testable import WeftSimOdoo
import WeftXMLRPC

/// Replays the captured Odoo request/response pairs through the simulator over real HTTP and compares status codes,
/// content types and the shape of every body. Skipped when the corpus folder is not next to the package.
enum Corpus {
    static let folder: URL? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = root.deletingLastPathComponent().appendingPathComponent("shared/reference/odoo-wire")
        return FileManager.default.fileExists(atPath: folder.appendingPathComponent("README.md").path) ? folder : nil
    }()
}

@Suite(.enabled(if: Corpus.folder != nil, "the Odoo wire corpus is not checked out next to the package"))
struct CorpusConformanceTests {

    @Test(arguments: ["json2-19", "jsonrpc-19", "jsonrpc-18", "xmlrpc-19", "xmlrpc-18"])
    func replay(file: String) async throws {
        let folder = try #require(Corpus.folder)
        let text = try String(contentsOf: folder.appendingPathComponent(file + ".jsonl"), encoding: .utf8)
        let cases = text.split(separator: "\n").compactMap { try? JSONValue.parse(Data($0.utf8)) }
        let version = file.hasSuffix("18") ? 18 : 19
        let simulator = OdooSimulator(configuration: .init(version: version, database: "odoo\(version)", apiKeys: ["<API_KEY>"]))
        let router = Router()
        simulator.addRoutes(to: router)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let mismatches = try await app.test(.live) { client in
            var replayer = Replayer()
            var mismatches: [String] = []
            for item in cases {
                let name = item["case"]?.stringValue ?? "?"
                if CorpusConformanceTests.notCompared.contains(name) { continue }
                let request = try #require(item["request"])
                let expected = try #require(item["response"])
                let (method, path, headers, body) = replayer.request(request)
                let response = try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
                let actualBody = String(buffer: response.body)
                var problems: [String] = []
                let expectedStatus = expected["status"]?.intValue ?? 0
                if Int64(response.status.code) != expectedStatus { problems.append("status \(response.status.code) != \(expectedStatus)") }
                let expectedType = (expected["headers"]?["Content-Type"]?.stringValue ?? "").split(separator: ";").first.map(String.init) ?? ""
                let actualType = (response.headers[.contentType] ?? "").split(separator: ";").first.map(String.init) ?? ""
                if expectedType != actualType { problems.append("content type \(actualType) != \(expectedType)") }
                for header in ["WWW-Authenticate", "Allow"] {
                    if let value = expected["headers"]?[header]?.stringValue, response.headers[HTTPField.Name(header)!] != value {
                        problems.append("header \(header) \(response.headers[HTTPField.Name(header)!] ?? "nil") != \(value)")
                    }
                }
                problems += replayer.compareBody(expected: expected["body"] ?? .null, actual: actualBody, contentType: expectedType, case: name)
                if !problems.isEmpty { mismatches.append("\(file) \(name): " + problems.joined(separator: "; ")) }
            }
            return mismatches
        }
        // A ratchet: the simulator's known gaps are listed in KnownCorpusGaps.txt (one "file case" per line, see
        // docs/simulators/odoo.md); any other mismatch is a regression and fails the test.
        let known = Self.knownGaps()
        let regressions = mismatches.filter { line in
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2 else { return true }
            return !known.contains("\(parts[0]) \(parts[1].dropLast())")
        }
        #expect(regressions.isEmpty, "new mismatches against the captured Odoo corpus:\n\(regressions.joined(separator: "\n"))")
        if ProcessInfo.processInfo.environment["WEFT_PRINT_CORPUS_GAPS"] != nil {
            for line in mismatches { print("GAP \(line.split(separator: " ", maxSplits: 2).prefix(2).joined(separator: " ").dropLast())") }
        }
    }

    /// The known gaps, as "file case" lines.
    static func knownGaps() -> Set<String> {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("KnownCorpusGaps.txt")
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        return Set(text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty })
    }

    /// Cases whose body cannot be compared honestly (see docs/simulators/odoo.md).
    static let notCompared: Set<String> = []
}

/// Rewrites corpus ids into simulator ids and compares bodies structurally.
struct Replayer {
    /// Corpus id → simulator id, learned from responses (latest wins).
    var ids: [Int64: Int64] = [:]
    /// The case being compared.
    var currentCase = ""

    static let idKeys: Set<String> = ["ids", "id", "res_id", "line_id", "active_id", "active_ids", "order_line", "child_ids"]

    static func isIdKey(_ key: String) -> Bool { idKeys.contains(key) || key.hasSuffix("_id") || key.hasSuffix("_ids") }

    func map(_ value: JSONValue) -> JSONValue {
        if let id = value.intValue, case .int = value { return .int(ids[id] ?? id) }
        if let list = value.arrayValue { return .array(list.map(map)) }
        return value
    }

    /// Rewrites ids in a call's arguments (named parameters, vals, domains, x2many commands, context).
    func rewrite(_ value: JSONValue, key: String? = nil) -> JSONValue {
        switch value {
        case .object(let members):
            var result: [String: JSONValue] = [:]
            for (name, member) in members { result[name] = rewrite(member, key: name) }
            return .object(result)
        case .array(let elements):
            if let key, Self.isIdKey(key) {
                if elements.allSatisfy({ $0.intValue != nil }) { return map(value) }
                return .array(elements.map { rewriteCommand($0) })
            }
            if elements.count == 3, let field = elements[0].stringValue, elements[1].stringValue != nil,
                field == "id" || field.hasSuffix("_id") || field.hasSuffix("_ids")
            {
                return .array([elements[0], elements[1], map(elements[2])])
            }
            return .array(elements.map { rewrite($0) })
        case .int:
            if let key, Self.isIdKey(key) { return map(value) }
            return value
        default:
            return value
        }
    }

    func rewriteCommand(_ command: JSONValue) -> JSONValue {
        guard let parts = command.arrayValue, let code = parts.first?.intValue else { return rewrite(command) }
        var result = parts
        if parts.count > 1, [1, 2, 3, 4].contains(code) { result[1] = map(parts[1]) }
        if parts.count > 2, code == 6 { result[2] = map(parts[2]) }
        if parts.count > 2, code == 0 || code == 1 { result[2] = rewrite(parts[2]) }
        return .array(result)
    }

    /// Rewrites RPC service arguments: `[db, uid, key, model, method, args, kwargs]`.
    func rewriteRPCArgs(_ args: [JSONValue]) -> [JSONValue] {
        guard args.count >= 6 else { return args }
        var result = args
        if var positional = args[5].arrayValue {
            let method = args[4].stringValue ?? ""
            let modelMethods: Set<String> = ["create", "search", "search_read", "search_count", "name_search", "fields_get", "context_get"]
            if !positional.isEmpty, !modelMethods.contains(method) {
                positional[0] = map(positional[0])
                for index in positional.indices.dropFirst() where positional[index].intValue != nil && method == "js_assign_outstanding_line" {
                    positional[index] = map(positional[index])
                }
            }
            result[5] = .array(positional.map { element in
                if element.intValue != nil || element.arrayValue?.allSatisfy({ $0.intValue != nil }) == true { return element }
                return rewrite(element)
            })
        }
        if args.count > 6 { result[6] = rewrite(args[6]) }
        return result
    }

    func request(_ request: JSONValue) -> (HTTPRequest.Method, String, HTTPFields, String?) {
        let method = HTTPRequest.Method(request["method"]?.stringValue ?? "GET") ?? .get
        let path = request["path"]?.stringValue ?? "/"
        var headers: HTTPFields = [:]
        for (name, value) in request["headers"]?.objectValue ?? [:] {
            if let field = HTTPField.Name(name), let text = value.stringValue { headers[field] = text }
        }
        var body: String?
        switch request["body"] ?? .null {
        case .null: body = nil
        case .string(let text):
            if path.hasPrefix("/xmlrpc"), let call = try? XMLRPC.decodeCall(Array(text.utf8)) {
                let args = rewriteRPCArgs(call.params.map { JSONValue($0) })
                body = XMLRPC.encodeCall(method: call.method, params: args.map { XMLRPCValue($0) })
            } else {
                body = text
            }
        case let value:
            var rewritten = value
            if path == "/jsonrpc", var object = value.objectValue, var params = object["params"]?.objectValue, let args = params["args"]?.arrayValue {
                params["args"] = .array(rewriteRPCArgs(args))
                object["params"] = .object(params)
                rewritten = .object(object)
            } else if path.hasPrefix("/json/2") {
                rewritten = rewrite(value)
            }
            body = String(decoding: rewritten.serialized(), as: UTF8.self)
        }
        return (method, path, headers, body)
    }

    mutating func compareBody(expected: JSONValue, actual: String, contentType: String, case name: String) -> [String] {
        currentCase = name
        if contentType == "text/xml" {
            guard let expectedText = expected.stringValue,
                let expectedResponse = try? XMLRPC.decodeResponse(Array(expectedText.utf8)),
                let actualResponse = try? XMLRPC.decodeResponse(Array(actual.utf8))
            else { return ["unparsable XML-RPC body: \(actual.prefix(200))"] }
            switch (expectedResponse, actualResponse) {
            case (.value(let left), .value(let right)):
                return compare(JSONValue(left), JSONValue(right), path: "$")
            case (.fault(let leftCode, let leftText), .fault(let rightCode, let rightText)):
                var problems: [String] = []
                if case .string(let code) = leftCode {
                    if Self.normalise(code) != Self.normalise(JSONValue(rightCode).stringValue ?? "") {
                        problems.append("faultCode \(rightCode) != \(leftCode)")
                    }
                } else if leftCode != rightCode {
                    problems.append("faultCode \(rightCode) != \(leftCode)")
                }
                if leftCode == .int(1) || leftText.contains("Traceback") || leftText.hasPrefix(" ") {
                    let lastLeft = leftText.split(separator: "\n").last.map(String.init) ?? ""
                    let lastRight = rightText.split(separator: "\n").last.map(String.init) ?? ""
                    if Self.normalise(lastLeft) != Self.normalise(lastRight) { problems.append("fault exception \(lastRight) != \(lastLeft)") }
                } else if Self.normalise(leftText) != Self.normalise(rightText) {
                    problems.append("faultString \(rightText) != \(leftText)")
                }
                return problems
            default:
                return ["XML-RPC kind differs: \(actualResponse) vs \(expectedResponse)"]
            }
        }
        if contentType == "application/json" {
            guard let parsed = try? JSONValue.parse(Data(actual.utf8)) else { return ["unparsable JSON: \(actual.prefix(200))"] }
            return compare(expected, parsed, path: "$")
        }
        if name == "web.version.GET" && expected.stringValue?.count ?? 0 > 1000 { return [] }
        if expected.stringValue != actual { return ["body \(actual.prefix(120)) != \(expected.stringValue?.prefix(120) ?? "")"] }
        return []
    }

    static func normalise(_ text: String) -> String {
        var result = ""
        var lastWasDigit = false
        for character in text {
            if character.isNumber {
                if !lastWasDigit { result.append("#") }
                lastWasDigit = true
            } else {
                result.append(character)
                lastWasDigit = false
            }
        }
        return result
    }

    /// Same keys, same JSON types, false-vs-list, equal strings (digits normalised), ids through the learned mapping.
    mutating func compare(_ expected: JSONValue, _ actual: JSONValue, path: String, key: String? = nil) -> [String] {
        switch (expected, actual) {
        case (.object(let left), .object(let right)):
            var problems: [String] = []
            if Set(left.keys) != Set(right.keys) {
                problems.append("\(path) keys \(right.keys.sorted()) != \(left.keys.sorted())")
            }
            for (name, value) in left where name != "debug" {
                guard let other = right[name] else { continue }
                problems += compare(value, other, path: path + "." + name, key: name)
            }
            return problems
        case (.array(let left), .array(let right)):
            if left.count != right.count { return ["\(path) count \(right.count) != \(left.count): \(PythonRepr.of(actual).prefix(300))"] }
            if left.count == 2, case .int(let id) = left[0], case .string = left[1], case .int(let simId) = right[0] {
                ids[id] = simId
                return compare(left[1], right[1], path: path + "[1]")
            }
            var problems: [String] = []
            for index in left.indices { problems += compare(left[index], right[index], path: "\(path)[\(index)]", key: key) }
            return problems
        case (.int(let left), .int(let right)):
            let topLevel = path == "$" || path == "$.result" || path.hasPrefix("$[") || path.hasPrefix("$.result[")
            let idLike = key.map(Self.isIdKey) ?? (topLevel && !currentCase.contains("count"))
            if idLike {
                ids[left] = right
                return []
            }
            return left == right ? [] : ["\(path) \(right) != \(left)"]
        case (.string(let left), .string(let right)):
            if left == right { return [] }
            if Self.normalise(left) == Self.normalise(right) { return [] }
            return ["\(path) \(PythonRepr.string(right)) != \(PythonRepr.string(left))"]
        case (.bool(let left), .bool(let right)):
            return left == right ? [] : ["\(path) \(right) != \(left)"]
        default:
            if let left = expected.doubleValue, let right = actual.doubleValue { return left == right ? [] : ["\(path) \(right) != \(left)"] }
            if expected.isNull && actual.isNull { return [] }
            return ["\(path) type \(PythonRepr.of(actual).prefix(80)) != \(PythonRepr.of(expected).prefix(80))"]
        }
    }
}
