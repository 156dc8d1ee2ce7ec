public import Foundation
public import WeftCore

/// A ticket event from a support desk, reduced to what links it to an account: the desk's ticket and organisation
/// (Zendesk) or company (Freshdesk) ids, subject, status, requester and when it changed.
public struct DeskTicket: Sendable, Hashable {
    public enum Desk: String, Sendable, Hashable {
        case zendesk, freshdesk

        /// The model Weft binds accounts to in the desk.
        public var accountModel: String { self == .zendesk ? "organization" : "company" }
    }

    /// The dedupe key of the delivery: Zendesk's event id; for Freshdesk (which sends none) ticket id + updated_at, or
    /// the delivery itself when the body names no instant (`FreshdeskTicketEvent.dedupeKey(receivedAt:)`).
    public var eventID: String
    public var ticketID: Int64
    public var organizationID: Int64?
    public var subject: String?
    public var status: String?
    public var requester: String?
    public var updatedAt: Date?

    /// Parses a webhook body the desk's authenticator already accepted.
    /// - Parameters:
    ///   - receivedAt: when the delivery arrived (it keys a Freshdesk body that names no instant); `nil` when the
    ///     stored body is decoded, where the key is not used.
    public static func parse(_ body: Data, desk: Desk, receivedAt: Date? = nil) throws -> DeskTicket {
        switch desk {
        case .zendesk:
            let event = try ZendeskTicketEvent.parse(body)
            // Without the event's id (a trigger's own JSON body), the update it reports names it; without that either,
            // the delivery: a body alone cannot tell a redelivery from a later change that left the same fields (a
            // ticket solved and reopened sends its first body again), so each delivery is its own event.
            let fallback =
                (event.updatedAt ?? event.time).map { "\($0.timeIntervalSince1970)" }
                ?? deliveryKey(fingerprint: CanonicalCoding.fingerprint(body), receivedAt: receivedAt)
            return DeskTicket(
                eventID: event.eventID.isEmpty ? "zendesk:ticket:\(event.ticketID):\(fallback)" : event.eventID,
                ticketID: event.ticketID, organizationID: event.organizationID, subject: event.subject, status: event.status,
                requester: event.requesterID.map(String.init), updatedAt: event.updatedAt ?? event.time)
        case .freshdesk:
            let event = try FreshdeskTicketEvent.parse(body)
            return DeskTicket(
                eventID: event.dedupeKey(receivedAt: receivedAt), ticketID: event.ticketID, organizationID: event.companyID,
                subject: event.subject,
                status: event.status.map(Self.freshdeskStatus), requester: event.requesterEmail, updatedAt: event.updatedAt)
        }
    }

    /// The key of a delivery whose body names no instant: its arrival and the body's fingerprint
    /// (`received:<ms>:body:<hex>`), or the fingerprint alone when no delivery is at hand (a stored body decoded).
    static func deliveryKey(fingerprint: UInt64, receivedAt: Date?) -> String {
        let body = "body:\(String(fingerprint, radix: 16))"
        return receivedAt.map { "received:\(millis($0)):\(body)" } ?? body
    }

    /// `date` in unix milliseconds.
    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// The inbox event type of a ticket webhook.
    public static let webhookEventType = "ticket"
    /// The inbox event type of an API snapshot (catch-up): the payload is the desk's ticket object as its API returned
    /// it (a Zendesk incremental export item, a Freshdesk `GET /api/v2/tickets` item).
    public static let snapshotEventType = "ticket.snapshot"

    /// Reads a ticket object of the desk's API. The event id is `<desk>:ticket:<id>:<updated_at millis>`, so reading the
    /// same state again stores nothing new; the version stays `updated_at`, so a snapshot older than a webhook already
    /// applied is dropped as stale. A soft-deleted ticket (Zendesk's export status `deleted`, a Freshdesk object with
    /// `deleted: true`) is recorded with status `deleted`, under the organisation or company it still names.
    /// - Throws: `DeskTicketSnapshotError` when the object has no id or no readable `updated_at`.
    public static func snapshot(_ object: JSONValue, desk: Desk) throws(DeskTicketSnapshotError) -> DeskTicket {
        guard object.objectValue != nil else { throw DeskTicketSnapshotError(message: "the \(desk) ticket is not a JSON object") }
        guard let ticketID = positiveID(object["id"]) else {
            throw DeskTicketSnapshotError(message: "the \(desk) ticket has no id")
        }
        let updatedText = object["updated_at"]?.stringValue
        let updatedAt: Date? =
            switch desk {
            case .zendesk: updatedText.flatMap(ZendeskWebhookVerifier.parseTimestamp)
            case .freshdesk: updatedText.flatMap(FreshdeskTicketEvent.iso8601)
            }
        guard let updatedAt else {
            throw DeskTicketSnapshotError(message: "\(desk) ticket \(ticketID) has no ISO 8601 updated_at")
        }
        let millis = Self.millis(updatedAt)
        switch desk {
        case .zendesk:
            return DeskTicket(
                eventID: "zendesk:ticket:\(ticketID):\(millis)", ticketID: ticketID,
                organizationID: positiveID(object["organization_id"]), subject: object["subject"]?.stringValue,
                status: object["status"]?.stringValue?.lowercased(), requester: positiveID(object["requester_id"]).map(String.init),
                updatedAt: updatedAt)
        case .freshdesk:
            // A ticket in Trash keeps its numeric status; `deleted: true` (only ever sent for one) is what says so.
            let status =
                object["deleted"]?.boolValue == true
                ? "deleted" : object["status"]?.intValue.map(String.init) ?? object["status"]?.stringValue
            return DeskTicket(
                eventID: "freshdesk:ticket:\(ticketID):\(millis)", ticketID: ticketID,
                organizationID: positiveID(object["company_id"]), subject: object["subject"]?.stringValue,
                status: status.map(Self.freshdeskStatus),
                // The list carries the requester's email only with `include=requester` (an extra API credit per call);
                // without it the record keeps the email a webhook gave.
                requester: object["requester"]?["email"]?.stringValue, updatedAt: updatedAt)
        }
    }

