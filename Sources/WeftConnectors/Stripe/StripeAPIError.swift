/// A failed call to the Stripe API, classified for the caller's retry decision.
///
/// `description` is safe to log: the status, Stripe's error `type` and `code` (enumerations, not free text) and the
/// classification. Never the API key, the request or the response body.
public struct StripeAPIError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case configuration, rateLimited, retryable, permanent, invalidResponse, transport, cancelled
    }

    /// How the caller should react.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// 401/403: the secret key is wrong, revoked or lacks permission. Retrying will not help; fix the
        /// configuration.
        public static let configuration = Code(.configuration)
        /// 429: retry after ``StripeAPIError/retryAfter`` or, when Stripe gave none, with exponential backoff.
        public static let rateLimited = Code(.rateLimited)
        /// 5xx, 408, 409 (`lock_timeout`): retry with backoff.
        public static let retryable = Code(.retryable)
        /// Another 4xx: the request itself is wrong (e.g. an unknown `starting_after`).
        public static let permanent = Code(.permanent)
        /// A 2xx whose body is not a Stripe list of events.
        public static let invalidResponse = Code(.invalidResponse)
        /// No response: timeout or connection failure; retry with backoff.
        public static let transport = Code(.transport)
        /// The calling task was cancelled.
        public static let cancelled = Code(.cancelled)

        public var description: String {
            switch base {
            case .configuration: "configuration"
            case .rateLimited: "rate_limited"
            case .retryable: "retryable"
            case .permanent: "permanent"
            case .invalidResponse: "invalid_response"
            case .transport: "transport"
            case .cancelled: "cancelled"
            }
        }
    }

    /// The classification.
    public var code: Code
    /// The HTTP status, when there was a response.
    public var status: Int?
    /// Stripe's `error.type` (e.g. `invalid_request_error`), when the body said.
    public var stripeType: String?
    /// Stripe's `error.code` (e.g. `rate_limit`, `lock_timeout`), when the body said.
    public var stripeCode: String?
    /// How long Stripe asked to wait (`Retry-After`), for 429s that carry it.
    public var retryAfter: Duration?
    /// A safe summary of the underlying failure (transport errors, response parsing).
    public var detail: String?

    /// Creates an error.
    public init(
        code: Code, status: Int? = nil, stripeType: String? = nil, stripeCode: String? = nil,
        retryAfter: Duration? = nil, detail: String? = nil
    ) {
        self.code = code
        self.status = status
        self.stripeType = stripeType
        self.stripeCode = stripeCode
        self.retryAfter = retryAfter
        self.detail = detail
    }

    /// `true` when the same request may succeed later.
    public var isRetryable: Bool {
        code == .rateLimited || code == .retryable || code == .transport
    }

    public var description: String {
        var parts = ["Stripe API error: \(code)"]
        if let status { parts.append("status \(status)") }
        if let stripeType { parts.append("type \(stripeType)") }
        if let stripeCode { parts.append("code \(stripeCode)") }
        if let retryAfter { parts.append("retry after \(retryAfter)") }
        if let detail { parts.append(detail) }
        return parts.joined(separator: ", ")
    }
}
