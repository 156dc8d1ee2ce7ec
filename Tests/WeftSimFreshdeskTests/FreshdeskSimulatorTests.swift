import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing
import WeftSimFreshdesk
import WeftSimKit

/// A clock the test moves by hand, in unix seconds.
final class ManualTime: Sendable {
    private let seconds: Mutex<Int>
    init(_ start: Int = 1_767_225_600) { seconds = Mutex(start) }
    func advance(_ delta: Int) { seconds.withLock { $0 += delta } }
    var now: @Sendable () -> Date { { Date(timeIntervalSince1970: TimeInterval(self.seconds.withLock { $0 })) } }
}

/// The Freshdesk simulator over real HTTP (HummingbirdTesting's live server).
@Suite struct FreshdeskSimulatorTests {
    static let auth: HTTPFields = [.authorization: "Basic " + Data("fd_key123:X".utf8).base64EncodedString()]
    static let fields = [
        FreshdeskSimulator.CustomField(label: "Weft account"), FreshdeskSimulator.CustomField(label: "Weft tier"),
        FreshdeskSimulator.CustomField(label: "Seats", type: .number),
    ]

    /// Runs `body` with a live client of a simulator made with `configuration`.
    func withSimulator<T: Sendable>(
        _ configuration: FreshdeskSimulator.Configuration = .init(companyFields: Self.fields),
        _ body: @escaping @Sendable (FreshdeskSimulator, any TestClientProtocol) async throws -> T
    ) async throws -> T {
        let simulator = FreshdeskSimulator(configuration: configuration)
        let router = Router()
        simulator.addRoutes(to: router)
        let app = Application(router: router, logger: Logger(label: "test.freshdesk"))
        return try await app.test(.live) { client in try await body(simulator, client) }
    }

