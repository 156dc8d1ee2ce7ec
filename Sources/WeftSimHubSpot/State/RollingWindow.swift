/// A rolling request window: HubSpot counts an app's requests over the last ten seconds (and the search API's over
/// the last second) and answers 429 once the count reaches the limit.
struct RollingWindow: Sendable {
    private var times: [Int] = []
    private var start = 0

    /// Counts one request at `now` (unix ms) against `limit` per `windowMs`; returns the remaining count, or `nil`
    /// when the window is full (the request is not counted).
    mutating func take(limit: Int, windowMs: Int, now: Int) -> Int? {
        while start < times.count, times[start] <= now - windowMs { start += 1 }
        if start > 1024, start * 2 > times.count {
            times.removeFirst(start)
            start = 0
        }
        let used = times.count - start
        guard used < limit else { return nil }
        times.append(now)
        return limit - used - 1
    }
}

/// The daily request count, reset at midnight UTC (HubSpot resets at midnight in the account's time zone).
struct DailyCounter: Sendable {
    private var day = Int.min
    private var used = 0

    mutating func take(limit: Int, now: Int) -> Int? {
        let current = now >= 0 ? now / 86_400_000 : (now - 86_399_999) / 86_400_000
        if current != day {
            day = current
            used = 0
        }
        guard used < limit else { return nil }
        used += 1
        return limit - used
    }
}
