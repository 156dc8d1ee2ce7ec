import Synchronization
public import WeftCore

/// A `RequestGate` backed by a token bucket: the configured rate holds at the wire for every request this process
/// sends to one target, and a 429 pauses them all.
public final class RateGate: RequestGate {
    private let bucket: Mutex<TokenBucket>
    private let limited: Bool
    private let defaultPause: Duration
    private let onWait: @Sendable (Duration) -> Void

    /// - Parameters:
    ///   - limit: the rate, or `nil` for no limit (429s still pause).
    ///   - defaultPause: the pause after a 429 without `Retry-After`.
    ///   - onWait: called with every wait the gate imposes (metrics).
    public init(limit: RateLimit?, defaultPause: Duration = .seconds(1), onWait: @escaping @Sendable (Duration) -> Void = { _ in }) {
        let now = ContinuousClock.now
        self.bucket = Mutex(TokenBucket(ratePerSecond: limit?.perSecond ?? 1_000_000, burst: limit?.burst ?? 1_000_000, now: now))
        self.limited = limit != nil
        self.defaultPause = defaultPause
        self.onWait = onWait
    }

    public func acquire() async throws {
        try Task.checkCancellation()
        guard limited else { return }
        if let wait = bucket.withLock({ $0.reserve(now: .now) }) {
            onWait(wait)
            try await Task.sleep(for: wait)
        }
    }

    public func didReceiveRateLimit(retryAfter: Duration?) {
        bucket.withLock { $0.pause(for: retryAfter ?? defaultPause, now: .now) }
    }
}