    static func json(_ buffer: ByteBuffer) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView), options: [.fragmentsAllowed])
    }

    static func object(_ buffer: ByteBuffer) -> [String: Any] { json(buffer) as? [String: Any] ?? [:] }

    @discardableResult
    static func send(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil,
        headers: HTTPFields = auth
    ) async throws -> TestResponse {
        var headers = headers
        if body != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    @Test func authenticationTakesTheAPIKeyAsUserNameWithAnyPassword() async throws {
        try await withSimulator { _, client in
            let missing = try await Self.send(client, .get, "/api/v2/companies", headers: [:])
            #expect(missing.status == .unauthorized)
            #expect(
                String(buffer: missing.body)
                    == #"{"code":"invalid_credentials","message":"You have to be logged in to perform this action."}"#)
            let wrong = try await Self.send(
                client, .get, "/api/v2/companies",
                headers: [.authorization: "Basic " + Data("nope:X".utf8).base64EncodedString()])
            #expect(wrong.status == .unauthorized)
            let anyPassword = try await Self.send(
                client, .get, "/api/v2/companies",
                headers: [.authorization: "Basic " + Data("fd_key123:whatever".utf8).base64EncodedString()])
            #expect(anyPassword.status == .ok)
        }
    }

    @Test func createsCompaniesWithUniqueNamesAndDomains() async throws {
        try await withSimulator { _, client in
            let created = try await Self.send(
                client, .post, "/api/v2/companies",
                #"{"name":"Acme","domains":["Acme.com"],"custom_fields":{"weft_account":"stripe_customer_cus_1"}}"#)
            #expect(created.status == .created)
            let company = Self.object(created.body)
            let id = try #require(company["id"] as? Int)
            #expect(created.headers[.location]?.hasSuffix("/api/v2/companies/\(id)") == true)
            #expect(company["domains"] as? [String] == ["acme.com"])
            let custom = try #require(company["custom_fields"] as? [String: Any])
            #expect(custom["weft_account"] as? String == "stripe_customer_cus_1")
            #expect(custom["weft_tier"] is NSNull)
            #expect((company["created_at"] as? String)?.hasSuffix("Z") == true)

            let sameName = try await Self.send(client, .post, "/api/v2/companies", #"{"name":"ACME"}"#)
            #expect(sameName.status == .conflict)
            #expect(
                String(buffer: sameName.body)
                    == #"{"description":"Validation failed","errors":[{"additional_info":{"company_id":\#(id)},"code":"duplicate_value","field":"name","message":"It should be a unique value"}]}"#
            )
            let sameDomain = try await Self.send(
                client, .post, "/api/v2/companies", #"{"name":"Other","domains":["acme.com"]}"#)
            #expect(sameDomain.status == .conflict)
            let error = try #require((Self.object(sameDomain.body)["errors"] as? [[String: Any]])?.first)
            #expect(error["field"] as? String == "domains")
            #expect(error["code"] as? String == "duplicate_value")
            #expect(error["message"] as? String == "acme.com is already taken by the company with company id:\(id)")
            let renamed = try await Self.send(client, .put, "/api/v2/companies/\(id)", #"{"name":"Acme Inc"}"#)
            #expect(renamed.status == .ok)
            let missing = try await Self.send(client, .get, "/api/v2/companies/999999")
            #expect(missing.status == .notFound)
        }
    }

    @Test func rejectsCustomFieldsTheAccountDoesNotDefine() async throws {
        try await withSimulator { _, client in
            let response = try await Self.send(
                client, .post, "/api/v2/companies", #"{"name":"Acme","custom_fields":{"cf_weft_plan":"pro"}}"#)
            #expect(response.status == .badRequest)
            #expect(
                String(buffer: response.body)
                    == #"{"description":"Validation failed","errors":[{"code":"invalid_field","field":"cf_weft_plan","message":"Unexpected/invalid field in request"}]}"#
            )
            let wrongType = try await Self.send(
                client, .post, "/api/v2/companies", #"{"name":"Acme","custom_fields":{"seats":"many"}}"#)
            #expect(wrongType.status == .badRequest)
            #expect(String(buffer: wrongType.body).contains(#""code":"datatype_mismatch""#))
        }
    }

    @Test func searchesCompaniesByCustomFieldAndDomain() async throws {
        try await withSimulator { _, client in
            try await Self.send(
                client, .post, "/api/v2/companies",
                #"{"name":"Acme","domains":["acme.com"],"custom_fields":{"weft_account":"acct_1","seats":5}}"#)
            try await Self.send(
                client, .post, "/api/v2/companies",
                #"{"name":"Globex","domains":["globex.com"],"custom_fields":{"weft_account":"acct_2","seats":50}}"#)
            func search(_ query: String) async throws -> (Int, [String]) {
                let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
                let response = try await Self.send(client, .get, "/api/v2/search/companies?query=\(encoded)")
                #expect(response.status == .ok)
                let body = Self.object(response.body)
                let names = (body["results"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                return (body["total"] as? Int ?? -1, names)
            }
            #expect(try await search(#""weft_account:'acct_2'""#) == (1, ["Globex"]))
            #expect(try await search(#""domain:'acme.com'""#) == (1, ["Acme"]))
            #expect(try await search(#""domain:'acme.com' OR weft_account:'acct_2'""#) == (2, ["Acme", "Globex"]))
            #expect(try await search(#""seats:>10 AND domain:'acme.com'""#) == (0, []))
            let unquoted = try await Self.send(client, .get, "/api/v2/search/companies?query=domain:'acme.com'")
            #expect(unquoted.status == .badRequest)
            let tooFar = try await Self.send(client, .get, "/api/v2/search/companies?query=%22domain:'acme.com'%22&page=11")
            #expect(tooFar.status == .badRequest)
        }
    }

    @Test func searchIndexLagsBehindWrites() async throws {
        let time = ManualTime()
        let configuration = FreshdeskSimulator.Configuration(
            companyFields: Self.fields, now: time.now, searchIndexLagSeconds: 120)
        try await withSimulator(configuration) { _, client in
            try await Self.send(client, .post, "/api/v2/companies", #"{"name":"Acme","custom_fields":{"weft_account":"a1"}}"#)
            let early = try await Self.send(client, .get, "/api/v2/search/companies?query=%22weft_account:'a1'%22")
            #expect(Self.object(early.body)["total"] as? Int == 0)
            time.advance(121)
            let later = try await Self.send(client, .get, "/api/v2/search/companies?query=%22weft_account:'a1'%22")
            #expect(Self.object(later.body)["total"] as? Int == 1)
        }
    }

    @Test func listsPageByPageWithALinkHeader() async throws {
        try await withSimulator { _, client in
            for name in ["Charlie", "Alpha", "Bravo"] {
                try await Self.send(client, .post, "/api/v2/companies", #"{"name":"\#(name)"}"#)
            }
            let first = try await Self.send(client, .get, "/api/v2/companies?per_page=2")
            #expect((Self.json(first.body) as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["Alpha", "Bravo"])
            let link = try #require(first.headers[HTTPField.Name("Link")!])
            #expect(link.hasSuffix(#"/api/v2/companies?per_page=2&page=2>; rel="next""#))
            let second = try await Self.send(client, .get, "/api/v2/companies?per_page=2&page=2")
            #expect((Self.json(second.body) as? [[String: Any]])?.count == 1)
            #expect(second.headers[HTTPField.Name("Link")!] == nil)
            let tooMany = try await Self.send(client, .get, "/api/v2/companies?per_page=101")
            #expect(tooMany.status == .badRequest)
        }
    }

    @Test func enforcesThePerMinuteRateLimit() async throws {
        let time = ManualTime(1_767_225_600 + 15)
        let configuration = FreshdeskSimulator.Configuration(rateLimitPerMinute: 2, now: time.now)
        try await withSimulator(configuration) { _, client in
            let first = try await Self.send(client, .get, "/api/v2/companies")
            #expect(first.headers[HTTPField.Name("X-RateLimit-Total")!] == "2")
            #expect(first.headers[HTTPField.Name("X-RateLimit-Remaining")!] == "1")
            #expect(first.headers[HTTPField.Name("X-RateLimit-Used-CurrentRequest")!] == "1")
            try await Self.send(client, .get, "/api/v2/companies")
            let limited = try await Self.send(client, .get, "/api/v2/companies")
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] == "45")
            time.advance(45)
            #expect(try await Self.send(client, .get, "/api/v2/companies").status == .ok)
        }
    }

    @Test func ticketsCreateTheirRequesterInTheDomainsCompany() async throws {
        try await withSimulator { _, client in
            let company = Self.object(
                try await Self.send(client, .post, "/api/v2/companies", #"{"name":"Acme","domains":["acme.com"]}"#).body)
            let created = try await Self.send(
                client, .post, "/api/v2/tickets",
                #"{"subject":"Help","description":"It broke","email":"Ann@acme.com","priority":2,"status":2}"#)
            #expect(created.status == .created)
            let ticket = Self.object(created.body)
            #expect(ticket["company_id"] as? Int == company["id"] as? Int)
            let contacts = Self.json(try await Self.send(client, .get, "/api/v2/contacts?email=ann%40acme.com").body)
            #expect((contacts as? [[String: Any]])?.first?["company_id"] as? Int == company["id"] as? Int)
            let badStatus = try await Self.send(client, .post, "/api/v2/tickets", #"{"subject":"x","email":"b@acme.com","status":9}"#)
            #expect(badStatus.status == .badRequest)
            let list = Self.json(
                try await Self.send(
                    client, .get, "/api/v2/tickets?updated_since=2000-01-01T00:00:00Z&company_id=\(company["id"] as? Int ?? 0)"
                ).body)
            #expect((list as? [[String: Any]])?.count == 1)
        }
    }

    @Test func definesCompanyFieldsOverTheAdminRouteAndTheAPI() async throws {
        try await withSimulator(.init()) { _, client in
            let admin = try await Self.send(
                client, .post, "/__sim/company_fields", #"{"label":"Weft account","type":"custom_text"}"#, headers: [:])
            #expect(admin.status == .ok)
            let api = try await Self.send(
                client, .post, "/api/v2/company_fields", #"{"label":"Weft support level","type":"custom_text"}"#)
            #expect(api.status == .created)
            let fields = Self.json(try await Self.send(client, .get, "/api/v2/company_fields").body) as? [[String: Any]]
            let names = fields?.compactMap { $0["name"] as? String } ?? []
            #expect(names.contains("weft_account"))
            #expect(names.contains("weft_support_level"))
            #expect(names.first == "name")
        }
    }

    @Test func injectedFaultsUseFreshdesksErrorBody() async throws {
        try await withSimulator { _, client in
            let plan = try await Self.send(
                client, .post, "/__sim/faults", #"{"rate_limit_rate":1,"retry_after_seconds":7}"#, headers: [:])
            #expect(plan.status == .ok)
            let limited = try await Self.send(client, .get, "/api/v2/companies")
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] == "7")
        }
    }

    /// Runs a receiver that records webhook calls (failing the first `failures`), and the simulator's sender.
    @Test(arguments: [0, 1])
    func automationWebhooksCarryTheCustomHeader(failures: Int) async throws {
        let (received, receivedContinuation) = AsyncStream.makeStream(of: (HTTPFields, String).self)
        let attempts = Atomic<Int>(0)
        let receiver = Router()
        receiver.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 16)
            receivedContinuation.yield((request.headers, String(buffer: body)))
            let attempt = attempts.add(1, ordering: .relaxed).newValue
            return Response(status: attempt <= failures ? .internalServerError : .ok)
        }
        try await SimulatorServer.withRunning(router: receiver, logger: Logger(label: "test.receiver")) { port in
            let configuration = FreshdeskSimulator.Configuration(
                webhooks: [.init(url: "http://127.0.0.1:\(port)/hook", headers: ["X-Weft-Secret": "s3cret"])],
                webhookRetryDelays: [.milliseconds(5)])
            try await self.withSimulator(configuration) { simulator, client in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await simulator.runDelivery() }
                    let created = try await Self.send(
                        client, .post, "/api/v2/tickets", #"{"subject":"Say \"hi\"","email":"ann@example.org"}"#)
                    let ticketID = try #require(Self.object(created.body)["id"] as? Int)
                    var iterator = received.makeAsyncIterator()
                    var calls: [(HTTPFields, String)] = []
                    for _ in 0...failures { if let call = await iterator.next() { calls.append(call) } }
                    #expect(calls.count == failures + 1)
                    // A retry resends the same body.
                    #expect(Set(calls.map(\.1)).count == 1)
                    let (headers, body) = try #require(calls.last)
                    #expect(headers[HTTPField.Name("X-Weft-Secret")!] == "s3cret")
                    let json = try #require(
                        try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
                    #expect(json["ticket_id"] as? Int == ticketID)
                    #expect(json["subject"] as? String == #"Say "hi""#)
                    #expect(json["requester_email"] as? String == "ann@example.org")
                    #expect(json["status"] as? String == "Open")
                    #expect(json["company_id"] as? String == "")
                    group.cancelAll()
                }
                // The failed attempt was recorded before the retry was sent (later ones may be cut by the cancel).
                if failures > 0 {
                    #expect(simulator.webhookDeliveries.first?.status == 500)
                    #expect(simulator.webhookDeliveries.first?.succeeded == false)
                }
            }
        }
    }

    /// Placeholders are the names Freshdesk's ticket defines: no `updated_at` or `created_at` (they render as nothing,
    /// as Liquid renders an unknown name); `modified_on` and `created_on` render Freshdesk's default time format, a day
    /// without a time; `status` is the name, `status_id` the number. Weft's documented body no longer has `updated_at`.
    @Test func placeholdersRenderAsFreshdesksTicketDefinesThem() async throws {
        let (received, receivedContinuation) = AsyncStream.makeStream(of: String.self)
        let receiver = Router()
        receiver.post("/hook") { request, _ -> Response in
            receivedContinuation.yield(String(buffer: try await request.body.collect(upTo: 1 << 16)))
            return Response(status: .ok)
        }
        try await SimulatorServer.withRunning(router: receiver, logger: Logger(label: "test.receiver")) { port in
            // 2026-01-05T09:30:00Z, a Monday.
            let time = ManualTime(1_767_605_400)
            let template =
                #"{"u":"{{ticket.updated_at}}","c":"{{ticket.created_at}}","m":"{{ticket.modified_on}}","o":"{{ticket.created_on}}","s":"{{ticket.status}}","i":"{{ticket.status_id}}","p":"{{ticket.priority_id}}"}"#
            let configuration = FreshdeskSimulator.Configuration(
                webhooks: [
                    .init(url: "http://127.0.0.1:\(port)/hook", events: [.ticketCreated], body: .template(template)),
                    .init(url: "http://127.0.0.1:\(port)/hook", events: [.ticketCreated]),
                ],
                webhookRetryDelays: [], now: time.now)
            try await self.withSimulator(configuration) { simulator, client in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await simulator.runDelivery() }
                    _ = try await Self.createTicket(client, "Hello", status: 3)
                    var iterator = received.makeAsyncIterator()
                    var bodies: [String] = []
                    for _ in 0..<2 { if let body = await iterator.next() { bodies.append(body) } }
                    let rendered = try #require(bodies.first { $0.hasPrefix(#"{"u""#) })
                    #expect(
                        rendered
                            == #"{"u":"","c":"","m":"Monday,  5 January 2026","o":"Monday,  5 January 2026","s":"Pending","i":"3","p":"1"}"#
                    )
                    let weft = try #require(bodies.first { $0.hasPrefix(#"{"ticket_id""#) })
                    #expect(!weft.contains("updated_at"))
                    group.cancelAll()
                }
            }
        }
    }

    // MARK: Ticket list

    /// Creates a ticket for `email` and returns its id.
    static func createTicket(_ client: any TestClientProtocol, _ subject: String, email: String = "ann@acme.com", status: Int = 2)
        async throws -> Int
    {
        let created = try await send(
            client, .post, "/api/v2/tickets", #"{"subject":"\#(subject)","email":"\#(email)","status":\#(status)}"#)
        #expect(created.status == .created)
        return try #require(object(created.body)["id"] as? Int)
    }

    static func ids(_ response: TestResponse) -> [Int] {
        (json(response.body) as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
    }

    @Test func listsTicketsInTheRequestedOrder() async throws {
        let time = ManualTime()
        try await withSimulator(.init(now: time.now)) { _, client in
            let first = try await Self.createTicket(client, "First", status: 3)
            time.advance(10)
            let second = try await Self.createTicket(client, "Second", status: 2)
            time.advance(10)
            let third = try await Self.createTicket(client, "Third", status: 4)
            time.advance(10)
            // The first ticket is now the most recently updated.
            #expect(try await Self.send(client, .put, "/api/v2/tickets/\(first)", #"{"priority":3}"#).status == .ok)

            // Default: created_at, newest first.
            #expect(Self.ids(try await Self.send(client, .get, "/api/v2/tickets")) == [third, second, first])
            #expect(
                Self.ids(try await Self.send(client, .get, "/api/v2/tickets?order_by=updated_at&order_type=asc"))
                    == [second, third, first])
            #expect(
                Self.ids(try await Self.send(client, .get, "/api/v2/tickets?order_by=updated_at")) == [first, third, second])
            #expect(
                Self.ids(try await Self.send(client, .get, "/api/v2/tickets?order_type=asc")) == [first, second, third])
            #expect(
                Self.ids(try await Self.send(client, .get, "/api/v2/tickets?order_by=status&order_type=asc"))
                    == [second, first, third])
            #expect(
                Self.ids(try await Self.send(client, .get, "/api/v2/tickets?order_by=due_by&order_type=asc"))
                    == [first, second, third])

            let invalid = try await Self.send(client, .get, "/api/v2/tickets?order_by=priority&order_type=up")
            #expect(invalid.status == .badRequest)
            #expect(
                String(buffer: invalid.body)
                    == #"{"description":"Validation failed","errors":[{"code":"invalid_value","field":"order_by","message":"It should be one of these values: 'due_by,created_at,updated_at,status'"},{"code":"invalid_value","field":"order_type","message":"It should be one of these values: 'asc,desc'"}]}"#
            )
            let unknown = try await Self.send(client, .get, "/api/v2/tickets?sort=asc")
            #expect(unknown.status == .badRequest)
            #expect(
                String(buffer: unknown.body)
                    == #"{"description":"Validation failed","errors":[{"code":"invalid_field","field":"sort","message":"Unexpected/invalid field in request"}]}"#
            )
        }
    }

    @Test func refusesTicketPagesBeyondTheCap() async throws {
        try await withSimulator(.init()) { _, client in
            #expect(try await Self.send(client, .get, "/api/v2/tickets?page=300").status == .ok)
            let beyond = try await Self.send(client, .get, "/api/v2/tickets?page=301")
            #expect(beyond.status == .badRequest)
            #expect(
                String(buffer: beyond.body)
                    == #"{"description":"Validation failed","errors":[{"code":"invalid_value","field":"page","message":"You cannot access tickets beyond the 300th page. Please provide a smaller page number."}]}"#
            )
        }
        try await withSimulator(.init(maximumTicketListPage: 2)) { _, client in
            for subject in ["a", "b", "c"] { _ = try await Self.createTicket(client, subject) }
            let second = try await Self.send(client, .get, "/api/v2/tickets?per_page=1&page=2")
            #expect(second.status == .ok)
            #expect(Self.ids(second).count == 1)
            // The link still names page 3 (a third ticket exists); asking for it is refused.
            let link = try #require(second.headers[HTTPField.Name("Link")!])
            #expect(link.contains("page=3"))
            let third = try await Self.send(client, .get, "/api/v2/tickets?per_page=1&page=3")
            #expect(third.status == .badRequest)
            #expect(String(buffer: third.body).contains("You cannot access tickets beyond the 2th page."))
        }
    }

    @Test func deletedAndSpamTicketsAreListedOnlyByTheirFilter() async throws {
        try await withSimulator { simulator, client in
            let kept = try await Self.createTicket(client, "Kept")
            let trashed = try await Self.createTicket(client, "Trashed")
            let junk = try await Self.createTicket(client, "Junk")

            let deleted = try await Self.send(client, .delete, "/api/v2/tickets/\(trashed)")
            #expect(deleted.status == .noContent)
            #expect(simulator.markTicketAsSpam(junk))

            #expect(Set(Self.ids(try await Self.send(client, .get, "/api/v2/tickets"))) == [kept])
            let trash = try await Self.send(client, .get, "/api/v2/tickets?filter=deleted")
            #expect(Self.ids(trash) == [trashed])
            #expect((Self.json(trash.body) as? [[String: Any]])?.first?["deleted"] as? Bool == true)
            let spam = try await Self.send(client, .get, "/api/v2/tickets?filter=spam")
            #expect(Self.ids(spam) == [junk])
            #expect((Self.json(spam.body) as? [[String: Any]])?.first?["spam"] as? Bool == true)
            // `updated_since` does not bring them back either.
            #expect(
                Set(Self.ids(try await Self.send(client, .get, "/api/v2/tickets?updated_since=2000-01-01T00:00:00Z"))) == [kept])
            let live = Self.object(try await Self.send(client, .get, "/api/v2/tickets/\(kept)").body)
            #expect(live["deleted"] == nil)
            #expect(live["spam"] as? Bool == false)

            // A deleted ticket is still shown by id, but cannot be changed or deleted again.
            let shown = try await Self.send(client, .get, "/api/v2/tickets/\(trashed)")
            #expect(shown.status == .ok)
            #expect(Self.object(shown.body)["deleted"] as? Bool == true)
            #expect(try await Self.send(client, .put, "/api/v2/tickets/\(trashed)", #"{"priority":2}"#).status == .notFound)
            #expect(try await Self.send(client, .delete, "/api/v2/tickets/\(trashed)").status == .notFound)
            #expect(try await Self.send(client, .delete, "/api/v2/tickets/\(junk)").status == .notFound)

            let badFilter = try await Self.send(client, .get, "/api/v2/tickets?filter=trash")
            #expect(badFilter.status == .badRequest)
            #expect(
                String(buffer: badFilter.body).contains(
                    #""message":"It should be one of these values: 'new_and_my_open,watching,spam,deleted'""#))

            #expect(try await Self.send(client, .put, "/api/v2/tickets/\(trashed)/restore").status == .noContent)
            #expect(Set(Self.ids(try await Self.send(client, .get, "/api/v2/tickets"))) == [kept, trashed])
            #expect(try await Self.send(client, .put, "/api/v2/tickets/\(kept)/restore").status == .notFound)
        }
    }

    @Test func withoutAFilterTheListKeepsOneMonthFromTheStartOfToday() async throws {
        // 2026-02-27T23:00:00Z: before the window that opens on 2026-02-28T00:00:00Z (one month before the start of
        // 2026-03-31, the day clamped to February's length).
        let time = ManualTime(1_772_233_200)
        try await withSimulator(.init(now: time.now)) { _, client in
            let old = try await Self.createTicket(client, "Old")
            time.advance(3_601)  // 2026-02-28T00:00:01Z
            let recent = try await Self.createTicket(client, "Recent")
            time.advance(1_774_951_200 - 1_772_236_801)  // 2026-03-31T10:00:00Z

            #expect(Self.ids(try await Self.send(client, .get, "/api/v2/tickets")) == [recent])
            // Sorting and paging are not filters: the window stays.
            #expect(Self.ids(try await Self.send(client, .get, "/api/v2/tickets?order_type=asc&per_page=5")) == [recent])
            // Any filter lifts it.
            let contact = try #require(
                (Self.json(try await Self.send(client, .get, "/api/v2/contacts?email=ann%40acme.com").body) as? [[String: Any]])?
                    .first?["id"] as? Int)
            #expect(
                Self.ids(try await Self.send(client, .get, "/api/v2/tickets?requester_id=\(contact)")) == [recent, old])
            #expect(
                Self.ids(try await Self.send(client, .get, "/api/v2/tickets?email=ann%40acme.com&order_type=asc"))
                    == [old, recent])
            // updated_since keeps updated_at at or after it, to the second.
            #expect(
                Self.ids(try await Self.send(client, .get, "/api/v2/tickets?updated_since=2026-02-28T00:00:01Z")) == [recent])
            #expect(
                Self.ids(try await Self.send(client, .get, "/api/v2/tickets?updated_since=2026-02-27T23:00:00Z"))
                    == [recent, old])
            let bad = try await Self.send(client, .get, "/api/v2/tickets?updated_since=yesterday")
            #expect(bad.status == .badRequest)
            #expect(String(buffer: bad.body).contains(#""field":"updated_since""#))
        }
    }

    @Test func includeRequesterEmbedsTheRequester() async throws {
        try await withSimulator { _, client in
            _ = try await Self.createTicket(client, "Who?", email: "Bob@Acme.com")
            let embedded = try await Self.send(client, .get, "/api/v2/tickets?include=requester")
            // Each include costs two more credits.
            #expect(embedded.headers[HTTPField.Name("X-RateLimit-Used-CurrentRequest")!] == "3")
            let list = Self.json(embedded.body) as? [[String: Any]]
            let requester = try #require(list?.first?["requester"] as? [String: Any])
            #expect(requester["email"] as? String == "bob@acme.com")
            #expect(requester["id"] as? Int == list?.first?["requester_id"] as? Int)
            let plainAnswer = try await Self.send(client, .get, "/api/v2/tickets")
            #expect(plainAnswer.headers[HTTPField.Name("X-RateLimit-Used-CurrentRequest")!] == "1")
            let plain = Self.json(plainAnswer.body) as? [[String: Any]]
            #expect(plain?.first?["requester"] == nil)
            #expect(try await Self.send(client, .get, "/api/v2/tickets?include=conversations").status == .badRequest)
        }
    }

    /// A list item carries the description only with `include=description` (accounts made since 2018-11-30); the
    /// ticket's own read always does.
    @Test func aListItemHasItsDescriptionOnlyWhenIncluded() async throws {
        try await withSimulator { _, client in
            let id = try await Self.createTicket(client, "Why?", email: "ann@acme.com")
            let plain = Self.json(try await Self.send(client, .get, "/api/v2/tickets").body) as? [[String: Any]]
            #expect(plain?.first?["id"] as? Int == id)
            #expect(plain?.first?["description"] == nil && plain?.first?["description_text"] == nil)
            let included = Self.json(try await Self.send(client, .get, "/api/v2/tickets?include=description").body) as? [[String: Any]]
            #expect(included?.first?["description"] is String && included?.first?["description_text"] is String)
            let one = Self.json(try await Self.send(client, .get, "/api/v2/tickets/\(id)").body) as? [String: Any]
            #expect(one?["description"] is String)
        }
    }
}
