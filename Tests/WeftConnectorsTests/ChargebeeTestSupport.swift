import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftSimChargebee
import WeftSimKit

/// Helpers shared by the Chargebee tests: a simulator on a free port, its events read through the feed, decoded and
/// applied the way the pipeline applies them.
enum ChargebeeTestSupport {
    static let system: SystemName = "chargebee"
    static let apiKey = "test_cb_feed_key"

    static func ref(_ kind: EntityKind, _ id: String) -> ExternalRef {
        ExternalRef(system: system, kind: kind, id: id)
    }

    /// A clock the test moves.
    final class Clock: Sendable {
        private let seconds = Mutex(1_750_000_000)
        var now: Int { seconds.withLock { $0 } }
        func advance(_ by: Int) { seconds.withLock { $0 += by } }
    }

    static func makeSimulator(clock: Clock, webhooks: ChargebeeSimulator.Configuration.Webhooks = .init())
        -> ChargebeeSimulator
    {
        ChargebeeSimulator(
            configuration: .init(
                apiKeys: [apiKey],
                catalog: [
                    .init(id: "pro-USD-monthly", itemID: "pro", name: "Pro", price: 3000),
                    .init(id: "basic-USD-monthly", itemID: "basic", name: "Basic", price: 1000),
                ], idSeed: 11, now: { clock.now }, webhooks: webhooks))
    }

    /// Runs `body` with the simulator served on a free port; passes its base URL.
    static func withServer<T: Sendable>(
        _ simulator: ChargebeeSimulator, _ body: @escaping @Sendable (String) async throws -> T
    ) async throws -> T {
        let router = Router()
        simulator.addRoutes(to: router)
        return try await SimulatorServer.withRunning(router: router, logger: Logger(label: "test.chargebee")) { port in
            try await body("http://127.0.0.1:\(port)")
        }
    }

    static func feed(_ baseURL: String, key: String = apiKey, gate: any RequestGate = OpenGate()) -> ChargebeeEventsFeed {
        ChargebeeEventsFeed(
            system: system, configuration: .init(apiKey: key, baseURL: baseURL), httpClient: .shared, gate: gate,
            logger: Logger(label: "test.chargebee.feed"))
    }

    /// Every event since `since`, read over HTTP through the feed.
    static func events(_ baseURL: String, since: Int = 0, pageSize: Int = 100) async throws -> [ChargebeeFeedEvent] {
        var events: [ChargebeeFeedEvent] = []
        for try await event in feed(baseURL).events(since: Date(timeIntervalSince1970: TimeInterval(since)), pageSize: pageSize) {
            events.append(event)
        }
        return events
    }

    static func inboxEvent(_ event: ChargebeeFeedEvent, seq: Int64 = 1) -> InboxEvent {
        InboxEvent(
            seq: EventSeq(seq), system: system, eventID: event.envelope.id, type: event.envelope.type,
            entityKey: event.envelope.entityKey, occurredAt: event.envelope.occurredAt,
            receivedAt: event.envelope.occurredAt, payload: event.payload, traceID: TraceID("trace"), status: .pending,
            attempts: 0, outcome: nil)
    }

    static func decodeAll(_ events: [ChargebeeFeedEvent]) throws -> [DecodedEvent] {
        let decoder = ChargebeeEventDecoder(system: system)
        return try events.map { try decoder.decode(inboxEvent($0)) }
    }

    /// Applies decoded events to an aggregate the way the pipeline does (govern, no ownership rules).
    static func apply(_ decoded: [DecodedEvent], to aggregate: inout Aggregate) {
        let governor = Governor(ownership: OwnershipRules())
        for event in decoded {
            for change in event.changes {
                aggregate.records[change.ref.description] =
                    governor.govern(change, from: system, onto: aggregate.record(change.ref)).state
            }
        }
    }

    static func aggregate(_ events: [ChargebeeFeedEvent]) throws -> Aggregate {
        var aggregate = Aggregate()
        apply(try decodeAll(events), to: &aggregate)
        return aggregate
    }
}

extension ChargebeeSimulator {
    /// A subscription whose renewal, 30 days on, the card declines: (customer id, subscription id, renewal invoice id).
    func declinedRenewal(clock: ChargebeeTestSupport.Clock) throws -> (String, String, String) {
        let (customerID, subscriptionID, _) = subscribe()
        setPaymentOutcome(.decline, forCustomer: customerID)
        clock.advance(30 * 86_400)
        let renewal = renewSubscription(subscriptionID)
        let invoiceID = try #require(
            ((try JSONSerialization.jsonObject(with: Data(renewal.body)) as? [String: Any])?["invoice"] as? [String: Any])?["id"]
                as? String)
        return (customerID, subscriptionID, invoiceID)
    }

    /// POSTs through the Swift API and returns the parsed body.
    func post(_ path: String, _ parameters: [(String, String)] = []) -> [String: Any] {
        let result = call("POST", path, parameters: parameters)
        return (try? JSONSerialization.jsonObject(with: Data(result.body))) as? [String: Any] ?? [:]
    }

    /// A customer (Ada Lovelace) on `plan`: (customer id, subscription id, first invoice id).
    func subscribe(plan: String = "pro-USD-monthly") -> (String, String, String) {
        let customer =
            post(
                "/api/v2/customers",
                [
                    ("first_name", "Ada"), ("last_name", "Lovelace"), ("email", "ada@example.com"),
                    ("billing_address[line1]", "1 Main St"), ("billing_address[city]", "London"),
                    ("billing_address[country]", "GB"), ("preferred_currency_code", "USD"),
                ])["customer"] as? [String: Any]
        let customerID = customer?["id"] as? String ?? ""
        let created = post(
            "/api/v2/customers/\(customerID)/subscription_for_items",
            [("subscription_items[item_price_id][0]", plan)])
        let subscriptionID = (created["subscription"] as? [String: Any])?["id"] as? String ?? ""
        let invoiceID = (created["invoice"] as? [String: Any])?["id"] as? String ?? ""
        return (customerID, subscriptionID, invoiceID)
    }

    /// The length of a subscription's current term, in seconds.
    func termLength(_ subscriptionID: String) -> Int {
        let result = call("GET", "/api/v2/subscriptions/\(subscriptionID)")
        let body = (try? JSONSerialization.jsonObject(with: Data(result.body))) as? [String: Any]
        let subscription = body?["subscription"] as? [String: Any]
        return ((subscription?["current_term_end"] as? Int) ?? 0) - ((subscription?["current_term_start"] as? Int) ?? 0)
    }
}
