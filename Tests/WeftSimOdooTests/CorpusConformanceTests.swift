import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WeftCore
import WeftXMLRPC

@testable import WeftSimOdoo

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
            var replayer = Replayer(models: Registry.models(Flavour(major: version, enterprise: false)))
            var mismatches: [String] = []
            for item in cases {
                let name = item["case"]?.stringValue ?? "?"
                if CorpusConformanceTests.notCompared.contains(name) { continue }
                let request = try #require(item["request"])
                let expected = try #require(item["response"])
                let (method, path, headers, body) = replayer.request(request)
                let response = try await client.execute(
                    uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
                let actualBody = String(buffer: response.body)
                var problems: [String] = []
                let expectedStatus = expected["status"]?.intValue ?? 0
                if Int64(response.status.code) != expectedStatus { problems.append("status \(response.status.code) != \(expectedStatus)") }
                let expectedType =
                    (expected["headers"]?["Content-Type"]?.stringValue ?? "").split(separator: ";").first.map(String.init) ?? ""
                let actualType = (response.headers[.contentType] ?? "").split(separator: ";").first.map(String.init) ?? ""
                if expectedType != actualType { problems.append("content type \(actualType) != \(expectedType)") }
                for header in ["WWW-Authenticate", "Allow"] {
                    // HTTP parsers drop trailing whitespace (RFC 9110 OWS), so `Bearer ` arrives as `Bearer`.
                    if let value = expected["headers"]?[header]?.stringValue,
                        response.headers[HTTPField.Name(header)!] != value.trimmingCharacters(in: .whitespaces)
                    {
                        problems.append("header \(header) \(response.headers[HTTPField.Name(header)!] ?? "nil") != \(value)")
                    }
                }
                problems += replayer.compareBody(
                    expected: expected["body"] ?? .null, actual: actualBody, contentType: expectedType, case: name)
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
            for line in mismatches {
                print("GAP \(line.split(separator: " ", maxSplits: 2).prefix(2).joined(separator: " ").dropLast())")
                print("DETAIL \(line)")
            }
        }
    }

    /// The known gaps, as "file case" lines.
    static func knownGaps() -> Set<String> {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("KnownCorpusGaps.txt")
        let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        return Set(text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty })
    }

    /// Cases whose body cannot be compared honestly (see docs/simulators/odoo.md).
    /// `db.list` lists every database of the captured server (both odoo18 and odoo19); the simulator serves one.
    static let notCompared: Set<String> = ["db.list"]
}

/// Rewrites corpus ids into simulator ids and compares bodies structurally.
///
/// Ids differ between the captured databases and a fresh simulator, so the replayer keeps one corpus → simulator id
/// map per model, learned from responses (a `create` result is authoritative; elsewhere an id already mapped must map
/// to the same simulator id, which checks relations such as `child_ids` or `reversed_entry_id`). Requests are
/// rewritten with the model schema: `ids`, many2one/x2many values and commands, domain leaves on relational fields,
/// `active_ids` by `active_model`, and `line_id`.
struct Replayer {
    let models: [String: ModelSpec]
    var ids: [String: [Int64: Int64]] = [:]
    var currentCase = ""
    /// The model and method of the request being replayed.
    var model = ""
    var method = ""

    static let modelMethods: Set<String> = [
        "create", "search", "search_read", "search_count", "name_search", "fields_get", "context_get", "version", "login", "authenticate",
    ]

    func map(_ model: String?, _ value: JSONValue) -> JSONValue {
        guard let model else { return value }
        if case .int(let id) = value { return .int(ids[model]?[id] ?? id) }
        if let list = value.arrayValue { return .array(list.map { map(model, $0) }) }
        return value
    }

    func relation(_ model: String, _ field: String) -> String? {
        if field == "id" { return model }
        return models[model]?.fields[field]?.kind.relation
    }

    /// The model a (possibly dotted) domain path ends on, when its last field is relational or `id`.
    func pathModel(_ model: String, _ path: String) -> String? {
        var current: String? = model
        for part in path.split(separator: ".") {
            guard let owner = current else { return nil }
            current = relation(owner, String(part))
        }
        return current
    }

