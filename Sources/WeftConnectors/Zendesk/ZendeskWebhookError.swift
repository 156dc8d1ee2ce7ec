/// Why a Zendesk webhook was rejected by ``ZendeskWebhookVerifier``.
///
/// The `description` is safe to log: it never contains a secret, a signature or the body.
public struct ZendeskWebhookError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case missingHeader, malformedTimestamp, badSignature, tooOld
    }

    /// A stable error code to match on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// `X-Zendesk-Webhook-Signature` or `X-Zendesk-Webhook-Signature-Timestamp` is missing.
        public static let missingHeader = Code(.missingHeader)
        /// The timestamp is not ISO 8601 (`2023-11-14T22:13:20Z`).
        public static let malformedTimestamp = Code(.malformedTimestamp)
        /// The signature matches the body under none of the configured secrets.
        public static let badSignature = Code(.badSignature)
        /// The signature matched but its timestamp is outside the freshness window (a replay).
        public static let tooOld = Code(.tooOld)

        public var description: String {
            switch base {
            case .missingHeader: "missing_header"
            case .malformedTimestamp: "malformed_timestamp"
            case .badSignature: "bad_signature"
            case .tooOld: "too_old"
            }
        }
    }

    /// What went wrong.
    public var code: Code

    /// Creates an error.
    public init(code: Code) {
        self.code = code
    }

    public var description: String {
        switch code {
        case .missingHeader: "Zendesk webhook rejected: no X-Zendesk-Webhook-Signature(-Timestamp) header"
        case .malformedTimestamp: "Zendesk webhook rejected: the signature timestamp is not ISO 8601"
        case .tooOld: "Zendesk webhook rejected: the signature timestamp is outside the freshness window"
        default: "Zendesk webhook rejected: the signature does not match the body"
        }
    }
}
