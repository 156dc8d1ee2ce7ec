import ServiceLifecycle
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
            let wait = bucket.withLock { bucket -> Duration? in
                let instant = self.now()
                guard limited else { return bucket.resumesAt.flatMap { $0 > instant ? instant.duration(to: $0) : nil } }
                return bucket.reserve(now: instant)
            }
            guard let wait else { return }
            onWait(wait)
            // A graceful shutdown ends the wait: the delivery answers "retry later" and the node stops.
            try await cancelWhenGracefulShutdown { try await self.sleep(wait) }
            try Task.checkCancellation()
            // A 429 came while this request waited and its slot falls inside the pause: it books again, behind it.
            // A slot after the pause's end is kept.
            let woke = self.now()
            if bucket.withLock({ $0.resumesAt.map { $0 <= woke } ?? true }) { return }
        }
    }

    /// Holds every request for `retryAfter` (the default pause without one), at most `longestPause` at a time: a
    /// longer `Retry-After` is honoured by the command that was answered 429 (it is retried after all of it), while
    /// the others try again after the longest pause, so a delivery does not sit in the gate, holding its claims, for
    /// hours. The longest pause is Salesforce's hold after its daily allocation runs out (15 minutes), the longest
    /// Weft's connectors ask for themselves.
    public func didReceiveRateLimit(retryAfter: Duration?) {
        bucket.withLock { $0.pause(for: min(retryAfter ?? defaultPause, Self.longestPause), now: now()) }
    }

    /// The longest a 429 holds the requests waiting in the gate.
    public static let longestPause = Duration.seconds(900)
}
