/// Why a Stripe webhook was rejected by ``StripeWebhookVerifier``.
///
/// The `description` is safe to log: it never contains a secret, a signature or the body.
public struct StripeWebhookError: Error, Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    private enum Base: Hashable, Sendable {
        case missingHeader, malformedHeader, noV1Signature, timestampOutsideTolerance, noMatchingSignature
    }

    /// A stable error code to match on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The request had no `Stripe-Signature` header.
        public static let missingHeader = Code(.missingHeader)
        /// The header has no `t=` element, or its timestamp is not an integer.
        public static let malformedHeader = Code(.malformedHeader)
        /// The header carries no signature with the `v1` scheme.
        public static let noV1Signature = Code(.noV1Signature)
        /// The signature matched but its timestamp is older than the tolerance (a replay).
        public static let timestampOutsideTolerance = Code(.timestampOutsideTolerance)
        /// No `v1` signature matches the body under any configured secret.
        public static let noMatchingSignature = Code(.noMatchingSignature)

        public var description: String {
            switch base {
            case .missingHeader: "missing_header"
            case .malformedHeader: "malformed_header"
            case .noV1Signature: "no_v1_signature"
            case .timestampOutsideTolerance: "timestamp_outside_tolerance"
            case .noMatchingSignature: "no_matching_signature"
            }
        }
    }

    /// What went wrong.
    public var code: Code
    /// The signed timestamp (unix seconds), when the header had a valid one. Not secret.
    public var timestamp: Int64?

    /// Creates an error.
    public init(code: Code, timestamp: Int64? = nil) {
        self.code = code
        self.timestamp = timestamp
    }

    public var description: String {
        switch code {
        case .missingHeader: "Stripe webhook rejected: no Stripe-Signature header"
        case .malformedHeader: "Stripe webhook rejected: unable to extract timestamp and signatures from header"
        case .noV1Signature: "Stripe webhook rejected: no signatures found with expected scheme v1"
        case .timestampOutsideTolerance: "Stripe webhook rejected: timestamp outside the tolerance zone"
        default: "Stripe webhook rejected: no signatures found matching the expected signature for payload"
        }
    }

    public var debugDescription: String {
        guard let timestamp else { return "StripeWebhookError(\(code))" }
        return "StripeWebhookError(\(code), t=\(timestamp))"
    }
}
