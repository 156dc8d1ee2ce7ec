import Synchronization

/// The org's API usage from the `Sforce-Limit-Info` response header (`api-usage=18/15000`): calls used in the rolling
/// 24-hour window and the org's allocation. `used` can exceed `max` while the org is in an API burst.
public struct SalesforceAPIUsage: Sendable, Hashable, CustomStringConvertible {
    public var used: Int
    public var max: Int

    public init(used: Int, max: Int) {
        self.used = used
        self.max = max
    }

    /// Calls left before the allocation is exhausted (never negative).
    public var remaining: Int { Swift.max(0, max - used) }

    public var description: String { "\(used)/\(max)" }

    /// Parses the header value: `api-usage=18/15000`, possibly followed by `; per-app-api-usage=17/250(appName=x)` or
    /// `; api-bursts=1/750`. Only `api-usage` is read; `nil` when it is absent or malformed.
    public static func parse(header value: String?) -> SalesforceAPIUsage? {
        guard let value else { return nil }
        for part in value.split(separator: ";") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingSpaces == "api-usage" else { continue }
            let numbers = pair[1].trimmingSpaces.split(separator: "/")
            guard numbers.count == 2, let used = Int(numbers[0]), let max = Int(numbers[1]), used >= 0, max >= 0 else {
                return nil
            }
            return SalesforceAPIUsage(used: used, max: max)
        }
        return nil
    }
}

/// Keeps the latest `Sforce-Limit-Info` usage the client saw and reports every reading to `onLimitInfo` (for a gauge
/// such as `weft_salesforce_api_usage`).
public final class SalesforceLimitTracker: Sendable {
    private let latestUsage = Mutex<SalesforceAPIUsage?>(nil)
    private let onLimitInfo: @Sendable (_ used: Int, _ max: Int) -> Void

    /// - Parameter onLimitInfo: called with every usage reading, on the task that made the call; keep it cheap.
    public init(onLimitInfo: @escaping @Sendable (_ used: Int, _ max: Int) -> Void = { _, _ in }) {
        self.onLimitInfo = onLimitInfo
    }

    /// The most recent reading, `nil` before the first response that carried the header.
    public var latest: SalesforceAPIUsage? { latestUsage.withLock { $0 } }

    /// Records the header of one response.
    public func record(header value: String?) {
        guard let usage = SalesforceAPIUsage.parse(header: value) else { return }
        latestUsage.withLock { $0 = usage }
        onLimitInfo(usage.used, usage.max)
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
