public import AsyncHTTPClient
import Foundation
import Synchronization
public import WeftSimKit

/// A stateful, in-memory HubSpot CRM over real HTTP: companies, contacts, deals and line items (CRM v3 basic, batch,
/// search and merge APIs), associations v4, private-app token auth, the ten-second and daily rate limits, and app
/// webhooks (arrays of up to 100 events, v3-signed, retried). See `docs/simulators/hubspot.md`.
///
/// Mount it with `addRoutes(to:)` and run `runDelivery()` for as long as webhooks should flow.
public final class HubSpotSimulator: Sendable {
    /// The configuration the simulator was made with.
    public let configuration: Configuration
    /// API faults (latency, errors, 429s, outages), shared with `WeftSimKit`'s admin routes.
    public let faults: FaultInjector
    /// Every API request served.
    public let requestLog: RequestLog

    let httpClient: HTTPClient
    let state: Mutex<HubSpotState>
    let queue: Mutex<WebhookQueue>
    let wake: AsyncStream<Void>
    let wakeContinuation: AsyncStream<Void>.Continuation
    private let deliveryRunning = Mutex(false)
    private let targetURLOverride = Mutex<String?>(nil)

    /// The app's webhook URL: the configured one, or the one set since (`setWebhookTarget`).
    public var webhookTargetURL: String? { targetURLOverride.withLock { $0 } ?? configuration.webhooks.targetURL }

    /// Changes the app's webhook URL, as a developer does in the app's settings (e.g. once the receiver's port is
    /// known). Events raised from then on are sent there; events already queued are sent there too.
    public func setWebhookTarget(_ url: String) {
        targetURLOverride.withLock { $0 = url }
        wakeContinuation.yield()
    }
    private let correlation: Mutex<SplitMix64>

    /// - Parameters:
    ///   - configuration: credentials, paths, limits, properties, time, ids and webhooks.
    ///   - httpClient: the client webhooks are sent with.
    public init(configuration: Configuration = .init(), httpClient: HTTPClient = .shared) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.faults = FaultInjector()
        self.requestLog = RequestLog()
        let seed = configuration.idSeed ?? UInt64.random(in: 1...UInt64.max)
        let now = configuration.now?() ?? Int(Date().timeIntervalSince1970 * 1000)
        func byType(_ map: [String: Set<String>]) -> [ObjectType: Set<String>] {
            var result: [ObjectType: Set<String>] = [:]
            for (name, properties) in map {
                if let type = ObjectType(path: name) { result[type, default: []].formUnion(properties) }
            }
            return result
        }
        var custom = byType(configuration.customProperties)
        for (type, names) in byType(configuration.uniqueProperties) { custom[type, default: []].formUnion(names) }
        self.state = Mutex(
            HubSpotState(
                idSeed: seed, now: now, customProperties: custom,
                uniqueProperties: byType(configuration.uniqueProperties), owners: configuration.owners,
                enumerations: Dictionary(
                    configuration.enumerations.compactMap { name, properties in ObjectType(path: name).map { ($0, properties) } }
                ) { first, second in first.merging(second) { _, newer in newer } }))
        self.queue = Mutex(WebhookQueue(seed: seed))
        self.correlation = Mutex(SplitMix64(seed: seed ^ 0xC0FFEE))
        (self.wake, self.wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The current time in unix milliseconds.
    var now: Int {
        configuration.now?() ?? Int(Date().timeIntervalSince1970 * 1000)
    }

    /// An answer on the wire.
    struct Reply: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
    }

    // MARK: Serving a call

