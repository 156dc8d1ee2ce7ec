import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
import Testing
import WeftCore
import WeftSimKit
import WeftXMLRPC

@testable import WeftConnectors

/// The three transports over real HTTP against a tiny scripted Odoo: same results, same errors, gate before every
/// request.
@Suite struct OdooTransportWireTests {
    @Test(arguments: OdooTransportKind.allCases)
    func normalisesResultsAndErrorsAcrossTransports(transport: OdooTransportKind) async throws {
        let gate = CountingGate()
        try await ScriptedOdoo.withRunning { port in
            let client = OdooClient(
                configuration: OdooConfiguration(url: "http://127.0.0.1:\(port)", database: "db", apiKey: "key-1", transport: transport),
                httpClient: .shared, gate: gate)
            let logger = Logger(label: "test")
            let version = try await client.serverVersion(logger: logger)
            #expect(version.major == 19)
            let created = try await client.create(model: "res.partner", values: [["name": "Acme"]], logger: logger)
            #expect(created == [42])
            let archived = try await client.call(model: "res.partner", method: "action_archive", ids: [42], logger: logger)
            #expect(archived == .null)
            await #expect {
                _ = try await client.call(model: "res.partner", method: "write", ids: [9], params: ["vals": [:]], logger: logger)
            } throws: { error in
                (error as? OdooError)?.kind == .missingRecord
            }
            await #expect {
                _ = try await client.call(model: "rate.limited", method: "search_read", params: ["domain": []], logger: logger)
            } throws: { error in
                guard let error = error as? OdooError else { return false }
                return error.kind == .rateLimited && error.retryAfter == .seconds(3)
            }
        }
        // Every HTTP request went through the gate (version, authenticate for RPC, 4 calls).
        #expect(gate.acquired == (transport == .json2 ? 5 : 6))
        #expect(gate.rateLimits == [.seconds(3)])
    }

    @Test func authenticationFailureIsTyped() async throws {
        try await ScriptedOdoo.withRunning { port in
            for transport in [OdooTransportKind.jsonrpc, .xmlrpc, .json2] {
                let client = OdooClient(
                    configuration: OdooConfiguration(url: "http://127.0.0.1:\(port)", database: "db", apiKey: "bad", transport: transport),
                    httpClient: .shared)
                await #expect {
                    _ = try await client.searchRead(model: "res.partner", domain: [], fields: ["name"], logger: Logger(label: "t"))
                } throws: { error in
                    guard let error = error as? OdooError else { return false }
                    return error.kind == .authentication && !error.description.contains("bad")
                }
            }
        }
    }
}

final class CountingGate: RequestGate {
    private let state = Mutex<(acquired: Int, rateLimits: [Duration])>((0, []))
    var acquired: Int { state.withLock { $0.acquired } }
    var rateLimits: [Duration] { state.withLock { $0.rateLimits.compactMap { $0 } } }
    func acquire() async throws { state.withLock { $0.acquired += 1 } }
    func didReceiveRateLimit(retryAfter: Duration?) { state.withLock { $0.rateLimits.append(retryAfter ?? .zero) } }
}

/// Answers like Odoo 19 on all three protocols for a handful of calls.
enum ScriptedOdoo {
    static func withRunning(_ body: @Sendable @escaping (Int) async throws -> Void) async throws {
        let router = Router()
        router.get("/web/version") { _, _ in json(["version_info": [19, 0, 0, "final", 0, ""], "version": "19.0"]) }
        router.post("/json/2/:model/:method") { request, context in
            let auth = request.headers[.authorization] ?? ""
            guard auth == "bearer key-1" else {
                return json(["name": "werkzeug.exceptions.Unauthorized", "message": "Invalid apikey"], status: .unauthorized)
            }
            let model = context.parameters.get("model") ?? ""
            let method = context.parameters.get("method") ?? ""
            switch (model, method) {
            case ("res.partner", "create"): return json([42])
            case ("res.partner", "action_archive"): return json(nil)
            case ("res.partner", "write"):
                return json(
                    ["name": "odoo.exceptions.MissingError", "message": "Record does not exist or has been deleted."], status: .notFound)
            default: return tooManyRequests()
            }
        }
        router.post("/jsonrpc") { request, _ in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            let body = try JSONValue.parse(Data(bytes.readableBytesView))
            let params = body["params"]
            let id = body["id"] ?? nil
            let args = params?["args"]?.arrayValue ?? []
            func error(_ name: String, _ message: String) -> Response {
                json([
                    "jsonrpc": "2.0", "id": id,
                    "error": ["code": 0, "message": "Odoo Server Error", "data": ["name": .string(name), "message": .string(message)]],
                ])
            }
            switch params?["method"]?.stringValue {
            case "version"?:
                return json([
                    "jsonrpc": "2.0", "id": id, "result": ["server_version": "19.0", "server_version_info": [19, 0, 0, "final", 0, ""]],
                ])
            case "authenticate"?: return json(["jsonrpc": "2.0", "id": id, "result": args[2] == "key-1" ? 2 : false])
            default:
                switch (args[3].stringValue ?? "", args[4].stringValue ?? "") {
                case ("res.partner", "create"):
                    // A list of dicts gives a list back; a bare dict a bare id.
                    return json(["jsonrpc": "2.0", "id": id, "result": args[5][0]?.arrayValue != nil ? [42] : 42])
                case ("res.partner", "action_archive"): return json(["jsonrpc": "2.0", "id": id])
                case ("res.partner", "write"): return error("odoo.exceptions.MissingError", "Record does not exist or has been deleted.")
                default: return tooManyRequests()
                }
            }
        }
        router.post("/xmlrpc/2/:service") { request, _ in
            let call = try XMLRPC.decodeCall(Array(buffer: try await request.body.collect(upTo: 1 << 20)))
            func xml(_ text: String) -> Response {
                Response(status: .ok, headers: [.contentType: "text/xml; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
            }
            switch call.method {
            case "version":
                return xml(XMLRPC.encodeResponse(["server_version": "19.0", "server_version_info": [19, 0, 0, "final", 0, ""]]))
            case "authenticate": return xml(XMLRPC.encodeResponse(call.params[2] == "key-1" ? 2 : false))
            default:
                switch (call.params[3].stringValue ?? "", call.params[4].stringValue ?? "") {
                case ("res.partner", "create"): return xml(XMLRPC.encodeResponse(.array([42])))
                case ("res.partner", "action_archive"):
                    return xml(XMLRPC.encodeFault(code: 1, message: "TypeError: cannot marshal None unless allow_none is enabled\n"))
                case ("res.partner", "write"):
                    return xml(
                        XMLRPC.encodeFault(
                            code: 2, message: "Record does not exist or has been deleted.\n(Record: res.partner(9,), User: 2)"))
                default: return tooManyRequests()
                }
            }
        }
        try await SimulatorServer.withRunning(router: router, logger: Logger(label: "scripted-odoo")) { port in
            try await body(port)
        }
    }

    /// What a rate-limiting proxy in front of Odoo answers: 429 with `Retry-After` and an HTML body.
    static func tooManyRequests() -> Response {
        Response(
            status: .tooManyRequests, headers: [.contentType: "text/html", .retryAfter: "3"],
            body: .init(byteBuffer: ByteBuffer(string: "<html>Too Many Requests</html>")))
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(value.serialized()))))
    }
}
