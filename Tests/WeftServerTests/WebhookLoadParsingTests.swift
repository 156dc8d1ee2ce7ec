import Foundation
import NIOCore
import NIOEmbedded
import Synchronization
import Testing
import WeftConnectors

@testable import WeftTools

/// The benchmark's webhook client reads HTTP/1.1 answers without a codec: a response split anywhere, several in one
/// read, the `duplicate` flag, an answer other than 2xx sent again after a backoff, and a connection that ends with an
/// event unanswered handing that event back to be sent on a new one.
@Suite("Webhook load client")
struct WebhookLoadParsingTests {
    static let secret = "whsec_load"

    func events(_ count: Int) -> [StripeTestEvent] {
        (0..<count).map { index in
            StripeTestEvent(
                id: "evt_\(index)", type: "customer.created", created: 1, customer: "cus_\(index)",
                body: Data(#"{"id":"evt_\#(index)"}"#.utf8))
        }
    }

    struct Run {
        let loop = EmbeddedEventLoop()
        let channel: EmbeddedChannel
        let handler: WebhookClientHandler
        let progress = WebhookProgress()
        let done: EventLoopPromise<WebhookClientHandler.InFlight?>

        init(events: [StripeTestEvent]) throws {
            done = loop.makePromise()
            let plan = WebhookPlan(
                events: events, signer: StripeWebhookSigner(secret: WebhookLoadParsingTests.secret), started: .now(),
                interval: nil, progress: progress)
            handler = WebhookClientHandler(host: "h", plan: plan, carried: nil, done: done)
            channel = EmbeddedChannel(handler: handler, loop: loop)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        /// The requests written so far: the id in each body, after checking each is signed for its exact bytes.
        func written() throws -> [String] {
            var ids: [String] = []
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
                let text = String(buffer: buffer)
                #expect(text.hasPrefix("POST /hooks/stripe HTTP/1.1\r\n"))
                let parts = text.components(separatedBy: "\r\n\r\n")
                let head = parts[0]
                let body = Data(parts[1].utf8)
                #expect(head.contains("\r\nContent-Length: \(body.count)"))
                let signature = try #require(
                    head.components(separatedBy: "\r\n").first { $0.hasPrefix("Stripe-Signature: ") }?.dropFirst(18))
                try StripeWebhookVerifier(secrets: [WebhookLoadParsingTests.secret]).verify(
                    payload: body, signatureHeader: String(signature), now: Date())
                ids.append(String(decoding: body, as: UTF8.self))
            }
            return ids
        }
    }

    static func answer(_ status: Int, duplicate: Bool = false) -> String {
        let body = #"{"received":true,"duplicate":\#(duplicate)}"#
        return "HTTP/1.1 \(status) X\r\ncontent-type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    @Test func sendsTheNextEventAfterEachAnswerAndReadsTheDuplicateFlag() throws {
        let run = try Run(events: events(3))
        #expect(try run.written() == [#"{"id":"evt_0"}"#])
        let first = Array(Self.answer(200))
        try run.channel.writeInbound(ByteBuffer(string: String(first[0..<7])))
        try run.channel.writeInbound(ByteBuffer(string: String(first[7...]) + Self.answer(200, duplicate: true).prefix(20)))
        #expect(try run.written() == [#"{"id":"evt_1"}"#])
        try run.channel.writeInbound(ByteBuffer(string: String(Self.answer(200, duplicate: true).dropFirst(20))))
        #expect(try run.written() == [#"{"id":"evt_2"}"#])
        try run.channel.writeInbound(ByteBuffer(string: Self.answer(200)))
        #expect(try run.written().isEmpty)
        let result = run.progress.result.withLock { $0 }
        #expect(result.accepted == 2)
        #expect(result.duplicates == 1)
        #expect(result.latenciesMs.count == 3)
        #expect(try run.done.futureResult.wait() == nil)
    }

    @Test func anAnswerOtherThan2xxIsSentAgainAfterABackoff() throws {
        let run = try Run(events: events(2))
        _ = try run.written()
        try run.channel.writeInbound(ByteBuffer(string: Self.answer(503)))
        #expect(try run.written().isEmpty)
        run.loop.advanceTime(by: .milliseconds(20))
        #expect(try run.written() == [#"{"id":"evt_0"}"#])
        try run.channel.writeInbound(ByteBuffer(string: Self.answer(200)))
        #expect(try run.written() == [#"{"id":"evt_1"}"#])
        #expect(run.progress.result.withLock { $0.retries } == 1)
    }

    @Test func aConnectionThatEndsMidRequestHandsTheEventBack() throws {
        let run = try Run(events: events(2))
        _ = try run.written()
        _ = try? run.channel.close().wait()
        let unfinished = try run.done.futureResult.wait()
        #expect(unfinished?.index == 0)
        #expect(run.progress.result.withLock { $0.accepted } == 0)
    }
}
