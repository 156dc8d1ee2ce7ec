import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftSimFreshdesk
import WeftSimKit

@testable import WeftServer

/// The pipeline waits for its enrichers, so the Freshdesk ticket read never waits for Freshdesk: it reads within a
/// budget of its own, skips what the budget has no room for, and after a 429 or a failure reads nothing for a while.
/// A skipped webhook is filed as it came.
@Suite("Freshdesk ticket enricher")
struct FreshdeskTicketEnricherTests {
    static let logger = Logger(label: "test.freshdesk.enricher")

    /// A clock the test moves.
    final class Clock: Sendable {
        let start = ContinuousClock.now
        private let offset = Mutex(Duration.zero)
        func advance(_ duration: Duration) { offset.withLock { $0 += duration } }
        var now: @Sendable () -> ContinuousClock.Instant { { self.start.advanced(by: self.offset.withLock { $0 }) } }
    }

    static func event(_ body: String) -> InboxEvent {
        InboxEvent(
            seq: EventSeq(1), system: "freshdesk", eventID: SourceEventID("freshdesk:ticket:1:received:1:body:1"),
            type: DeskTicket.webhookEventType, entityKey: EntityKey("freshdesk/company/none"), occurredAt: Date(),
            receivedAt: Date(), payload: Data(body.utf8), traceID: TraceID("t"), status: .processing, attempts: 1,
            outcome: nil)
    }

    @Test func readsWithinItsBudgetAndPausesAfterAFailure() async throws {
        let simulator = FreshdeskSimulator(configuration: .init())
        let created = simulator.call("POST", "/api/v2/tickets", body: #"{"subject":"Help","email":"ann@acme.com","status":3}"#)
        let id = try #require(try JSONValue.parse(Data(created.body))["id"]?.intValue)
        let router = Router()
        simulator.addRoutes(to: router)
        try await SimulatorServer.withRunning(router: router, logger: Self.logger) { port in
            let clock = Clock()
            let enricher = FreshdeskTicketEnricher(
                reader: FreshdeskTicketReader(
                    configuration: FreshdeskConfiguration(
                        baseURL: "http://127.0.0.1:\(port)/", apiKey: "fd_key123",
                        fields: DeskFieldMap(account: "weft_account", tier: nil, status: nil)),
                    client: HTTPClient.shared, gate: OpenGate()),
                budget: RateLimit(perSecond: 1, burst: 2), now: clock.now)
            let timeless = Self.event(#"{"ticket_id": \#(id), "status": "Open"}"#)
            let timed = Self.event(#"{"ticket_id": \#(id), "status": "Open", "updated_at": "2026-01-05T09:30:00Z"}"#)
            #expect(enricher.mayNeed(timeless))
            var other = timeless
            other.type = DeskTicket.snapshotEventType
            #expect(!enricher.mayNeed(other))

            // A body that names its update is not read, and spends nothing.
            for _ in 0..<5 { #expect(await enricher.completed(timed, logger: Self.logger) == nil) }
            // The budget: one a second (it starts empty), bursts of two once it has been idle; a read it has no room
            // for is skipped.
            let completed = try #require(await enricher.completed(timeless, logger: Self.logger))
            #expect(try FreshdeskTicketEvent.parse(completed).status == "3")
            #expect(await enricher.completed(timeless, logger: Self.logger) == nil)
            clock.advance(.seconds(5))
            for _ in 0..<2 { #expect(await enricher.completed(timeless, logger: Self.logger) != nil) }
            #expect(await enricher.completed(timeless, logger: Self.logger) == nil)
            clock.advance(.seconds(1))
            #expect(await enricher.completed(timeless, logger: Self.logger) != nil)

            // A 429: nothing is read for its Retry-After, even once Freshdesk answers again.
            clock.advance(.seconds(10))
            simulator.faults.set(FaultPlan(rateLimitRate: 1, retryAfterSeconds: 30))
            #expect(await enricher.completed(timeless, logger: Self.logger) == nil)
            simulator.faults.clear()
            clock.advance(.seconds(29))
            #expect(await enricher.completed(timeless, logger: Self.logger) == nil)
            clock.advance(.seconds(2))
            #expect(await enricher.completed(timeless, logger: Self.logger) != nil)

            // An outage: a pause of `coolDown`.
            clock.advance(.seconds(10))
            simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 503))
            #expect(await enricher.completed(timeless, logger: Self.logger) == nil)
            simulator.faults.clear()
            clock.advance(FreshdeskTicketEnricher.coolDown - .seconds(1))
            #expect(await enricher.completed(timeless, logger: Self.logger) == nil)
            clock.advance(.seconds(2))
            #expect(await enricher.completed(timeless, logger: Self.logger) != nil)
        }
    }
}
