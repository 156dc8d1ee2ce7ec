/// What happened to one command in a delivery attempt.
public enum DeliveryOutcome: Sendable, Hashable {
    /// The target holds the effect. `record` is the target's id for it, when there is one; `note` says anything an
    /// operator should know (e.g. "kept in Weft: no subscription app").
    case delivered(record: TargetRecordID?, note: String? = nil)
    /// A transient failure: try again later (after `failure.retryAfter` when the target said).
    case retry(DeliveryFailure)
    /// A permanent failure: retrying will not help until someone fixes data or configuration.
    case reject(DeliveryFailure)
}

/// Why a delivery did not succeed. `message` is safe to log and show: no secrets, no payloads.
public struct DeliveryFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// Broad classes of failure, for metrics and retry decisions.
    public struct Kind: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Could not reach the target, or it timed out.
        public static let transport = Kind(rawValue: "transport")
        /// The target answered 5xx or said it is unavailable.
        public static let unavailable = Kind(rawValue: "unavailable")
        /// The target answered 429 or an equivalent.
        public static let rateLimited = Kind(rawValue: "rate_limited")
        /// A record this one depends on is not in the target yet.
        public static let dependencyMissing = Kind(rawValue: "dependency_missing")
        /// The target refused the data (validation).
        public static let rejected = Kind(rawValue: "rejected")
        /// Credentials or permissions are wrong.
        public static let unauthorized = Kind(rawValue: "unauthorized")
        /// Weft's circuit breaker for this target is open.
        public static let circuitOpen = Kind(rawValue: "circuit_open")
    }

    public var kind: Kind
    public var message: String
    /// HTTP status, when there was one.
    public var status: Int?
    /// How long the target asked us to wait.
    public var retryAfter: Duration?

    public init(kind: Kind, message: String, status: Int? = nil, retryAfter: Duration? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
        self.retryAfter = retryAfter
    }

    public var description: String {
        if let status { return "\(kind) (HTTP \(status)): \(message)" }
        return "\(kind): \(message)"
    }
}
