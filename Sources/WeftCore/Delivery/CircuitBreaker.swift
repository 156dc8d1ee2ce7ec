/// A circuit breaker per target: after `failureThreshold` consecutive transient failures it opens for `openFor`,
/// then lets one probe through (half-open); the probe's success closes it, its failure opens it again. Pure state
/// machine: time is passed in.
public struct CircuitBreaker: Hashable, Sendable {
    /// The breaker's state.
    public enum State: Hashable, Sendable {
        case closed(consecutiveFailures: Int)
        case open(until: ContinuousClock.Instant)
        case halfOpen(probeInFlight: Bool)

        /// 0 closed, 1 open, 2 half-open (the `weft_breaker_state` gauge).
        public var gaugeValue: Int {
            switch self {
            case .closed: 0
            case .open: 1
            case .halfOpen: 2
            }
        }
    }

    public private(set) var state: State = .closed(consecutiveFailures: 0)
    public var failureThreshold: Int
    public var openFor: Duration

    public init(failureThreshold: Int = 5, openFor: Duration = .seconds(10)) {
        self.failureThreshold = failureThreshold
        self.openFor = openFor
    }

    /// Decides whether a delivery may start now. When it may not, returns how long to wait.
    public mutating func admit(now: ContinuousClock.Instant) -> Duration? {
        switch state {
        case .closed:
            return nil
        case .open(let until):
            if now < until { return now.duration(to: until) }
            state = .halfOpen(probeInFlight: true)
            return nil
        case .halfOpen(let probeInFlight):
            if probeInFlight { return .milliseconds(50) }
            state = .halfOpen(probeInFlight: true)
            return nil
        }
    }

    /// Gives back an admitted probe that found nothing to send, so the next attempt may probe.
    public mutating func abandonProbe() {
        if case .halfOpen = state { state = .halfOpen(probeInFlight: false) }
    }

    /// Records a delivery that reached the target and succeeded (or failed permanently: the target is up).
    public mutating func recordSuccess() {
        state = .closed(consecutiveFailures: 0)
    }

    /// Records a transient failure (transport, 5xx, 429).
    public mutating func recordFailure(now: ContinuousClock.Instant) {
        switch state {
        case .closed(let failures):
            if failures + 1 >= failureThreshold {
                state = .open(until: now.advanced(by: openFor))
            } else {
                state = .closed(consecutiveFailures: failures + 1)
            }
        case .halfOpen, .open:
            state = .open(until: now.advanced(by: openFor))
        }
    }

    /// Whether the breaker is open (or probing) rather than closed.
    public var isOpen: Bool {
        if case .closed = state { return false }
        return true
    }
}
