import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import Metrics
import NIOCore
public import WeftConnectors
public import WeftCore
public import WeftRuntime

/// `POST /hooks/<system>` for a Stripe account: verify the signature on the raw bytes, parse the envelope, append
/// the event to the inbox in one durable (group-committed) write, and only then answer 2xx.
///
/// | case | answer | stored |
/// |---|---|---|
/// | new event | 200 `{"received":true,"duplicate":false}` | yes |
/// | same `evt_` id again | 200 `{"received":true,"duplicate":true}` | nothing new |
/// | missing or bad `Stripe-Signature` | 401 | nothing |
/// | body not a Stripe event | 400 | nothing |
/// | body over the limit | 413 | nothing |
/// | store unavailable | 503 + `Retry-After` (the sender retries) | nothing |
public struct StripeWebhookIngress: WebhookRoutes {
    public var system: SystemName { intake.system }
    let verifier: StripeWebhookVerifier
    let intake: WebhookIntake

    public init(
        system: SystemName, verifier: StripeWebhookVerifier, store: any Store, maxBodyBytes: Int, events: Doorbell,
        logger: Logger
    ) {
        self.verifier = verifier
        self.intake = WebhookIntake(system: system, store: store, maxBodyBytes: maxBodyBytes, events: events, logger: logger)
    }

    /// Adds the route to `router`.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("/hooks/\(system.rawValue)") { request, _ in
            try await intake.handle(request, accept)
        }
    }

    func accept(_ request: Request) async throws -> Response {
        let body = try await intake.body(of: request)
        let receivedAt = Date()
        do {
            try verifier.verify(payload: body, signatureHeader: request.headers[HTTPField.Name("Stripe-Signature")!], now: receivedAt)
        } catch {
            throw APIError(
                .unauthorized, code: "bad_signature",
                message: "\(error). Check that the webhook signing secret configured for \(system) is the endpoint's current secret.")
        }
        let envelope: StripeEventEnvelope
        do {
            envelope = try StripeEventEnvelope.parse(body, system: system)
        } catch {
            throw APIError(.badRequest, code: "malformed_event", message: "the body is not a Stripe event: \(error)")
        }
        let traceID = TraceID.random()
        return try await intake.append(
            envelope.incomingEvent(system: system, payload: body, receivedAt: receivedAt, traceID: traceID))
    }
}

/// A webhook endpoint that adds its routes to the node's router.
public protocol WebhookRoutes: Sendable {
    /// The system whose webhooks the routes receive.
    var system: SystemName { get }
    /// Adds the routes to `router`.
    func addRoutes<Context: RequestContext>(to router: Router<Context>)
}

/// What every webhook ingress does once it has authenticated and parsed a delivery, whatever the source: read the body
/// within the limit (413), append the event durably (group commit) and only then answer 200, answer 503 with
/// `Retry-After` when the store fails, count and log every outcome.
struct WebhookIntake: Sendable {
    let system: SystemName
    let store: any Store
    let maxBodyBytes: Int
    let events: Doorbell
    let logger: Logger

    /// Runs `accept`, timing acknowledged requests and counting and logging rejected ones by their error code.
    func handle(_ request: Request, _ accept: (Request) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let systemLabel = system.rawValue
        do {
            let response = try await accept(request)
            Metrics.Timer(label: WeftMetrics.ackLatency, dimensions: [("system", systemLabel)])
                .recordNanoseconds(Self.nanoseconds(started.duration(to: .now)))
            return response
        } catch let error as APIError {
            Counter(label: WeftMetrics.eventsRejected, dimensions: [("system", systemLabel), ("reason", error.code)]).increment()
            logger.info(
                "webhook rejected",
                metadata: ["weft.system": "\(system)", "weft.status": "\(error.status.code)", "weft.reason": "\(error.code)"])
            throw error
        }
    }

    /// The request body, refused with 413 when it is larger than the limit (by `Content-Length` or as it streams).
    func body(of request: Request) async throws -> Data {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            throw Self.tooLarge(maxBodyBytes)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw Self.tooLarge(maxBodyBytes)
        }
        return Data(buffer.readableBytesView)
    }

    /// Appends `event` to the inbox in one durable write and answers 200 `{"received":true,"duplicate":…}`; 503 with
    /// `Retry-After` when the store fails, so the sender retries.
    func append(_ event: IncomingEvent) async throws -> Response {
        let duplicates = try await append([event]).duplicates
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"received":true,"duplicate":\#(duplicates > 0)}"#)))
    }

    /// Appends `events` (one delivery that carries several, e.g. HubSpot's arrays) in one durable write; throws 503
    /// with `Retry-After` when the store fails (nothing of the delivery is then acknowledged). Returns how many were
    /// new and how many duplicates.
    func append(_ events: [IncomingEvent]) async throws -> (stored: Int, duplicates: Int) {
        guard !events.isEmpty else { return (0, 0) }
        for event in events {
            Counter(label: WeftMetrics.eventsReceived, dimensions: [("system", system.rawValue), ("type", event.type)]).increment()
        }
        let results: [AppendResult]
        do {
            results = try await store.append(events)
        } catch {
            logger.error(
                "inbox write failed; answering 503 so the sender retries",
                metadata: ["weft.system": "\(system)", "weft.trace_id": "\(events[0].traceID)", "weft.error": "\(error)"])
            throw APIError(
                .serviceUnavailable, code: "store_unavailable", message: "the event could not be stored; retry later",
                headers: [.retryAfter: "5"])
        }
        var stored = 0
        for (event, result) in zip(events, results) {
            let duplicate: Bool
            switch result {
            case .stored:
                duplicate = false
                stored += 1
                Counter(label: WeftMetrics.eventsStored, dimensions: [("system", system.rawValue), ("type", event.type)]).increment()
            case .duplicate:
                duplicate = true
                Counter(label: WeftMetrics.eventsDuplicate, dimensions: [("system", system.rawValue), ("type", event.type)])
                    .increment()
            }
            logger.debug(
                "webhook accepted",
                metadata: [
                    "weft.system": "\(system)", "weft.trace_id": "\(event.traceID)", "weft.event.id": "\(event.eventID)",
                    "weft.event.type": "\(event.type)", "weft.duplicate": "\(duplicate)",
                ])
        }
        if stored > 0 { self.events.ring() }
        return (stored, events.count - stored)
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(
            .contentTooLarge, code: "body_too_large",
            message: "the body is larger than the configured limit of \(limit) bytes (server.max_body_bytes)")
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}
