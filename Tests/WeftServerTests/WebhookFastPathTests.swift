import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftStoreSQLite
import WeftTools

@testable import WeftServer

/// Webhook deliveries taken on the event loop (`WebhookFastPath`), on a testing channel over a real SQLite store:
/// what it answers itself and how, what it leaves to the router untouched, and that answers keep request order and
/// graceful shutdown waits for a delivery the store still holds.
@Suite("Webhook fast path")
struct WebhookFastPathTests {
    static let secret = "whsec_fast_path"
    static let limit = 4096

    /// Records the server's requests to wind the connection down that get past the fast path.
    final class QuiesceRecorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPRequestPart
        let seen = Mutex(0)
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is ChannelShouldQuiesceEvent { seen.withLock { $0 += 1 } }
            context.fireUserInboundEventTriggered(event)
        }
    }

    struct Fixture {
        let channel: NIOAsyncTestingChannel
        let store: any Store
        let recorder: QuiesceRecorder
    }

    /// A Stripe ingress over a real SQLite store (or `intercept`ed appends), behind the fast path on a testing channel.
    func withFixture(
        intercept: (@Sendable (any Store) -> any Store)? = nil, _ body: (Fixture) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-hookfast-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let sqlite = try SQLiteStore(path: directory.appendingPathComponent("weft.db").path, logger: Logger(label: "test"))
        let store = intercept?(sqlite) ?? sqlite
        let ingress = StripeWebhookIngress(
            system: SystemName(rawValue: "stripe"), verifier: StripeWebhookVerifier(secrets: [Self.secret], tolerance: .seconds(300)),
            store: store, maxBodyBytes: Self.limit, events: Doorbell(), logger: Logger(label: "test"))
        let recorder = QuiesceRecorder()
        let channel = try await NIOAsyncTestingChannel { channel in
            try channel.pipeline.syncOperations.addHandlers(WebhookFastPath(ingresses: [ingress]), recorder)
        }
        try await body(Fixture(channel: channel, store: sqlite, recorder: recorder))
        _ = try? await channel.finish()
    }

    static func event(_ n: Int) -> Data {
        StripeEventFactory(prefix: "F\(n)").customerCreated("cus_F\(n)", name: "A", email: "a@x.test", at: 1_750_000_000).body
    }

    static func head(
        _ path: String = "/hooks/stripe", method: HTTPRequest.Method = .post, body: Data? = nil, signature: String? = nil,
        contentLength: Bool = true, extra: HTTPFields = [:]
    ) -> HTTPRequestPart {
        var fields = extra
        if let body {
            fields[HTTPField.Name("Stripe-Signature")!] =
                signature ?? StripeWebhookSigner(secret: secret).signatureHeader(payload: body, at: Date())
            if contentLength { fields[.contentLength] = String(body.count) }
        }
        return .head(HTTPRequest(method: method, scheme: nil, authority: "weft", path: path, headerFields: fields))
    }

    /// Sends one request: head, its body in `pieces` parts, end.
    func send(_ channel: NIOAsyncTestingChannel, _ head: HTTPRequestPart, body: Data = Data(), pieces: Int = 1) async throws {
        try await channel.writeInbound(head)
        if !body.isEmpty {
            let size = (body.count + pieces - 1) / pieces
            for start in stride(from: 0, to: body.count, by: size) {
                try await channel.writeInbound(
                    HTTPRequestPart.body(ByteBuffer(bytes: body[start..<min(start + size, body.count)])))
            }
        }
        try await channel.writeInbound(HTTPRequestPart.end(nil))
    }

    /// The next answer written by the handler: status, head fields and body.
    func answer(_ channel: NIOAsyncTestingChannel) async throws -> (HTTPResponse, String) {
        guard case .head(let head) = try await channel.waitForOutboundWrite(as: HTTPResponsePart.self) else {
            throw Failure("expected a response head")
        }
        guard case .body(let body) = try await channel.waitForOutboundWrite(as: HTTPResponsePart.self) else {
            throw Failure("expected a response body")
        }
        guard case .end = try await channel.waitForOutboundWrite(as: HTTPResponsePart.self) else {
            throw Failure("expected a response end")
        }
        return (head, String(buffer: body))
    }

    /// The request parts passed on to the router so far.
    func forwarded(_ channel: NIOAsyncTestingChannel) async throws -> [HTTPRequestPart] {
        var parts: [HTTPRequestPart] = []
        while let part = try await channel.readInbound(as: HTTPRequestPart.self) { parts.append(part) }
        return parts
    }

    /// The router's answer to a forwarded request.
    func routerAnswers(_ channel: NIOAsyncTestingChannel, _ status: HTTPResponse.Status) async throws {
        try await channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: status)))
        try await channel.writeOutbound(HTTPResponsePart.end(nil))
        while try await channel.readOutbound(as: HTTPResponsePart.self) != nil {}
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test func aSignedDeliveryIsStoredAndAnsweredWithoutTheRouter() async throws {
        try await withFixture { fixture in
            let body = Self.event(1)
            // Split over several parts, as a socket delivers it.
            try await send(fixture.channel, Self.head(body: body), body: body, pieces: 3)
            let (head, text) = try await answer(fixture.channel)
            #expect(head.status == .ok)
            #expect(head.headerFields[.contentType] == "application/json")
            #expect(head.headerFields[.contentLength] == String(text.utf8.count))
            #expect(text == #"{"received":true,"duplicate":false}"#)
            try await send(fixture.channel, Self.head(body: body), body: body)
            #expect(try await answer(fixture.channel).1 == #"{"received":true,"duplicate":true}"#)
            #expect(try await forwarded(fixture.channel).isEmpty)
            let stored = try await fixture.store.listEvents(status: nil, limit: 10)
            #expect(stored.count == 1)
            #expect(stored.first?.payload == body)
        }
    }

    @Test func badSignaturesAndBodiesAreAnsweredHereAndStoreNothing() async throws {
        try await withFixture { fixture in
            let body = Self.event(2)
            try await send(fixture.channel, Self.head(body: body, signature: "t=1,v1=00"), body: body)
            let (unauthorized, text) = try await answer(fixture.channel)
            #expect(unauthorized.status == .unauthorized)
            #expect(text.contains(#""code":"bad_signature""#))
            #expect(!text.contains(Self.secret))
            let notAnEvent = Data(#"{"id":"evt_1"}"#.utf8)
            try await send(fixture.channel, Self.head(body: notAnEvent), body: notAnEvent)
            let (badRequest, reason) = try await answer(fixture.channel)
            #expect(badRequest.status == .badRequest)
            #expect(reason.contains(#""code":"malformed_event""#))
            #expect(try await forwarded(fixture.channel).isEmpty)
            #expect(try await fixture.store.listEvents(status: nil, limit: 10).isEmpty)
        }
    }

    @Test func whatItDoesNotTakeGoesToTheRouterUntouched() async throws {
        try await withFixture { fixture in
            let body = Self.event(3)
            let big = Data(repeating: UInt8(ascii: "x"), count: Self.limit + 1)
            let cases: [(String, HTTPRequestPart, Data)] = [
                ("another path", Self.head("/hooks/chargebee", body: body), body),
                ("a query", Self.head("/hooks/stripe?x=1", body: body), body),
                ("another method", Self.head(method: .put, body: body), body),
                ("announced over the limit", Self.head(body: big), big),
                ("closing", Self.head(body: body, extra: [.connection: "close"]), body),
                ("expecting 100-continue", Self.head(body: body, extra: [.expect: "100-continue"]), body),
            ]
            for (name, head, payload) in cases {
                try await send(fixture.channel, head, body: payload)
                let parts = try await forwarded(fixture.channel)
                guard case .head(let forwardedHead)? = parts.first, case .end? = parts.last else {
                    Issue.record("\(name): expected the request forwarded, got \(parts)")
                    continue
                }
                guard case .head(let sent) = head else { continue }
                #expect(forwardedHead == sent, "\(name)")
                let bytes = parts.reduce(into: [UInt8]()) { if case .body(let buffer) = $1 { $0 += buffer.readableBytesView } }
                #expect(bytes == Array(payload), "\(name)")
                #expect(try await fixture.channel.readOutbound(as: HTTPResponsePart.self) == nil, "\(name)")
                try await routerAnswers(fixture.channel, .notFound)
            }
            #expect(try await fixture.store.listEvents(status: nil, limit: 10).isEmpty)
        }
    }

    @Test func aBodyThatGrowsPastTheLimitIsHandedToTheRouterWhole() async throws {
        try await withFixture { fixture in
            // No Content-Length (chunked): the limit is found while collecting; the router answers 413.
            let big = Data(repeating: UInt8(ascii: "y"), count: Self.limit + 100)
            try await send(fixture.channel, Self.head(body: big, contentLength: false), body: big, pieces: 4)
            let parts = try await forwarded(fixture.channel)
            guard case .head? = parts.first, case .end? = parts.last else {
                Issue.record("expected the request forwarded, got \(parts)")
                return
            }
            let bytes = parts.reduce(into: [UInt8]()) { if case .body(let buffer) = $1 { $0 += buffer.readableBytesView } }
            #expect(bytes == Array(big))
            try await routerAnswers(fixture.channel, .contentTooLarge)
            // The next delivery is taken here again.
            let body = Self.event(4)
            try await send(fixture.channel, Self.head(body: body), body: body)
            #expect(try await answer(fixture.channel).0.status == .ok)
        }
    }

    @Test func aRequestPipelinedBehindADeliveryWaitsForItsAnswer() async throws {
        let parked = ParkedAppends()
        try await withFixture(intercept: parked.store) { fixture in
            let body = Self.event(5)
            try await send(fixture.channel, Self.head(body: body), body: body)
            try await send(fixture.channel, Self.head("/healthz", method: .get))
            let complete = await parked.next()
            // The store still holds the delivery: the router must not see the next request yet.
            #expect(try await forwarded(fixture.channel).isEmpty)
            complete(.success([.stored(EventSeq(1))]))
            guard case .head(let next) = try await fixture.channel.waitForInboundWrite(as: HTTPRequestPart.self) else {
                throw Failure("expected the second request's head")
            }
            #expect(next.path == "/healthz")
            // The delivery's answer was written before the next request went on.
            guard case .head(let first)? = try await fixture.channel.readOutbound(as: HTTPResponsePart.self) else {
                throw Failure("the delivery was not answered before the next request went on")
            }
            #expect(first.status == .ok)
        }
    }

    @Test func aDeliveryBehindARequestTheRouterHoldsGoesToTheRouterToo() async throws {
        try await withFixture { fixture in
            let body = Self.event(6)
            try await send(fixture.channel, Self.head("/healthz", method: .get))
            try await send(fixture.channel, Self.head(body: body), body: body)
            #expect(try await forwarded(fixture.channel).count == 5)  // head, end; head, body, end
            #expect(try await fixture.channel.readOutbound(as: HTTPResponsePart.self) == nil)
            try await routerAnswers(fixture.channel, .ok)
            try await routerAnswers(fixture.channel, .ok)
            try await send(fixture.channel, Self.head(body: body), body: body)
            #expect(try await answer(fixture.channel).1.contains(#""duplicate":false"#))
        }
    }

    @Test func aFailedWriteIs503AndShutdownWaitsForTheAnswer() async throws {
        let parked = ParkedAppends()
        try await withFixture(intercept: parked.store) { fixture in
            let body = Self.event(7)
            try await send(fixture.channel, Self.head(body: body), body: body)
            let complete = await parked.next()
            // The server winds down while the store holds the delivery: the connection must not close under it.
            try await fixture.channel.testingEventLoop.executeInContext {
                fixture.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            }
            #expect(fixture.recorder.seen.withLock { $0 } == 0)
            complete(.failure(InterceptingAppendStore.Unavailable()))
            let (head, text) = try await answer(fixture.channel)
            #expect(head.status == .serviceUnavailable)
            #expect(head.headerFields[.retryAfter] == "5")
            #expect(text.contains(#""code":"store_unavailable""#))
            try await fixture.channel.testingEventLoop.executeInContext {}
            #expect(fixture.recorder.seen.withLock { $0 } == 1)
            #expect(try await fixture.store.listEvents(status: nil, limit: 10).isEmpty)
        }
    }
}

/// Inbox appends held until the test completes them.
final class ParkedAppends: Sendable {
    private let (calls, call) = AsyncStream<InterceptingAppendStore.Completion>.makeStream()

    /// Wraps `base` so that its appends wait here.
    func store(_ base: any Store) -> any Store {
        InterceptingAppendStore(base: base) { [call] _, completion in call.yield(completion) }
    }

    /// The completion of the next append made.
    func next() async -> InterceptingAppendStore.Completion {
        for await completion in calls { return completion }
        fatalError("the stream of appends ended")
    }
}
