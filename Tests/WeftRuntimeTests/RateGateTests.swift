import Synchronization
import Testing
import WeftCore

@testable import WeftRuntime

/// A clock the gate reads and sleeps on: a sleep advances it and runs what the test scheduled for that moment.
private final class GateClock: Sendable {
    private struct State {
        var now = ContinuousClock.now
        var slept: [Duration] = []
        var duringNextSleep: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())
    let start: ContinuousClock.Instant

    init() { start = state.withLock { $0.now } }

    var now: ContinuousClock.Instant { state.withLock { $0.now } }
    var slept: [Duration] { state.withLock { $0.slept } }
    var elapsed: Duration { start.duration(to: now) }

    /// Runs `action` while the next sleep is under way (a 429 answered to another request meanwhile).
    func duringNextSleep(_ action: @escaping @Sendable () -> Void) { state.withLock { $0.duringNextSleep = action } }

    func sleep(_ duration: Duration) {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            state.slept.append(duration)
            defer { state.duringNextSleep = nil }
            return state.duringNextSleep
        }
        action?()
        state.withLock { $0.now = $0.now.advanced(by: duration) }
    }

    func gate(limit: RateLimit?) -> RateGate {
        RateGate(
            limit: limit, defaultPause: .seconds(1), onWait: { _ in }, now: { [self] in now },
            sleep: { [self] in sleep($0) })
    }
}

@Suite("Rate gate")
struct RateGateTests {
    @Test func aRateLimitPausesRequestsAlsoWithoutAConfiguredRate() async throws {
        let clock = GateClock()
        let gate = clock.gate(limit: nil)
        try await gate.acquire()
        #expect(clock.slept.isEmpty)
        gate.didReceiveRateLimit(retryAfter: .seconds(5))
        try await gate.acquire()
        #expect(clock.elapsed >= .seconds(5))
        // The pause is over: the next request goes at once.
        let before = clock.now
        try await gate.acquire()
        #expect(clock.now == before)
    }

    @Test func aRateLimitAlsoHoldsTheRequestsAlreadyWaitingForASlot() async throws {
        let clock = GateClock()
        let gate = clock.gate(limit: RateLimit(perSecond: 1, burst: 1))
        try await gate.acquire()
        // The second request books the slot one second on; while it waits, another request is answered 429.
        clock.duringNextSleep { gate.didReceiveRateLimit(retryAfter: .seconds(10)) }
        try await gate.acquire()
        #expect(clock.slept.first == .seconds(1))
        #expect(clock.elapsed >= .seconds(10))
    }

    /// A waiter whose slot comes after the pause's end keeps it: it is neither held longer nor sent to the back.
    @Test func aSlotAfterThePauseIsKept() async throws {
        let clock = GateClock()
        let gate = clock.gate(limit: RateLimit(perSecond: 1, burst: 1))
        try await gate.acquire()
        clock.duringNextSleep { gate.didReceiveRateLimit(retryAfter: .milliseconds(500)) }
        try await gate.acquire()
        #expect(clock.elapsed == .seconds(1))
    }

    /// A Retry-After of an hour holds the gate for the longest pause (15 minutes): the command answered 429 waits the
    /// hour in the outbox, the others try again sooner instead of sitting in the gate with their claims.
    @Test func aLongRetryAfterHoldsTheGateAtMostTheLongestPause() async throws {
        let clock = GateClock()
        let gate = clock.gate(limit: nil)
        gate.didReceiveRateLimit(retryAfter: .seconds(3_600))
        try await gate.acquire()
        #expect(RateGate.longestPause == .seconds(900))
        #expect(clock.elapsed == RateGate.longestPause)
    }

    @Test func withoutARateLimitNothingWaits() async throws {
        let clock = GateClock()
        let gate = clock.gate(limit: nil)
        for _ in 0..<1_000 { try await gate.acquire() }
        #expect(clock.slept.isEmpty)
    }
}
