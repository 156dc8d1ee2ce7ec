import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimFreshdesk
import WeftSimKit
import WeftSimZendesk
import WeftTools

/// Support context over real HTTP: the desks' own webhooks (Zendesk signed, Freshdesk with its shared-secret header)
/// bring tickets to Weft, which files each under the billing account its organisation or company shows, so the
/// account lists its tickets beside its invoices and payments.
@Suite("Tickets are linked to their account", .serialized)
struct SupportContextTests {
    static let signingSecret = "zd-e2e-signing-secret"
    static let freshdeskSecret = "fd-e2e-shared-secret"

    /// Forwards the desks' webhooks to the Weft node once it listens (the simulators are made before the node, which
    /// needs their URLs): read, copy the headers, post to the node, answer what it answered.
    final class Relay: Sendable {
        let target = Mutex<String?>(nil)

        var router: Router<BasicRequestContext> {
            let router = Router()
            router.post("/hooks/{system}") { request, context in
                guard let base = self.target.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
                let body = try await request.body.collect(upTo: 1 << 20)
                var forward = HTTPClientRequest(url: "\(base)/hooks/\(context.parameters.get("system") ?? "")")
                forward.method = .POST
                for field in request.headers { forward.headers.add(name: field.name.rawName, value: field.value) }
                forward.body = .bytes(body)
                let answer = try await HTTPClient.shared.execute(forward, timeout: .seconds(10))
                _ = try await answer.body.collect(upTo: 1 << 20)
                return Response(status: .init(code: Int(answer.status.code)))
            }
            return router
        }
    }

