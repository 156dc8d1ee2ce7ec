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
public struct StripeWebhookIngress: Sendable {
    public let system: SystemName
    let verifier: StripeWebhookVerifier
    let store: any Store
    let maxBodyBytes: Int
    let events: Doorbell
    let logger: Logger

    public init(
        system: SystemName, verifier: StripeWebhookVerifier, store: any Store, maxBodyBytes: Int, events: Doorbell,
        logger: Logger
    ) {
        self.system = system
        self.verifier = verifier
        self.store = store
        self.maxBodyBytes = maxBodyBytes
        self.events = events
        self.logger = logger
    }

    /// Adds the route to `router`.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("/hooks/\(system.rawValue)") { request, _ in
            try await handle(request)
        }
    }

    func handle(_ request: Request) async throws -> Response {
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

    func accept(_ request: Request) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            throw Self.tooLarge(maxBodyBytes)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw Self.tooLarge(maxBodyBytes)
        }
        let body = Data(buffer.readableBytesView)
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
        Counter(label: WeftMetrics.eventsReceived, dimensions: [("system", system.rawValue), ("type", envelope.type)]).increment()
        let event = envelope.incomingEvent(system: system, payload: body, receivedAt: receivedAt, traceID: traceID)
        let result: AppendResult
        do {
            result = try await store.append([event])[0]
        } catch {
            logger.error(
                "inbox write failed; answering 503 so the sender retries",
                metadata: ["weft.system": "\(system)", "weft.trace_id": "\(traceID)", "weft.error": "\(error)"])
            throw APIError(
                .serviceUnavailable, code: "store_unavailable", message: "the event could not be stored; retry later",
                headers: [.retryAfter: "5"])
        }
        let duplicate: Bool
        switch result {
        case .stored:
            duplicate = false
            Counter(label: WeftMetrics.eventsStored, dimensions: [("system", system.rawValue), ("type", envelope.type)]).increment()
            events.ring()
        case .duplicate:
            duplicate = true
            Counter(label: WeftMetrics.eventsDuplicate, dimensions: [("system", system.rawValue), ("type", envelope.type)]).increment()
        }
        logger.debug(
            "webhook accepted",
            metadata: [
                "weft.system": "\(system)", "weft.trace_id": "\(traceID)", "weft.event.id": "\(envelope.id)",
                "weft.event.type": "\(envelope.type)", "weft.duplicate": "\(duplicate)",
            ])
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"received":true,"duplicate":\#(duplicate)}"#)))
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
