import Crypto
import Foundation

/// Checks the shared-secret header of a Freshdesk automation webhook.
///
/// Freshdesk signs nothing: a "Trigger webhook" action only sends the custom headers the admin typed. Weft therefore
/// requires one header (default `X-Weft-Webhook-Secret`) carrying a long random secret, compared in constant time
/// against each configured secret (several during a rotation). Use HTTPS so the header is not readable on the way.
public struct FreshdeskWebhookAuthenticator: Sendable, CustomStringConvertible {
    /// The header Weft reads by default.
    public static let defaultHeaderName = "X-Weft-Webhook-Secret"

    /// The header to read (case-insensitive, as HTTP header names are).
    public let headerName: String
    // SHA-256 of each secret: comparing digests keeps the time independent of the secrets' lengths.
    private let digests: [[UInt8]]

    /// - Parameters:
    ///   - headerName: the custom header set in the automation rule.
    ///   - secrets: the accepted secrets: the current one and, during a rotation, the previous one. Empty strings
    ///     are ignored; at least one secret is required.
    public init(headerName: String = FreshdeskWebhookAuthenticator.defaultHeaderName, secrets: [String])
        throws(FreshdeskWebhookError)
    {
        let usable = secrets.filter { !$0.isEmpty }
        guard !usable.isEmpty else { throw FreshdeskWebhookError(code: .noSecretConfigured) }
        self.headerName = headerName
        self.digests = usable.map { Array(SHA256.hash(data: Data($0.utf8))) }
    }

    /// Never shows the secrets.
    public var description: String { "FreshdeskWebhookAuthenticator(header: \(headerName), secrets: \(digests.count))" }

    /// Accepts the request when `headerValue` (the value of `headerName`, `nil` when absent) equals a secret.
    public func authenticate(headerValue: String?) throws(FreshdeskWebhookError) {
        guard let headerValue, !headerValue.isEmpty else { throw FreshdeskWebhookError(code: .missingSecret) }
        let given = Array(SHA256.hash(data: Data(headerValue.utf8)))
        var matched = false
        for digest in digests {
            var difference: UInt8 = 0
            for index in 0..<digest.count { difference |= digest[index] ^ given[index] }
            matched = (difference == 0) || matched
        }
        guard matched else { throw FreshdeskWebhookError(code: .wrongSecret) }
    }

    /// Looks `headerName` up in `headers` (name, value pairs; names compared case-insensitively) and authenticates.
    public func authenticate(headers: some Sequence<(String, String)>) throws(FreshdeskWebhookError) {
        let name = headerName.lowercased()
        try authenticate(headerValue: headers.first { $0.0.lowercased() == name }?.1)
    }
}

/// Why a Freshdesk webhook was refused. `description` never contains a secret or the body.
public struct FreshdeskWebhookError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case noSecretConfigured, missingSecret, wrongSecret, invalidJSON, notAnObject, missingTicketID, invalidField
    }

    /// A stable code to match on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The authenticator was made without a secret.
        public static let noSecretConfigured = Code(.noSecretConfigured)
        /// The request has no secret header (answer 401).
        public static let missingSecret = Code(.missingSecret)
        /// The header matches no configured secret (answer 401).
        public static let wrongSecret = Code(.wrongSecret)
        /// The body is not JSON (check the rule's JSON template).
        public static let invalidJSON = Code(.invalidJSON)
        /// The body is JSON but not an object.
        public static let notAnObject = Code(.notAnObject)
        /// `ticket_id` is absent or not a number.
        public static let missingTicketID = Code(.missingTicketID)
        /// A known field has the wrong type; `field` names it.
        public static let invalidField = Code(.invalidField)

        public var description: String {
            switch base {
            case .noSecretConfigured: "no_secret_configured"
            case .missingSecret: "missing_secret"
            case .wrongSecret: "wrong_secret"
            case .invalidJSON: "invalid_json"
            case .notAnObject: "not_an_object"
            case .missingTicketID: "missing_ticket_id"
            case .invalidField: "invalid_field"
            }
        }
    }

    public var code: Code
    /// The body field at fault, for `invalidField`.
    public var field: String?

    public init(code: Code, field: String? = nil) {
        self.code = code
        self.field = field
    }

    public var description: String {
        switch code {
        case .noSecretConfigured: "Freshdesk webhook secret is not configured: set webhook_secret_env"
        case .missingSecret: "Freshdesk webhook rejected: the shared-secret header is missing"
        case .wrongSecret: "Freshdesk webhook rejected: the shared-secret header does not match"
        case .invalidJSON: "Freshdesk webhook body is not JSON: paste the JSON template from docs/connectors/freshdesk.md"
        case .notAnObject: "Freshdesk webhook body must be a JSON object"
        case .missingTicketID: "Freshdesk webhook body has no numeric ticket_id: use {{ticket.id}} in the template"
        default: "Freshdesk webhook body field \(field ?? "?") has the wrong type"
        }
    }
}