    @Test func ticketsFromBothDesksAreListedWithTheAccountAndBadWebhooksStoreNothing() async throws {
        let logger = Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() })
        let relay = Relay()
        let relayRouter = relay.router
        try await SimulatorServer.withRunning(router: relayRouter, logger: logger) { relayPort in
            let relayURL = "http://127.0.0.1:\(relayPort)"
            let zendesk = ZendeskSimulator(
                configuration: .init(
                    agentEmail: SupportDeskTests.zendeskEmail, apiTokens: [SupportDeskTests.zendeskToken],
                    webhooks: .init(
                        endpoints: [
                            .init(
                                url: "\(relayURL)/hooks/zendesk", secret: Self.signingSecret,
                                events: ["zen:event-type:ticket.created", "zen:event-type:ticket.status_changed"])
                        ], retryDelay: .milliseconds(50)),
                    logger: logger))
            let freshdesk = FreshdeskSimulator(
                configuration: .init(
                    apiKeys: [SupportDeskTests.freshdeskKey],
                    companyFields: [FreshdeskSimulator.CustomField(name: "weft_account", label: "weft_account")],
                    webhooks: [.init(url: "\(relayURL)/hooks/freshdesk", headers: ["X-Weft-Webhook-Secret": Self.freshdeskSecret])],
                    webhookRetryDelays: [.milliseconds(50)], logger: logger))
            try await SimulatorServer.withRunning(router: Self.router(zendesk), logger: logger) { zendeskPort in
                try await SimulatorServer.withRunning(router: Self.router(freshdesk), logger: logger) { freshdeskPort in
                    try await TestNode.with(
                        extraSystems: [
                            "zendesk": .desk(
                                DeskSystemConfiguration(
                                    kind: .zendesk, baseURL: "http://127.0.0.1:\(zendeskPort)", email: SupportDeskTests.zendeskEmail,
                                    apiKey: .environment("ZD"), webhookSecrets: [.environment("ZD_SIGNING")])),
                            "freshdesk": .desk(
                                DeskSystemConfiguration(
                                    kind: .freshdesk, baseURL: "http://127.0.0.1:\(freshdeskPort)", apiKey: .environment("FD"),
                                    webhookSecrets: [.environment("FD_SECRET")], fields: DeskFieldMap(account: "weft_account"))),
                        ],
                        extraFlows: [
                            Flow(name: "to_zendesk", source: "stripe", target: "zendesk"),
                            Flow(name: "to_freshdesk", source: "stripe", target: "freshdesk"),
                        ],
                        extraEnvironment: [
                            "ZD": SupportDeskTests.zendeskToken, "ZD_SIGNING": Self.signingSecret, "FD": SupportDeskTests.freshdeskKey,
                            "FD_SECRET": Self.freshdeskSecret,
                        ]
                    ) { node in
                        relay.target.withLock { $0 = node.weftURL }
                        try await withThrowingTaskGroup(of: Void.self) { senders in
                            senders.addTask { try await zendesk.runDelivery() }
                            senders.addTask { try await freshdesk.runDelivery() }
                            defer { senders.cancelAll() }
                            try await Self.story(node: node, zendesk: zendesk, freshdesk: freshdesk)
                        }
                    }
                }
            }
        }
    }

    /// `ticket_reads` decides whether a Freshdesk body that names no time is completed from the API: by default it is
    /// (one read of the ticket), with `{enabled: false}` it is filed as it came, nothing read.
    @Test(arguments: [true, false]) func freshdeskTicketReadsCanBeTurnedOff(reads: Bool) async throws {
        let logger = Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() })
        let freshdesk = FreshdeskSimulator(
            configuration: .init(
                apiKeys: [SupportDeskTests.freshdeskKey],
                companyFields: [FreshdeskSimulator.CustomField(name: "weft_account", label: "weft_account")], logger: logger))
        let created = freshdesk.call(
            "POST", "/api/v2/tickets",
            body: #"{"subject":"Invoice question","description":"Hello","email":"ops@acme.example","status":2,"priority":1}"#)
        #expect(created.status == 201)
        let ticketID = try #require(try JSONValue.parse(Data(created.body))["id"]?.intValue)
        try await SimulatorServer.withRunning(router: Self.router(freshdesk), logger: logger) { freshdeskPort in
            try await TestNode.with(
                extraSystems: [
                    "freshdesk": .desk(
                        DeskSystemConfiguration(
                            kind: .freshdesk, baseURL: "http://127.0.0.1:\(freshdeskPort)", apiKey: .environment("FD"),
                            webhookSecrets: [.environment("FD_SECRET")], fields: DeskFieldMap(account: "weft_account"),
                            ticketReads: reads ? DeskSystemConfiguration.defaultTicketReads : nil))
                ],
                extraFlows: [Flow(name: "to_freshdesk", source: "stripe", target: "freshdesk")],
                extraEnvironment: ["FD": SupportDeskTests.freshdeskKey, "FD_SECRET": Self.freshdeskSecret]
            ) { node in
                freshdesk.requestLog.reset()
                let body = Array(
                    #"{"ticket_id": \#(ticketID), "company_id": "", "requester_email": "ops@acme.example", "subject": "Invoice question", "status": "Pending"}"#
                        .utf8)
                #expect(try await Self.post(node, "freshdesk", body, headers: ["X-Weft-Webhook-Secret": Self.freshdeskSecret]) == 200)
                _ = try await node.drain()
                let events = try await node.store.listEvents(status: nil, limit: 10).filter { $0.system == "freshdesk" }
                #expect(events.count == 1 && events.allSatisfy { $0.status == .done })
                let ticketReads = freshdesk.requestLog.all.filter { $0.method == "GET" && $0.path == "/api/v2/tickets/\(ticketID)" }
                #expect(ticketReads.count == (reads ? 1 : 0))
            }
        }
    }

    static func router(_ zendesk: ZendeskSimulator) -> Router<BasicRequestContext> {
        let router = Router()
        zendesk.addRoutes(to: router)
        return router
    }

    static func router(_ freshdesk: FreshdeskSimulator) -> Router<BasicRequestContext> {
        let router = Router()
        freshdesk.addRoutes(to: router)
        return router
    }

    static func story(node: TestNode, zendesk: ZendeskSimulator, freshdesk: FreshdeskSimulator) async throws {
        let customer = "cus_T1"
        let t = Int64(Date().timeIntervalSince1970) - 3_600
        #expect(await node.send(SupportDeskTests.failedPayment(customer, at: t)).abandoned.isEmpty)
        _ = try await node.drain()

        // The organisation and the company Weft made for the account.
        let organizations = try JSONValue.parse(
            Data(zendesk.call("GET", "/api/v2/organizations/search.json?external_id=stripe_customer_\(customer)").body))
        let organizationID = try #require(organizations["organizations"]?[0]?["id"]?.intValue)
        let companies = try JSONValue.parse(Data(freshdesk.call("GET", "/api/v2/companies").body))
        let companyID = try #require(companies.arrayValue?.first?["id"]?.intValue)

        // An agent's ticket in each desk, as the customer writes in.
        let zendeskTicket = zendesk.call(
            "POST", "/api/v2/tickets.json",
            body: #"{"ticket":{"subject":"Card declined, service still on?","comment":{"body":"Hi"},"organization_id":\#(organizationID)}}"#
        )
        #expect(zendeskTicket.status == 201)
        let zendeskTicketID = try #require(try JSONValue.parse(Data(zendeskTicket.body))["ticket"]?["id"]?.intValue)
        let freshdeskTicket = freshdesk.call(
            "POST", "/api/v2/tickets",
            body:
                #"{"subject":"Invoice question","description":"Hello","email":"ops@cus_t1.example","status":2,"priority":1,"company_id":\#(companyID)}"#
        )
        #expect(freshdeskTicket.status == 201)
        let freshdeskTicketID = try #require(try JSONValue.parse(Data(freshdeskTicket.body))["id"]?.intValue)
        // The agent solves the Zendesk ticket: a second event for the same ticket.
        #expect(zendesk.call("PUT", "/api/v2/tickets/\(zendeskTicketID).json", body: #"{"ticket":{"status":"solved"}}"#).status == 200)

        // The account, looked up by its Zendesk organisation, lists both tickets beside its invoice and payment.
        try await waitUntil {
            let view = try await Self.account(node, "zendesk/\(organizationID)")
            let tickets = view["records"]?["ticket"]?.arrayValue ?? []
            return tickets.count == 2 && tickets.contains { $0["status"]?.stringValue == "solved" }
        }
        let view = try await Self.account(node, "zendesk/\(organizationID)")
        let tickets = view["records"]?["ticket"]?.arrayValue ?? []
        #expect(
            Set(tickets.compactMap { $0["ref"]?.stringValue }) == [
                "zendesk/ticket/\(zendeskTicketID)", "freshdesk/ticket/\(freshdeskTicketID)",
            ])
        #expect(
            tickets.contains { $0["subject"]?.stringValue == "Card declined, service still on?" && $0["status"]?.stringValue == "solved" })
        #expect(tickets.contains { $0["subject"]?.stringValue == "Invoice question" && $0["status"]?.stringValue == "open" })
        #expect(view["records"]?["invoice"]?.arrayValue?.count == 1)
        #expect(view["records"]?["payment"]?.arrayValue?.isEmpty == false)
        #expect(view["entitlement"]?["status"]?.stringValue == "past_due")
        #expect(view["account"]?.stringValue == "stripe/customer/\(customer)")
        #expect(try await Self.account(node, "stripe/\(customer)") == view)
        let failedEvents = try await node.store.listEvents(status: .failed, limit: 10)
        #expect(failedEvents.isEmpty)

        // Freshdesk's webhook says that a ticket changed, not when (it has no placeholder for that): the agent sets the
        // ticket to Pending and back to Open, which sends the first body again. Each delivery is its own event, and
        // the pipeline reads the ticket's own `updated_at` from Freshdesk before filing it.
        @Sendable func filedFreshdeskTicket() async throws -> JSONValue? {
            let view = try await Self.account(node, "zendesk/\(organizationID)")
            return view["records"]?["ticket"]?.arrayValue?.first {
                $0["ref"]?.stringValue == "freshdesk/ticket/\(freshdeskTicketID)"
            }
        }
        #expect(try await filedFreshdeskTicket()?["updatedAt"] != nil)
        for (status, word) in [(3, "pending"), (2, "open")] {
            #expect(freshdesk.call("PUT", "/api/v2/tickets/\(freshdeskTicketID)", body: #"{"status":\#(status)}"#).status == 200)
            try await waitUntil { try await filedFreshdeskTicket()?["status"]?.stringValue == word }
        }
        let webhooks = try await node.store.listEvents(status: nil, limit: 1_000).filter {
            $0.system == "freshdesk" && $0.type == DeskTicket.webhookEventType
        }
        #expect(webhooks.count == 3)
        #expect(webhooks.allSatisfy { $0.status == .done })

        // Webhooks without the signature or the secret are refused and store nothing.
        let before = try await node.store.listEvents(status: nil, limit: 1_000).count
        let body = Array(
            #"{"type":"zen:event-type:ticket.created","id":"01FORGED","detail":{"id":"99","organization_id":"\#(organizationID)"}}"#.utf8)
        #expect(try await Self.post(node, "zendesk", body, headers: [:]) == 401)
        #expect(
            try await Self.post(
                node, "zendesk", body,
                headers: [
                    "X-Zendesk-Webhook-Signature": "bm90LWEtc2lnbmF0dXJl", "X-Zendesk-Webhook-Signature-Timestamp": "2026-12-01T00:00:00Z",
                ]) == 401)
        #expect(try await Self.post(node, "freshdesk", Array(#"{"ticket_id":5}"#.utf8), headers: [:]) == 401)
        #expect(
            try await Self.post(node, "freshdesk", Array(#"{"ticket_id":5}"#.utf8), headers: ["X-Weft-Webhook-Secret": "wrong"]) == 401)
        #expect(try await node.store.listEvents(status: nil, limit: 1_000).count == before)

        // Signed right but an hour old: refused, pointing at the clock rather than the secret.
        let staleAt = SupportContextTests.iso8601(Date().addingTimeInterval(-3_600))
        let stale = try await Self.send(
            node, "zendesk", body,
            headers: [
                "X-Zendesk-Webhook-Signature": ZendeskWebhookSignature.sign(body: body, timestamp: staleAt, secret: Self.signingSecret),
                "X-Zendesk-Webhook-Signature-Timestamp": staleAt,
            ])
        #expect(stale.status == 401 && stale.body.contains("clock"), "\(stale.body)")
        // Signed and fresh, but not a ticket event: acknowledged and left (a 400 would count against the webhook, which
        // Zendesk deactivates when most deliveries fail, ticket events included), saying what to subscribe to.
        let now = SupportContextTests.iso8601(Date())
        let notATicket = Array(#"{"type":"zen:event-type:user.created","id":"01USER","detail":{"id":"5"}}"#.utf8)
        let refused = try await Self.send(
            node, "zendesk", notATicket,
            headers: [
                "X-Zendesk-Webhook-Signature": ZendeskWebhookSignature.sign(body: notATicket, timestamp: now, secret: Self.signingSecret),
                "X-Zendesk-Webhook-Signature-Timestamp": now,
            ])
        #expect(refused.status == 200 && refused.body.contains("zen:event-type:ticket.*"), "\(refused.body)")
        // A ticket event without its ticket is a bad body: 400.
        let noTicket = Array(#"{"type":"zen:event-type:ticket.created","id":"01NOID","detail":{}}"#.utf8)
        let malformed = try await Self.send(
            node, "zendesk", noTicket,
            headers: [
                "X-Zendesk-Webhook-Signature": ZendeskWebhookSignature.sign(body: noTicket, timestamp: now, secret: Self.signingSecret),
                "X-Zendesk-Webhook-Signature-Timestamp": now,
            ])
        #expect(malformed.status == 400 && malformed.body.contains("malformed_event"), "\(malformed.body)")
        #expect(try await node.store.listEvents(status: nil, limit: 1_000).count == before)
    }

    static func iso8601(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func send(_ node: TestNode, _ system: String, _ body: [UInt8], headers: [String: String]) async throws -> (
        status: Int, body: String
    ) {
        var request = HTTPClientRequest(url: "\(node.weftURL)/hooks/\(system)")
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    static func account(_ node: TestNode, _ path: String) async throws -> JSONValue {
        var request = HTTPClientRequest(url: "\(node.weftURL)/v1/accounts/\(path)")
        request.headers.add(name: "Authorization", value: "Bearer \(TestNode.adminToken)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw HarnessError("GET /v1/accounts/\(path): \(response.status.code)") }
        return try JSONValue.parse(Data(body.readableBytesView))
    }

    static func post(_ node: TestNode, _ system: String, _ body: [UInt8], headers: [String: String]) async throws -> Int {
        try await send(node, system, body, headers: headers).status
    }
}
