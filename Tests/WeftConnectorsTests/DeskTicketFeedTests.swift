import Foundation
import Testing
import WeftConnectors
import WeftCore

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
}
