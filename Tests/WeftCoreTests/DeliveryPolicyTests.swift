import Foundation
import Testing
import WeftCore

@Suite("Retry policy and the command state machine")
struct RetryPolicyTests {
    let policy = RetryPolicy(initialDelay: .seconds(1), multiplier: 2, maxDelay: .seconds(30), maxAttempts: 4, jitter: 0.5)

    @Test func backoffGrowsExponentiallyWithinJitterBounds() {
        for attempt in 1...4 {
            let base = min(pow(2.0, Double(attempt - 1)), 30)
            let low = policy.delay(afterAttempt: attempt, unit: 0)
            let high = policy.delay(afterAttempt: attempt, unit: 0.999)
            #expect(low == .milliseconds(Int64(base * 500)))
            #expect(high <= .milliseconds(Int64(base * 1000)))
            #expect(high > low)
        }
    }

    @Test func delayIsCapped() {
        #expect(policy.delay(afterAttempt: 40, unit: 0.999) <= .seconds(30))
    }

    @Test func retryAfterIsAMinimum() {
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(20), unit: 0) == .seconds(20))
    }

    @Test func lastAttemptDeadLettersAndRejectionsAreDeadAtOnce() {
        let now = Date(timeIntervalSince1970: 0)
        let failure = DeliveryFailure(kind: .unavailable, message: "503")
        if case .retry(let at, _) = CommandLifecycle.transition(after: .retry(failure), attempt: 3, policy: policy, now: now, unit: 0) {
            #expect(at == now.addingTimeInterval(2))
        } else {
            Issue.record("attempt 3 of 4 should be retried")
        }
        #expect(
            CommandLifecycle.transition(after: .retry(failure), attempt: 4, policy: policy, now: now, unit: 0)
                == .dead(failure: failure))
        let rejected = DeliveryFailure(kind: .rejected, message: "422")
        #expect(
            CommandLifecycle.transition(after: .reject(rejected), attempt: 1, policy: policy, now: now, unit: 0)
                == .dead(failure: rejected))
    }
}

@Suite("Circuit breaker")
struct CircuitBreakerTests {
    @Test func opensAfterThresholdProbesThenCloses() {
        var breaker = CircuitBreaker(failureThreshold: 3, openFor: .seconds(10))
        let start = ContinuousClock.now
        for _ in 0..<2 { breaker.recordFailure(now: start) }
        #expect(breaker.admit(now: start) == nil)
        breaker.recordFailure(now: start)
        #expect(breaker.isOpen)
        #expect(breaker.admit(now: start.advanced(by: .seconds(4))) == .seconds(6))
        // After the pause one probe goes through; a second caller waits for it.
        #expect(breaker.admit(now: start.advanced(by: .seconds(10))) == nil)
        #expect(breaker.admit(now: start.advanced(by: .seconds(10))) != nil)
        breaker.recordSuccess()
        #expect(!breaker.isOpen)
    }

    @Test func failedProbeReopens() {
        var breaker = CircuitBreaker(failureThreshold: 1, openFor: .seconds(5))
        let start = ContinuousClock.now
        breaker.recordFailure(now: start)
        #expect(breaker.admit(now: start.advanced(by: .seconds(5))) == nil)
        breaker.recordFailure(now: start.advanced(by: .seconds(5)))
        #expect(breaker.admit(now: start.advanced(by: .seconds(6))) == .seconds(4))
    }

    @Test func abandonedProbeLetsTheNextOneThrough() {
        var breaker = CircuitBreaker(failureThreshold: 1, openFor: .seconds(1))
        let start = ContinuousClock.now
        breaker.recordFailure(now: start)
        #expect(breaker.admit(now: start.advanced(by: .seconds(1))) == nil)
        breaker.abandonProbe()
        #expect(breaker.admit(now: start.advanced(by: .seconds(1))) == nil)
    }
}

@Suite("Token bucket")
struct TokenBucketTests {
    /// Counts how many reservations a simulated stream of callers gets within each one-second window.
    @Test func neverExceedsTheRateOverAnyWindow() {
        let start = ContinuousClock.now
        var bucket = TokenBucket(ratePerSecond: 10, burst: 5, now: start)
        var sendTimes: [Duration] = []
        var clock = Duration.zero
        // 200 callers arriving every 20 ms (50/s offered against 10/s allowed).
        for _ in 0..<200 {
            let wait = bucket.reserve(now: start.advanced(by: clock)) ?? .zero
            sendTimes.append(clock + wait)
            clock += .milliseconds(20)
        }
        sendTimes.sort()
        var low = 0
        var worst = 0
        for high in sendTimes.indices {
            while sendTimes[high] - sendTimes[low] >= .seconds(1) { low += 1 }
            worst = max(worst, high - low + 1)
        }
        // In any one-second window: the burst plus the rate.
        #expect(worst <= 5 + 10)
    }

