import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftSimKit
import WeftSimStripe

@testable import WeftServer

/// The Stripe catch-up's positions: where a read that failed part way resumes, and what happens when Stripe no
/// longer knows the event a position names.
@Suite("Stripe catch-up positions")
struct StripeFeedAdapterTests {
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
            let pinned = try #require(StripeFeedAdapter.position(first))
            #expect(pinned.from < Date().addingTimeInterval(-29 * 86_400))
            #expect(pinned.after.rawValue.hasPrefix("evt_"))

            let unknown = "\(Int64(pinned.from.timeIntervalSince1970)):evt_forgotten"
            await #expect(throws: FeedPositionUnknown.self) {
                try await adapter.events(since: Date(timeIntervalSince1970: 0), resumingAfter: unknown) { _, _ in }
            }
        }
    }
}
