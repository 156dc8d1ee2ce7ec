/// A fixed one-minute request window: Zendesk counts requests per account per minute and answers 429 with
/// `Retry-After` (the seconds left in the minute) once the count is used up.
struct RateWindow: Sendable {
    private var minute = Int.min
    private var used = 0

    /// Counts one request at `now` (unix seconds) against `limit`; returns the remaining count, or the seconds to wait.
    mutating func take(limit: Int, now: Int) -> Result<Int, RetryAfter> {
        let current = now >= 0 ? now / 60 : (now - 59) / 60
        if current != minute {
            minute = current
            used = 0
        }
        guard used < limit else { return .failure(RetryAfter(seconds: max(1, (current + 1) * 60 - now))) }
        used += 1
        return .success(limit - used)
    }

    /// The seconds to wait before the window opens again.
    struct RetryAfter: Error, Sendable {
        var seconds: Int
    }
}
