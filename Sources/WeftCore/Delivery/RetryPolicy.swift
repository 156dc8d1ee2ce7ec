/// Exponential backoff with jitter and a configured number of attempts (no hidden cap: after `maxAttempts` a command
/// is dead-lettered, whatever the failure).
public struct RetryPolicy: Hashable, Sendable {
    /// Delay before the second attempt.
    public var initialDelay: Duration
    /// Growth factor per attempt.
    public var multiplier: Double
    /// Upper bound of one delay.
    public var maxDelay: Duration
    /// Total attempts, the first included. After the last failed one, the command is dead.
    public var maxAttempts: Int
    /// Fraction of each delay that is randomised (0 = none, 1 = "full jitter").
    public var jitter: Double

    public init(
        initialDelay: Duration = .milliseconds(500), multiplier: Double = 2, maxDelay: Duration = .seconds(300),
        maxAttempts: Int = 12, jitter: Double = 0.2
    ) {
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maxDelay = maxDelay
        self.maxAttempts = maxAttempts
        self.jitter = jitter
    }

    /// The delay after failed attempt number `attempt` (1-based), honouring a target's `Retry-After` as a minimum.
    /// `unit` is a random number in [0, 1) (injected, so tests are deterministic).
    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil, unit: Double) -> Duration {
        let exponent = Double(max(0, attempt - 1))
        let base = min(Self.seconds(initialDelay) * pow(multiplier, exponent), Self.seconds(maxDelay))
        let jittered = base * (1 - jitter) + base * jitter * unit
        let backoff = Duration.milliseconds(Int64((jittered * 1000).rounded()))
        guard let retryAfter else { return backoff }
        return max(backoff, retryAfter)
    }

    /// Whether another attempt is allowed after `attempts` attempts.
    public func allowsAnotherAttempt(after attempts: Int) -> Bool { attempts < maxAttempts }

    static func seconds(_ duration: Duration) -> Double { duration.timeInterval }

    private func pow(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        var remaining = Int(exponent)
        while remaining > 0 {
            result *= base
            remaining -= 1
            if result > 1e12 { break }
        }
        return result
    }
}

extension Duration {
    /// The duration in seconds, as `TimeInterval` (for `Date` arithmetic).
    public var timeInterval: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