    @Test func startsWithoutABurstAndAccruesOneWhenIdle() {
        let start = ContinuousClock.now
        var bucket = TokenBucket(ratePerSecond: 10, burst: 5, now: start)
        #expect(bucket.reserve(now: start) == nil)
        #expect(bucket.reserve(now: start) == .milliseconds(100))
        let later = start.advanced(by: .seconds(10))
        for _ in 0..<5 { #expect(bucket.reserve(now: later) == nil) }
        #expect(bucket.reserve(now: later) != nil)
    }

    @Test func pauseHoldsEveryoneUntilRetryAfter() {
        let start = ContinuousClock.now
        var bucket = TokenBucket(ratePerSecond: 100, burst: 10, now: start)
        bucket.pause(for: .seconds(3), now: start)
        let wait = bucket.reserve(now: start) ?? .zero
        #expect(wait >= .seconds(3))
    }

    /// `take` is the skipping caller's `reserve`: it gets a slot only when one is free now, and a refusal books nothing,
    /// so callers that skip never push the ones that wait further out.
    @Test func takeSkipsWithoutBookingWhenTheRateIsSpent() {
        let start = ContinuousClock.now
        var bucket = TokenBucket(ratePerSecond: 10, burst: 3, now: start)
        func take(_ instant: ContinuousClock.Instant) -> Bool { bucket.take(now: instant) }
        #expect(take(start))
        for _ in 0..<50 { #expect(!take(start)) }
        // The refusals booked nothing: the next slot is still 100 ms out.
        #expect(take(start.advanced(by: .milliseconds(100))))
        let idle = start.advanced(by: .seconds(10))
        for _ in 0..<3 { #expect(take(idle)) }
        #expect(!take(idle))
        // A pause holds the skipping callers too.
        bucket.pause(for: .seconds(60), now: idle)
        #expect(!take(idle.advanced(by: .seconds(59))))
        #expect(take(idle.advanced(by: .seconds(61))))
    }
}

@Suite("Money")
struct MoneyTests {
    @Test func decimalStringsUseTheCurrencyExponent() {
        #expect(Money(amountMinor: 1205, currency: .usd).decimalString == "12.05")
        #expect(Money(amountMinor: -5, currency: .usd).decimalString == "-0.05")
        #expect(Money(amountMinor: 500, currency: CurrencyCode(rawValue: "jpy")!).decimalString == "500")
        #expect(Money(amountMinor: 1234, currency: CurrencyCode(rawValue: "KWD")!).decimalString == "1.234")
    }

    @Test func majorUnitRoundTrip() {
        for minor: Int64 in [0, 1, 99, 1005, 123_456_789] {
            let money = Money(amountMinor: minor, currency: .eur)
            #expect(Money.fromMajorUnits(money.majorUnits, currency: .eur) == money)
        }
    }

    @Test func currencyCodesAreValidated() {
        #expect(CurrencyCode(rawValue: "usd")?.rawValue == "USD")
        #expect(CurrencyCode(rawValue: "US") == nil)
        #expect(CurrencyCode(rawValue: "U$D") == nil)
    }

    @Test func xmlidNamesAreSanitised() {
        #expect(ExternalRef(system: "stripe", kind: .customer, id: "cus_A-1.x").xmlid == "weft.stripe_customer_cus_A_1_x")
    }

    /// Names already stored in Odoo must not change: one `_` per character that is not `[A-Za-z0-9_]`, whether the
    /// id is printable ASCII (the byte-wise path) or not (a grapheme of several scalars, CR LF, a tab, an emoji).
    @Test(arguments: [
        ("cus_ 9~Z", "stripe_customer_cus__9_Z"), ("cus_é", "stripe_customer_cus__"),
        ("cus_e\u{301}x", "stripe_customer_cus__x"), ("a\r\nb", "stripe_customer_a_b"), ("a\tb", "stripe_customer_a_b"),
        ("👍🏽1", "stripe_customer__1"),
    ])
    func xmlidNamesAreOneUnderscorePerCharacter(id: String, name: String) {
        #expect(ExternalRef(system: "stripe", kind: .customer, id: id).xmlidName == name)
    }
}