    /// Serves one API call: authentication, rate limits, the operation and its webhook events. `trusted` calls (the
    /// Swift API) skip authentication and limits and are attributed to a user in the CRM UI.
    func handle(
        method: String, path: String, query: String?, body: [UInt8], authorization: String?, baseURL: String,
        trusted: Bool = false
    ) -> Reply {
        let now = self.now
        let limits = configuration.rateLimits
        let paths = configuration.paths
        let correlationID = makeCorrelationID()
        let changeSource = trusted ? "CRM_UI" : "INTEGRATION"
        let sourceID = trusted ? "userId:\(configuration.userID)" : String(configuration.appID)
        let (reply, events) = state.withLock { state -> (Reply, [PendingEvent]) in
            state.now = now
            state.events = []
            var headers: [(String, String)] = [("X-HubSpot-Correlation-Id", correlationID)]
            func fail(_ error: HubSpotError) -> Reply {
                var body = error.body
                if case .object(var object) = body, object["correlationId"] != nil {
                    object["correlationId"] = .string(correlationID)
                    body = .object(object)
                }
                return Reply(status: error.status, headers: headers, body: body.bytes)
            }
            if !trusted, !authenticate(authorization) { return (fail(.unauthenticated), []) }
            if !trusted, let granted = configuration.scopes {
                let required = Self.requiredScopes(method: method, path: path, paths: paths)
                if !required.isEmpty, granted.isDisjoint(with: required) { return (fail(.missingScopes(required)), []) }
            }
            let isSearch = method == "POST" && path.hasPrefix(paths.objects + "/") && path.hasSuffix("/search")
            if !trusted {
                if isSearch {
                    // The search API has its own per-second limit and sends no rate-limit headers.
                    if state.searchWindow.take(limit: limits.searchPerSecond, windowMs: 1000, now: now) == nil {
                        return (fail(.rateLimited(policy: .secondly)), [])
                    }
                } else {
                    headers.append(("X-HubSpot-RateLimit-Daily", String(limits.perDay)))
                    guard let daily = state.daily.take(limit: limits.perDay, now: now) else {
                        headers.append(("X-HubSpot-RateLimit-Daily-Remaining", "0"))
                        return (fail(.rateLimited(policy: .daily)), [])
                    }
                    headers.append(("X-HubSpot-RateLimit-Daily-Remaining", String(daily)))
                    headers.append(("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"))
                    headers.append(("X-HubSpot-RateLimit-Max", String(limits.perTenSeconds)))
                    guard let remaining = state.tenSecondWindow.take(limit: limits.perTenSeconds, windowMs: 10_000, now: now)
                    else {
                        headers.append(("X-HubSpot-RateLimit-Remaining", "0"))
                        return (fail(.rateLimited(policy: .tenSecondlyRolling)), [])
                    }
                    headers.append(("X-HubSpot-RateLimit-Remaining", String(remaining)))
                }
            }
            var json = JSON.null
            if !body.isEmpty, method == "POST" || method == "PUT" || method == "PATCH" {
                guard let parsed = try? JSON.parse(body) else {
                    return (fail(.validation("Invalid input JSON on line 1: the body is not valid JSON")), [])
                }
                json = parsed
            }
            state.changeSource = changeSource
            state.sourceID = sourceID
            // What the call may undo: HubSpot answers a batch that fails at one input with one error and keeps none of
            // it, so a record never stays written without its webhook.
            let before = state
            do throws(HubSpotError) {
                let answer: APIAnswer
                if let rest = Self.segments(path, below: paths.objects) {
                    answer = try state.routeObjects(
                        APIRequest(
                            method: method, segments: rest, query: Self.decodeQuery(query), body: json, baseURL: baseURL,
                            path: path))
                } else if path == paths.owners || path == paths.owners + "/" {
                    answer = try state.listOwners(
                        APIRequest(
                            method: method, segments: [], query: Self.decodeQuery(query), body: json, baseURL: baseURL,
                            path: path))
                } else if let rest = Self.segments(path, below: paths.owners) {
                    answer = try state.readOwner(
                        APIRequest(
                            method: method, segments: rest, query: Self.decodeQuery(query), body: json, baseURL: baseURL,
                            path: path))
                } else if let rest = Self.segments(path, below: paths.properties) {
                    answer = try state.readProperties(
                        APIRequest(
                            method: method, segments: rest, query: Self.decodeQuery(query), body: json, baseURL: baseURL,
                            path: path))
                } else if let rest = Self.segments(path, below: paths.associations) {
                    answer = try state.routeAssociations(
                        APIRequest(
                            method: method, segments: rest, query: Self.decodeQuery(query), body: json, baseURL: baseURL,
                            path: path))
                } else {
                    throw HubSpotError(status: 404, category: "OBJECT_NOT_FOUND", message: "Not found: \(path)")
                }
                headers.append(("Content-Type", "application/json;charset=utf-8"))
                return (
                    Reply(status: answer.status, headers: headers, body: answer.status == 204 ? [] : answer.body.bytes),
                    state.events
                )
            } catch {
                // A failed call changes nothing that a client could see, so it raises no events; only the rate limits
                // keep what it took.
                let (daily, tenSeconds, search) = (state.daily, state.tenSecondWindow, state.searchWindow)
                state = before
                (state.daily, state.tenSecondWindow, state.searchWindow) = (daily, tenSeconds, search)
                return (fail(error), [])
            }
        }
        if !events.isEmpty { enqueue(events, at: now, changeSource: changeSource, sourceID: sourceID) }
        return reply
    }

