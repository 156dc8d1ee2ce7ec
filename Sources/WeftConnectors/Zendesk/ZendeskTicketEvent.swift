public import Foundation
import WeftCore

/// The parts of a Zendesk ticket webhook event (`zen:event-type:ticket.*`) needed to link tickets to accounts: the
/// ticket, its organization and requester, subject, status and when it changed.
///
/// Zendesk's event JSON sends ids as strings (`"detail":{"id":"35436","organization_id":"…"}`); numbers are
/// accepted too. Statuses are lower-cased (`OPEN` → `open`).
public struct ZendeskTicketEvent: Sendable, Hashable {
    /// The event id (`01HNXXXX…`), the dedupe key.
    public var eventID: String
    /// `zen:event-type:ticket.created`, `…ticket.status_changed`…
    public var type: String
    /// When Zendesk raised the event.
    public var time: Date?
    public var ticketID: Int64
    public var organizationID: Int64?
    public var requesterID: Int64?
    public var subject: String?
    /// `new`, `open`, `pending`, `hold`, `solved`, `closed` (lower case).
    public var status: String?
    public var updatedAt: Date?

    /// The event type prefix of ticket events.
    public static let typePrefix = "zen:event-type:ticket."

    /// Parses a webhook body (after `ZendeskWebhookVerifier` accepted it).
    /// - Throws: `ZendeskTicketEventError` when the body is not JSON or not a ticket event.
    public static func parse(_ body: some DataProtocol) throws(ZendeskTicketEventError) -> ZendeskTicketEvent {
        let json: JSONValue
        do {
            json = try JSONValue.parse(Data(body))
        } catch {
            throw ZendeskTicketEventError(message: "the webhook body is not JSON")
        }
        guard let type = json["type"]?.stringValue else {
            throw ZendeskTicketEventError(message: "the webhook body has no event type")
        }
        guard type.hasPrefix(typePrefix) else {
            throw ZendeskTicketEventError(
                message: "\(type) is not a ticket event (zen:event-type:ticket.*)",
                otherEventType: type.hasPrefix("zen:event-type:") ? type : nil)
        }
        guard let detail = json["detail"], let ticketID = id(detail["id"]) else {
            throw ZendeskTicketEventError(message: "the \(type) event has no detail.id")
        }
        return ZendeskTicketEvent(
            eventID: json["id"]?.stringValue ?? "", type: type,
            time: json["time"]?.stringValue.flatMap(ZendeskWebhookVerifier.parseTimestamp), ticketID: ticketID,
            organizationID: id(detail["organization_id"]), requesterID: id(detail["requester_id"]),
            subject: detail["subject"]?.stringValue, status: detail["status"]?.stringValue?.lowercased(),
            updatedAt: detail["updated_at"]?.stringValue.flatMap(ZendeskWebhookVerifier.parseTimestamp))
    }

    /// A positive id from a string or a number; `"0"`, `null` and absence are `nil`.
    private static func id(_ value: JSONValue?) -> Int64? {
        let number = value?.intValue ?? value?.stringValue.flatMap { Int64($0) }
        return number.flatMap { $0 > 0 ? $0 : nil }
    }
}

/// A webhook body that is not a Zendesk ticket event. The message names the event type, never the body.
public struct ZendeskTicketEventError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// A well-formed Zendesk event of another kind (`zen:event-type:user.created`): not a bad body, only one Weft has
    /// no use for.
    public var otherEventType: String?
    public var description: String { "Zendesk ticket event rejected: \(message)" }

    public init(message: String, otherEventType: String? = nil) {
        self.message = message
        self.otherEventType = otherEventType
    }
}
