import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftSimKit
import WeftSimZendesk

/// The pages of the desks' ticket exports and the snapshots read from them, without I/O.
@Suite struct DeskTicketFeedTests {
    /// Zendesk's documented cursor-export answer (Incremental Exports reference, "Incremental Ticket Export, Cursor
    /// Based"), trimmed to the fields Weft reads plus a few it ignores.
    static let zendeskPage = #"""
        {"after_cursor":"MTU3NjYxMzUzOS4wfHw0Njd8","after_url":"https://example.zendesk.com/api/v2/incremental/tickets/cursor.json?cursor=MTU3NjYxMzUzOS4wfHw0Njd8",
         "before_cursor":null,"before_url":null,"end_of_stream":false,
         "tickets":[
           {"id":35436,"organization_id":509974,"requester_id":20978392,"subject":"Help, my printer is on fire!",
            "status":"open","updated_at":"2011-05-05T10:38:52Z","generated_timestamp":1304592000,"tags":["enterprise"]},
           {"id":35437,"organization_id":null,"requester_id":20978392,"subject":"Gone","status":"deleted",
            "updated_at":"2011-05-05T10:39:00Z"}
         ]}
        """#

    @Test func readsAZendeskExportPage() throws {
        let page = try ZendeskTicketFeed.Page(try JSONValue.parse(Data(Self.zendeskPage.utf8)))
        #expect(page.afterCursor == "MTU3NjYxMzUzOS4wfHw0Njd8")
        #expect(page.endOfStream == false)
        #expect(page.tickets.count == 2)

        let open = try DeskTicketSnapshot(try #require(page.tickets.first), desk: .zendesk)
        let millis = Int64(ISO8601DateFormatter().date(from: "2011-05-05T10:38:52Z")!.timeIntervalSince1970 * 1000)
        #expect(open.ticket.eventID == "zendesk:ticket:35436:\(millis)")
        #expect(open.ticket.ticketID == 35436)
        #expect(open.ticket.organizationID == 509974)
        #expect(open.ticket.requester == "20978392")
        #expect(open.ticket.status == "open")
        #expect(open.ticket.subject == "Help, my printer is on fire!")
        #expect(try JSONValue.parse(open.payload) == page.tickets[0])

        // A deleted ticket comes with status "deleted" and stays a ticket of no organisation.
        let deleted = try DeskTicketSnapshot(page.tickets[1], desk: .zendesk)
        #expect(deleted.ticket.status == "deleted")
        #expect(deleted.ticket.organizationID == nil)
    }

    @Test func refusesZendeskPagesThatCannotBeFollowed() throws {
        #expect(throws: ZendeskTicketFeedError.self) {
            try ZendeskTicketFeed.Page(try JSONValue.parse(Data(#"{"tickets":[],"end_of_stream":false}"#.utf8)))
        }
        #expect(throws: ZendeskTicketFeedError.self) {
            try ZendeskTicketFeed.Page(try JSONValue.parse(Data(#"{"end_of_stream":true}"#.utf8)))
        }
        #expect(throws: ZendeskTicketFeedError.self) {
            try ZendeskTicketFeed.Page(try JSONValue.parse(Data(#"{"tickets":[]}"#.utf8)))
        }
        let last = try ZendeskTicketFeed.Page(
            try JSONValue.parse(Data(#"{"tickets":[],"after_cursor":"abc","end_of_stream":true}"#.utf8)))
        #expect(last.endOfStream && last.afterCursor == "abc")
    }

    @Test func readsAFreshdeskListPageAndItsLink() throws {
        let body = #"""
            [{"id":20,"company_id":7,"requester_id":9,"subject":"Invoice question","status":4,"priority":1,
              "updated_at":"2026-01-31T12:00:00Z","created_at":"2026-01-30T08:00:00Z"},
             {"id":21,"company_id":null,"subject":"No company","status":2,"updated_at":"2026-01-31T12:00:05Z",
              "requester":{"id":9,"email":"ops@acme.example"}}]
            """#
        let next = #"<https://acme.freshdesk.com/api/v2/tickets?updated_since=2026-01-01T00%3A00%3A00Z&page=2>; rel="next""#
        let page = try FreshdeskTicketFeed.Page(try JSONValue.parse(Data(body.utf8)), link: next)
        #expect(page.hasNext)
        #expect(page.tickets.count == 2)
        #expect(try FreshdeskTicketFeed.Page(.array([]), link: nil).hasNext == false)
        #expect(try FreshdeskTicketFeed.Page(.array([]), link: #"<https://x/a?page=1>; rel="prev""#).hasNext == false)
        #expect(
            try FreshdeskTicketFeed.Page(.array([]), link: #"<https://x/a?page=1>; rel="prev", <https://x/a?page=3>; rel="next""#)
                .hasNext)
        #expect(throws: FreshdeskTicketFeedError.self) {
            try FreshdeskTicketFeed.Page(try JSONValue.parse(Data(#"{"tickets":[]}"#.utf8)), link: nil)
        }

        let resolved = try DeskTicketSnapshot(page.tickets[0], desk: .freshdesk)
        let millis = Int64(ISO8601DateFormatter().date(from: "2026-01-31T12:00:00Z")!.timeIntervalSince1970 * 1000)
        #expect(resolved.ticket.eventID == "freshdesk:ticket:20:\(millis)")
        #expect(resolved.ticket.organizationID == 7)
        #expect(resolved.ticket.status == "resolved")
        #expect(resolved.ticket.requester == nil)
        let withRequester = try DeskTicketSnapshot(page.tickets[1], desk: .freshdesk)
        #expect(withRequester.ticket.organizationID == nil)
        #expect(withRequester.ticket.status == "open")
        #expect(withRequester.ticket.requester == "ops@acme.example")
    }

    @Test func refusesTicketsWithoutIdOrUpdateTime() {
        #expect(throws: DeskTicketSnapshotError.self) {
            try DeskTicket.snapshot(["subject": "x", "updated_at": "2026-01-31T12:00:00Z"], desk: .zendesk)
        }
        #expect(throws: DeskTicketSnapshotError.self) { try DeskTicket.snapshot(["id": 5], desk: .freshdesk) }
        #expect(throws: DeskTicketSnapshotError.self) {
            try DeskTicket.snapshot(["id": 5, "updated_at": "yesterday"], desk: .zendesk)
        }
        #expect(throws: DeskTicketSnapshotError.self) { try DeskTicket.snapshot(.array([]), desk: .zendesk) }
    }

    /// A Zendesk body without the event's id (a trigger's own JSON) is named by the update it reports, else by its
    /// `time`, else by the delivery: two changes of one ticket never share a key (they did, `…:0`, with neither date;
    /// and keyed by the body, a ticket reopened after it was solved sent its first body again and was dropped).
    @Test func aZendeskEventWithoutAnIDIsNamedByItsUpdate() throws {
        func id(_ body: String) throws -> String { try DeskTicket.parse(Data(body.utf8), desk: .zendesk).eventID }
        let updated = #"{"type":"zen:event-type:ticket.status_changed","detail":{"id":"42","updated_at":"2026-01-31T11:00:00Z"}}"#
        let timed = #"{"type":"zen:event-type:ticket.status_changed","time":"2026-01-31T11:00:05Z","detail":{"id":"42"}}"#
        let open = #"{"type":"zen:event-type:ticket.status_changed","detail":{"id":"42","status":"OPEN"}}"#
        let solved = #"{"type":"zen:event-type:ticket.status_changed","detail":{"id":"42","status":"SOLVED"}}"#
        #expect(try id(updated) == "zendesk:ticket:42:\(Date(timeIntervalSince1970: 1_769_857_200).timeIntervalSince1970)")
        #expect(try id(timed) == "zendesk:ticket:42:\(Date(timeIntervalSince1970: 1_769_857_205).timeIntervalSince1970)")
        #expect(try id(open) == id(open))
        #expect(try id(open) != id(solved))
        func delivered(_ body: String, at seconds: Double) throws -> String {
            try DeskTicket.parse(Data(body.utf8), desk: .zendesk, receivedAt: Date(timeIntervalSince1970: seconds)).eventID
        }
        #expect(try delivered(open, at: 1_769_857_300) != delivered(open, at: 1_769_857_390))
        #expect(try delivered(open, at: 1_769_857_300).hasPrefix("zendesk:ticket:42:received:1769857300000:body:"))
        #expect(try delivered(updated, at: 1_769_857_300) == id(updated))
    }

    @Test func theDecoderReadsSnapshotsAndWebhooksAlike() throws {
        let decoder = DeskTicketDecoder(system: "zendesk", desk: .zendesk)
        let snapshot = try DeskTicketSnapshot(
            ["id": 42, "organization_id": 7, "status": "solved", "subject": "S", "updated_at": "2026-01-31T12:00:00Z"],
            desk: .zendesk)
        let webhook = Data(
            #"{"type":"zen:event-type:ticket.status_changed","id":"01HZ","detail":{"id":"42","organization_id":"7","status":"OPEN","updated_at":"2026-01-31T11:00:00Z"}}"#
                .utf8)
        func event(_ type: String, _ payload: Data) -> InboxEvent {
            InboxEvent(
                seq: EventSeq(1), system: "zendesk", eventID: SourceEventID("e"), type: type, entityKey: EntityKey("stripe/customer/cus_1"),
                occurredAt: Date(), receivedAt: Date(), payload: payload, traceID: TraceID("t"), status: .pending, attempts: 0,
                outcome: nil)
        }
        let fromSnapshot = try decoder.decode(event(DeskTicket.snapshotEventType, snapshot.payload))
        let fromWebhook = try decoder.decode(event(DeskTicket.webhookEventType, webhook))
        let snapshotChange = try #require(fromSnapshot.changes.first)
        let webhookChange = try #require(fromWebhook.changes.first)
        #expect(snapshotChange.ref == webhookChange.ref)
        #expect(snapshotChange.fields["status"] == "solved")
        #expect(webhookChange.fields["status"] == "open")
        // The snapshot is the later state: its version wins over the webhook's.
        #expect(snapshotChange.version > webhookChange.version)
        #expect(fromSnapshot.entityKey == EntityKey("stripe/customer/cus_1"))
        // A snapshot payload is not a webhook body, and the other way round.
        #expect(throws: (any Error).self) { try decoder.decode(event(DeskTicket.webhookEventType, snapshot.payload)) }
        #expect(throws: (any Error).self) { try decoder.decode(event(DeskTicket.snapshotEventType, Data("[]".utf8))) }
    }

    @Test func recordsADeletedTicketAsDeletedAndAsTheLaterState() throws {
        let decoder = DeskTicketDecoder(system: "zendesk", desk: .zendesk)
        let open = try DeskTicketSnapshot(
            ["id": 42, "organization_id": 7, "status": "open", "subject": "S", "updated_at": "2026-01-31T12:00:00Z"],
            desk: .zendesk)
        // Zendesk's export sends a soft-deleted ticket with status "deleted" (and its other members as they were).
        let deleted = try DeskTicketSnapshot(
            ["id": 42, "organization_id": 7, "status": "deleted", "subject": "S", "updated_at": "2026-01-31T12:05:00Z"],
            desk: .zendesk)
        #expect(deleted.ticket.status == "deleted")
        #expect(deleted.ticket.organizationID == 7)
        #expect(deleted.ticket.eventID != open.ticket.eventID)
        func event(_ snapshot: DeskTicketSnapshot) -> InboxEvent {
            InboxEvent(
                seq: EventSeq(1), system: "zendesk", eventID: SourceEventID(snapshot.ticket.eventID),
                type: DeskTicket.snapshotEventType, entityKey: EntityKey("zendesk/organization/7"), occurredAt: Date(),
                receivedAt: Date(), payload: snapshot.payload, traceID: TraceID("t"), status: .pending, attempts: 0, outcome: nil)
        }
        let openChange = try #require(try decoder.decode(event(open)).changes.first)
        let deletedChange = try #require(try decoder.decode(event(deleted)).changes.first)
        #expect(deletedChange.ref == openChange.ref)
        #expect(deletedChange.fields["status"] == "deleted")
        #expect(deletedChange.version > openChange.version)

        // Freshdesk keeps the numeric status of a ticket in Trash and adds `deleted: true`.
        let trashed = try DeskTicketSnapshot(
            ["id": 20, "company_id": 7, "status": 4, "deleted": true, "updated_at": "2026-01-31T12:00:00Z"], desk: .freshdesk)
        #expect(trashed.ticket.status == "deleted")
        #expect(trashed.ticket.organizationID == 7)
        let live = try DeskTicketSnapshot(
            ["id": 21, "company_id": 7, "status": 4, "spam": false, "updated_at": "2026-01-31T12:00:00Z"], desk: .freshdesk)
        #expect(live.ticket.status == "resolved")
    }
}

/// `ZendeskTicketFeed` against the Zendesk simulator over real HTTP: soft-deleted tickets and a start time Zendesk
/// finds too recent.
@Suite struct ZendeskTicketFeedWireTests {
    static let logger = Logger(label: "test.zendesk.feed", factory: { _ in SwiftLogNoOpLogHandler() })
    static let email = "agent@example.com"
    static let token = "zd_feed_token"

    /// The simulator's clock, in unix seconds, moved by the test.
    final class Clock: Sendable {
        private let seconds: Mutex<Int>
        init(_ start: Int) { seconds = Mutex(start) }
        var now: Int { seconds.withLock { $0 } }
        func advance(_ delta: Int) { seconds.withLock { $0 += delta } }
    }

    func withSimulator(
        _ clock: Clock, _ body: @escaping @Sendable (ZendeskSimulator, ZendeskTicketFeed) async throws -> Void
    ) async throws {
        let simulator = ZendeskSimulator(
            configuration: .init(agentEmail: Self.email, apiTokens: [Self.token], idSeed: 3, now: { clock.now }, logger: Self.logger))
        let router = Router()
        simulator.addRoutes(to: router)
        try await SimulatorServer.withRunning(router: router, logger: Self.logger) { port in
            let feed = ZendeskTicketFeed(
                configuration: ZendeskConfiguration(
                    baseURL: "http://127.0.0.1:\(port)", auth: .apiToken(email: Self.email, token: Self.token)),
                httpClient: .shared, gate: OpenGate())
            try await body(simulator, feed)
        }
    }

    @Test func aDeletedTicketIsReadWithStatusDeleted() async throws {
        let clock = Clock(1_767_225_600)
        try await withSimulator(clock) { simulator, feed in
            let created = simulator.call("POST", "/api/v2/tickets.json", body: #"{"ticket":{"subject":"Gone","comment":{"body":"b"}}}"#)
            let id = try #require(try JSONValue.parse(Data(created.body))["ticket"]?["id"]?.intValue)
            clock.advance(120)
            #expect(simulator.call("DELETE", "/api/v2/tickets/\(id).json").status == 204)
            clock.advance(120)
            let now = Date(timeIntervalSince1970: TimeInterval(clock.now))
            let snapshots = try await feed.tickets(since: now.addingTimeInterval(-3_600), now: now, logger: Self.logger)
            let ticket = try #require(snapshots.first?.ticket)
            #expect(snapshots.count == 1)
            #expect(ticket.ticketID == id)
            #expect(ticket.status == "deleted")
            #expect(ticket.updatedAt == Date(timeIntervalSince1970: 1_767_225_720))
        }
    }

    @Test func aStartTimeZendeskFindsTooRecentReadsAsNothingYet() async throws {
        let clock = Clock(1_767_225_600)
        try await withSimulator(clock) { simulator, feed in
            _ = simulator.call("POST", "/api/v2/tickets.json", body: #"{"ticket":{"subject":"Old","comment":{"body":"b"}}}"#)
            clock.advance(600)
            // Our clock runs ten minutes ahead of Zendesk's: the start time the feed sends (a minute before our now)
            // is in Zendesk's future, and Zendesk answers 400 StartTimeTooRecent.
            let ahead = Date(timeIntervalSince1970: TimeInterval(clock.now + 600))
            let snapshots = try await feed.tickets(since: ahead.addingTimeInterval(-30), now: ahead, logger: Self.logger)
            #expect(snapshots.isEmpty)
            #expect(simulator.requestLog.all.map(\.status) == [400])
            // The same feed with agreeing clocks reads the ticket.
            let now = Date(timeIntervalSince1970: TimeInterval(clock.now))
            #expect(try await feed.tickets(since: now.addingTimeInterval(-3_600), now: now, logger: Self.logger).count == 1)
        }
    }

}
