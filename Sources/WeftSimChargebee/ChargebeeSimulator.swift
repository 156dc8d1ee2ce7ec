public import AsyncHTTPClient
import Foundation
import Synchronization
public import WeftSimKit

/// A stateful, in-memory Chargebee site (API v2, product catalog 2.0) over real HTTP: customers, items and item
/// prices, subscriptions with proration, invoices, transactions with dunning, credit notes and refunds, events,
/// idempotency, the per-minute rate limit, and webhooks sent with Basic auth, retried, and optionally duplicated
/// or reordered.
///
/// Mount it with `addRoutes(to:)` and run `runDelivery()` for as long as webhooks should flow (the long-running
/// webhook sender, owned by the caller's task group or service group).
public final class ChargebeeSimulator: Sendable {
    /// The configuration the simulator was made with.
    public let configuration: Configuration
    /// API faults (latency, errors, 429s, outages), shared with `WeftSimKit`'s admin routes.
    public let faults: FaultInjector
    /// Every API request served.
    public let requestLog: RequestLog

    let httpClient: HTTPClient
    let state: Mutex<ChargebeeState>
    private let wake: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation
    private let deliveryRunning = Mutex(false)

    /// - Parameters:
    ///   - configuration: site, keys, catalog, time, ids, limits and the webhook sender.
    ///   - httpClient: the client webhooks are sent with.
    public init(configuration: Configuration = .init(), httpClient: HTTPClient = .shared) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.faults = FaultInjector()
        self.requestLog = RequestLog()
        var state = ChargebeeState(
            settings: .init(
                site: configuration.site, prorateByDefault: configuration.prorateByDefault,
                defaultPaymentOutcome: configuration.defaultPaymentOutcome,
                dunningRetryInterval: configuration.dunningRetryIntervalSeconds,
                dunningEndAction: configuration.dunningEndAction, endpoints: configuration.webhooks.endpoints),
            idSeed: configuration.idSeed ?? UInt64.random(in: 1...UInt64.max),
            faultSeed: configuration.webhooks.faultSeed)
        state.now = configuration.now?() ?? Int(Date().timeIntervalSince1970)
        state.seed(configuration.catalog)
        state.delivery.setFaults(configuration.webhooks.faults)
        self.state = Mutex(state)
        (self.wake, self.wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The current time in unix seconds.
    var now: Int { configuration.now?() ?? Int(Date().timeIntervalSince1970) }

    // MARK: Serving a call

    /// Serves one call atomically: authentication, the rate limit, idempotency, the operation and its events. A
    /// failed operation changes nothing (unless the error says it keeps its changes, like a declined
    /// `collect_payment`).
    func handle(
        method: String, path: String, params: FormBody, authorization: String?, idempotencyKey: String?,
        authenticated: Bool = false
    ) -> (reply: APIReply, replayed: Bool) {
        let now = self.now
        let isAdmin = path.hasPrefix("/__sim/")
        let result = state.withLock { state -> (APIReply, Bool) in
            state.now = now
            state.source = isAdmin ? "admin_console" : "api"
            if !authenticated, !isAdmin {
                guard authenticate(authorization) else { return (Self.reply(.authenticationFailed), false) }
            }
            if !isAdmin {
                let minute = now / 60
                if state.rateWindow.minute != minute { state.rateWindow = (minute, 0) }
                state.rateWindow.count += 1
                if state.rateWindow.count > configuration.requestsPerMinute {
                    var reply = Self.reply(.rateLimited)
                    reply.headers.append(("Retry-After", String(60 - now % 60)))
                    return (reply, false)
                }
            }
            let key = method == "POST" ? idempotencyKey.flatMap { $0.isEmpty ? nil : $0 } : nil
            let fingerprint = Self.fingerprint(method: method, path: path, params: params)
            if let key, let saved = state.idempotency[key] {
                if now - saved.at < configuration.idempotencyKeyLifetimeSeconds {
                    guard saved.fingerprint == fingerprint else { return (Self.reply(.idempotencyMismatch()), false) }
                    return (saved.reply, true)
                }
                state.idempotency[key] = nil
            }
            let before = state
            let segments = path.split(separator: "/").map(String.init)
            var reply: APIReply
            do throws(ChargebeeError) {
                let body: JSON
                if isAdmin {
                    body = try state.routeAdmin(segments: Array(segments.dropFirst()), params: params)
                } else if segments.count >= 2, segments[0] == "api", segments[1] == "v2" {
                    body = try state.route(method: method, segments: Array(segments.dropFirst(2)), params: params)
                } else {
                    throw .unknownURL(method, path)
                }
                reply = APIReply(status: 200, body: body)
            } catch {
                if !error.keepsChanges { state = before }
                reply = Self.reply(error)
            }
            if let key, reply.status < 500 {
                state.idempotency[key] = .init(fingerprint: fingerprint, reply: reply, at: now)
            }
            return (reply, false)
        }
        wakeContinuation.yield()
        return result
    }

    static func reply(_ error: ChargebeeError) -> APIReply {
        APIReply(status: error.status, body: error.body)
    }

    private static func fingerprint(method: String, path: String, params: FormBody) -> String {
        let pairs = params.pairs.map { "\($0.name)=\($0.value)" }.sorted()
        return ([method, path] + pairs).joined(separator: "&")
    }

    /// Basic auth with an API key as the user name (the password is ignored; Chargebee's is empty).
    private func authenticate(_ authorization: String?) -> Bool {
        guard let authorization, authorization.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let decoded = String(data: data, encoding: .utf8)
        else { return false }
        let user = String(decoded.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        return !user.isEmpty && configuration.apiKeys.contains(user)
    }

    // MARK: Swift API

    /// The answer to a call made through `call(_:_:parameters:idempotencyKey:)`.
    public struct CallResult: Sendable {
        /// The HTTP status Chargebee would answer.
        public var status: Int
        /// The JSON body.
        public var body: [UInt8]
        /// Whether an idempotent result was replayed.
        public var replayed: Bool
    }

    /// Calls the API without HTTP (as if authenticated), exactly as a request would be served.
    /// - Parameters:
    ///   - method: `GET` or `POST`.
    ///   - path: the path, e.g. `/api/v2/customers`, or an admin path such as `/__sim/subscriptions/{id}/renew`.
    ///   - parameters: form parameters in Chargebee's bracket syntax, e.g. `("subscription_items[item_price_id][0]", "…")`.
    ///   - idempotencyKey: a `chargebee-idempotency-key` for POSTs.
    public func call(
        _ method: String, _ path: String, parameters: [(String, String)] = [], idempotencyKey: String? = nil
    ) -> CallResult {
        let (reply, replayed) = handle(
            method: method.uppercased(), path: path, params: FormBody(pairs: parameters), authorization: nil,
            idempotencyKey: idempotencyKey, authenticated: true)
        return CallResult(status: reply.status, body: reply.body.bytes, replayed: replayed)
    }

    /// Makes every later charge of `customer` succeed or be declined (like switching to a test gateway's decline card).
    public func setPaymentOutcome(_ outcome: PaymentOutcome, forCustomer customer: String) {
        state.withLock { $0.paymentOutcomes[customer] = outcome }
    }

    /// Moves a subscription to its next term boundary (as time passing would): renews and invoices an active one,
    /// ends a trial, starts a future one, cancels a non-renewing one.
    public func renewSubscription(_ id: String) -> CallResult {
        call("POST", "/__sim/subscriptions/\(id)/renew")
    }

    /// Sets the webhook faults (duplicates, reordering).
    public func setWebhookFaults(_ plan: WebhookFaultPlan) {
        state.withLock { $0.delivery.setFaults(plan) }
        wakeContinuation.yield()
    }

    /// The active webhook faults.
    public var webhookFaults: WebhookFaultPlan { state.withLock { $0.delivery.faults } }

    /// Holds webhook deliveries until `resumeDeliveries()`.
    public func pauseDeliveries() { state.withLock { $0.delivery.setPaused(true) } }

    /// Sends held webhook deliveries again.
    public func resumeDeliveries() {
        state.withLock { $0.delivery.setPaused(false) }
        wakeContinuation.yield()
    }

    /// Every delivery attempt made so far, oldest first.
    public var deliveryAttempts: [WebhookDeliveryAttempt] { state.withLock { $0.delivery.attempts } }

    /// Deliveries not finished yet (queued, held, in flight or waiting for a retry).
    public var pendingDeliveries: Int { state.withLock { $0.delivery.pending } }

    /// Returns once no webhook delivery is pending: each one succeeded or used up its retries. A partial reorder
    /// window is released first. While deliveries are paused, or `runDelivery()` is not running, this waits.
    public func waitUntilDeliveriesSettled() async {
        let id = state.withLock { $0.delivery.makeWaiterID() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let registered = state.withLock { state in
                    !Task.isCancelled && state.delivery.addSettleWaiter(continuation, id: id)
                }
                if registered {
                    wakeContinuation.yield()
                } else {
                    continuation.resume()
                }
            }
        } onCancel: {
            state.withLock { $0.delivery.removeSettleWaiter(id: id) }?.resume()
        }
    }

    // MARK: Webhook sender

    func wakeRunLoop() { wakeContinuation.yield() }

    /// Sends webhooks until the calling task is cancelled: every event goes to each endpoint that wants its type, as
    /// a JSON POST with the endpoint's Basic-auth credentials, retried after the configured delays. Call it once.
    public func runDelivery() async throws {
        let alreadyRunning = deliveryRunning.withLock { running in
            defer { running = true }
            return running
        }
        guard !alreadyRunning else {
            throw ChargebeeSimulatorError(message: "runDelivery() is already running for this simulator")
        }
        let maxConcurrent = max(1, configuration.webhooks.maxConcurrentDeliveries)
        wakeContinuation.yield()
        await withDiscardingTaskGroup { group in
            for await _ in wake {
                while let job = state.withLock({ $0.delivery.next(maxConcurrent: maxConcurrent) }) {
                    group.addTask { await self.deliver(job) }
                }
            }
            group.cancelAll()
        }
    }
}

/// A misuse of the simulator's Swift API.
public struct ChargebeeSimulatorError: Error, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    public var description: String { message }
}
