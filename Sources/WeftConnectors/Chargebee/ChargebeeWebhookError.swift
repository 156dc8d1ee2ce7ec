/// Why a Chargebee webhook was rejected by ``ChargebeeWebhookAuthenticator``.
///
/// The `description` is safe to log: it never contains a user name, a password or the header.
public struct ChargebeeWebhookError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case missingHeader, malformedHeader, invalidCredentials
    }

    /// A stable error code to match on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The request had no `Authorization` header (the webhook URL in Chargebee has no Basic-auth credentials).
        public static let missingHeader = Code(.missingHeader)
        /// The header is not `Basic <base64 of user:password>`.
        public static let malformedHeader = Code(.malformedHeader)
        /// The user name and password match none of the configured credentials.
        public static let invalidCredentials = Code(.invalidCredentials)

        public var description: String {
            switch base {
            case .missingHeader: "missing_header"
            case .malformedHeader: "malformed_header"
            case .invalidCredentials: "invalid_credentials"
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
        case .missingHeader: "Chargebee webhook rejected: no Authorization header (set Basic auth on the webhook in Chargebee)"
        case .malformedHeader: "Chargebee webhook rejected: Authorization is not Basic user:password"
        default: "Chargebee webhook rejected: user name and password match no configured credentials"
        }
    }
}
