import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization
import WeftSimKit

@testable import WeftSimChargebee

/// A read-only view of parsed JSON for assertions.
struct J: @unchecked Sendable {
    let value: Any?

    init(_ value: Any?) { self.value = value }

    init(bytes: some Sequence<UInt8>) {
        self.value = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }

    subscript(key: String) -> J { J((value as? [String: Any])?[key]) }
    subscript(index: Int) -> J {
        guard let array = value as? [Any], array.indices.contains(index) else { return J(nil) }
        return J(array[index])
    }

    var string: String? { value as? String }
    var int: Int? { value as? Int }
    var bool: Bool? { value as? Bool }
    var array: [J] { (value as? [Any])?.map(J.init) ?? [] }
    var keys: Set<String> { Set((value as? [String: Any])?.keys.map { $0 } ?? []) }
    var exists: Bool { value != nil && !(value is NSNull) }
}

/// A fixed clock that tests can move.
final class TestClock: Sendable {
    private let seconds: Mutex<Int>
    init(_ start: Int = 1_750_000_000) { seconds = Mutex(start) }
    var now: Int { seconds.withLock { $0 } }
    func advance(_ by: Int) { seconds.withLock { $0 += by } }
}

let proMonthly = ChargebeeSimulator.ItemPriceSeed(id: "pro-USD-monthly", itemID: "pro", name: "Pro", price: 3000)
let basicMonthly = ChargebeeSimulator.ItemPriceSeed(id: "basic-USD-monthly", itemID: "basic", name: "Basic", price: 1000)

func makeSimulator(
    clock: TestClock = TestClock(), requestsPerMinute: Int = 150,
    webhooks: ChargebeeSimulator.Configuration.Webhooks = .init()
) -> ChargebeeSimulator {
    ChargebeeSimulator(
        configuration: .init(
            catalog: [proMonthly, basicMonthly], idSeed: 7, now: { clock.now }, requestsPerMinute: requestsPerMinute,
            webhooks: webhooks))
}

extension ChargebeeSimulator {
    func post(_ path: String, _ parameters: [(String, String)] = []) -> (status: Int, json: J) {
        let result = call("POST", path, parameters: parameters)
        return (result.status, J(bytes: result.body))
    }

    func get(_ path: String, _ parameters: [(String, String)] = []) -> J {
        J(bytes: call("GET", path, parameters: parameters).body)
    }

    /// A customer subscribed to `plan`; returns (customer id, subscription id, first invoice id).
    func subscribe(plan: String = "pro-USD-monthly", email: String = "ada@example.com") -> (String, String, String) {
        let customer = post("/api/v2/customers", [("first_name", "Ada"), ("email", email)]).json["customer"]["id"].string ?? ""
        let created = post(
            "/api/v2/customers/\(customer)/subscription_for_items", [("subscription_items[item_price_id][0]", plan)]
        ).json
        return (customer, created["subscription"]["id"].string ?? "", created["invoice"]["id"].string ?? "")
    }

    /// Every event type, oldest first.
    func eventTypes() -> [String] {
        get("/api/v2/events", [("limit", "100"), ("sort_by[asc]", "occurred_at")])["list"].array.compactMap {
            $0["event"]["event_type"].string
        }
    }

    /// The newest event of a type.
    func lastEvent(_ type: String) -> J {
        get("/api/v2/events", [("limit", "100"), ("event_type[is]", type)])["list"][0]["event"]
    }
}

/// Collects webhook requests (with their Authorization header) and answers with scripted statuses.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var authorization: String?
        var body: [UInt8]
        var json: J { J(bytes: body) }
    }

    private let state = Mutex<(received: [Received], calls: Int)>(([], 0))
    private let statusForCall: @Sendable (Int) -> Int

    init(statusForCall: @escaping @Sendable (Int) -> Int = { _ in 200 }) {
        self.statusForCall = statusForCall
    }

    var received: [Received] { state.withLock { $0.received } }
    var calls: Int { state.withLock { $0.calls } }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let authorization = request.headers[.authorization]
            let status = self.state.withLock { state -> Int in
                state.calls += 1
                let status = self.statusForCall(state.calls)
                if status == 200 {
                    state.received.append(Received(authorization: authorization, body: Array(body.readableBytesView)))
                }
                return status
            }
            return Response(status: .init(code: status))
        }
        return router
    }
}

/// Runs `body` with a receiver on a free port (its URL passed in) and the simulator's webhook sender running.
func withWebhookSender(
    receiver: WebhookReceiver, makeSimulator: @escaping @Sendable (String) -> ChargebeeSimulator,
    _ body: @escaping @Sendable (ChargebeeSimulator) async throws -> Void
) async throws {
    try await SimulatorServer.withRunning(router: receiver.router(), logger: Logger(label: "test.receiver")) { port in
        let simulator = makeSimulator("http://127.0.0.1:\(port)/hook")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await simulator.runDelivery() }
            try await body(simulator)
            group.cancelAll()
        }
    }
}
