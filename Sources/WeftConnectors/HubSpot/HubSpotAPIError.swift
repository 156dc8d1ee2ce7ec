package import WeftCore

/// A failed HubSpot call: what kind of failure, a message safe to log (what to fix, for permanent ones), the HTTP
/// status and how long to wait before a retry.
package struct HubSpotAPIError: Error, Sendable, CustomStringConvertible {
    package enum Kind: Sendable, Hashable {
        case transport, cancelled, rateLimited, unavailable, unauthorized, forbidden, notFound, conflict, invalid
        case invalidResponse
    }

    package var kind: Kind
    /// Safe to log: HubSpot's category and message, never the token or request bodies.
    package var message: String
    package var status: Int?
    package var retryAfter: Duration?
    /// HubSpot's `category` (`VALIDATION_ERROR`, `MISSING_SCOPES`, `RATE_LIMIT`…).
    package var category: String?
    /// The properties a 400 names (`PROPERTY_DOESNT_EXIST`, `INVALID_OPTION`…).
    package var properties: [String] = []

    package init(
        kind: Kind, message: String, status: Int? = nil, retryAfter: Duration? = nil, category: String? = nil,
        properties: [String] = []
    ) {
        self.kind = kind
        self.message = message
        self.status = status
        self.retryAfter = retryAfter
        self.category = category
        self.properties = properties
    }

    package var description: String {
        status.map { "\(message) (HTTP \($0))" } ?? message
    }

    /// Whether a later retry of the same call can succeed.
    package var isRetryable: Bool {
        switch kind {
        case .transport, .rateLimited, .unavailable, .cancelled: true
        default: false
        }
    }

    /// The failure as the delivery pipeline sees it.
    package var failure: DeliveryFailure {
        let failureKind: DeliveryFailure.Kind =
            switch kind {
            case .transport, .cancelled: .transport
            case .rateLimited: .rateLimited
            case .unavailable: .unavailable
            case .unauthorized, .forbidden: .unauthorized
            case .notFound: .dependencyMissing
            case .conflict, .invalid, .invalidResponse: .rejected
            }
        return DeliveryFailure(kind: failureKind, message: message, status: status, retryAfter: retryAfter)
    }

    /// `retry` for transport failures, 429 and 5xx; `reject` for what no retry can fix.
    package var outcome: DeliveryOutcome {
        isRetryable ? .retry(failure) : .reject(failure)
    }
}
