import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import WeftCore

/// A webhook endpoint whose deliveries `WebhookFastPath` can take on the connection's event loop: it decides from the
/// head and the whole body without awaiting anything, and only the store's write is waited for.
protocol EventLoopWebhookIngress: WebhookRoutes {
    /// The route's path, `/hooks/<system>`.
    var path: String { get }
    /// Limits, store, counting and logging, shared with the router's path.
    var intake: WebhookIntake { get }
    /// The events of one delivery, or the error to answer (bad signature, not an event).
    func events(headers: HTTPFields, body: Data, receivedAt: Date) throws(APIError) -> [IncomingEvent]
}

/// Takes webhook deliveries on the connection's event loop, before the router: collects the body, authenticates and
/// parses it, hands the events to the store's group commit and writes the answer when the commit calls back.
///
/// The router runs each request as a Swift task and streams its body and answer through async sequences; for a webhook
/// that is most of the cost of acknowledging it (the store's share is a row in a group-committed transaction). Here a
/// delivery costs no task at all: the store answers on its writer's thread and the answer hops back to the event loop.
/// The answers are the route's: the same status codes, bodies, counters, latency timer and log lines
/// (`WebhookIntake` does both).
///
/// What it leaves to the router, unchanged: other paths and methods, a body announced or found to be over the limit
/// (413 there), `Connection: close`, `Expect`, trailers. Answers stay in request order: a delivery is only taken here
/// while the router owes no answer on the connection, and while one waits for the store, later requests on the
/// connection are held (and no more is read from the socket) until it is answered. Graceful shutdown waits for it
/// too: the server's request to wind the connection down (`ChannelShouldQuiesceEvent`, which closes an idle
/// connection) is held back while a delivery is being collected or stored here, then passed on once it is answered.
final class WebhookFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private struct Delivery {
        let ingress: any EventLoopWebhookIngress
        let head: HTTPRequest
        var body: ByteBuffer
        let started: ContinuousClock.Instant
    }

    private enum Current {
        case none
        case forwarding
        case collecting(Delivery)
    }

    private let ingresses: [String: any EventLoopWebhookIngress]
    private var current = Current.none
    /// Requests passed on to the router whose answer has not ended yet.
    private var forwardedInFlight = 0
    /// A delivery taken here is waiting for the store.
    private var storing = false
    /// Request parts that arrived while `storing`, handled once it is answered.
    private var held = CircularBuffer<HTTPRequestPart>()
    /// A read asked for while `storing`, passed on once it is answered.
    private var readHeld = false
    /// The server asked to wind the connection down while a delivery was being taken here.
    private var quiesceHeld = false

    /// Whether a delivery is being taken here (collected or stored).
    private var busy: Bool {
        if storing { return true }
        if case .collecting = current { return true }
        return false
    }

    init(ingresses: [any EventLoopWebhookIngress]) {
        self.ingresses = Dictionary(ingresses.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if storing || !held.isEmpty {
            held.append(part)
            return
        }
        take(part, context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, busy {
            quiesceHeld = true
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func read(context: ChannelHandlerContext) {
        if storing {
            readHeld = true
        } else {
            context.read()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), forwardedInFlight > 0 { forwardedInFlight -= 1 }
        context.write(data, promise: promise)
    }

    private func take(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        defer { releaseQuiesce(context: context) }
        switch (part, current) {
        case (.head(let request), _):
            if forwardedInFlight == 0, let ingress = ingress(for: request) {
                let announced = request.headerFields[.contentLength].flatMap(Int.init) ?? 0
                current = .collecting(
                    Delivery(
                        ingress: ingress, head: request, body: context.channel.allocator.buffer(capacity: announced),
                        started: .now))
            } else {
                current = .forwarding
                forwardedInFlight += 1
                context.fireChannelRead(wrapInboundOut(part))
            }
        case (.body(let buffer), .collecting(var delivery)):
            current = .none  // so that `delivery` holds the only reference to the body while it grows
            if delivery.body.readableBytes + buffer.readableBytes > delivery.ingress.intake.maxBodyBytes {
                forward(delivery, then: [.body(buffer)], context: context)
            } else {
                delivery.body.writeImmutableBuffer(buffer)
                current = .collecting(delivery)
            }
        case (.end(let trailers), .collecting(let delivery)):
            current = .none
            if trailers == nil {
                accept(delivery, context: context)
            } else {
                forward(delivery, then: [part], context: context)
            }
        case (.end, _):
            current = .none
            context.fireChannelRead(wrapInboundOut(part))
        case (.body, _):
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    /// The ingress that takes `request` here, or `nil` when the router answers it.
    private func ingress(for request: HTTPRequest) -> (any EventLoopWebhookIngress)? {
        guard request.method == .post, let path = request.path, let ingress = ingresses[path],
            request.headerFields[.expect] == nil, !EntitlementFastPath.asksToClose(request.headerFields[.connection])
        else { return nil }
        if let announced = request.headerFields[.contentLength] {
            guard let length = Int(announced), length <= ingress.intake.maxBodyBytes else { return nil }
        }
        return ingress
    }

    /// Passes a delivery collected so far on to the router, followed by `rest`.
    private func forward(_ delivery: Delivery, then rest: [HTTPRequestPart], context: ChannelHandlerContext) {
        forwardedInFlight += 1
        current = .forwarding
        context.fireChannelRead(wrapInboundOut(.head(delivery.head)))
        if delivery.body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(delivery.body))) }
        for part in rest {
            if case .end = part { current = .none }
            context.fireChannelRead(wrapInboundOut(part))
        }
    }

    private func accept(_ delivery: Delivery, context: ChannelHandlerContext) {
        let intake = delivery.ingress.intake
        let events: [IncomingEvent]
        do {
            events = try delivery.ingress.events(
                headers: delivery.head.headerFields, body: Data(delivery.body.readableBytesView), receivedAt: Date())
        } catch {
            intake.rejected(error)
            EventLoopAnswer.write(error, to: context)
            return
        }
        storing = true
        intake.received(events)
        let started = delivery.started
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        intake.store.append(events) { result in
            bound.eventLoop.execute {
                let (handler, context) = bound.value
                handler.stored(result, events: events, intake: intake, started: started, context: context)
            }
        }
    }

    private func stored(
        _ result: Result<[AppendResult], any Error>, events: [IncomingEvent], intake: WebhookIntake,
        started: ContinuousClock.Instant, context: ChannelHandlerContext
    ) {
        storing = false
        switch result {
        case .success(let results):
            let duplicates = intake.appended(events, results).duplicates
            intake.acknowledged(since: started)
            EventLoopAnswer.write(
                status: .ok, body: WebhookIntake.acknowledgement(duplicate: duplicates > 0), to: context)
        case .failure(let error):
            let answer = intake.storeFailed(traceID: events[0].traceID, error)
            intake.rejected(answer)
            EventLoopAnswer.write(answer, to: context)
        }
        while !storing, let part = held.popFirst() { take(part, context: context) }
        if !storing, readHeld {
            readHeld = false
            context.read()
        }
        releaseQuiesce(context: context)
    }

    /// Passes on a held request to wind the connection down once no delivery is being taken here.
    private func releaseQuiesce(context: ChannelHandlerContext) {
        guard quiesceHeld, !busy else { return }
        quiesceHeld = false
        context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }
}

/// Answers written on the event loop by the fast paths: `application/json` with a `Content-Length`.
enum EventLoopAnswer {
    static func write(
        status: HTTPResponse.Status, headers: HTTPFields = [:], body: [UInt8], to context: ChannelHandlerContext
    ) {
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(body.count)
        context.write(NIOAny(HTTPResponsePart.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(NIOAny(HTTPResponsePart.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil)), promise: nil)
    }

    /// `error` as the router would answer it.
    static func write(_ error: APIError, to context: ChannelHandlerContext) {
        write(status: error.status, headers: error.headers, body: error.bodyBytes, to: context)
    }
}
