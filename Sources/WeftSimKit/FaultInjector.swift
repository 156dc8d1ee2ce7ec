import Synchronization

/// Holds the active `FaultPlan` and decides, request by request, what to inject.
public final class FaultInjector: Sendable {
    /// What to do with one request.
    public enum Decision: Sendable, Hashable {
        /// Serve it, after `delay`.
        case proceed(delay: Duration)
        /// Answer with `status` (and `Retry-After` when given) instead of serving it, after `delay`.
        case fail(status: Int, retryAfterSeconds: Int?, delay: Duration)
    }

    private struct State {
        var plan = FaultPlan()
        var outageUntil: ContinuousClock.Instant?
        var random: SplitMix64
        var injected = 0
    }

    private let state: Mutex<State>

    /// - Parameter seed: seeds the generator that picks which requests fail, so runs can be repeated.
    public init(seed: UInt64 = 0x5EED) {
        self.state = Mutex(State(random: SplitMix64(seed: seed)))
    }

    /// Activates `plan` (an outage starts now).
    public func set(_ plan: FaultPlan) {
        state.withLock { state in
            state.plan = plan
            state.outageUntil = plan.outageSeconds.map {
                ContinuousClock.now.advanced(by: .milliseconds(Int64($0 * 1000)))
            }
        }
    }

    /// Removes every fault.
    public func clear() { set(FaultPlan()) }

    /// The active plan.
    public var plan: FaultPlan { state.withLock { $0.plan } }

    /// Whether no fault is planned: every request would be served at once, so `decide` need not be asked (it changes
    /// nothing then).
    public var isQuiet: Bool { state.withLock { $0.plan == FaultPlan() && $0.outageUntil == nil } }

    /// How many requests got an injected failure so far.
    public var injectedCount: Int { state.withLock { $0.injected } }

    /// Decides for a request to `path`.
    public func decide(path: String) -> Decision {
        if path.hasPrefix("/__sim/") { return .proceed(delay: .zero) }
        return state.withLock { state in
            let plan = state.plan
            if let prefix = plan.pathPrefix, !path.hasPrefix(prefix) { return .proceed(delay: .zero) }
            let delay = Duration.milliseconds(plan.latencyMs)
            if let until = state.outageUntil {
                if ContinuousClock.now < until {
                    state.injected += 1
                    return .fail(status: 503, retryAfterSeconds: nil, delay: delay)
                }
                state.outageUntil = nil
            }
            if plan.rateLimitRate > 0, state.random.nextUnit() < plan.rateLimitRate {
                state.injected += 1
                return .fail(status: 429, retryAfterSeconds: plan.retryAfterSeconds, delay: delay)
            }
            if plan.errorRate > 0, state.random.nextUnit() < plan.errorRate {
                state.injected += 1
                return .fail(status: plan.errorStatus, retryAfterSeconds: nil, delay: delay)
            }
            return .proceed(delay: delay)
        }
    }
}

/// A small, fast, seedable generator (SplitMix64), shared by the simulators and harnesses so runs can be repeated.
public struct SplitMix64: Sendable, RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { self.state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }
}
