import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import Metrics
import NIOCore
import Synchronization
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
        logger: Logger, ingest: IngestActivity? = nil
    ) {
        self.verifier = verifier
        self.intake = WebhookIntake(
            system: system, store: store, maxBodyBytes: maxBodyBytes, events: events, logger: logger, ingest: ingest)
    }

    /// Adds the route to `router`.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post(RouterPath(path)) { request, _ in
            try await intake.handle(request, accept)
        }
    }

    /// `/hooks/<system>`.
    public var path: String { "/hooks/\(system.rawValue)" }

    func accept(_ request: Request) async throws -> Response {
        let body = try await intake.body(of: request)
        return try await intake.acknowledge(events(headers: request.headers, body: body, receivedAt: Date()))
    }

    /// Verifies and parses one delivery: its event, or the error to answer (401 bad signature, 400 not an event).
    func events(headers: HTTPFields, body: Data, receivedAt: Date) throws(APIError) -> [IncomingEvent] {
        do {
            try verifier.verify(payload: body, signatureHeader: headers[Self.signatureHeader], now: receivedAt)
        } catch {
            let fix =
                error.code == .timestampOutsideTolerance
                ? WebhookIntake.staleTimestampFix(system)
                : "Check that the webhook signing secret configured for \(system) is the endpoint's current secret."
            throw APIError(.unauthorized, code: "bad_signature", message: "\(error). \(fix)")
        }
        let envelope: StripeEventEnvelope
        do {
            envelope = try StripeEventEnvelope.parse(body, system: system)
        } catch {
            throw APIError(.badRequest, code: "malformed_event", message: "the body is not a Stripe event: \(error)")
        }
        return [envelope.incomingEvent(system: system, payload: body, receivedAt: receivedAt, traceID: .random())]
    }

    static let signatureHeader = HTTPField.Name("Stripe-Signature")!
}

