import Synchronization
public import WeftCore

/// A `RequestGate` backed by a token bucket: the configured rate holds at the wire for every request this process
/// sends to one target, and a 429 pauses them all — also the requests already waiting for a slot booked before it, and
/// also when no rate is configured.
public final class RateGate: RequestGate {
    private let bucket: Mutex<TokenBucket>
    private let limited: Bool
    private let defaultPause: Duration
    private let onWait: @Sendable (Duration) -> Void
    private let now: @Sendable () -> ContinuousClock.Instant
    private let sleep: @Sendable (Duration) async throws -> Void

    /// - Parameters:
    ///   - limit: the rate, or `nil` for no limit (429s still pause).
    ///   - defaultPause: the pause after a 429 without `Retry-After`.
    ///   - onWait: called with every wait the gate imposes (metrics).
    public convenience init(
        limit: RateLimit?, defaultPause: Duration = .seconds(1), onWait: @escaping @Sendable (Duration) -> Void = { _ in }
    ) {
        self.init(
            limit: limit, defaultPause: defaultPause, onWait: onWait, now: { .now },
            sleep: { try await Task.sleep(for: $0) })
    }

    /// With the clock and the sleep passed in (tests).
    init(
        limit: RateLimit?, defaultPause: Duration, onWait: @escaping @Sendable (Duration) -> Void,
        now: @escaping @Sendable () -> ContinuousClock.Instant, sleep: @escaping @Sendable (Duration) async throws -> Void
    ) {
        self.limited = limit != nil
        // Without a limit only the bucket's pauses are read.
        self.bucket = Mutex(
            TokenBucket(ratePerSecond: limit?.perSecond ?? 1_000_000, burst: limit?.burst ?? 1_000_000, now: now()))
        self.defaultPause = defaultPause
        self.onWait = onWait
        self.now = now
        self.sleep = sleep
    }

    public func acquire() async throws {
        while true {
            try Task.checkCancellation()
            let (wait, pauses) = bucket.withLock { bucket -> (Duration?, Int) in
                let now = now()
                guard limited else {
                    let resume = bucket.resumesAt.flatMap { $0 > now ? now.duration(to: $0) : nil }
                    return (resume, bucket.pauses)
                }
                return (bucket.reserve(now: now), bucket.pauses)
            }
            guard let wait else { return }
            onWait(wait)
            try await sleep(wait)
            // A 429 that came while this request waited holds it too: it books again, behind the pause.
            if bucket.withLock({ $0.pauses }) == pauses { return }
        }
    }

    public func didReceiveRateLimit(retryAfter: Duration?) {
        bucket.withLock { $0.pause(for: retryAfter ?? defaultPause, now: now()) }
    }
}
