import Foundation

/// A failed Odoo call, normalised across JSON-2, JSON-RPC and XML-RPC.
///
/// `description` is safe to log: it carries the kind, the model/method, the HTTP status and Odoo's own one-line
/// message (capped), never the API key, request bodies or tracebacks.
public struct OdooError: Error, Sendable, Hashable {
    /// What went wrong, independent of the transport.
    public struct Kind: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The API key or login was refused (`AccessDenied`, HTTP 401, `authenticate` → `false`).
        public static let authentication = Kind(rawValue: "authentication")
        /// The user lacks rights (`AccessError`, HTTP 403, private method).
        public static let accessDenied = Kind(rawValue: "access_denied")
        /// A record id does not exist (any more) (`MissingError`).
        public static let missingRecord = Kind(rawValue: "missing_record")
        /// Odoo refused the data (`ValidationError`, `UserError`, HTTP 422).
        public static let validation = Kind(rawValue: "validation")
        /// Unknown model or method (app not installed, typo).
        public static let notFound = Kind(rawValue: "not_found")
        /// The request does not fit the method: wrong field, argument or value (Python `ValueError`/`TypeError`).
        public static let invalidRequest = Kind(rawValue: "invalid_request")
        /// HTTP 429; see `retryAfter`.
        public static let rateLimited = Kind(rawValue: "rate_limited")
        /// A concurrent update held a lock (HTTP 409, serialisation failure): retry.
        public static let conflict = Kind(rawValue: "conflict")
        /// The server is unavailable: 502/503/504, database down, unexpected 5xx.
        public static let unavailable = Kind(rawValue: "unavailable")
        /// No response: timeout or connection failure.
        public static let transport = Kind(rawValue: "transport")
        /// The response did not look like Odoo's (HTML, unreadable body).
        public static let invalidResponse = Kind(rawValue: "invalid_response")
        /// Weft's own Odoo configuration is incomplete (no database for JSON-RPC/XML-RPC, bad URL).
        public static let configuration = Kind(rawValue: "configuration")
        /// The call was cancelled before its answer came (a graceful shutdown ending a wait at the rate limit, a node that
        /// lost its claim): it may have run in Odoo or not, as after a timeout.
        public static let cancelled = Kind(rawValue: "cancelled")
    }

    /// The normalised kind.
    public var kind: Kind
    /// Odoo's message (first line, capped at 300 characters) or Weft's explanation.
    public var message: String
    /// The model and method called, e.g. `res.partner.create`.
    public var operation: String?
    /// HTTP status, when there was a response.
    public var status: Int?
    /// Odoo's exception class, e.g. `odoo.exceptions.ValidationError`, or the XML-RPC fault code.
    public var remoteName: String?
    /// For `rateLimited`: how long Odoo asked to wait.
    public var retryAfter: Duration?

    /// Creates an error; `message` is reduced to its first line and capped.
    public init(
        kind: Kind, message: String, operation: String? = nil, status: Int? = nil, remoteName: String? = nil,
        retryAfter: Duration? = nil
    ) {
        self.kind = kind
        self.message = Self.summarise(message)
        self.operation = operation
        self.status = status
        self.remoteName = remoteName
        self.retryAfter = retryAfter
    }

    /// `true` when the same call may succeed later without anyone changing data or configuration. Any other error is
    /// Odoo's refusal, or Weft's own configuration's before anything was sent: Odoo rolled the call back, so a caller may
    /// try the same work another way (one record at a time). After a transient error the call may have run (a timeout,
    /// a cancellation): only a later attempt, which reads Odoo again, may go on.
    public var isTransient: Bool {
        switch kind {
        case .rateLimited, .conflict, .unavailable, .transport, .invalidResponse, .missingRecord, .cancelled: true
        default: false
        }
    }

    /// `true` for Odoo's unique-index violation on `ir.model.data (module, name)`: the external id already exists.
    var isDuplicateExternalID: Bool {
        kind == .validation && (message.contains("duplicate key") || message.contains("ir_model_data_module_name_uniq"))
    }

    private static func summarise(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let firstLines = trimmed.split(separator: "\n", maxSplits: 2, omittingEmptySubsequences: true).prefix(2)
            .joined(separator: " ")
        return firstLines.count > 300 ? String(firstLines.prefix(300)) + "…" : firstLines
    }
}

extension OdooError: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        var text = "Odoo \(kind)"
        if let operation { text += " on \(operation)" }
        if let status { text += " (HTTP \(status))" }
        if !message.isEmpty { text += ": \(message)" }
        return text
    }

    public var debugDescription: String {
        "OdooError(kind: \(kind), operation: \(operation ?? "-"), status: \(status.map(String.init) ?? "-"), "
            + "remote: \(remoteName ?? "-"), retryAfter: \(retryAfter.map { "\($0)" } ?? "-"), message: \(message))"
    }
}
