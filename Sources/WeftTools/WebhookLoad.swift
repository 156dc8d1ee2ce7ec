import Foundation
import NIOCore
import NIOPosix
import Synchronization
import WeftConnectors

/// The benchmark's webhook sender: signed Stripe events over keep-alive HTTP/1.1 connections, each connection sending
/// the next event as soon as the previous one is acknowledged; an event not acknowledged with 2xx is sent again after
/// a backoff (20 ms doubling to 500 ms) until it is, or until two minutes have passed (then it is reported abandoned).
///
/// Written on SwiftNIO directly, as `LookupLoad` is: each request is written from a prebuilt head (only the signature
/// is made per send, as Stripe signs each delivery) and only the status line, `Content-Length` and the `duplicate`
/// flag of each answer are read. The generator shares the two cores with the server it measures; through
/// AsyncHTTPClient it took about a quarter of them at 2,000 requests a second (its pool looks for an idle
/// connection by walking all of them), which is CPU the figure then did not give to Weft. `LoadGenerator` (clients
/// that survive a server being killed) stays for the crash test.
struct WebhookLoad: Sendable {
    let endpoints: [(host: String, port: Int)]
    let signer: StripeWebhookSigner
    let group: any EventLoopGroup

    init(endpoints: [(host: String, port: Int)], secret: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        precondition(!endpoints.isEmpty, "at least one endpoint")
        self.endpoints = endpoints
        self.signer = StripeWebhookSigner(secret: secret)
        self.group = group
    }

    /// Sends every event once (until acknowledged) over `concurrency` connections, spread over the endpoints; with
    /// `perSecond`, event `i` is not sent before `i / perSecond` seconds from the start.
    func send(_ events: [StripeTestEvent], concurrency: Int, perSecond: Double? = nil) async throws -> LoadGenerator.Result {
        let shared = WebhookProgress()
        let started = NIODeadline.now()
        let interval = perSecond.map { TimeAmount.nanoseconds(Int64(1e9 / $0)) }
        let plan = WebhookPlan(events: events, signer: signer, started: started, interval: interval, progress: shared)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for connection in 0..<max(1, concurrency) {
                let endpoint = endpoints[connection % endpoints.count]
                tasks.addTask {
                    var carried: WebhookClientHandler.InFlight?
                    var refused = 0
                    while true {
                        let done = group.next().makePromise(of: WebhookClientHandler.InFlight?.self)
                        let handler = WebhookClientHandler(host: endpoint.host, plan: plan, carried: carried, done: done)
                        let channel: any Channel
                        do {
                            channel = try await ClientBootstrap(group: group)
                                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                                .channelInitializer { $0.pipeline.addHandler(handler) }
                                .connect(host: endpoint.host, port: endpoint.port).get()
                        } catch {
                            // Not connected: try again (an event carried over waits for the connection); a server that
                            // keeps refusing fails the run.
                            done.succeed(nil)
                            refused += 1
                            if refused > 50 { throw error }
                            try await Task.sleep(for: .milliseconds(20))
                            continue
                        }
                        refused = 0
                        let unfinished = try await done.futureResult.get()
                        try? await channel.close()
                        // The connection ended with an event unanswered: send it again on a new one.
                        guard let pending = unfinished, plan.retryOrAbandon(pending) else { return }
                        try await Task.sleep(for: .milliseconds(pending.backoffMs))
                        carried = pending.retried()
                    }
                }
            }
            try await tasks.waitForAll()
        }
        return shared.result.withLock { result in
            result.elapsed = .nanoseconds((NIODeadline.now() - started).nanoseconds)
            return result
        }
    }
}

/// What every connection of one run shares.
final class WebhookProgress: Sendable {
    let next = Atomic<Int>(0)
    let result = Mutex(
        LoadGenerator.Result(accepted: 0, duplicates: 0, retries: 0, abandoned: [], elapsed: .zero, latenciesMs: []))
}

/// The events of a run and how to send them.
struct WebhookPlan: Sendable {
    let events: [StripeTestEvent]
    let signer: StripeWebhookSigner
    let started: NIODeadline
    let interval: TimeAmount?
    let progress: WebhookProgress
    static let giveUpAfter = TimeAmount.seconds(120)