    func rewriteVals(_ model: String, _ value: JSONValue) -> JSONValue {
        if let list = value.arrayValue { return .array(list.map { rewriteVals(model, $0) }) }
        guard let members = value.objectValue else { return value }
        var result: [String: JSONValue] = [:]
        for (key, member) in members {
            guard let field = models[model]?.fields[key], let target = field.kind.relation else {
                result[key] = member
                continue
            }
            if !field.kind.isX2many {
                result[key] = map(target, member)
            } else if let commands = member.arrayValue, !commands.allSatisfy({ $0.intValue != nil }) {
                result[key] = .array(commands.map { rewriteCommand(target, $0) })
            } else {
                result[key] = map(target, member)
            }
        }
        return .object(result)
    }

    func rewriteCommand(_ model: String, _ command: JSONValue) -> JSONValue {
        guard let parts = command.arrayValue, let code = parts.first?.intValue else { return command }
        var result = parts
        if parts.count > 1, [1, 2, 3, 4].contains(code) { result[1] = map(model, parts[1]) }
        if parts.count > 2, code == 6 { result[2] = map(model, parts[2]) }
        if parts.count > 2, code == 0 || code == 1 { result[2] = rewriteVals(model, parts[2]) }
        return .array(result)
    }

    func rewriteDomain(_ model: String, _ domain: JSONValue) -> JSONValue {
        guard let terms = domain.arrayValue else { return domain }
        return .array(
            terms.map { term in
                guard let leaf = term.arrayValue, leaf.count == 3, let path = leaf[0].stringValue, let target = pathModel(model, path)
                else { return term }
                return .array([leaf[0], leaf[1], map(target, leaf[2])])
            })
    }

    func rewriteContext(_ value: JSONValue) -> JSONValue {
        guard var context = value.objectValue, let target = context["active_model"]?.stringValue else { return value }
        for key in ["active_ids", "active_id"] where context[key] != nil { context[key] = map(target, context[key]!) }
        return .object(context)
    }

    /// Rewrites named arguments (JSON-2 bodies and RPC kwargs).
    func rewriteNamed(_ model: String, _ named: [String: JSONValue]) -> [String: JSONValue] {
        var result = named
        for (key, value) in named {
            switch key {
            case "ids": result[key] = map(model, value)
            case "context": result[key] = rewriteContext(value)
            case "vals", "vals_list": result[key] = rewriteVals(model, value)
            case "domain", "args": result[key] = rewriteDomain(model, value)
            case "line_id": result[key] = map("account.move.line", value)
            default: break
            }
        }
        return result
    }

    /// Rewrites RPC service arguments: `[db, uid, key, model, method, args, kwargs]`.
    mutating func rewriteRPCArgs(_ args: [JSONValue]) -> [JSONValue] {
        guard args.count >= 5, let model = args[3].stringValue, let method = args[4].stringValue else { return args }
        self.model = model
        self.method = method
        var result = args
        if args.count > 5, var positional = args[5].arrayValue {
            var index = 0
            if !Self.modelMethods.contains(method), !positional.isEmpty {
                positional[0] = map(model, positional[0])
                index = 1
            }
            while index < positional.count {
                switch (method, index) {
                case ("create", 0), ("write", 1): positional[index] = rewriteVals(model, positional[index])
                case ("search", 0), ("search_read", 0), ("search_count", 0), ("name_search", 1):
                    positional[index] = rewriteDomain(model, positional[index])
                case ("js_assign_outstanding_line", 1): positional[index] = map("account.move.line", positional[index])
                default: break
                }
                index += 1
            }
            result[5] = .array(positional)
        }
        if args.count > 6, let named = args[6].objectValue { result[6] = .object(rewriteNamed(model, named)) }
        return result
    }

