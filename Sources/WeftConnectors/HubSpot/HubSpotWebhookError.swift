/// Why a HubSpot webhook was rejected by ``HubSpotWebhookVerifier`` or ``HubSpotWebhookEvent/parse(_:)``.
///
/// The `description` is safe to log: it never contains a secret, a signature or the body.
public struct HubSpotWebhookError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Base: Hashable, Sendable {
        case missingHeader, unsupportedVersion, malformedTimestamp, badSignature, tooOld, malformedPayload
    }

    /// A stable error code to match on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// `X-HubSpot-Signature-v3` or `X-HubSpot-Request-Timestamp` is missing.
        public static let missingHeader = Code(.missingHeader)
        /// Only a v1 or v2 signature was sent; they carry no timestamp, so a replay cannot be told apart.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// The timestamp is not unix milliseconds.
        public static let malformedTimestamp = Code(.malformedTimestamp)
        /// The signature matches under none of the configured client secrets.
        public static let badSignature = Code(.badSignature)
        /// The signature matched but the timestamp is outside the window (a replay).
        public static let tooOld = Code(.tooOld)
        /// The body is not a JSON array of events.
        public static let malformedPayload = Code(.malformedPayload)

        public var description: String {
            switch base {
            case .missingHeader: "missing_header"
            case .unsupportedVersion: "unsupported_version"
            case .malformedTimestamp: "malformed_timestamp"
            case .badSignature: "bad_signature"
            case .tooOld: "too_old"
            case .malformedPayload: "malformed_payload"
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
        case .missingHeader: "HubSpot webhook rejected: no X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp header"
        case .unsupportedVersion:
            "HubSpot webhook rejected: only a v1/v2 signature was sent; Weft accepts v3 signatures only"
        case .malformedTimestamp: "HubSpot webhook rejected: X-HubSpot-Request-Timestamp is not unix milliseconds"
        case .tooOld: "HubSpot webhook rejected: the request timestamp is outside the accepted window"
        case .malformedPayload: "HubSpot webhook rejected: the body is not a JSON array of events"
        default: "HubSpot webhook rejected: the v3 signature does not match the request"
        }
    }
}