extension StripeWebhookIngress: EventLoopWebhookIngress {}

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
    /// Told of every delivery, so the pipeline's helper workers stand back while webhooks arrive.
    let ingest: IngestActivity?
    /// The metrics factory of the code that built the node, taken once: the fast path counts on event-loop threads,
    /// outside any task that could carry one (tests bind theirs to a task).
    let metrics: any MetricsFactory
    /// What every delivery records, made once.
    let handles: IntakeMetrics

    init(system: SystemName, store: any Store, maxBodyBytes: Int, events: Doorbell, logger: Logger, ingest: IngestActivity?) {
        self.ingest = ingest
        self.system = system
        self.store = store
        self.maxBodyBytes = maxBodyBytes
        self.events = events
        self.logger = logger
        self.metrics = MetricsSystem.factory
        self.handles = IntakeMetrics(system: system, factory: metrics)
    }

    /// Runs `accept`, timing acknowledged requests and counting and logging rejected ones by their error code.
    func handle(_ request: Request, _ accept: (Request) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await accept(request)
            acknowledged(since: started)
            return response
        } catch let error as APIError {
            rejected(error)
            throw error
        }
    }

    /// What fixes a signature whose timestamp is outside the tolerance: not the secret, but the clock (senders sign
    /// every attempt anew, so a genuine redelivery is never stale), unless an old delivery was sent again.
    static func staleTimestampFix(_ system: SystemName) -> String {
        "Its timestamp is outside systems.\(system).signature_tolerance_seconds: check this host's clock (a sender signs "
            + "every attempt anew), or this is an old delivery sent again."
    }

    /// Records the acknowledgement latency of a delivery that arrived at `started`.
    func acknowledged(since started: ContinuousClock.Instant) {
        handles.ackLatency.recordNanoseconds(Self.nanoseconds(started.duration(to: .now)))
    }

    /// Counts and logs a rejected delivery by its error code.
    func rejected(_ error: APIError) {
        Counter(label: WeftMetrics.eventsRejected, dimensions: [("system", system.rawValue), ("reason", error.code)], factory: metrics)
            .increment()
        logger.info(
            "webhook rejected",
            metadata: ["weft.system": "\(system)", "weft.status": "\(error.status.code)", "weft.reason": "\(error.code)"])
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

    /// Appends the events of one delivery to the inbox in one durable write and answers 200
    /// `{"received":true,"duplicate":…}`; 503 with `Retry-After` when the store fails, so the sender retries.
    func acknowledge(_ events: [IncomingEvent]) async throws -> Response {
        let duplicates = try await append(events).duplicates
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: Self.acknowledgement(duplicate: duplicates > 0))))
    }

    /// The 200 answer's body.
    static func acknowledgement(duplicate: Bool) -> [UInt8] {
        Array(#"{"received":true,"duplicate":\#(duplicate)}"#.utf8)
    }

    /// Appends `events` (one delivery that carries several, e.g. HubSpot's arrays) in one durable write; throws 503
    /// with `Retry-After` when the store fails (nothing of the delivery is then acknowledged). Returns how many were
    /// new and how many duplicates.
    func append(_ events: [IncomingEvent]) async throws -> (stored: Int, duplicates: Int) {
        guard !events.isEmpty else { return (0, 0) }
        received(events)
        let results: [AppendResult]
        do {
            results = try await store.append(events)
        } catch {
            throw storeFailed(traceID: events[0].traceID, error)
        }
        return appended(events, results)
    }

    /// Counts a delivery's events as received, before they are written.
    func received(_ events: [IncomingEvent]) {
        ingest?.noteDelivery()
        for event in events { handles.counter(WeftMetrics.eventsReceived, type: event.type).increment() }
    }

    /// Logs a failed inbox write (or a read the delivery needed first) and returns the 503 to answer.
    func storeFailed(traceID: TraceID, _ error: any Error) -> APIError {
        logger.error(
            "inbox write failed; answering 503 so the sender retries",
            metadata: ["weft.system": "\(system)", "weft.trace_id": "\(traceID)", "weft.error": "\(error)"])
        return APIError(
            .serviceUnavailable, code: "store_unavailable", message: "the event could not be stored; retry later",
            headers: [.retryAfter: "5"])
    }

    /// Counts and logs what a durable write made of a delivery's events and wakes the pipeline when any was new.
    func appended(_ events: [IncomingEvent], _ results: [AppendResult]) -> (stored: Int, duplicates: Int) {
        var stored = 0
        for (event, result) in zip(events, results) {
            let duplicate: Bool
            switch result {
            case .stored:
                duplicate = false
                stored += 1
                handles.counter(WeftMetrics.eventsStored, type: event.type).increment()
            case .duplicate:
                duplicate = true
                handles.counter(WeftMetrics.eventsDuplicate, type: event.type).increment()
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

/// The timer and the counters a webhook endpoint records on every delivery, each made once: making a handle goes
/// through the metrics factory (a lock, a lookup by name and labels, the labels checked), which cost more than the
/// counting itself, three times per delivery. Counters are kept per event type up to `typesKept` types; a sender with
/// more gets the others made per delivery, as before.
final class IntakeMetrics: Sendable {
    private struct Key: Hashable {
        let label: String
        let type: String
    }

    static let typesKept = 512

    let ackLatency: Metrics.Timer
    private let system: SystemName
    private let factory: any MetricsFactory
    private let counters = Mutex<[Key: Counter]>([:])

    init(system: SystemName, factory: any MetricsFactory) {
        self.system = system
        self.factory = factory
        self.ackLatency = Metrics.Timer(
            label: WeftMetrics.ackLatency, dimensions: [("system", system.rawValue)], factory: factory)
    }

    /// The counter `label` of this system's events of `type`.
    func counter(_ label: String, type: String) -> Counter {
        let key = Key(label: label, type: type)
        if let counter = counters.withLock({ $0[key] }) { return counter }
        let counter = Counter(label: label, dimensions: [("system", system.rawValue), ("type", type)], factory: factory)
        counters.withLock { counters in
            if counters.count < Self.typesKept { counters[key] = counter }
        }
        return counter
    }
}
