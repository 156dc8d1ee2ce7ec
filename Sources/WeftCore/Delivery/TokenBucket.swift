/// A rate limiter with token-bucket semantics (`rate` per second, bursts up to `burst`), kept as the generic cell
/// rate algorithm: one "theoretical arrival time" instead of a token count. Pure state machine: time is passed in.
///
/// `reserve` books the next free slot and says how long to wait for it, so concurrent callers queue fairly and the
/// rate holds at the wire. A new bucket starts empty, so a restarted process cannot burst past what the target saw
/// just before.
public struct TokenBucket: Hashable, Sendable {
    public let ratePerSecond: Double
    public let burst: Int
    private let interval: Duration
    private let tolerance: Duration
    private var theoreticalArrival: ContinuousClock.Instant
    /// When the last pause ends: a caller whose booked slot falls before it books again (`RateGate` does).
    public private(set) var resumesAt: ContinuousClock.Instant?

    public init(ratePerSecond: Double, burst: Int, now: ContinuousClock.Instant) {
        self.ratePerSecond = max(ratePerSecond, 0.001)
        self.burst = max(burst, 1)
        self.interval = .nanoseconds(Int64((1e9 / self.ratePerSecond).rounded(.up)))
        self.tolerance = interval * (self.burst - 1)
        self.theoreticalArrival = now.advanced(by: tolerance)
    }

    /// Books one slot. Returns `nil` to go now, or the wait before the booked slot.
    public mutating func reserve(now: ContinuousClock.Instant) -> Duration? {
        let arrival = max(theoreticalArrival, now)
        let allowedAt = arrival.advanced(by: .zero - tolerance)
        theoreticalArrival = arrival.advanced(by: interval)
        return allowedAt > now ? now.duration(to: allowedAt) : nil
    }

    /// Takes a slot if one is free now and books nothing otherwise: for work that is skipped, not delayed, when the
    /// rate is spent (or a pause holds).
    public mutating func take(now: ContinuousClock.Instant) -> Bool {
        let arrival = max(theoreticalArrival, now)
        guard arrival.advanced(by: .zero - tolerance) <= now else { return false }
        theoreticalArrival = arrival.advanced(by: interval)
        return true
    }

    /// Holds every reservation until `now + duration` (a 429's `Retry-After`), and then restarts at the base rate.
    /// Slots booked before the pause are not held back by it: their callers compare their slot with `resumesAt` and
    /// book again when it falls inside the pause (`RateGate` does).
    public mutating func pause(for duration: Duration, now: ContinuousClock.Instant) {
        let resumeAt = now.advanced(by: duration).advanced(by: tolerance)
        if resumeAt > theoreticalArrival { theoreticalArrival = resumeAt }
        let end = now.advanced(by: duration)
        if resumesAt.map({ end > $0 }) ?? true { resumesAt = end }
    }
}