    /// Parses a stored snapshot payload (the ticket object's JSON).
    public static func parseSnapshot(_ payload: Data, desk: Desk) throws(DeskTicketSnapshotError) -> DeskTicket {
        let object: JSONValue
        do {
            object = try JSONValue.parse(payload)
        } catch {
            throw DeskTicketSnapshotError(message: "the stored \(desk) ticket is not JSON")
        }
        return try snapshot(object, desk: desk)
    }

    /// A positive id from a number or a numeric string; `0`, `null` and absence are `nil`.
    static func positiveID(_ value: JSONValue?) -> Int64? {
        let number = value?.intValue ?? value?.stringValue.flatMap { Int64($0) }
        return number.flatMap { $0 > 0 ? $0 : nil }
    }

    /// Freshdesk sends its status as a word or as its number (2 open, 3 pending, 4 resolved, 5 closed).
    static func freshdeskStatus(_ status: String) -> String {
        switch status.lowercased() {
        case "2": "open"
        case "3": "pending"
        case "4": "resolved"
        case "5": "closed"
        case let word: word
        }
    }

    /// The canonical record this event sets, under `system` (the desk's configured name).
    public func change(system: SystemName, receivedAt: Date) -> CanonicalChange {
        let ref = ExternalRef(system: system, kind: .ticket, id: String(ticketID))
        var fields: [String: JSONValue] = ["ref": CanonicalCoding.jsonValue(ref)]
        if let organizationID { fields["organizationID"] = .string(String(organizationID)) }
        if let subject { fields["subject"] = .string(subject) }
        if let status { fields["status"] = .string(status) }
        if let requester { fields["requester"] = .string(requester) }
        if let updatedAt { fields["updatedAt"] = CanonicalCoding.jsonValue(updatedAt) }
        let instant = updatedAt ?? receivedAt
        return CanonicalChange(
            ref: ref, fields: fields, version: SourceVersion(millis: Self.millis(instant)))
    }
}

/// Decodes stored desk ticket events into the ticket record of the account they were filed under.
public struct DeskTicketDecoder: Sendable {
    public let system: SystemName
    public let desk: DeskTicket.Desk

    public init(system: SystemName, desk: DeskTicket.Desk) {
        self.system = system
        self.desk = desk
    }

    /// Decodes a webhook body (type `ticket`) or an API snapshot (type `ticket.snapshot`).
    public func decode(_ event: InboxEvent) throws -> DecodedEvent {
        let ticket =
            event.type == DeskTicket.snapshotEventType
            ? try DeskTicket.parseSnapshot(event.payload, desk: desk) : try DeskTicket.parse(event.payload, desk: desk)
        return DecodedEvent(entityKey: event.entityKey, changes: [ticket.change(system: system, receivedAt: event.receivedAt)])
    }
}

/// A desk ticket object Weft cannot read. The message names the desk and the ticket id, never the payload.
public struct DeskTicketSnapshotError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    public var description: String { "desk ticket snapshot rejected: \(message)" }
}

/// A ticket read from a desk's API for catch-up: what Weft files it by, and the ticket object to store.
public struct DeskTicketSnapshot: Sendable, Hashable {
    /// The ticket's parts (event id, organisation or company, version).
    public var ticket: DeskTicket
    /// The desk's ticket object as JSON, stored as the inbox payload.
    public var payload: Data

    /// - Parameters:
    ///   - ticket: the parsed ticket.
    ///   - payload: the ticket object's JSON.
    public init(ticket: DeskTicket, payload: Data) {
        self.ticket = ticket
        self.payload = payload
    }

    /// Reads one ticket object of a page.
    public init(_ object: JSONValue, desk: DeskTicket.Desk) throws(DeskTicketSnapshotError) {
        self.init(ticket: try DeskTicket.snapshot(object, desk: desk), payload: object.serialized())
    }
}
