package import WeftCore

/// A failed Salesforce call: what kind of failure, a message safe to log (what to fix, for permanent ones), the HTTP
/// status, Salesforce's `errorCode`s and the fields they name, and how long to wait before a retry.
package struct SalesforceAPIError: Error, Sendable, CustomStringConvertible {
    package enum Kind: Sendable, Hashable {
        /// No usable answer (connection, timeout).
        case transport
        /// The calling task was cancelled.
        case cancelled
        /// `REQUEST_LIMIT_EXCEEDED` (403) or a 429: the org's API allocation or concurrency limit.
        case rateLimited
        /// 5xx (`SERVER_UNAVAILABLE` 503…) or a retryable lock (`UNABLE_TO_LOCK_ROW`).
        case unavailable
        /// The token endpoint refused the credentials, or a fresh token was refused with 401.
        case unauthorized
        /// 403 other than the request limit (`INSUFFICIENT_ACCESS`, `API_DISABLED_FOR_ORG`…).
        case forbidden
        /// 404 `NOT_FOUND`: the record, object or external ID field does not exist.
        case notFound
        /// 300: an external ID value matches several records.
        case ambiguous
        /// 400 and other 4xx: validation (`INVALID_FIELD`, `REQUIRED_FIELD_MISSING`, `DUPLICATE_VALUE`…).
        case invalid
        /// A 2xx whose body could not be read.
        case invalidResponse
    }

    package var kind: Kind
    /// Safe to log: Salesforce's codes, messages and field names; never a token, key, secret or request body.
    package var message: String
    package var status: Int?
    package var retryAfter: Duration?
    /// Salesforce's `errorCode`s (REST) or the OAuth `error` (token endpoint).
    package var codes: [String]
    /// The fields the errors name.
    package var fields: [String]
    /// For a 300: the ids of the records the external ID value matches.
    package var matchingIDs: [String]

    package init(
        kind: Kind, message: String, status: Int? = nil, retryAfter: Duration? = nil, codes: [String] = [],
        fields: [String] = [], matchingIDs: [String] = []
    ) {
        self.kind = kind
        self.message = message
        self.status = status
        self.retryAfter = retryAfter
        self.codes = codes
        self.fields = fields
        self.matchingIDs = matchingIDs
    }

    package var description: String {
        status.map { "\(message) (HTTP \($0))" } ?? message
    }

    /// Whether a later retry of the same call can succeed.
    package var isRetryable: Bool {
        switch kind {
        case .transport, .cancelled, .rateLimited, .unavailable: true
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
            case .ambiguous, .invalid, .invalidResponse: .rejected
            }
        return DeliveryFailure(kind: failureKind, message: message, status: status, retryAfter: retryAfter)
    }

    /// `retry` for transport failures, request limits, 5xx and row locks; `reject` for what no retry can fix.
    package var outcome: DeliveryOutcome {
        isRetryable ? .retry(failure) : .reject(failure)
    }
}
