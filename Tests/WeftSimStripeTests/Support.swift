import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization
import WeftSimKit

@testable import WeftSimStripe

/// A simulator with reproducible ids and a fixed clock (unix seconds).
func makeSimulator(
    now: Int = 1_750_000_000, webhooks: StripeSimulator.Configuration.Webhooks = .init()
) -> StripeSimulator {
    StripeSimulator(configuration: .init(idSeed: 42, now: { now }, webhooks: webhooks))
}

/// Fast retries for tests.
let fastWebhooks = StripeSimulator.Configuration.Webhooks(
    maxAttempts: 3, baseRetryDelay: .milliseconds(5), retryMultiplier: 2, timeout: .seconds(5))

extension StripeSimulator.CallResult {
    var json: JSON { (try? JSON.parse(body)) ?? .null }
}

extension StripeSimulator {
    /// POSTs and returns the parsed body, failing loudly on non-200.
    func post(_ path: String, _ parameters: [(String, String)] = [], key: String? = nil) -> JSON {
        call("POST", path, parameters: parameters, idempotencyKey: key).json
    }

    func get(_ path: String, _ parameters: [(String, String)] = []) -> JSON {
        call("GET", path, parameters: parameters).json
    }

    /// Every recorded event type, oldest first.
    func eventTypes() -> [String] {
        var types: [String] = []
        var after: String?
        while true {
            var parameters = [("limit", "100")]
            if let after { parameters.append(("starting_after", after)) }
            let page = get("/v1/events", parameters)
            let data = page["data"].array ?? []
            types.append(contentsOf: data.compactMap { $0["type"].string })
            guard page["has_more"].bool == true, let last = data.last?["id"].string else { break }
            after = last
        }
        return types.reversed()
    }

    /// A customer, a monthly price of `amount`, and the price id.
    func seedCatalog(amount: Int = 2000, email: String = "ada@example.com") -> (customer: String, price: String) {
        let customer = post("/v1/customers", [("email", email), ("name", "Ada")])["id"].string ?? ""
        let product = post("/v1/products", [("name", "Pro plan")])["id"].string ?? ""
        let price =
            post(
                "/v1/prices",
                [
                    ("product", product), ("unit_amount", String(amount)), ("currency", "usd"),
                    ("recurring[interval]", "month"),
                ])["id"].string ?? ""
        return (customer, price)
    }
}

/// Collects webhook requests and answers with scripted statuses.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var signature: String
        var body: [UInt8]
        var json: JSON { (try? JSON.parse(body)) ?? .null }
    }

    private let state = Mutex<(received: [Received], calls: Int)>(([], 0))
    private let statusForCall: @Sendable (Int) -> Int

    /// - Parameter statusForCall: the status to answer the n-th call (from 1).
    init(statusForCall: @escaping @Sendable (Int) -> Int = { _ in 200 }) {
        self.statusForCall = statusForCall
    }

    var received: [Received] { state.withLock { $0.received } }
    var calls: Int { state.withLock { $0.calls } }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let signature = request.headers[HTTPField.Name("Stripe-Signature")!] ?? ""
            let status = self.state.withLock { state -> Int in
                state.calls += 1
                let status = self.statusForCall(state.calls)
                if status == 200 {
                    state.received.append(Received(signature: signature, body: Array(body.readableBytesView)))
                }
                return status
            }
            return Response(status: .init(code: status))
        }
        return router
    }
}

/// Runs `body` with a receiver listening on a free port and the simulator's webhook sender running.
func withWebhookSender(
    _ simulator: StripeSimulator, receiver: WebhookReceiver,
    _ body: @escaping @Sendable (_ url: String) async throws -> Void
) async throws {
    try await SimulatorServer.withRunning(router: receiver.router(), logger: Logger(label: "test.receiver")) { port in
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await simulator.runDelivery() }
            try await body("http://127.0.0.1:\(port)/hook")
            group.cancelAll()
        }
    }
}

/// Hex HMAC-SHA256 computed independently of the simulator.
func hmacHex(secret: String, timestamp: String, body: [UInt8]) -> String {
    let payload = Array("\(timestamp).".utf8) + body
    let mac = HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: Array(secret.utf8)))
    return mac.map { String(format: "%02x", $0) }.joined()
}

/// Splits `t=…,v1=…,v1=…` into the timestamp and the v1 signatures.
func parseSignature(_ header: String) -> (timestamp: String, v1: [String]) {
    var timestamp = ""
    var v1: [String] = []
    for part in header.split(separator: ",") {
        let pieces = part.split(separator: "=", maxSplits: 1)
        guard pieces.count == 2 else { continue }
        if pieces[0] == "t" { timestamp = String(pieces[1]) }
        if pieces[0] == "v1" { v1.append(String(pieces[1])) }
    }
    return (timestamp, v1)
}
