public import Foundation
import WeftCore

/// The body Weft's Freshdesk automation rule sends (docs/connectors/freshdesk.md):
///
/// ```json
/// {"ticket_id": {{ticket.id}}, "company_id": "{{ticket.company.id}}", "requester_email": "{{ticket.requester.email}}",
///  "subject": "{{ticket.subject}}", "status": "{{ticket.status}}"}
/// ```
///
/// Placeholders render as text, so numbers are accepted quoted or not, and an empty text (a ticket without a
/// company) reads as absent. Freshdesk has no placeholder for when a ticket changed in ISO 8601 (its ticket offers
/// `modified_on`, which renders as a day without a time), so the body says *that* a ticket changed, not when: Weft reads
/// the ticket's `updated_at` from the API before filing it (`FreshdeskTicketReader`). An `updated_at` in the body is
/// still read when it is an ISO 8601 instant (an older template, or one that formats the time itself).
public struct FreshdeskTicketEvent: Sendable, Hashable {
    public var ticketID: Int64
    public var companyID: Int64?
    public var requesterEmail: String?
    public var subject: String?
    /// The status as sent: `Open`, `Pending`, `Resolved`, `Closed`, or a number (2–5).
    public var status: String?
    /// `updated_at` as sent (placeholder formats vary); `updatedAt` when it is an ISO 8601 instant.
    public var updatedAtText: String?
    public var updatedAt: Date?
    /// A fingerprint of the body as received.
    public var bodyFingerprint: UInt64 = 0

    /// A key for dropping redeliveries. With an ISO 8601 `updated_at`: the ticket and the update it reports. Without
    /// one, nothing in the body tells a redelivery from a later change that left the same fields (a ticket set to
    /// Pending and back to Open sends the same body twice): each delivery is its own event (`receivedAt`), which is
    /// harmless, since the ticket is read from the API before it is filed. A text that is not an instant (Freshdesk's
    /// `modified_on` renders the day alone) would merge a day's changes into one, so it names nothing.
    /// - Parameter receivedAt: when the delivery arrived; `nil` keys a time-less body by its fingerprint alone.
    public func dedupeKey(receivedAt: Date?) -> String {
        if let updatedAtText, updatedAt != nil { return "freshdesk:ticket:\(ticketID):\(updatedAtText)" }
        return "freshdesk:ticket:\(ticketID):\(DeskTicket.deliveryKey(fingerprint: bodyFingerprint, receivedAt: receivedAt))"
    }

    /// Parses the raw body (after the secret header was checked).
    public static func parse(_ body: some DataProtocol) throws(FreshdeskWebhookError) -> FreshdeskTicketEvent {
        let json: JSONValue
        do {
            json = try JSONValue.parse(Data(body))
        } catch {
            throw FreshdeskWebhookError(code: .invalidJSON)
        }
        guard let object = json.objectValue else { throw FreshdeskWebhookError(code: .notAnObject) }
        guard let ticketID = try number(object["ticket_id"], field: "ticket_id") else {
            throw FreshdeskWebhookError(code: .missingTicketID)
        }
        let updatedAtText = try text(object["updated_at"], field: "updated_at")
        var status: String?
        if let number = object["status"]?.intValue {
            status = String(number)
        } else {
            status = try text(object["status"], field: "status")
        }
        return FreshdeskTicketEvent(
            ticketID: ticketID, companyID: try number(object["company_id"], field: "company_id"),
            requesterEmail: try text(object["requester_email"], field: "requester_email"),
            subject: try text(object["subject"], field: "subject"),
            status: status,
            updatedAtText: updatedAtText, updatedAt: updatedAtText.flatMap(Self.iso8601),
            bodyFingerprint: CanonicalCoding.fingerprint(Data(body)))
    }

    private static func number(_ value: JSONValue?, field: String) throws(FreshdeskWebhookError) -> Int64? {
        guard let value, !value.isNull else { return nil }
        if let number = value.intValue { return number }
        if let text = value.stringValue {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { return nil }
            if let number = Int64(trimmed) { return number }
        }
        if field == "ticket_id" { throw FreshdeskWebhookError(code: .missingTicketID) }
        throw FreshdeskWebhookError(code: .invalidField, field: field)
    }

    private static func text(_ value: JSONValue?, field: String) throws(FreshdeskWebhookError) -> String? {
        guard let value, !value.isNull else { return nil }
        guard let text = value.stringValue else { throw FreshdeskWebhookError(code: .invalidField, field: field) }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// `2026-01-31T12:00:00Z`, with an offset or fractional seconds.
    static func iso8601(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}
