import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing
import WeftCore
import WeftStoreSQLite

@testable import WeftServer

/// The event-loop answer to entitlement lookups (`EntitlementFastPath`), on an embedded channel: what it answers
/// itself, byte for byte as the route would, and what it leaves to the router — including keeping answers in order
/// behind a request the router still holds.
@Suite("Entitlement fast path")
struct EntitlementFastPathTests {
    static let token = "fast-path-token"
    static let stripe = SystemName(rawValue: "stripe")
    static let chargebee = SystemName(rawValue: "chargebee")

    struct Fixture {
        let routes: AdminRoutes
        let cache: EntitlementCache
        let channel: EmbeddedChannel
    }

    /// A node's admin routes over a real (empty) SQLite store, with `cus_1` of Stripe and of Chargebee derived in the
    /// cache; Chargebee is read on a schedule (watched), Stripe is not.
    func withFixture(trusts: Bool = true, _ body: (Fixture) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-fast-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("weft.db").path, logger: Logger(label: "test"))
        let cache = EntitlementCache(trustsLocalCommits: trusts)
        for system in [Self.stripe, Self.chargebee] {
            let account = ExternalRef(system: system, kind: .customer, id: "cus_1")
            let entitlement = Entitlement(
                accountRef: account, tier: "pro", status: .active, standing: EntitlementStanding(state: .good),
                contractEnd: Date(timeIntervalSince1970: 1_900_000_000), supportLevel: "priority")
            cache.store(
                .init(version: 3, entitlement: entitlement, asOf: Date(timeIntervalSince1970: 1_800_000_000)),
                for: EntityKey(account.description))
        }
        let routes = AdminRoutes(
            store: store, tokens: [.init(name: "support", value: Self.token, scopes: ["read"])],
            billingSystems: [Self.stripe, Self.chargebee], watchedSources: [Self.chargebee], entitlementCache: cache)
        let channel = EmbeddedChannel(handler: EntitlementFastPath(routes: routes))
        try await body(Fixture(routes: routes, cache: cache, channel: channel))
        _ = try? channel.finish()
    }

    func send(
        _ channel: EmbeddedChannel, _ path: String, token: String? = Self.token, method: HTTPRequest.Method = .get,
        connection: String? = nil
    ) throws {
        var fields = HTTPFields()
        if let token { fields[.authorization] = "Bearer \(token)" }
        if let connection { fields[.connection] = connection }
        try channel.writeInbound(
            HTTPRequestPart.head(HTTPRequest(method: method, scheme: nil, authority: "weft", path: path, headerFields: fields)))
        try channel.writeInbound(HTTPRequestPart.end(nil))
    }

    /// The answer the handler wrote itself, if any: status and body.
    func answered(_ channel: EmbeddedChannel) throws -> (HTTPResponse, [UInt8])? {
        guard case .head(let head) = try channel.readOutbound(as: HTTPResponsePart.self) else { return nil }
        guard case .body(let buffer) = try channel.readOutbound(as: HTTPResponsePart.self) else {
            Issue.record("a head without a body")
            return nil
        }
        guard case .end = try channel.readOutbound(as: HTTPResponsePart.self) else {
            Issue.record("a body without an end")
            return nil
        }
        return (head, Array(buffer.readableBytesView))
    }

    /// The request parts passed on to the router.
    func forwarded(_ channel: EmbeddedChannel) throws -> [HTTPRequestPart] {
        var parts: [HTTPRequestPart] = []
        while let part = try channel.readInbound(as: HTTPRequestPart.self) { parts.append(part) }
        return parts
    }

    @Test func aCachedEntitlementIsAnsweredOnTheEventLoopWithTheRoutesBytes() async throws {
        try await withFixture { fixture in
            try send(fixture.channel, "/v1/entitlements/stripe/cus_1")
            let (head, body) = try #require(try answered(fixture.channel))
            #expect(head.status == .ok)
            #expect(head.headerFields[.contentType] == "application/json")
            #expect(head.headerFields[.contentLength] == String(body.count))
            #expect(try forwarded(fixture.channel).isEmpty)
            let routed = try await fixture.routes.entitlement(system: Self.stripe, id: "cus_1", now: Date())
            #expect(body == routed.jsonBytes())
            let json = try JSONValue.parse(Data(body))
            #expect(json["tier"]?.stringValue == "pro")
            #expect(json["stale"]?.boolValue == false)
        }
    }

    @Test func whatItCannotAnswerGoesToTheRouterUntouched() async throws {
        try await withFixture { fixture in
            let cases: [(String, String?, HTTPRequest.Method)] = [
                ("/v1/entitlements/stripe/cus_1", nil, .get),  // no token
                ("/v1/entitlements/stripe/cus_1", "wrong", .get),  // bad token
                ("/v1/entitlements/stripe/cus_unknown", Self.token, .get),  // not derived
                ("/v1/entitlements/odoo/42", Self.token, .get),  // a target id: needs the bindings
                ("/v1/entitlements/stripe/cus_1?x=1", Self.token, .get),  // a query
                ("/v1/entitlements/stripe/cus%5F1", Self.token, .get),  // an escape
                ("/v1/entitlements/stripe/cus_1/x", Self.token, .get),  // another segment
                ("/v1/entitlements/stripe/cus_1", Self.token, .post),
                ("/v1/accounts/stripe/cus_1", Self.token, .get),
            ]
            for (path, token, method) in cases {
                try send(fixture.channel, path, token: token, method: method)
                #expect(try answered(fixture.channel) == nil, "\(method) \(path)")
                let parts = try forwarded(fixture.channel)
                guard parts.count == 2, case .head(let head) = parts[0], case .end = parts[1] else {
                    Issue.record("\(path): expected head and end forwarded, got \(parts)")
                    continue
                }
                #expect(head.path == path)
                #expect(head.headerFields[.authorization] == token.map { "Bearer \($0)" })
                // The router answers; its end lets the next request be answered here again.
                try fixture.channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .notFound)))
                try fixture.channel.writeOutbound(HTTPResponsePart.end(nil))
                while try fixture.channel.readOutbound(as: HTTPResponsePart.self) != nil {}
            }
            try send(fixture.channel, "/v1/entitlements/stripe/cus_1")
            #expect(try answered(fixture.channel)?.0.status == .ok)
        }
    }

    @Test func answersStayInOrderBehindARequestTheRouterHolds() async throws {
        try await withFixture { fixture in
            // Pipelined: the first needs the router, the second could be answered here but must wait its turn.
            try send(fixture.channel, "/v1/entitlements/stripe/cus_unknown")
            try send(fixture.channel, "/v1/entitlements/stripe/cus_1")
            #expect(try answered(fixture.channel) == nil)
            #expect(try forwarded(fixture.channel).count == 4)
            // The router answers both, in order; after that the handler answers again.
            for _ in 0..<2 {
                try fixture.channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
                try fixture.channel.writeOutbound(HTTPResponsePart.end(nil))
            }
            while try fixture.channel.readOutbound(as: HTTPResponsePart.self) != nil {}
            try send(fixture.channel, "/v1/entitlements/stripe/cus_1")
            #expect(try answered(fixture.channel) != nil)
            #expect(try forwarded(fixture.channel).isEmpty)
        }
    }

    @Test func aWatchedPlatformIsAnsweredOnlyOnceItsReachTimeIsKnown() async throws {
        try await withFixture { fixture in
            try send(fixture.channel, "/v1/entitlements/chargebee/cus_1")
            #expect(try answered(fixture.channel) == nil)
            #expect(try forwarded(fixture.channel).count == 2)
            try fixture.channel.writeOutbound(HTTPResponsePart.end(nil))
            _ = try fixture.channel.readOutbound(as: HTTPResponsePart.self)

            let reached = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 5).rounded())
            fixture.cache.reached(Self.chargebee, at: reached)
            try send(fixture.channel, "/v1/entitlements/chargebee/cus_1")
            let (_, body) = try #require(try answered(fixture.channel))
            let json = try JSONValue.parse(Data(body))
            #expect(json["stale"]?.boolValue == false)
            #expect(json["source_reached_at"]?.stringValue == ISO8601DateFormatter().string(from: reached))
            // An older reach time never moves it back.
            fixture.cache.reached(Self.chargebee, at: reached.addingTimeInterval(-3600))
            #expect(fixture.cache.reachedAt(Self.chargebee) == reached)
        }
    }

    @Test func aRequestThatAsksToCloseGoesToTheRouter() async throws {
        try await withFixture { fixture in
            for value in ["close", "Close", "keep-alive, CLOSE"] {
                try send(fixture.channel, "/v1/entitlements/stripe/cus_1", connection: value)
                #expect(try answered(fixture.channel) == nil, "\(value)")
                #expect(try forwarded(fixture.channel).count == 2)
                try fixture.channel.writeOutbound(HTTPResponsePart.end(nil))
                _ = try fixture.channel.readOutbound(as: HTTPResponsePart.self)
            }
            try send(fixture.channel, "/v1/entitlements/stripe/cus_1", connection: "keep-alive")
            #expect(try answered(fixture.channel) != nil)
        }
    }

    /// The bytes written for an entitlement are kept and reused while the answer is the same, and rendered again when
    /// it is not (here: the platform was reached again, so `source_reached_at` moves).
    @Test func aRenderedAnswerIsReusedUntilTheViewChanges() async throws {
        try await withFixture { fixture in
            let key = EntityKey(ExternalRef(system: Self.chargebee, kind: .customer, id: "cus_1").description)
            let first = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 30).rounded())
            fixture.cache.reached(Self.chargebee, at: first)
            try send(fixture.channel, "/v1/entitlements/chargebee/cus_1")
            let (_, body) = try #require(try answered(fixture.channel))
            #expect(fixture.cache.entry(key)?.rendered?.body == body)
            try send(fixture.channel, "/v1/entitlements/chargebee/cus_1")
            #expect(try answered(fixture.channel)?.1 == body)

            let second = first.addingTimeInterval(20)
            fixture.cache.reached(Self.chargebee, at: second)
            try send(fixture.channel, "/v1/entitlements/chargebee/cus_1")
            let (_, again) = try #require(try answered(fixture.channel))
            #expect(again != body)
            let json = try JSONValue.parse(Data(again))
            #expect(json["source_reached_at"]?.stringValue == ISO8601DateFormatter().string(from: second))
            #expect(fixture.cache.entry(key)?.rendered?.body == again)
        }
    }

    @Test func aStoreOtherNodesWriteIsAlwaysReadByTheRoute() async throws {
        try await withFixture(trusts: false) { fixture in
            try send(fixture.channel, "/v1/entitlements/stripe/cus_1")
            #expect(try answered(fixture.channel) == nil)
            #expect(try forwarded(fixture.channel).count == 2)
        }
    }

    @Test func aGracePeriodThatRanOutIsDerivedAgainByTheRoute() async throws {
        try await withFixture { fixture in
            let account = ExternalRef(system: Self.stripe, kind: .customer, id: "cus_2")
            let entitlement = Entitlement(
                accountRef: account, tier: "pro", status: .pastDue, standing: EntitlementStanding(state: .overdue),
                contractEnd: nil, supportLevel: "priority", nextChangeAt: Date().addingTimeInterval(-1))
            fixture.cache.store(.init(version: 1, entitlement: entitlement, asOf: nil), for: EntityKey(account.description))
            try send(fixture.channel, "/v1/entitlements/stripe/cus_2")
            #expect(try answered(fixture.channel) == nil)
            #expect(try forwarded(fixture.channel).count == 2)
        }
    }
}