    private func authenticate(_ authorization: String?) -> Bool {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return false }
        let token = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return configuration.accessTokens.contains(token)
    }

    private func makeCorrelationID() -> String {
        let (a, b) = correlation.withLock { ($0.next(), $0.next()) }
        let hex = String(a, radix: 16).leftPadded(16) + String(b, radix: 16).leftPadded(16)
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-"
            + String(c[20..<32])
    }

    /// The scopes of which a call needs one (HubSpot's granular scopes), in the order HubSpot lists them: to read
    /// records of a type (a search and a batch read are reads) `crm.objects.<type>.read`, for contacts, companies and
    /// deals also `crm.schemas.<type>.read` and the sensitive-data scopes (HubSpot's own example, reading deals), for
    /// products and line items also the older `e-commerce`; `.write` to change them; `crm.objects.owners.read` for
    /// owners; for property definitions `crm.objects.<type>.read` or `crm.schemas.<type>.read` (the properties guide
    /// lists the object scope among those of which one is required); an association call those of the object it starts
    /// from. `[]` for a path the simulator does not serve (answered 404).
    static func requiredScopes(method: String, path: String, paths: Configuration.Paths) -> [String] {
        func objects(_ type: String, write: Bool) -> [String] {
            if write { return ["crm.objects.\(type).write"] }
            switch type {
            case "contacts", "companies", "deals":
                return [
                    "crm.schemas.\(type).read", "crm.objects.\(type).sensitive.read.v2", "crm.objects.\(type).read",
                    "crm.objects.\(type).highly_sensitive.read.v2",
                ]
            case "products", "line_items": return ["crm.objects.\(type).read", "e-commerce"]
            default: return ["crm.objects.\(type).read"]
            }
        }
        if let rest = segments(path, below: paths.objects), let type = rest.first {
            let reads = method == "GET" || (method == "POST" && (rest.last == "search" || rest.suffix(2) == ["batch", "read"]))
            return objects(type, write: !reads)
        }
        if path == paths.owners || segments(path, below: paths.owners) != nil { return ["crm.objects.owners.read"] }
        if let rest = segments(path, below: paths.properties), let type = rest.first {
            return ["crm.objects.\(type).read", "crm.schemas.\(type).read"]
        }
        if let rest = segments(path, below: paths.associations), rest.count > 1, ["objects", "associations"].contains(rest[0]) {
            let reads = method == "GET" || (method == "POST" && rest.last == "read")
            return objects(rest[1], write: !reads)
        }
        return []
    }

    /// The path segments below `prefix`, or `nil` when `path` is not below it.
    static func segments(_ path: String, below prefix: String) -> [String]? {
        guard path.hasPrefix(prefix + "/") else { return nil }
        return path.dropFirst(prefix.count + 1).split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
    }

    /// `a=1&properties=b%2Cc` → `["a": "1", "properties": "b,c"]` (`+` is a space; a repeated key joins with commas,
    /// as `properties=a&properties=b` does in HubSpot).
    static func decodeQuery(_ query: String?) -> [String: String] {
        var result: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            let key = decode(parts[0])
            let value = parts.count > 1 ? decode(parts[1]) : ""
            if let existing = result[key], !existing.isEmpty { result[key] = existing + "," + value } else { result[key] = value }
        }
        return result
    }

    // MARK: Swift API

    /// The answer to `call(_:_:body:)`.
    public struct CallResult: Sendable {
        /// The HTTP status.
        public var status: Int
        /// The JSON body (empty for 204).
        public var body: [UInt8]
    }

    /// Calls the API without HTTP, authentication or rate limits, as a user editing in the CRM UI would (for seeding
    /// a scenario): webhook events are raised with `changeSource` `CRM_UI` and `sourceId` `userId:<userID>`.
    /// - Parameters:
    ///   - method: `GET`, `POST`, `PATCH`, `PUT` or `DELETE`.
    ///   - path: e.g. `/crm/v3/objects/deals`, optionally with a query.
    ///   - body: a JSON body.
    public func call(_ method: String, _ path: String, body: String? = nil) -> CallResult {
        let parts = path.split(separator: "?", maxSplits: 1).map(String.init)
        let reply = handle(
            method: method.uppercased(), path: parts[0], query: parts.count > 1 ? parts[1] : nil,
            body: Array((body ?? "").utf8), authorization: nil, baseURL: "https://api.hubapi.com", trusted: true)
        return CallResult(status: reply.status, body: reply.body)
    }

    // MARK: Webhook sender

    /// Every delivery attempt made so far, oldest first.
    public var webhookDeliveries: [WebhookDelivery] { queue.withLock { $0.attempts } }

    /// Events not delivered yet (buffered, held, in flight or waiting for a retry).
    public var pendingDeliveries: Int { queue.withLock { $0.pending } }

    /// Sets the webhook faults (duplicates, reordering).
    public func setWebhookFaults(_ plan: WebhookFaultPlan) {
        queue.withLock { $0.setFaults(plan) }
        wakeContinuation.yield()
    }

    /// Returns once nothing is pending: every request succeeded or used up its attempts. A partial reorder window is
    /// released first. While `runDelivery()` is not running, this waits.
    public func waitUntilDeliveriesSettled() async {
        let id = queue.withLock { $0.makeWaiterID() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let registered = queue.withLock { !Task.isCancelled && $0.addSettleWaiter(continuation, id: id) }
                if registered { wakeContinuation.yield() } else { continuation.resume() }
            }
        } onCancel: {
            queue.withLock { $0.removeSettleWaiter(id: id) }?.resume()
        }
    }

    /// Sends webhooks until the calling task is cancelled: events matching the app's subscriptions go to its target
    /// URL as JSON arrays of up to `maxEventsPerRequest`, v3-signed, retried with backoff on connection failures,
    /// timeouts, 429 and 5xx. Call it once per simulator.
    public func runDelivery() async throws {
        let alreadyRunning = deliveryRunning.withLock { running in
            defer { running = true }
            return running
        }
        guard !alreadyRunning else {
            throw HubSpotSimulatorError(message: "runDelivery() is already running for this simulator")
        }
        wakeContinuation.yield()
        await deliverAll()
    }
}

/// A misuse of the simulator's Swift API.
public struct HubSpotSimulatorError: Error, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    public var description: String { message }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
