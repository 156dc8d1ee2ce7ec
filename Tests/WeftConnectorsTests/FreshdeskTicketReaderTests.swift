import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Testing
import WeftConnectors
import WeftCore
import WeftSimFreshdesk
import WeftSimKit

/// `FreshdeskTicketReader` over real HTTP against the Freshdesk simulator: a ticket webhook that does not say when the
/// ticket changed is completed from `GET /api/v2/tickets/{id}`.
@Suite struct FreshdeskTicketReaderTests {
    static let logger = Logger(label: "test.freshdesk.reader")

    func withReader<T: Sendable>(
        _ body: @escaping @Sendable (FreshdeskSimulator, FreshdeskTicketReader) async throws -> T
    ) async throws -> T {
        let simulator = FreshdeskSimulator(configuration: .init())
        let router = Router()
        simulator.addRoutes(to: router)
        return try await SimulatorServer.withRunning(router: router, logger: Self.logger) { port in
            let reader = FreshdeskTicketReader(
                configuration: FreshdeskConfiguration(
                    baseURL: "http://127.0.0.1:\(port)/", apiKey: "fd_key123", fields: FreshdeskTargetTests.fieldMap),
                client: HTTPClient.shared, gate: OpenGate())
            return try await body(simulator, reader)
        }
    }

    static func ticket(_ simulator: FreshdeskSimulator, _ id: Int64) throws -> JSONValue {
        try JSONValue.parse(Data(simulator.call("GET", "/api/v2/tickets/\(id)").body))
    }

    /// The body keeps its company and requester and takes the ticket's update time, status and subject as Freshdesk
    /// shows them now (the ticket went on to Pending after the webhook that says Open was sent).
    @Test func completesATimelessWebhookWithTheTicketAsFreshdeskShowsItNow() async throws {
        try await withReader { simulator, reader in
            let created = simulator.call(
                "POST", "/api/v2/tickets", body: #"{"subject":"Card declined","email":"ann@acme.com","status":2}"#)
            #expect(created.status == 201)
            let id = try #require(try JSONValue.parse(Data(created.body))["id"]?.intValue)
            #expect(simulator.call("PUT", "/api/v2/tickets/\(id)", body: #"{"status":3,"subject":"Card declined twice"}"#).status == 200)
            let updatedAt = try #require(try Self.ticket(simulator, id)["updated_at"]?.stringValue)

            let webhook = Data(
                #"{"ticket_id": \#(id), "company_id": "77", "requester_email": "ann@acme.com", "subject": "Card declined", "status": "Open"}"#
                    .utf8)
            let completed = try #require(try await reader.completing(webhook: webhook, logger: Self.logger))
            let event = try FreshdeskTicketEvent.parse(completed)
            #expect(event.ticketID == id)
            #expect(event.updatedAtText == updatedAt)
            #expect(event.updatedAt != nil)
            #expect(event.status == "3")
            #expect(event.subject == "Card declined twice")
            #expect(event.companyID == 77)
            #expect(event.requesterEmail == "ann@acme.com")
            #expect(event.dedupeKey(receivedAt: Date()) == "freshdesk:ticket:\(id):\(updatedAt)")
            #expect(try DeskTicket.parse(completed, desk: .freshdesk).status == "pending")

            // In Trash: still shown by id, with `deleted`.
            #expect(simulator.call("DELETE", "/api/v2/tickets/\(id)").status == 204)
            let deleted = try #require(try await reader.completing(webhook: webhook, logger: Self.logger))
            #expect(try DeskTicket.parse(deleted, desk: .freshdesk).status == "deleted")
        }
    }

    /// Nothing to read: a body that names its update, and a ticket Freshdesk no longer has (404) is filed as it came.
    /// A Freshdesk that cannot answer is an error (the caller decides what to skip).
    @Test func readsOnlyWhatIsMissingAndSaysWhenFreshdeskCannotAnswer() async throws {
        try await withReader { simulator, reader in
            let timed = Data(#"{"ticket_id": 5, "status": "Open", "updated_at": "2026-01-05T09:30:00Z"}"#.utf8)
            let named = try await reader.completing(webhook: timed, logger: Self.logger)
            #expect(named == nil)
            let missing = Data(#"{"ticket_id": 987654, "status": "Open"}"#.utf8)
            let gone = try await reader.completing(webhook: missing, logger: Self.logger)
            #expect(gone == nil)
            let notATicket = try await reader.completing(webhook: Data("[1]".utf8), logger: Self.logger)
            #expect(notATicket == nil)

            simulator.faults.set(FaultPlan(rateLimitRate: 1, retryAfterSeconds: 7))
            do throws(FreshdeskError) {
                _ = try await reader.completing(webhook: missing, logger: Self.logger)
                Issue.record("a 429 was taken for an answer")
            } catch {
                #expect(error.kind == .rateLimited)
                #expect(error.retryAfter == .seconds(7))
            }
        }
    }
}
