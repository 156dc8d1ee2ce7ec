public import AsyncHTTPClient
import Foundation
import Synchronization
public import WeftSimKit

/// A stateful, in-memory Stripe over real HTTP: customers, catalog, subscriptions, invoices, payments, refunds,
/// events, idempotency and signed webhooks with retries and faults.
///
/// Mount it with `addRoutes(to:)` and run `runDelivery()` for as long as webhooks should flow (it is the
/// long-running webhook sender, owned by the caller's task group or service group).
public final class StripeSimulator: Sendable {
    /// The configuration the simulator was made with.
    public let configuration: Configuration
    /// API faults (latency, errors, 429s, outages), shared with `WeftSimKit`'s admin routes.
    public let faults: FaultInjector
    /// Every API request served.
    public let requestLog: RequestLog

    let httpClient: HTTPClient
    let state: Mutex<StripeState>
    private let wake: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation
    private let deliveryRunning = Mutex(false)

    /// - Parameters:
    ///   - configuration: keys, defaults, time, ids and the webhook sender.
    ///   - httpClient: the client webhooks are sent with.
    public init(configuration: Configuration = .init(), httpClient: HTTPClient = .shared) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.faults = FaultInjector()
        self.requestLog = RequestLog()
        var state = StripeState(
            settings: .init(
                apiVersion: configuration.apiVersion, accountCountry: configuration.accountCountry,
                defaultCurrency: configuration.defaultCurrency,
                defaultPaymentMethod: configuration.defaultPaymentMethod),
            idSeed: configuration.idSeed ?? UInt64.random(in: 1...UInt64.max),
            faultSeed: configuration.webhooks.faultSeed)
        state.idempotency.lifetime = configuration.idempotencyKeyLifetimeSeconds
        state.delivery.setFaults(configuration.webhooks.faults)
        self.state = Mutex(state)
        (self.wake, self.wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The current time in unix seconds.
    var now: Int {
        configuration.now?() ?? Int(Date().timeIntervalSince1970)
    }

    // MARK: Serving a call

    /// Serves one API call: authentication, idempotency, the operation and its events, all atomically.
    func handle(
        method: String, path: String, params: FormParams, authorization: String?, idempotencyKey: String?,
        authenticated: Bool = false
    ) -> (reply: APIReply, replayed: Bool) {
        let now = self.now
        let result = state.withLock { state -> (APIReply, Bool) in
            state.now = now
            let requestID = state.ids.make("req")
            if !authenticated, let error = authenticate(authorization) {
                return (APIReply(status: error.status, body: error.body(requestID: requestID), requestID: requestID), false)
            }
            let key = method == "POST" ? idempotencyKey.flatMap { $0.isEmpty ? nil : $0 } : nil
            if let key {
                guard key.count <= 255 else {
                    let error = StripeError.idempotencyKeyTooLong
                    return (APIReply(status: error.status, body: error.body(requestID: requestID), requestID: requestID), false)
                }
                switch state.idempotency.lookup(key: key, method: method, path: path, params: params, now: now) {
                case .replay(let saved): return (saved, true)
                case .mismatch:
                    let error = StripeError.idempotencyMismatch(key)
                    return (APIReply(status: error.status, body: error.body(requestID: requestID), requestID: requestID), false)
                case .none: break
                }
            }
            let segments = path.split(separator: "/")
            let renewal = segments.count == 4 && segments[0] == "__sim" && segments[1] == "subscriptions" && segments[3] == "renew"
            // A renewal stands for Stripe's own billing run: its events are automatic, `request.id` null ("If null,
            // the event was automatic", the Event object's reference).
            state.request = renewal ? nil : .init(id: requestID, idempotencyKey: key)
            defer { state.request = nil }
            var reply: APIReply
            var save = true
            do {
                let body: JSON
                if renewal {
                    body = try state.renewSubscription(String(segments[2]))
                } else if segments.first == "v1" {
                    body = try state.route(
                        method: method, path: path, segments: Array(segments.dropFirst()), params: params)
                } else {
                    throw StripeError.unrecognizedURL(method: method, path: path)
                }
                // The one place answers are shaped for the wire (an invoice embeds only its first lines).
                reply = APIReply(status: 200, body: StripeState.rendered(body), requestID: requestID)
            } catch let error as StripeError {
                reply = APIReply(
                    status: error.status, body: error.body(requestID: requestID), requestID: requestID,
                    headers: error.headers)
                save = error.savesIdempotentResult
            } catch {
                let failure = StripeError.apiError(status: 500)
                reply = APIReply(status: 500, body: failure.body(requestID: requestID), requestID: requestID)
            }
            if let key, save {
                state.idempotency.save(key: key, method: method, path: path, params: params, reply: reply, now: now)
            }
            return (reply, false)
        }
        wakeContinuation.yield()
        return result
    }

    private func authenticate(_ authorization: String?) -> StripeError? {
        guard let authorization, !authorization.isEmpty else { return .noAPIKey }
        var key: String
        if authorization.hasPrefix("Bearer ") {
            key = String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if authorization.hasPrefix("Basic "),
            let data = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let decoded = String(data: data, encoding: .utf8)
        {
            key = String(decoded.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        } else {
            return .invalidRequest(
                "Invalid API Key provided: \(authorization.prefix(12))", code: "api_key_invalid", status: 401)
        }
        if key.isEmpty { return .noAPIKey }
        return configuration.apiKeys.contains(key) ? nil : .invalidAPIKey(key)
    }

    // MARK: Swift API

    /// The answer to a call made through `call(_:_:parameters:idempotencyKey:)`.
    public struct CallResult: Sendable {
        /// The HTTP status Stripe would answer.
        public var status: Int
        /// The JSON body.
        public var body: [UInt8]
        /// The `Request-Id`.
        public var requestID: String
        /// Whether an idempotent result was replayed.
        public var replayed: Bool
    }

    /// Calls the API without HTTP (authenticated with the first configured key), exactly as a request would.
    /// - Parameters:
    ///   - method: `GET`, `POST` or `DELETE`.
    ///   - path: the path, e.g. `/v1/customers`.
    ///   - parameters: form parameters in bracket syntax, e.g. `("items[0][price]", "price_…")`.
    ///   - idempotencyKey: an `Idempotency-Key` for POSTs.
    public func call(
        _ method: String, _ path: String, parameters: [(String, String)] = [], idempotencyKey: String? = nil
    ) -> CallResult {
        let (reply, replayed) = handle(
            method: method.uppercased(), path: path, params: FormParams(pairs: parameters), authorization: nil,
            idempotencyKey: idempotencyKey, authenticated: true)
        return CallResult(status: reply.status, body: reply.body.prettyBytes, requestID: reply.requestID, replayed: replayed)
    }

    /// Makes every later payment by `customer` use `paymentMethod` (`pm_card_chargeDeclined` makes them fail);
    /// `nil` removes the override.
    public func forcePaymentMethod(_ paymentMethod: String?, forCustomer customer: String) {
        state.withLock { $0.forcedPaymentMethods[customer] = paymentMethod }
    }

    /// Rolls a webhook endpoint's secret and returns the new one; the old one keeps signing for `gracePeriodSeconds`.
    public func rotateWebhookSecret(endpoint: String, gracePeriodSeconds: Int? = nil) throws -> String {
        let now = self.now
        let grace = gracePeriodSeconds ?? configuration.webhooks.secretGracePeriodSeconds
        return try state.withLock { state in
            state.now = now
            do {
                return try state.rotateWebhookSecret(endpoint, gracePeriod: grace)
            } catch let error as StripeError {
                throw StripeSimulatorError(message: error.message)
            }
        }
    }

    /// Bills the next period of a subscription now (as a test clock passing the period end would).
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

    /// Returns once no webhook delivery is pending: each one succeeded or used up its attempts. A partial reorder
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

    /// Lets the sender look at its queue again.
    func wakeRunLoop() { wakeContinuation.yield() }

    /// Sends webhooks until the calling task is cancelled: every event goes to each enabled endpoint whose
    /// `enabled_events` match, as a signed POST, retried with exponential backoff. Call it once per simulator.
    public func runDelivery() async throws {
        let alreadyRunning = deliveryRunning.withLock { running in
            defer { running = true }
            return running
        }
        guard !alreadyRunning else {
            throw StripeSimulatorError(message: "runDelivery() is already running for this simulator")
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
public struct StripeSimulatorError: Error, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    public var description: String { message }
}
