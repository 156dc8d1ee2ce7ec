public import AsyncHTTPClient
import Foundation
import Synchronization
public import WeftSimKit

/// A stateful, in-memory Zendesk Support (API v2) over real HTTP: organizations and their custom fields, users,
/// tickets, cursor pagination, the cursor-based incremental ticket export, per-minute rate limits and signed
/// webhooks with retries. See `docs/simulators/zendesk.md`.
///
/// Mount it with `addRoutes(to:)` and run `runDelivery()` for as long as webhooks should flow.
public final class ZendeskSimulator: Sendable {
    /// The configuration the simulator was made with.
    public let configuration: Configuration
    /// API faults (latency, errors, 429s, outages), shared with `WeftSimKit`'s admin routes.
    public let faults: FaultInjector
    /// Every API request served.
    public let requestLog: RequestLog

    let httpClient: HTTPClient
    let state: Mutex<ZendeskState>
    let queue: Mutex<WebhookQueue>
    let wake: AsyncStream<Void>
    let wakeContinuation: AsyncStream<Void>.Continuation
    private let deliveryRunning = Mutex(false)

    /// - Parameters:
    ///   - configuration: credentials, limits, time, ids and the webhook sender.
    ///   - httpClient: the client webhooks are sent with.
    public init(configuration: Configuration = .init(), httpClient: HTTPClient = .shared) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.faults = FaultInjector()
        self.requestLog = RequestLog()
        let seed = configuration.idSeed ?? UInt64.random(in: 1...UInt64.max)
        let now = configuration.now?() ?? Int(Date().timeIntervalSince1970)
        var state = ZendeskState(idSeed: seed, agentEmail: configuration.agentEmail.lowercased(), now: now)
        state.multipleOrganizations = configuration.multipleOrganizations
        self.state = Mutex(state)
        self.queue = Mutex(WebhookQueue(seed: seed))
        (self.wake, self.wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The current time in unix seconds.
    var now: Int {
        configuration.now?() ?? Int(Date().timeIntervalSince1970)
    }

    /// An answer on the wire.
    struct Reply: Sendable {
        var status: Int
        var contentType: String
        var headers: [(String, String)]
        var body: [UInt8]
    }

    // MARK: Serving a call

    /// Serves one API call under `/api/v2`: authentication, rate limits, the operation and its webhook events.
    func handle(
        method: String, path: String, query: String?, body: [UInt8], authorization: String?, baseURL: String,
        trusted: Bool = false
    ) -> Reply {
        let now = self.now
        let limit = configuration.rateLimitPerMinute
        let (reply, events) = state.withLock { state -> (Reply, [PendingEvent]) in
            state.now = now
            state.events = []
            var headers: [(String, String)] = [("X-Rate-Limit", String(limit))]
            func fail(_ error: ZendeskError, remaining: Int) -> Reply {
                Reply(
                    status: error.status, contentType: error.contentType,
                    headers: headers + [("X-Rate-Limit-Remaining", String(remaining))] + error.headers, body: error.body)
            }
            if !trusted, !authenticate(authorization) { return (fail(.unauthenticated, remaining: limit), []) }
            var remaining = limit
            if !trusted {
                switch state.apiWindow.take(limit: limit, now: now) {
                case .success(let left): remaining = left
                case .failure(let wait): return (fail(.rateLimited(retryAfter: wait.seconds), remaining: 0), [])
                }
            }
            headers.append(("X-Rate-Limit-Remaining", String(remaining)))
            guard path.hasPrefix("/api/v2/") else { return (fail(.invalidEndpoint, remaining: remaining), []) }
            var segments = path.dropFirst("/api/v2/".count).split(separator: "/").map(String.init)
            if let last = segments.last, last.hasSuffix(".json") { segments[segments.count - 1] = String(last.dropLast(5)) }
            if !trusted, segments.first == "incremental" {
                if case .failure(let wait) = state.incrementalWindow.take(
                    limit: configuration.incrementalExportsPerMinute, now: now)
                {
                    return (fail(.exportRateLimited(retryAfter: wait.seconds), remaining: remaining), [])
                }
            }
            var json = JSON.null
            if !body.isEmpty, method == "POST" || method == "PUT" {
                guard let parsed = try? JSON.parse(body) else {
                    return (fail(.badRequest("InvalidJSON", "The request body is not valid JSON"), remaining: remaining), [])
                }
                json = parsed
            }
            let request = APIRequest(
                method: method, segments: segments, query: Self.decodeQuery(query), body: json, baseURL: baseURL)
            do throws(ZendeskError) {
                let answer = try state.route(request)
                let bytes = answer.status == 204 ? [] : answer.body.bytes
                return (
                    Reply(status: answer.status, contentType: "application/json; charset=utf-8", headers: headers, body: bytes),
                    state.events
                )
            } catch {
                return (fail(error, remaining: remaining), [])
            }
        }
        if !events.isEmpty { enqueue(events, at: now) }
        return reply
    }

    private func authenticate(_ authorization: String?) -> Bool {
        guard let authorization else { return false }
        if authorization.hasPrefix("Bearer ") {
            let token = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
            return configuration.oauthTokens.contains(token)
        }
        guard authorization.hasPrefix("Basic "),
            let data = Data(base64Encoded: authorization.dropFirst(6).trimmingCharacters(in: .whitespaces)),
            let decoded = String(data: data, encoding: .utf8),
            let colon = decoded.firstIndex(of: ":")
        else { return false }
        let user = decoded[..<colon]
        let secret = String(decoded[decoded.index(after: colon)...])
        // Only API tokens: password access is off by default and the simulator has no passwords.
        guard user.hasSuffix("/token") else { return false }
        let email = user.dropLast("/token".count).lowercased()
        return email == configuration.agentEmail.lowercased() && configuration.apiTokens.contains(secret)
    }

    /// `a=1&page%5Bsize%5D=2` → `["a": "1", "page[size]": "2"]` (`+` is a space).
    static func decodeQuery(_ query: String?) -> [String: String] {
        var result: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            result[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return result
    }

    // MARK: Swift API

    /// The answer to `call(_:_:body:)`.
    public struct CallResult: Sendable {
        /// The HTTP status.
        public var status: Int
        /// The body (JSON, or text for a 429).
        public var body: [UInt8]
    }

    /// Calls the API without HTTP, authentication or rate limits (for seeding a scenario), exactly as a request would
    /// otherwise be served; webhook events are raised as usual.
    /// - Parameters:
    ///   - method: `GET`, `POST`, `PUT` or `DELETE`.
    ///   - path: e.g. `/api/v2/organizations.json`, optionally with a query.
    ///   - body: a JSON body.
    public func call(_ method: String, _ path: String, body: String? = nil) -> CallResult {
        let parts = path.split(separator: "?", maxSplits: 1).map(String.init)
        let reply = handle(
            method: method.uppercased(), path: parts[0], query: parts.count > 1 ? parts[1] : nil,
            body: Array((body ?? "").utf8), authorization: nil, baseURL: "https://example.zendesk.com", trusted: true)
        return CallResult(status: reply.status, body: reply.body)
    }

    // MARK: Webhook sender

    /// Every delivery attempt made so far, oldest first.
    public var webhookDeliveries: [WebhookDelivery] { queue.withLock { $0.attempts } }

    /// Sends webhooks until the calling task is cancelled: every event goes to each endpoint subscribed to it, as a
    /// signed POST, retried on timeouts, 409, 429 and 5xx. Call it once per simulator.
    public func runDelivery() async throws {
        let alreadyRunning = deliveryRunning.withLock { running in
            defer { running = true }
            return running
        }
        guard !alreadyRunning else {
            throw ZendeskSimulatorError(message: "runDelivery() is already running for this simulator")
        }
        wakeContinuation.yield()
        await withDiscardingTaskGroup { group in
            for await _ in wake {
                while let job = queue.withLock({ $0.next() }) {
                    guard let retry = await deliver(job) else { continue }
                    group.addTask {
                        do {
                            try await self.configuration.webhooks.clock.sleep(for: self.configuration.webhooks.retryDelay)
                        } catch {
                            return
                        }
                        self.queue.withLock { $0.push(retry) }
                        self.wakeContinuation.yield()
                    }
                }
            }
            group.cancelAll()
        }
    }
}

/// A misuse of the simulator's Swift API.
public struct ZendeskSimulatorError: Error, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    public var description: String { message }
}
