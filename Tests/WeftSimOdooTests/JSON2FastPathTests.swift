import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing
import WeftCore
import WeftSimKit

@testable import WeftSimOdoo

/// `OdooJSON2FastPath` answers JSON-2 calls on the event loop exactly as the router does, and passes everything else
/// on, in order.
@Suite("Odoo simulator: JSON-2 on the event loop")
struct JSON2FastPathTests {
    static let key = "weft-odoo-key"
    static let clock = Date(timeIntervalSince1970: 1_795_384_786)

    func simulator() -> OdooSimulator {
        OdooSimulator(configuration: .init(apiKeys: [Self.key], now: { Self.clock }))
    }

    func app(_ simulator: OdooSimulator, fastPath: Bool) -> some ApplicationProtocol {
        let router = Router()
        addSimulatorAdminRoutes(to: router, faults: simulator.faults, log: simulator.requestLog)
        simulator.addRoutes(to: router)
        return Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: fastPath ? [OdooJSON2FastPath(simulator: simulator)] : [])))
    }

    struct Exchange: Sendable {
        var path: String
        var method: HTTPRequest.Method = .post
        var headers: HTTPFields = [.contentType: "application/json", .authorization: "bearer \(JSON2FastPathTests.key)"]
        var body: String
    }

    /// Every kind of JSON-2 answer: results, Odoo errors (422, 404, 401 with its challenge), a body that is not JSON
    /// (400), another content type (415), another database (404 HTML), and requests the router keeps (a GET, a query).
    static let exchanges: [Exchange] = [
        Exchange(path: "/json/2/res.partner/create", body: #"{"vals_list": [{"name": "Acme", "ref": "A-1"}]}"#),
        Exchange(path: "/json/2/res.partner/search_read", body: #"{"domain": [["ref", "=", "A-1"]], "fields": ["name", "create_date"]}"#),
        Exchange(path: "/json/2/res.partner/write", body: #"{"ids": [7], "vals": {"nope": 1}}"#),
        Exchange(path: "/json/2/res.nothing/search", body: #"{"domain": []}"#),
        Exchange(path: "/json/2/res.partner/search", headers: [.contentType: "application/json"], body: #"{"domain": []}"#),
        Exchange(
            path: "/json/2/res.partner/search", headers: [.contentType: "application/json", .authorization: "bearer wrong"], body: "{}"),
        Exchange(path: "/json/2/res.partner/search", body: "{not json"),
        Exchange(path: "/json/2/res.partner/search", headers: [.contentType: "text/plain", .authorization: "bearer \(key)"], body: "{}"),
        Exchange(
            path: "/json/2/res.partner/search",
            headers: [.contentType: "application/json", .authorization: "bearer \(key)", .init("X-Odoo-Database")!: "other"], body: "{}"),
        Exchange(path: "/json/2/res.partner/search_count", body: #"{"domain": [], "limit": "x"}"#),
        Exchange(path: "/json/2/res.partner/search_count", method: .get, body: ""),
        Exchange(path: "/json/2/res.partner/search_count?debug=1", body: #"{"domain": []}"#),
        Exchange(path: "/json/2/res.partner", body: "{}"),
    ]

    struct Answer: Equatable {
        var status: Int
        var headers: [String]
        var body: String
    }

    func answers(fastPath: Bool) async throws -> (answers: [Answer], calls: [OdooSimulator.Call], log: Int) {
        let simulator = simulator()
        let answers = try await app(simulator, fastPath: fastPath).test(.live) { client in
            var answers: [Answer] = []
            for exchange in Self.exchanges {
                let response = try await client.execute(
                    uri: exchange.path, method: exchange.method, headers: exchange.headers,
                    body: exchange.body.isEmpty ? nil : ByteBuffer(string: exchange.body))
                let date = response.headers[.date] ?? ""
                #expect(date.wholeMatch(of: /[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT/) != nil, "Date: \(date)")
                var headers = response.headers
                headers[.date] = nil
                answers.append(
                    Answer(
                        status: Int(response.status.code), headers: headers.map { "\($0.name.canonicalName): \($0.value)" },
                        body: String(buffer: response.body)))
            }
            return answers
        }
        return (answers, simulator.calls, simulator.requestLog.all.count)
    }

    @Test func answersEveryJSON2CallAsTheRouterDoes() async throws {
        let routed = try await answers(fastPath: false)
        let fast = try await answers(fastPath: true)
        #expect(fast.answers.map(\.status) == [200, 200, 500, 404, 401, 401, 400, 415, 404, 200, 404, 200, 404])
        for (index, (expected, actual)) in zip(routed.answers, fast.answers).enumerated() {
            #expect(actual == expected, "\(Self.exchanges[index].path)")
        }
        #expect(fast.answers.count == routed.answers.count)
        #expect(fast.answers[4].headers.contains { $0.hasPrefix("www-authenticate: Bearer") })
        var fastCalls = fast.calls
        var routedCalls = routed.calls
        for index in fastCalls.indices { fastCalls[index].atMs = 0 }
        for index in routedCalls.indices { routedCalls[index].atMs = 0 }
        #expect(fastCalls == routedCalls)
        #expect(fast.log == routed.log)
    }

    // MARK: - Which requests it answers, in order

    func request(_ path: String, method: HTTPRequest.Method = .post, headers: HTTPFields = [:], body: String = "{}") -> [HTTPRequestPart] {
        var fields: HTTPFields = [.contentType: "application/json", .authorization: "bearer \(Self.key)"]
        fields[.contentLength] = String(body.utf8.count)
        fields.append(contentsOf: headers)
        return [
            .head(HTTPRequest(method: method, scheme: nil, authority: nil, path: path, headerFields: fields)),
            .body(ByteBuffer(string: body)), .end(nil),
        ]
    }

    /// Feeds `parts` and answers whether they were answered here (a response written) rather than passed on.
    func answeredHere(_ channel: EmbeddedChannel, _ parts: [HTTPRequestPart]) throws -> Bool {
        for part in parts { try channel.writeInbound(part) }
        var passed = 0
        while try channel.readInbound(as: HTTPRequestPart.self) != nil { passed += 1 }
        var written: [HTTPResponsePart] = []
        while let part = try channel.readOutbound(as: HTTPResponsePart.self) { written.append(part) }
        if passed == 0, case .head = written.first, case .end = written.last, written.count == 3 { return true }
        #expect(passed == parts.count && written.isEmpty)
        return false
    }

    /// Answers the requests passed on, as the router would.
    func answerPassedOn(_ channel: EmbeddedChannel, count: Int) throws {
        for _ in 0..<count {
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
        }
        while try channel.readOutbound(as: HTTPResponsePart.self) != nil {}
    }

    @Test func passesOnWhatItDoesNotAnswerAndKeepsResponsesInOrder() throws {
        let simulator = simulator()
        let channel = EmbeddedChannel(handler: OdooJSON2FastPath(simulator: simulator))
        let call = "/json/2/res.partner/search_count"
        #expect(try answeredHere(channel, request(call)))
        #expect(!(try answeredHere(channel, request("/jsonrpc"))))
        // The router has not answered /jsonrpc yet: a JSON-2 call behind it is passed on too, to keep the order.
        #expect(!(try answeredHere(channel, request(call))))
        try answerPassedOn(channel, count: 2)
        #expect(try answeredHere(channel, request(call)))
        let passedOn: [[HTTPRequestPart]] = [
            request(call, method: .get), request(call + "?x=1"), request("/json/2/res.partner/search%5Fcount"),
            request(call, headers: [.connection: "keep-alive, Close"]), request(call, headers: [.expect: "100-continue"]),
            request(call, body: String(repeating: " ", count: OdooJSON2FastPath.bodyLimit + 1)),
        ]
        for parts in passedOn {
            #expect(!(try answeredHere(channel, parts)))
            try answerPassedOn(channel, count: 1)
        }
        simulator.faults.set(FaultPlan(latencyMs: 5))
        #expect(!(try answeredHere(channel, request(call))))
        try answerPassedOn(channel, count: 1)
        simulator.faults.clear()
        #expect(try answeredHere(channel, request(call)))
        // Answered or not, every call is in the simulator's call log once the router answers the ones passed on.
        #expect(simulator.calls.filter { $0.path.hasPrefix("/json/2/") }.count == 3)
    }

    @Test func writesTheDateAsHTTPDoes() {
        #expect(OdooJSON2FastPath.httpDate(1_796_608_860) == "Mon, 07 Dec 2026 02:01:00 GMT")
        #expect(OdooJSON2FastPath.httpDate(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(OdooJSON2FastPath.httpDate(951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
    }
}
