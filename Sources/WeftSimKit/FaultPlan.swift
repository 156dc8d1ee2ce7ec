/// Faults a simulator injects into its API, set over `POST /__sim/faults` or from Swift.
public struct FaultPlan: Codable, Sendable, Hashable {
    /// Added latency for every matching request, in milliseconds.
    public var latencyMs: Int
    /// Fraction (0…1) of matching requests answered with `errorStatus`.
    public var errorRate: Double
    /// The status of injected errors (500, 502, 503…).
    public var errorStatus: Int
    /// Fraction (0…1) of matching requests answered 429.
    public var rateLimitRate: Double
    /// `Retry-After` seconds sent with injected 429s (`nil` sends none).
    public var retryAfterSeconds: Int?
    /// Full outage: every matching request is answered 503 for this many seconds from when the plan is set.
    public var outageSeconds: Double?
    /// Only paths with this prefix are affected (`nil`: every path except `/__sim/`).
    public var pathPrefix: String?

    public init(
        latencyMs: Int = 0, errorRate: Double = 0, errorStatus: Int = 500, rateLimitRate: Double = 0,
        retryAfterSeconds: Int? = nil, outageSeconds: Double? = nil, pathPrefix: String? = nil
    ) {
        self.latencyMs = latencyMs
        self.errorRate = errorRate
        self.errorStatus = errorStatus
        self.rateLimitRate = rateLimitRate
        self.retryAfterSeconds = retryAfterSeconds
        self.outageSeconds = outageSeconds
        self.pathPrefix = pathPrefix
    }

    enum CodingKeys: String, CodingKey {
        case latencyMs = "latency_ms"
        case errorRate = "error_rate"
        case errorStatus = "error_status"
        case rateLimitRate = "rate_limit_rate"
        case retryAfterSeconds = "retry_after_seconds"
        case outageSeconds = "outage_seconds"
        case pathPrefix = "path_prefix"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.latencyMs = try container.decodeIfPresent(Int.self, forKey: .latencyMs) ?? 0
        self.errorRate = try container.decodeIfPresent(Double.self, forKey: .errorRate) ?? 0
        self.errorStatus = try container.decodeIfPresent(Int.self, forKey: .errorStatus) ?? 500
        self.rateLimitRate = try container.decodeIfPresent(Double.self, forKey: .rateLimitRate) ?? 0
        self.retryAfterSeconds = try container.decodeIfPresent(Int.self, forKey: .retryAfterSeconds)
        self.outageSeconds = try container.decodeIfPresent(Double.self, forKey: .outageSeconds)
        self.pathPrefix = try container.decodeIfPresent(String.self, forKey: .pathPrefix)
    }
}
