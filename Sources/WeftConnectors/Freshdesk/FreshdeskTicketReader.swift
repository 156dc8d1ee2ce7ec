public import AsyncHTTPClient
public import Foundation
public import Logging
public import WeftCore

/// Reads a ticket's current state for a webhook whose body does not say when the ticket changed.
///
/// Freshdesk's automation rules have no placeholder for a ticket's update time in ISO 8601 (the ticket's `modified_on`
/// renders as a day without a time, in Freshdesk's default time format), so Weft's documented body says *that* a ticket
/// changed and what it shows. Filed as it came, such a body would carry the time it arrived as its version: a delivery
/// Freshdesk retried minutes later would then outrank the change made after it, and so would every snapshot the
/// catch-up reads. Read from `GET /api/v2/tickets/{id}` before it is filed, it carries the ticket's own `updated_at`,
/// status and subject, so deliveries in any order, repeated or not, end at the ticket's latest state.
public struct FreshdeskTicketReader: Sendable {
    let client: FreshdeskClient

    /// - Parameters:
    ///   - configuration: the account and key (the target's).
    ///   - client: the shared HTTP client.
    ///   - gate: the gate its reads go through.
    public init(configuration: FreshdeskConfiguration, client: HTTPClient, gate: any RequestGate) {
        self.client = FreshdeskClient(configuration: configuration, http: OutboundHTTPClient(client: client, gate: gate))
    }

    /// A webhook body whose ticket is to be read.
    public struct Request: Sendable {
        let ticketID: Int64
        let body: [String: JSONValue]
    }

    /// What the webhook body `payload` needs read: its ticket when it is a ticket webhook whose `updated_at` is missing
    /// or not an ISO 8601 instant; `nil` otherwise (nothing to read).
    public static func request(for payload: Data) -> Request? {
        guard let event = try? FreshdeskTicketEvent.parse(payload), event.updatedAt == nil,
            case .object(let body)? = try? JSONValue.parse(payload)
        else { return nil }
        return Request(ticketID: event.ticketID, body: body)
    }

    /// The webhook body `payload` completed as `completing(_:logger:)` says; `nil` when there is nothing to read
    /// (`request(for:)`) or the ticket is gone.
    public func completing(webhook payload: Data, logger: Logger) async throws(FreshdeskError) -> Data? {
        guard let request = Self.request(for: payload) else { return nil }
        return try await completing(request, logger: logger)
    }

    /// The webhook body with the ticket's `updated_at`, status (`deleted` for a ticket in Trash) and subject as
    /// Freshdesk's API shows them now; the company and requester stay the body's (the ticket was filed by them). `nil`
    /// when the ticket is gone from Freshdesk (`404`): the body is then filed as it came.
    /// - Throws: `FreshdeskError` when Freshdesk cannot be read now (rate limit, outage, a bad answer).
    public func completing(_ request: Request, logger: Logger) async throws(FreshdeskError) -> Data? {
        var body = request.body
        let ticket: JSONValue
        do {
            ticket = try await client.ticket(request.ticketID, logger: logger)
        } catch  where error.kind == .notFound {
            return nil
        }
        guard let updatedAt = ticket["updated_at"]?.stringValue, FreshdeskTicketEvent.iso8601(updatedAt) != nil else {
            throw FreshdeskError(
                kind: .invalidResponse, operation: "get ticket", message: "ticket \(request.ticketID) has no ISO 8601 updated_at")
        }
        body["updated_at"] = .string(updatedAt)
        if ticket["deleted"]?.boolValue == true {
            body["status"] = "deleted"
        } else if let status = ticket["status"]?.intValue {
            body["status"] = .int(status)
        }
        if let subject = ticket["subject"]?.stringValue { body["subject"] = .string(subject) }
        return JSONValue.object(body).serialized()
    }
}
