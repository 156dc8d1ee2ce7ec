import Foundation
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftSimChargebee
import WeftSimKit

private typealias S = ChargebeeTestSupport

/// The events feed against the Chargebee simulator over real HTTP.
@Suite struct ChargebeeFeedTests {
    /// Counts gate admissions and rate-limit reports.
    final class CountingGate: RequestGate {
        let acquired = Atomic<Int>(0)
        let rateLimits = Mutex<[Duration?]>([])
        func acquire() async throws { acquired.add(1, ordering: .relaxed) }
        func didReceiveRateLimit(retryAfter: Duration?) { rateLimits.withLock { $0.append(retryAfter) } }
    }

    @Test func pagesOldestFirstFromTheCursorSecond() async throws {
        let clock = S.Clock()
        let simulator = S.makeSimulator(clock: clock)
        for index in 0..<7 {
            _ = simulator.post("/api/v2/customers", [("email", "c\(index)@example.com")])
            if index % 2 == 1 { clock.advance(1) }
        }
        // Seconds: c0 c1 at +0, c2 c3 at +1, c4 c5 at +2, c6 at +3.
        let gate = CountingGate()
        try await S.withServer(simulator) { baseURL in
            var emails: [String] = []
            var ids: Set<SourceEventID> = []
            let feed = S.feed(baseURL, gate: gate)
            for try await event in feed.events(since: Date(timeIntervalSince1970: 1_750_000_001), pageSize: 2) {
                ids.insert(event.envelope.id)
                let json = try JSONSerialization.jsonObject(with: event.payload) as? [String: Any]
                let customer = (json?["content"] as? [String: Any])?["customer"] as? [String: Any]
                emails.append(customer?["email"] as? String ?? "")
                #expect(event.envelope.type == "customer_created")
            }
            // The cursor's own second is included (occurred_at[after] = since − 1), oldest first, no repeats.
            #expect(emails == ["c2@example.com", "c3@example.com", "c4@example.com", "c5@example.com", "c6@example.com"])
            #expect(ids.count == 5)
            #expect(gate.acquired.load(ordering: .relaxed) == 3)

            let first = try await feed.page(since: Date(timeIntervalSince1970: 0), offset: nil, limit: 3)
            #expect(first.events.count == 3)
            let offset = try #require(first.nextOffset)
            // New events arriving between pages do not shift the next page.
            _ = simulator.post("/api/v2/customers", [("email", "late@example.com")])
            let second = try await feed.page(since: Date(timeIntervalSince1970: 0), offset: offset, limit: 3)
            #expect(Set(first.events.map(\.envelope.id)).isDisjoint(with: second.events.map(\.envelope.id)))
            #expect(second.events.count == 3)
        }
    }

    @Test func wrongKeyIsAConfigurationErrorAnd429IsRateLimited() async throws {
        let simulator = S.makeSimulator(clock: S.Clock())
        try await S.withServer(simulator) { baseURL in
            await #expect {
                _ = try await S.feed(baseURL, key: "wrong_key").page(since: Date(), offset: nil, limit: 10)
            } throws: { error in
                guard let error = error as? ChargebeeAPIError else { return false }
                return error.code == .configuration && error.status == 401
                    && error.apiErrorCode == "api_authentication_failed" && !error.description.contains("wrong_key")
            }
            simulator.faults.set(FaultPlan(rateLimitRate: 1, retryAfterSeconds: 7))
            let gate = CountingGate()
            await #expect {
                _ = try await S.feed(baseURL, gate: gate).page(since: Date(), offset: nil, limit: 10)
            } throws: { error in
                guard let error = error as? ChargebeeAPIError else { return false }
                return error.code == .rateLimited && error.retryAfter == .seconds(7)
                    && error.apiErrorCode == "api_request_limit_exceeded" && error.isRetryable
            }
            #expect(gate.rateLimits.withLock { $0 } == [.seconds(7)])
        }
    }
}
