import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Testing
import WeftConnectors
import WeftCore
import WeftSimFreshdesk
import WeftSimKit

/// The shared-secret check and the ticket event body of Freshdesk automation webhooks.
@Suite struct FreshdeskWebhookTests {
    static let header = "X-Weft-Webhook-Secret"

    @Test func requiresTheSharedSecretHeader() throws {
        let authenticator = try FreshdeskWebhookAuthenticator(headerName: Self.header, secrets: ["s3cret-current"])
        #expect(throws: FreshdeskWebhookError(code: .missingSecret)) { try authenticator.authenticate(headerValue: nil) }
        #expect(throws: FreshdeskWebhookError(code: .missingSecret)) {
            try authenticator.authenticate(headers: [("Content-Type", "application/json")])
        }
        #expect(throws: FreshdeskWebhookError(code: .wrongSecret)) { try authenticator.authenticate(headerValue: "s3cret") }
        #expect(throws: FreshdeskWebhookError(code: .wrongSecret)) {
            try authenticator.authenticate(headerValue: "s3cret-current-and-more")
        }
        try authenticator.authenticate(headerValue: "s3cret-current")
        try authenticator.authenticate(headers: [("x-weft-webhook-secret", "s3cret-current")])
        #expect(!authenticator.description.contains("s3cret"))
        #expect(!FreshdeskWebhookError(code: .wrongSecret).description.contains("s3cret"))
    }

    @Test func acceptsEverySecretOfARotation() throws {
        let authenticator = try FreshdeskWebhookAuthenticator(secrets: ["new-secret", "old-secret", ""])
        try authenticator.authenticate(headerValue: "new-secret")
        try authenticator.authenticate(headerValue: "old-secret")
        #expect(throws: FreshdeskWebhookError(code: .wrongSecret)) { try authenticator.authenticate(headerValue: "older") }
        #expect(throws: FreshdeskWebhookError(code: .noSecretConfigured)) {
            _ = try FreshdeskWebhookAuthenticator(secrets: [""])
        }
    }

    /// A body that names no instant (Weft's documented body, or one whose `updated_at` is Freshdesk's `modified_on`, a
    /// day without a time) cannot tell a redelivery from a later change that left the same fields: a ticket set to
    /// Pending and back to Open sends the first body again, and keyed by the body, that change was dropped as a
    /// duplicate. Each delivery is its own event; decoding (no delivery) keys by the body.
    @Test func withoutAnInstantEachDeliveryIsItsOwnEvent() throws {
        func key(_ body: String, _ receivedAt: Date?) throws -> String {
            try FreshdeskTicketEvent.parse(Data(body.utf8)).dedupeKey(receivedAt: receivedAt)
        }
        let open = #"{"ticket_id": 1042, "company_id": "77", "status": "Open"}"#
        let pending = #"{"ticket_id": 1042, "company_id": "77", "status": "Pending"}"#
        let first = Date(timeIntervalSince1970: 1_767_605_400)
        let later = first.addingTimeInterval(90)
        #expect(try key(open, first) == key(open, first))
        #expect(try key(open, first) != key(open, later))
        #expect(try key(open, first) != key(pending, first))
        #expect(try key(open, first).hasPrefix("freshdesk:ticket:1042:received:1767605400000:"))
        #expect(try key(open, nil) == key(open, nil))
        #expect(try key(open, nil) != key(pending, nil))
        // A day without a time is not an instant: it names nothing, so two changes of one day stay two events.
        let day = #"{"ticket_id": 1042, "status": "Open", "updated_at": "Monday,  5 January 2026"}"#
        let event = try FreshdeskTicketEvent.parse(Data(day.utf8))
        #expect(event.updatedAt == nil)
        #expect(event.updatedAtText == "Monday,  5 January 2026")
        #expect(try key(day, first) != key(day, later))
        #expect(FreshdeskTicketReader.request(for: Data(day.utf8)) != nil)
        #expect(FreshdeskTicketReader.request(for: Data(open.utf8)) != nil)
        #expect(FreshdeskTicketReader.request(for: Data(#"{"ticket_id": 5, "updated_at": "2026-01-05T09:30:00Z"}"#.utf8)) == nil)
        #expect(FreshdeskTicketReader.request(for: Data("not json".utf8)) == nil)
    }

    @Test func parsesTheDocumentedBody() throws {
        let event = try FreshdeskTicketEvent.parse(
            Data(
                #"{"ticket_id": 1042, "company_id": "77", "requester_email": "ann@acme.com", "subject": "Help", "status": "Pending", "updated_at": "2026-01-31T12:00:00Z"}"#
                    .utf8))
        #expect(event.ticketID == 1042)
        #expect(event.companyID == 77)
        #expect(event.requesterEmail == "ann@acme.com")
        #expect(event.status == "Pending")
        #expect(event.updatedAt == Date(timeIntervalSince1970: 1_769_860_800))
        #expect(event.dedupeKey(receivedAt: Date()) == "freshdesk:ticket:1042:2026-01-31T12:00:00Z")
        let noCompany = try FreshdeskTicketEvent.parse(Data(#"{"ticket_id":"5","company_id":"","status":3}"#.utf8))
        #expect(noCompany.companyID == nil)
        #expect(noCompany.status == "3")
    }

    @Test func refusesBodiesThatAreNotTheTemplate() {
        #expect(throws: FreshdeskWebhookError(code: .invalidJSON)) { try FreshdeskTicketEvent.parse(Data("ticket=5".utf8)) }
        #expect(throws: FreshdeskWebhookError(code: .notAnObject)) { try FreshdeskTicketEvent.parse(Data("[5]".utf8)) }
        #expect(throws: FreshdeskWebhookError(code: .missingTicketID)) {
            try FreshdeskTicketEvent.parse(Data(#"{"subject":"x"}"#.utf8))
        }
        #expect(throws: FreshdeskWebhookError(code: .missingTicketID)) {
            try FreshdeskTicketEvent.parse(Data(#"{"ticket_id":"{{ticket.id}}"}"#.utf8))
        }
        #expect(throws: FreshdeskWebhookError(code: .invalidField, field: "company_id")) {
            try FreshdeskTicketEvent.parse(Data(#"{"ticket_id":1,"company_id":"acme"}"#.utf8))
        }
    }

    /// The simulator's automation rules post to a receiver that authenticates like Weft: the rule with the right
    /// secret is accepted and its body parsed; the rules without or with a wrong secret get 401.
    @Test func simulatorWebhooksAreCheckedEndToEnd() async throws {
        let authenticator = try FreshdeskWebhookAuthenticator(headerName: Self.header, secrets: ["right-secret"])
        let (accepted, acceptedContinuation) = AsyncStream.makeStream(of: FreshdeskTicketEvent.self)
        let (refused, refusedContinuation) = AsyncStream.makeStream(of: FreshdeskWebhookError.self)
        let receiver = Router()
        receiver.post("/webhooks/freshdesk") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 16)
            do throws(FreshdeskWebhookError) {
                try authenticator.authenticate(headerValue: request.headers[HTTPField.Name(Self.header)!])
                acceptedContinuation.yield(try FreshdeskTicketEvent.parse(Data(body.readableBytesView)))
                return Response(status: .ok)
            } catch {
                refusedContinuation.yield(error)
                return Response(status: .unauthorized)
            }
        }
        let logger = Logger(label: "test.freshdesk.webhook")
        try await SimulatorServer.withRunning(router: receiver, logger: logger) { port in
            let url = "http://127.0.0.1:\(port)/webhooks/freshdesk"
            let simulator = FreshdeskSimulator(
                configuration: .init(
                    webhooks: [
                        .init(url: url, headers: [:], events: [.ticketCreated]),
                        .init(url: url, headers: [Self.header: "wrong-secret"], events: [.ticketCreated]),
                        .init(url: url, headers: [Self.header: "right-secret"], events: [.ticketCreated]),
                    ],
                    webhookRetryDelays: []))
            _ = simulator.call("POST", "/api/v2/companies", body: #"{"name":"Acme","domains":["acme.com"]}"#)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await simulator.runDelivery() }
                let created = simulator.call(
                    "POST", "/api/v2/tickets", body: #"{"subject":"Refund please","email":"ann@acme.com"}"#)
                #expect(created.status == 201)
                var acceptedEvents = accepted.makeAsyncIterator()
                let event = try #require(await acceptedEvents.next())
                #expect(event.requesterEmail == "ann@acme.com")
                #expect(event.subject == "Refund please")
                #expect(event.status == "Open")
                #expect(event.companyID != nil)
                // Weft's body says that the ticket changed, not when: the reader asks Freshdesk.
                #expect(event.updatedAt == nil)
                var refusals = refused.makeAsyncIterator()
                var codes: [String] = []
                for _ in 0..<2 { if let error = await refusals.next() { codes.append("\(error.code)") } }
                #expect(codes.sorted() == ["missing_secret", "wrong_secret"])
                group.cancelAll()
            }
        }
    }
}
