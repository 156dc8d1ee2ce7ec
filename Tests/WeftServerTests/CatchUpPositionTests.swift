import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftSimChargebee
import WeftSimKit
import WeftSimStripe

@testable import WeftServer

/// The billing catch-ups' positions: where a read that failed part way resumes, and what happens when the source no
/// longer knows the position.
@Suite("Billing catch-up positions")
struct CatchUpPositionTests {
    let logger = Logger(label: "weft.test.stripe-feed")

    @Test func aReadResumesAfterItsPositionAndAForgottenOneIsSaidSo() async throws {
        let simulator = StripeSimulator(configuration: .init(apiKeys: ["sk_test_weft"]))
        for name in ["Ada", "Grace", "Edsger"] {
            #expect(simulator.call("POST", "/v1/customers", parameters: [("name", name)]).status == 200)
        }
        let router = Hummingbird.Router()
        simulator.addRoutes(to: router)
        let logger = self.logger
        try await SimulatorServer.withRunning(router: router, logger: logger) { port in
            let api = StripeEventsFeed(
                system: "stripe",
                configuration: .init(secretKey: "sk_test_weft", apiVersion: nil, baseURL: "http://127.0.0.1:\(port)"),
                httpClient: HTTPClient.shared, gate: RateGate(limit: nil), logger: logger)
            let adapter = StripeFeedAdapter(feed: api, logger: logger)
            // From the start of time: clamped to Stripe's 30 days, and the positions pin that instant.
            var positions: [String?] = []
            var all: [IncomingEvent] = []
            try await adapter.events(since: Date(timeIntervalSince1970: 0), resumingAfter: nil) { batch, position in
                all += batch
                positions.append(position)
            }
            #expect(all.count == 3)
            let first = try #require(positions.first ?? nil)
            let pinned = try #require(PinnedPosition(first))
            #expect(pinned.from < Date().addingTimeInterval(-29 * 86_400))
            #expect(pinned.after.hasPrefix("evt_"))

            let unknown = "\(Int64(pinned.from.timeIntervalSince1970)):evt_forgotten"
            await #expect(throws: FeedPositionUnknown.self) {
                try await adapter.events(since: Date(timeIntervalSince1970: 0), resumingAfter: unknown) { _, _ in }
            }
        }
    }

    /// Stripe's "No such event" for a forgotten cursor is reported both as a 404 and as a 400 `resource_missing`: both
    /// lose the position; any other 400 (a bad parameter) does not.
    @Test func eitherStatusOfAForgottenStripeCursorLosesThePosition() {
        #expect(StripeFeedAdapter.forgotCursor(StripeAPIError(code: .permanent, status: 404)))
        #expect(StripeFeedAdapter.forgotCursor(StripeAPIError(code: .permanent, status: 400, stripeCode: "resource_missing")))
        #expect(!StripeFeedAdapter.forgotCursor(StripeAPIError(code: .permanent, status: 400, stripeCode: "parameter_invalid_integer")))
        #expect(!StripeFeedAdapter.forgotCursor(StripeAPIError(code: .retryable, status: 500)))
    }

    /// Chargebee: a page at a time, each with a position of the pinned start and `next_offset`; a read resumed there
    /// hands over exactly the pages after it, and an offset Chargebee refuses is `FeedPositionUnknown`.
    @Test func aChargebeeReadResumesAfterItsOffset() async throws {
        let simulator = ChargebeeSimulator(configuration: .init(apiKeys: ["cb_key"], requestsPerMinute: 10_000))
        for index in 0..<150 {
            #expect(simulator.call("POST", "/api/v2/customers", parameters: [("email", "c\(index)@example.com")]).status == 200)
        }
        let router = Hummingbird.Router()
        simulator.addRoutes(to: router)
        let logger = self.logger
        try await SimulatorServer.withRunning(router: router, logger: logger) { port in
            let api = ChargebeeEventsFeed(
                system: "chargebee", configuration: .init(apiKey: "cb_key", baseURL: "http://127.0.0.1:\(port)"),
                httpClient: .shared, gate: RateGate(limit: nil), logger: logger)
            let adapter = ChargebeeFeedAdapter(feed: api)
            var batches: [[IncomingEvent]] = []
            var positions: [String?] = []
            try await adapter.events(since: Date(timeIntervalSince1970: 0), resumingAfter: nil) { batch, position in
                batches.append(batch)
                positions.append(position)
            }
            #expect(batches.map(\.count) == [100, 50])
            #expect(positions.last == .some(nil), "the last page has no next offset")
            let first = try #require(positions.first ?? nil)
            var resumed: [IncomingEvent] = []
            try await adapter.events(since: Date(timeIntervalSince1970: 0), resumingAfter: first) { batch, _ in resumed += batch }
            #expect(resumed.map(\.eventID) == batches[1].map(\.eventID))

            let pinned = try #require(PinnedPosition(first))
            let refused = PinnedPosition(from: pinned.from, after: "not-an-offset").text
            await #expect(throws: FeedPositionUnknown.self) {
                try await adapter.events(since: Date(timeIntervalSince1970: 0), resumingAfter: refused) { _, _ in }
            }
        }
    }
}
