/// A failed call to the Chargebee API, classified for the caller's retry decision.
///
/// `description` is safe to log: the status, Chargebee's `type` and `api_error_code` (enumerations, not free text)
/// and the classification. Never the API key, the request or the response body.
public struct ChargebeeAPIError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case configuration, rateLimited, retryable, permanent, invalidResponse, transport, cancelled
    }

    /// How the caller should react.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// 401/403: the API key is wrong, revoked or lacks permission, or the site is blocked. Fix the configuration.
        public static let configuration = Code(.configuration)
        /// 429 (`api_request_limit_exceeded`): retry after ``ChargebeeAPIError/retryAfter`` or with backoff.
        public static let rateLimited = Code(.rateLimited)
        /// 5xx, 408, 409: retry with backoff.
        public static let retryable = Code(.retryable)
        /// Another 4xx: the request itself is wrong (e.g. a stale `offset`).
        public static let permanent = Code(.permanent)
        /// A 2xx whose body is not a Chargebee list of events.
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
    /// Chargebee's `type` (`invalid_request`, `payment`, `operation_failed`), when the body said.
    public var errorType: String?
    /// Chargebee's `api_error_code` (e.g. `api_request_limit_exceeded`), when the body said.
    public var apiErrorCode: String?
    /// How long Chargebee asked to wait (`Retry-After`), for 429s that carry it.
    public var retryAfter: Duration?
    /// A safe summary of the underlying failure (transport errors, response parsing).
    public var detail: String?

    /// Creates an error.
    public init(
        code: Code, status: Int? = nil, errorType: String? = nil, apiErrorCode: String? = nil, retryAfter: Duration? = nil,
        detail: String? = nil
    ) {
        self.code = code
        self.status = status
        self.errorType = errorType
        self.apiErrorCode = apiErrorCode
        self.retryAfter = retryAfter
        self.detail = detail
    }

    /// `true` when the same request may succeed later.
    public var isRetryable: Bool { code == .rateLimited || code == .retryable || code == .transport }

    public var description: String {
        var parts = ["Chargebee API error: \(code)"]
        if let status { parts.append("status \(status)") }
        if let errorType { parts.append("type \(errorType)") }
        if let apiErrorCode { parts.append("api_error_code \(apiErrorCode)") }
        if let retryAfter { parts.append("retry after \(retryAfter)") }
        if let detail { parts.append(detail) }
        return parts.joined(separator: ", ")
    }
}
