import Foundation

/// Authenticates Chargebee webhooks. Chargebee does not sign webhooks: the endpoint is protected by HTTP Basic auth
/// configured on the webhook in Chargebee (Settings → Configure Chargebee → Webhooks → "Protect webhook URL with
/// basic authentication"), which Chargebee sends as `Authorization: Basic base64(user:password)` with every delivery.
///
/// Several credentials may be configured so they can be rotated: add the new pair, change it in Chargebee, then
/// remove the old one. Every configured pair is compared, in time that does not depend on which (if any) matched or
/// where the bytes first differ.
public struct ChargebeeWebhookAuthenticator: Sendable, CustomStringConvertible {
    /// A user name and password pair.
    public struct Credentials: Sendable, Hashable {
        /// The Basic-auth user name configured on the webhook.
        public var username: String
        /// The Basic-auth password configured on the webhook.
        public var password: String

        /// Creates credentials.
        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    // `user:password` bytes, as Basic auth encodes them.
    private let expected: [[UInt8]]

    /// Creates an authenticator.
    /// - Parameter credentials: the accepted pairs, current first. Must not be empty.
    public init(credentials: [Credentials]) {
        precondition(!credentials.isEmpty, "ChargebeeWebhookAuthenticator needs at least one credential")
        self.expected = credentials.map { Array("\($0.username):\($0.password)".utf8) }
    }

    /// Never shows the credentials.
    public var description: String { "ChargebeeWebhookAuthenticator(credentials: \(expected.count))" }

    /// Checks one webhook request.
    /// - Parameter authorization: the `Authorization` header's value, `nil` when absent.
    /// - Throws: ``ChargebeeWebhookError``.
    public func authenticate(authorization: String?) throws(ChargebeeWebhookError) {
        guard let authorization, !authorization.isEmpty else { throw ChargebeeWebhookError(code: .missingHeader) }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            decoded.contains(UInt8(ascii: ":"))
        else { throw ChargebeeWebhookError(code: .malformedHeader) }
        let presented = Array(decoded)
        var matched = false
        for candidate in expected {
            // Non-short-circuiting so that the time spent does not depend on which pair matched.
            matched = StripeWebhookVerifier.constantTimeEquals(candidate, presented) || matched
        }
        guard matched else { throw ChargebeeWebhookError(code: .invalidCredentials) }
    }
}