    mutating func request(_ request: JSONValue) -> (HTTPRequest.Method, String, HTTPFields, String?) {
        let method = HTTPRequest.Method(request["method"]?.stringValue ?? "GET") ?? .get
        let path = request["path"]?.stringValue ?? "/"
        model = ""
        self.method = ""
        var headers: HTTPFields = [:]
        for (name, value) in request["headers"]?.objectValue ?? [:] {
            if let field = HTTPField.Name(name), let text = value.stringValue { headers[field] = text }
        }
        var body: String?
        switch request["body"] ?? .null {
        case .null: body = nil
        case .string(let text):
            // The capture replaced the key with a bare `<API_KEY>` inside `<string>`, which is not XML; escape it back.
            let text = text.replacingOccurrences(of: "<string><API_KEY></string>", with: "<string>&lt;API_KEY&gt;</string>")
            if path.hasPrefix("/xmlrpc"), let call = try? XMLRPC.decodeCall(Array(text.utf8)) {
                let args = rewriteRPCArgs(call.params.map { JSONValue($0) })
                body = XMLRPC.encodeCall(method: call.method, params: args.map { XMLRPCValue($0) })
            } else {
                body = text
            }
        case let value:
            var rewritten = value
            if path == "/jsonrpc", var object = value.objectValue, var params = object["params"]?.objectValue,
                let args = params["args"]?.arrayValue
            {
                params["args"] = .array(rewriteRPCArgs(args))
                object["params"] = .object(params)
                rewritten = .object(object)
            } else if path.hasPrefix("/json/2/"), let named = value.objectValue {
                let parts = path.split(separator: "/").map(String.init)
                if parts.count == 4 {
                    model = parts[2]
                    self.method = parts[3]
                    rewritten = .object(rewriteNamed(model, named))
                }
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
                return compareResult(JSONValue(left), JSONValue(right), path: "$")
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
                    if Self.normalise(lastLeft) != Self.normalise(lastRight) {
                        problems.append("fault exception \(lastRight) != \(lastLeft)")
                    }
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
            if let envelope = expected.objectValue, envelope["jsonrpc"] != nil {
                var problems: [String] = []
                let right = parsed.objectValue ?? [:]
                if Set(envelope.keys) != Set(right.keys) { problems.append("$ keys \(right.keys.sorted()) != \(envelope.keys.sorted())") }
                if envelope["id"] != right["id"] {
                    problems.append("$.id \(PythonRepr.of(right["id"] ?? .null)) != \(PythonRepr.of(envelope["id"] ?? .null))")
                }
                if let left = envelope["result"], let other = right["result"] { problems += compareResult(left, other, path: "$.result") }
                if let left = envelope["error"], let other = right["error"] {
                    problems += compare(left, other, path: "$.error", model: nil, key: nil)
                }
                return problems
            }
            return compareResult(expected, parsed, path: "$")
        }
        // Odoo 18 answers GET /web/version with its full website 404 page; only status and type are compared.
        if name == "web.version.GET" { return [] }
        if expected.stringValue != actual { return ["body \(actual.prefix(120)) != \(expected.stringValue?.prefix(120) ?? "")"] }
        return []
    }

    /// A method's return value: record ids of the called model for `create`/`search`, records for `read`.
    mutating func compareResult(_ expected: JSONValue, _ actual: JSONValue, path: String) -> [String] {
        let model = self.model.isEmpty ? nil : self.model
        switch (method, expected, actual) {
        case ("create", .int(let left), .int(let right)):
            learn(model, left, right, authoritative: true)
            return []
        case ("create", .array(let left), .array(let right)) where left.count == right.count:
            for (corpus, simulated) in zip(left, right) {
                if let corpusId = corpus.intValue, let simulatedId = simulated.intValue {
                    learn(model, corpusId, simulatedId, authoritative: true)
                }
            }
            return []
        case ("search", .array(let left), .array(let right)) where left.count == right.count:
            var problems: [String] = []
            for (index, (corpus, simulated)) in zip(left, right).enumerated() {
                if let corpusId = corpus.intValue, let simulatedId = simulated.intValue {
                    problems += learn(model, corpusId, simulatedId, authoritative: false, path: "\(path)[\(index)]")
                }
            }
            return problems
        case ("name_search", .array(let left), .array(let right)) where left.count == right.count:
            var problems: [String] = []
            for (index, (corpus, simulated)) in zip(left, right).enumerated() {
                guard let pair = corpus.arrayValue, let other = simulated.arrayValue, pair.count == 2, other.count == 2,
                    let corpusId = pair[0].intValue, let simulatedId = other[0].intValue
                else { continue }
                problems += learn(model, corpusId, simulatedId, authoritative: false, path: "\(path)[\(index)]")
                problems += compare(pair[1], other[1], path: "\(path)[\(index)][1]", model: nil, key: nil)
            }
            return problems
        default:
            return compare(expected, actual, path: path, model: model, key: nil)
        }
    }

    @discardableResult
    mutating func learn(_ model: String?, _ corpus: Int64, _ simulated: Int64, authoritative: Bool, path: String = "") -> [String] {
        guard let model else { return [] }
        if !authoritative, let known = ids[model]?[corpus], known != simulated {
            return ["\(path) \(model) id \(simulated) is not the record the corpus means (expected \(known))"]
        }
        ids[model, default: [:]][corpus] = simulated
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

    static func isIdKey(_ key: String) -> Bool { key == "id" || key == "res_id" || key.hasSuffix("_id") || key.hasSuffix("_ids") }

    /// Same keys, same JSON types, false-vs-list, equal strings (digits normalised), ids through the per-model map.
    /// `model` is the model of the record `expected` belongs to (when it is a record), `key` the field it sits under.
    mutating func compare(_ expected: JSONValue, _ actual: JSONValue, path: String, model: String?, key: String?) -> [String] {
        switch (expected, actual) {
        case (.object(let left), .object(let right)):
            var problems: [String] = []
            if Set(left.keys) != Set(right.keys) {
                problems.append("\(path) keys \(right.keys.sorted()) != \(left.keys.sorted())")
            }
            let resModel = left["res_model"]?.stringValue
            for (name, value) in left.sorted(by: { $0.key < $1.key }) where name != "debug" {
                guard let other = right[name] else { continue }
                if name == "res_id", let resModel, let corpus = value.intValue, let simulated = other.intValue {
                    learn(resModel, corpus, simulated, authoritative: true)
                    continue
                }
                let fieldModel = model.flatMap { relation($0, name) }
                if name == "id", let model, let corpus = value.intValue, let simulated = other.intValue {
                    problems += learn(model, corpus, simulated, authoritative: false, path: path + ".id")
                    continue
                }
                problems += compare(value, other, path: path + "." + name, model: fieldModel, key: name)
            }
            return problems
        case (.array(let left), .array(let right)):
            if left.count != right.count { return ["\(path) count \(right.count) != \(left.count): \(PythonRepr.of(actual).prefix(300))"] }
            let relational = key.map { model != nil || Self.isIdKey($0) } ?? false
            if left.count == 2, case .int(let corpus) = left[0], case .string = left[1], case .int(let simulated) = right[0], relational {
                var problems = learn(model, corpus, simulated, authoritative: false, path: path)
                problems += compare(left[1], right[1], path: path + "[1]", model: nil, key: nil)
                return problems
            }
            var problems: [String] = []
            let elementModel = key == nil ? self.model.isEmpty ? nil : self.model : model
            for index in left.indices {
                if case .int(let corpus) = left[index], case .int(let simulated) = right[index], relational {
                    problems += learn(model, corpus, simulated, authoritative: false, path: "\(path)[\(index)]")
                    continue
                }
                problems += compare(
                    left[index], right[index], path: "\(path)[\(index)]", model: key == nil ? elementModel : model, key: key)
            }
            return problems
        case (.int(let left), .int(let right)):
            if let key, model != nil || Self.isIdKey(key) {
                return model == nil ? [] : learn(model, left, right, authoritative: false, path: path)
            }
            return left == right ? [] : ["\(path) \(right) != \(left)"]
        case (.string(let left), .string(let right)):
            if left == right || Self.normalise(left) == Self.normalise(right) { return [] }
            return ["\(path) \(PythonRepr.string(right)) != \(PythonRepr.string(left))"]
        case (.bool(let left), .bool(let right)):
            return left == right ? [] : ["\(path) \(right) != \(left)"]
        default:
            if let left = expected.doubleValue, let right = actual.doubleValue {
                return left == right ? [] : ["\(path) \(right) != \(left)"]
            }
            if expected.isNull && actual.isNull { return [] }
            return ["\(path) type \(PythonRepr.of(actual).prefix(80)) != \(PythonRepr.of(expected).prefix(80))"]
        }
    }
}
