/// A failed Freshdesk call. `description` is safe to log: the operation, the status and Freshdesk's field errors
/// (field names and Freshdesk's messages), never the API key or request bodies.
public struct FreshdeskError: Error, Sendable, Hashable {
    /// What went wrong.
    public struct Kind: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// 401: the API key was refused.
        public static let authentication = Kind(rawValue: "authentication")
        /// 403: the agent lacks the privilege, or the feature is off.
        public static let accessDenied = Kind(rawValue: "access_denied")
        /// 400: Freshdesk refused the data (`errors` says which field).
        public static let validation = Kind(rawValue: "validation")
        /// 409: a unique value (company name, domain, contact email) is taken.
        public static let conflict = Kind(rawValue: "conflict")
        /// 404: no such record (deleted meanwhile) or wrong URL.
        public static let notFound = Kind(rawValue: "not_found")
        /// 429: see `retryAfter`.
        public static let rateLimited = Kind(rawValue: "rate_limited")
        /// 5xx.
        public static let unavailable = Kind(rawValue: "unavailable")
        /// No response: timeout or connection failure.
        public static let transport = Kind(rawValue: "transport")
        /// The response was not Freshdesk's JSON.
        public static let invalidResponse = Kind(rawValue: "invalid_response")
        /// The call was cancelled (shutdown).
        public static let cancelled = Kind(rawValue: "cancelled")
    }

    /// One entry of Freshdesk's `errors` array.
    public struct FieldError: Sendable, Hashable {
        public var field: String
        public var code: String
        public var message: String
        /// `additional_info.company_id` of a duplicate company name.
        public var companyID: Int64?
        /// `additional_info.user_id` of a duplicate contact email: the contact that holds it.
        public var contactID: Int64? = nil
    }

    public var kind: Kind
    /// What Weft was doing, e.g. `search companies`.
    public var operation: String
    public var status: Int?
    /// Freshdesk's `message`/`description`, or Weft's explanation.
    public var message: String
    public var errors: [FieldError]
    public var retryAfter: Duration?

    init(
        kind: Kind, operation: String, status: Int? = nil, message: String, errors: [FieldError] = [],
        retryAfter: Duration? = nil
    ) {
        self.kind = kind
        self.operation = operation
        self.status = status
        self.message = message
        self.errors = errors
        self.retryAfter = retryAfter
    }

    /// `true` when the same call may succeed later without anyone changing data or configuration.
    public var isTransient: Bool {
        [.rateLimited, .unavailable, .transport, .invalidResponse, .cancelled].contains(kind)
    }

    /// Whether the failed call was a contact call (`find contact`, `create contact`…).
    var isAboutContacts: Bool { operation.hasSuffix("contact") }

    /// The field errors as `field: message (code)`, joined.
    var fieldSummary: String {
        errors.map { "\($0.field): \($0.message) (\($0.code))" }.joined(separator: "; ")
    }
}

extension FreshdeskError: CustomStringConvertible {
    public var description: String {
        var text = "Freshdesk \(kind) on \(operation)"
        if let status { text += " (HTTP \(status))" }
        let detail = errors.isEmpty ? message : fieldSummary
        if !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}
