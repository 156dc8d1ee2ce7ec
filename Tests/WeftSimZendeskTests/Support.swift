import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import WeftSimKit

@testable import WeftSimZendesk

/// `agent@example.com/token:zd_tok`, the vector of saas-apis.md section 6.
let basicAuth = "Basic YWdlbnRAZXhhbXBsZS5jb20vdG9rZW46emRfdG9r"

/// A clock the test moves by hand (unix seconds).
final class TestClock: Sendable {
    private let seconds: Mutex<Int>
    init(_ start: Int) { seconds = Mutex(start) }
    var now: Int { seconds.withLock { $0 } }
    func advance(_ by: Int) { seconds.withLock { $0 += by } }
}

func makeSimulator(
    clock: TestClock = TestClock(1_700_000_000), rateLimit: Int = 400,
    webhooks: ZendeskSimulator.Configuration.Webhooks = .init()
) -> ZendeskSimulator {
    ZendeskSimulator(
        configuration: .init(
            oauthTokens: ["oauth_tok"], rateLimitPerMinute: rateLimit, idSeed: 7, now: { clock.now },
            webhooks: webhooks))
}

func app(_ simulator: ZendeskSimulator) -> some ApplicationProtocol {
    let router = Router()
    simulator.addRoutes(to: router)
    return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
}

extension TestClientProtocol {
    /// Calls the API as the configured agent and parses the JSON answer (`.null` for non-JSON).
    func api(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, auth: String? = basicAuth) async throws
        -> (status: Int, json: JSON, headers: HTTPFields, text: String)
    {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let auth { headers[.authorization] = auth }
        let response = try await execute(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        let bytes = Array(response.body.readableBytesView)
        return (Int(response.status.code), (try? JSON.parse(bytes)) ?? .null, response.headers, String(decoding: bytes, as: UTF8.self))
    }
}

extension ZendeskSimulator.CallResult {
    var json: JSON { (try? JSON.parse(body)) ?? .null }
}

/// Collects webhook requests; answers the n-th call with `statusForCall(n)`.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var headers: HTTPFields
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
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let status = self.statusForCall(
                self.calls.withLock {
                    $0 += 1; return $0
                })
            if status == 200 {
                self.continuation.yield(Received(headers: request.headers, body: Array(body.readableBytesView)))
            }
            // A 429 or 503 asks for a short wait, as a receiver that wants the delivery again does.
            return Response(status: .init(code: status), headers: [429, 503].contains(status) ? [.retryAfter: "1"] : [:])
        }
        return router
    }
}

/// Runs `body` with a receiver on a free port and the simulator's webhook sender running.
func withWebhooks(
    receiver: WebhookReceiver, secret: String = "whsecret", maxAttempts: Int = 4,
    _ body: @escaping @Sendable (ZendeskSimulator) async throws -> Void
) async throws {
    try await SimulatorServer.withRunning(router: receiver.router(), logger: Logger(label: "test.receiver")) { port in
        let simulator = makeSimulator(
            webhooks: .init(
                endpoints: [.init(url: "http://127.0.0.1:\(port)/hook", secret: secret)], maxAttempts: maxAttempts,
                retryDelay: .milliseconds(1)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await simulator.runDelivery() }
            try await body(simulator)
            group.cancelAll()
        }
    }
}
