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

    /// The dedupe key of the delivery: Zendesk's event id; for Freshdesk (which sends none) ticket id + updated_at.
    public var eventID: String
    public var ticketID: Int64
    public var organizationID: Int64?
    public var subject: String?
    public var status: String?
    public var requester: String?
    public var updatedAt: Date?

    /// Parses a webhook body the desk's authenticator already accepted.
    public static func parse(_ body: Data, desk: Desk) throws -> DeskTicket {
        switch desk {
        case .zendesk:
            let event = try ZendeskTicketEvent.parse(body)
            return DeskTicket(
                eventID: event.eventID.isEmpty
                    ? "zendesk:ticket:\(event.ticketID):\(event.updatedAt?.timeIntervalSince1970 ?? 0)" : event.eventID,
                ticketID: event.ticketID, organizationID: event.organizationID, subject: event.subject, status: event.status,
                requester: event.requesterID.map(String.init), updatedAt: event.updatedAt ?? event.time)
        case .freshdesk:
            let event = try FreshdeskTicketEvent.parse(body)
            return DeskTicket(
                eventID: event.dedupeKey, ticketID: event.ticketID, organizationID: event.companyID, subject: event.subject,
                status: event.status.map(Self.freshdeskStatus), requester: event.requesterEmail, updatedAt: event.updatedAt)
        }
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
            ref: ref, fields: fields, version: SourceVersion(millis: Int64((instant.timeIntervalSince1970 * 1000).rounded())))
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

    public func decode(_ event: InboxEvent) throws -> DecodedEvent {
        let ticket = try DeskTicket.parse(event.payload, desk: desk)
        return DecodedEvent(entityKey: event.entityKey, changes: [ticket.change(system: system, receivedAt: event.receivedAt)])
    }
}