    /// The head of a request for `event`, signed now, with its body after it.
    func request(_ event: StripeTestEvent, host: String) -> ByteBuffer {
        let signature = signer.signatureHeader(payload: event.body, at: Date())
        var buffer = ByteBuffer()
        buffer.reserveCapacity(event.body.count + 256)
        buffer.writeString(
            "POST /hooks/stripe HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/json\r\nStripe-Signature: \(signature)\r\n"
                + "Content-Length: \(event.body.count)\r\n\r\n")
        buffer.writeBytes(event.body)
        return buffer
    }

    /// Counts a failed attempt; `false` (and the event is reported abandoned) once it has failed for two minutes.
    func retryOrAbandon(_ pending: WebhookClientHandler.InFlight) -> Bool {
        if NIODeadline.now() - pending.firstSentAt > Self.giveUpAfter {
            progress.result.withLock { $0.abandoned.append(events[pending.index].id) }
            return false
        }
        progress.result.withLock { $0.retries += 1 }
        return true
    }
}

/// One client connection: sends an event, reads its answer, sends the next (or the same again after a backoff).
final class WebhookClientHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The event a connection is sending: its index, when it was first sent, and the backoff before its next attempt.
    struct InFlight: Sendable {
        var index: Int
        var firstSentAt: NIODeadline
        var backoffMs: Int64 = 20

        func retried() -> InFlight {
            var next = self
            next.backoffMs = min(backoffMs * 2, 500)
            return next
        }
    }

    let host: String
    let plan: WebhookPlan
    let done: EventLoopPromise<InFlight?>
    var current: InFlight?
    var carried: InFlight?
    var sentAt: NIODeadline = .now()
    var buffer: ByteBuffer?
    var finished = false

    init(host: String, plan: WebhookPlan, carried: InFlight?, done: EventLoopPromise<InFlight?>) {
        self.host = host
        self.plan = plan
        self.carried = carried
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        if let carried {
            self.carried = nil
            send(carried, context: context)
        } else {
            sendNext(context: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        LookupClientHandler.accumulate(unwrapInboundIn(data), into: &buffer)
        while let answer = nextResponse() {
            guard let (status, duplicate) = answer, var inFlight = current else {
                finish(unfinished: current)
                context.close(promise: nil)
                return
            }
            current = nil
            guard (200..<300).contains(status) else {
                guard plan.retryOrAbandon(inFlight) else {
                    sendNext(context: context)
                    return
                }
                let delay = TimeAmount.milliseconds(inFlight.backoffMs)
                inFlight = inFlight.retried()
                let retry = inFlight
                current = retry
                context.eventLoop.assumeIsolated().scheduleTask(in: delay) { self.send(retry, context: context) }
                return
            }
            let latency = Double((NIODeadline.now() - sentAt).nanoseconds) / 1e6
            plan.progress.result.withLock { result in
                if duplicate { result.duplicates += 1 } else { result.accepted += 1 }
                result.latenciesMs.append(latency)
            }
            sendNext(context: context)
        }
    }

    /// Takes one complete answer off the buffer: `.some((status, duplicate))`, `.some(nil)` for one it cannot read,
    /// `nil` when it has not fully arrived.
    func nextResponse() -> (Int, Bool)?? {
        LookupClientHandler.takeResponse(from: &buffer).map { answer in
            answer.map { ($0.status, LookupClientHandler.find(Array(#""duplicate":true"#.utf8), in: $0.body) != nil) }
        }
    }

    func sendNext(context: ChannelHandlerContext) {
        let index = plan.progress.next.wrappingAdd(1, ordering: .relaxed).oldValue
        guard index < plan.events.count else {
            finish(unfinished: nil)
            return
        }
        let inFlight = InFlight(index: index, firstSentAt: .now())
        if let interval = plan.interval {
            let due = plan.started + interval * Int64(index)
            if due > .now() {
                current = inFlight
                context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { self.send(inFlight, context: context) }
                return
            }
        }
        send(inFlight, context: context)
    }

    func send(_ inFlight: InFlight, context: ChannelHandlerContext) {
        guard !finished else { return }
        current = inFlight
        sentAt = .now()
        context.writeAndFlush(wrapOutboundOut(plan.request(plan.events[inFlight.index], host: host)), promise: nil)
    }

    func finish(unfinished: InFlight?) {
        guard !finished else { return }
        finished = true
        done.succeed(unfinished)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(unfinished: current ?? carried)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(unfinished: current ?? carried)
    }
}
