public import Foundation
import WeftCore

/// The body Weft's Freshdesk automation rule sends (docs/connectors/freshdesk.md):
///
/// ```json
/// {"ticket_id": {{ticket.id}}, "company_id": "{{ticket.company.id}}", "requester_email": "{{ticket.requester.email}}",
///  "subject": "{{ticket.subject}}", "status": "{{ticket.status}}", "updated_at": "{{ticket.updated_at}}"}
/// ```
///
/// Placeholders render as text, so numbers are accepted quoted or not, and an empty text (a ticket without a
/// company) reads as absent.
public struct FreshdeskTicketEvent: Sendable, Hashable {
    public var ticketID: Int64
    public var companyID: Int64?
    public var requesterEmail: String?
    public var subject: String?
    /// The status as sent: `Open`, `Pending`, `Resolved`, `Closed`, or a number (2–5).
    public var status: String?
    /// `updated_at` as sent (placeholder formats vary); `updatedAt` when it is ISO 8601.
    public var updatedAtText: String?
    public var updatedAt: Date?
    /// A fingerprint of the body as received.
    public var bodyFingerprint: UInt64 = 0

    /// A key for dropping redeliveries: the ticket and the update it reports. A rule whose body leaves `updated_at`
    /// out names no update, so the body itself does: a redelivery (the same body) is dropped, and a later change of the
    /// ticket, whose body differs, is not taken for one.
    public var dedupeKey: String {
        guard let updatedAtText, !updatedAtText.isEmpty else {
            return "freshdesk:ticket:\(ticketID):body:\(String(bodyFingerprint, radix: 16))"
        }
        return "freshdesk:ticket:\(ticketID):\(updatedAtText)"
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
