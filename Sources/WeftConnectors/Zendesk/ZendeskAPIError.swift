import Foundation

/// A failed Zendesk call: what kind of failure, a message safe to log, the HTTP status and `Retry-After`.
struct ZendeskAPIError: Error, Sendable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case transport, cancelled, rateLimited, unavailable, unauthorized, forbidden, notFound, invalid, invalidResponse
    }

    var kind: Kind
    /// Safe to log: Zendesk's error code and descriptions, never credentials or request bodies.
    var message: String
    var status: Int?
    var retryAfter: Duration?
    /// `details` of a 422, by field: the `error` codes (`DuplicateValue`, `InvalidValue`…).
    var errorCodes: [String: [String]] = [:]

    var description: String {
        status.map { "\(message) (HTTP \($0))" } ?? message
    }

    /// Whether a 422 says `field` is already taken (`name`, `external_id`).
    func isDuplicate(_ field: String) -> Bool {
        kind == .invalid && (errorCodes[field] ?? []).contains("DuplicateValue")
    }
}
