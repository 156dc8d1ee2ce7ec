import Synchronization
import Testing

@testable import WeftConnectors

@Suite struct SalesforceLimitInfoTests {
    @Test func parsesTheAPIUsageOfTheHeader() {
        #expect(SalesforceAPIUsage.parse(header: "api-usage=18/15000") == SalesforceAPIUsage(used: 18, max: 15000))
        #expect(
            SalesforceAPIUsage.parse(header: "api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)")
                == SalesforceAPIUsage(used: 25, max: 5000))
        let burst = SalesforceAPIUsage.parse(header: "api-usage=110018/100000; api-bursts=1/750")
        #expect(burst == SalesforceAPIUsage(used: 110_018, max: 100_000))
        #expect(burst?.remaining == 0)
        #expect(SalesforceAPIUsage.parse(header: "per-app-api-usage=17/250(appName=x)") == nil)
        #expect(SalesforceAPIUsage.parse(header: "api-usage=lots") == nil)
        #expect(SalesforceAPIUsage.parse(header: nil) == nil)
    }

    @Test func theTrackerKeepsTheLatestReadingAndReportsEach() {
        let seen = Mutex<[String]>([])
        let tracker = SalesforceLimitTracker { used, max in seen.withLock { $0.append("\(used)/\(max)") } }
        #expect(tracker.latest == nil)
        tracker.record(header: "api-usage=18/15000")
        tracker.record(header: nil)
        tracker.record(header: "api-usage=19/15000")
        #expect(tracker.latest == SalesforceAPIUsage(used: 19, max: 15000))
        #expect(seen.withLock { $0 } == ["18/15000", "19/15000"])
    }
}
