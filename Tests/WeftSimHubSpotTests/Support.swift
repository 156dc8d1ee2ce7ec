import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import WeftSimKit

@testable import WeftSimHubSpot

let token = "pat-na1-test"
let bearer = "Bearer \(token)"

/// A clock the test moves by hand (unix milliseconds).
final class TestClock: Sendable {
    private let ms: Mutex<Int>
    init(_ start: Int = 1_700_000_000_000) { ms = Mutex(start) }
    var now: Int { ms.withLock { $0 } }
    func advance(ms by: Int) { ms.withLock { $0 += by } }
}

func makeSimulator(
    clock: TestClock = TestClock(), rateLimits: HubSpotSimulator.Configuration.RateLimits = .professional,
    paths: HubSpotSimulator.Configuration.Paths = .init(),
    webhooks: HubSpotSimulator.Configuration.Webhooks = .init(), scopes: Set<String>? = nil
) -> HubSpotSimulator {
    HubSpotSimulator(
        configuration: .init(
            accessTokens: [token], paths: paths, rateLimits: rateLimits,
            customProperties: ["deals": ["erp_order_ref", "invoice_status"], "companies": ["vat_number"]],
            uniqueProperties: ["deals": ["weft_deal_key"], "companies": ["erp_partner_id"]], idSeed: 7,
            now: { clock.now }, webhooks: webhooks, scopes: scopes))
}

/// An HTTP answer, read fully.
struct Answer: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var json: JSON
    func header(_ name: String) -> String? { headers.first(name: name) }
}

/// Calls `base + path` over real HTTP.
func request(
    _ method: HTTPMethod, _ url: String, _ body: String? = nil, auth: String? = bearer
) async throws -> Answer {
    var request = HTTPClientRequest(url: url)
    request.method = method
    if let auth { request.headers.add(name: "Authorization", value: auth) }
    if let body {
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
    }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let bytes = try await response.body.collect(upTo: 16 << 20)
    return Answer(
        status: Int(response.status.code), headers: response.headers,
        json: (try? JSON.parse(Array(bytes.readableBytesView))) ?? .null)
}

/// Serves `simulator` on a free port for `body`, which gets the base URL (`http://127.0.0.1:port`).
func withServer<T: Sendable>(
    _ simulator: HubSpotSimulator, _ body: @escaping @Sendable (String) async throws -> T
) async throws -> T {
    let router = Router()
    simulator.addRoutes(to: router)
    return try await SimulatorServer.withRunning(router: router, logger: Logger(label: "test.hubspot")) { port in
        try await body("http://127.0.0.1:\(port)")
    }
}

extension HubSpotSimulator.CallResult {
    var json: JSON { (try? JSON.parse(body)) ?? .null }
}

/// Collects webhook requests; answers the n-th call with `statusForCall(n)`.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var headers: HTTPFields
        var uri: String
        var body: [UInt8]
        var json: JSON { (try? JSON.parse(body)) ?? .null }
    }

    private let calls = Mutex(0)
    private let statusForCall: @Sendable (Int) -> Int
    let stream: AsyncStream<Received>
    private let continuation: AsyncStream<Received>.Continuation

    init(statusForCall: @escaping @Sendable (Int) -> Int = { _ in 200 }) {
        self.statusForCall = statusForCall
        (stream, continuation) = AsyncStream.makeStream()
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/hooks/hubspot") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let status = self.statusForCall(
                self.calls.withLock {
                    $0 += 1; return $0
                })
            if status == 200 {
                self.continuation.yield(
                    Received(headers: request.headers, uri: request.uri.description, body: Array(body.readableBytesView)))
            }
            return Response(status: .init(code: status))
        }
        return router
    }
}

/// Runs `body` with a receiver on a free port, a simulator whose app sends webhooks there, its API served, and the
/// webhook sender running.
func withWebhooks(
    receiver: WebhookReceiver, clock: TestClock = TestClock(), secret: String = "hs_secret",
    subscriptions: [HubSpotSimulator.Configuration.Subscription], maxAttempts: Int = 3,
    _ body: @escaping @Sendable (HubSpotSimulator, String, String) async throws -> Void
) async throws {
    try await SimulatorServer.withRunning(router: receiver.router(), logger: Logger(label: "test.receiver")) { port in
        let target = "http://127.0.0.1:\(port)/hooks/hubspot"
        let simulator = makeSimulator(
            clock: clock,
            webhooks: .init(
                targetURL: target, clientSecret: secret, subscriptions: subscriptions, maxAttempts: maxAttempts,
                retryBaseDelay: .milliseconds(1)))
        try await withServer(simulator) { base in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await simulator.runDelivery() }
                try await body(simulator, base, target)
                group.cancelAll()
            }
        }
    }
}

/// Reads received requests until `count` events arrived.
func collectEvents(_ receiver: WebhookReceiver, count: Int) async -> [WebhookReceiver.Received] {
    var requests: [WebhookReceiver.Received] = []
    var events = 0
    for await received in receiver.stream {
        requests.append(received)
        events += received.json.array?.count ?? 0
        if events >= count { break }
    }
    return requests
}
