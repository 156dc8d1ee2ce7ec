import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftSimKit
import WeftSimStripe

/// The events feed over real HTTP, against a small Hummingbird stand-in for `GET /v1/events`.
@Suite("Stripe events feed")
struct StripeEventsFeedTests {
    static let key = "sk_test_feed_secret_key"
    let logger = Logger(label: "test.stripe.feed")

    /// Counts gate admissions and rate-limit reports.
    final class CountingGate: RequestGate {
        let acquired = Atomic<Int>(0)
        let rateLimits = Mutex<[Duration?]>([])
        func acquire() async throws { acquired.add(1, ordering: .relaxed) }
        func didReceiveRateLimit(retryAfter: Duration?) { rateLimits.withLock { $0.append(retryAfter) } }
    }

    static func event(_ number: Int) -> String {
        #"{"id":"evt_\#(number)","object":"event","api_version":"2023-08-16","created":\#(1_700_000_000 + number),"type":"invoice.paid","data":{"object":{"id":"in_\#(number)","object":"invoice","customer":"cus_\#(number % 2)","note":"a,b]}\"c"}}}"#
    }

    /// Serves 5 events newest first, `limit` per page, checking auth, version and the `created[gte]` filter.
    static func router(status: HTTPResponse.Status = .ok, headers: HTTPFields = [:], body: String? = nil)
        -> Hummingbird.Router<BasicRequestContext>
    {
        let router = Hummingbird.Router()
        router.get("/v1/events") { request, _ -> Response in
            var responseHeaders = headers
            responseHeaders[.contentType] = "application/json"
            if let body { return Response(status: status, headers: responseHeaders, body: .init(byteBuffer: ByteBuffer(string: body))) }
            guard request.headers[.authorization] == "Bearer \(key)", request.headers[HTTPField.Name("Stripe-Version")!] == "2023-08-16"
            else {
                return Response(
                    status: .unauthorized, headers: responseHeaders,
                    body: .init(
                        byteBuffer: ByteBuffer(
                            string: #"{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_***"}}"#)))
            }
            let query = request.uri.queryParameters
            let limit = Int(query["limit"].map(String.init) ?? "10") ?? 10
            // Stripe accepts the bracket either literal or percent-encoded; the feed sends it encoded.
            let since = Int((query["created[gte]"] ?? query["created%5Bgte%5D"]).map(String.init) ?? "0") ?? 0
            let all = (1...5).reversed().filter { 1_700_000_000 + $0 >= since }
            var remaining = all[...]
            if let after = query["starting_after"].map(String.init), let index = all.firstIndex(where: { "evt_\($0)" == after }) {
                remaining = all[(index + 1)...]
            }
            let page = remaining.prefix(limit)
            let json =
                #"{"object":"list","url":"/v1/events","has_more":\#(page.count < remaining.count),"data":[ \#(page.map(event).joined(separator: " , ")) ]}"#
            return Response(status: .ok, headers: responseHeaders, body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        return router
    }

    func feed(port: Int, gate: any RequestGate, key: String = Self.key) -> StripeEventsFeed {
        StripeEventsFeed(
            system: "stripe",
            configuration: .init(secretKey: key, apiVersion: "2023-08-16", baseURL: "http://127.0.0.1:\(port)/"),
            httpClient: HTTPClient.shared, gate: gate, logger: logger
        )
    }

    @Test func pagesThroughAllEventsWithRawBytes() async throws {
        let gate = CountingGate()
        let logger = self.logger
        let events = try await SimulatorServer.withRunning(router: Self.router(), logger: logger) { port in
            var collected: [StripeFeedEvent] = []
            for try await event in feed(port: port, gate: gate).events(
                createdAtOrAfter: Date(timeIntervalSince1970: 1_700_000_002), pageSize: 2)
            {
                collected.append(event)
            }
            return collected
        }
        #expect(events.map(\.envelope.id.rawValue) == ["evt_5", "evt_4", "evt_3", "evt_2"])
        #expect(events.map { String(decoding: $0.payload, as: UTF8.self) } == [5, 4, 3, 2].map(Self.event))
        #expect(events[0].envelope.entityKey.rawValue == "stripe/customer/cus_1")
        #expect(gate.acquired.load(ordering: .relaxed) == 2)
    }

    @Test func classifiesAuthenticationFailureAsConfiguration() async throws {
        let logger = self.logger
        let error = try await SimulatorServer.withRunning(router: Self.router(), logger: logger) { port in
            await #expect(throws: StripeAPIError.self) {
                _ = try await feed(port: port, gate: OpenGate(), key: "sk_test_wrong").page(
                    createdAtOrAfter: .distantPast, startingAfter: nil, limit: 10)
            }
        }
        #expect(error?.code == .configuration)
        #expect(error?.status == 401)
        #expect(error?.isRetryable == false)
        #expect(error.map { !$0.description.contains("sk_test") } == true)
    }

    @Test func classifiesRateLimitsAndServerErrors() async throws {
        let logger = self.logger
        let cases: [(HTTPResponse.Status, HTTPFields, StripeAPIError.Code, Duration?)] = [
            (.tooManyRequests, [.retryAfter: "7"], .rateLimited, .seconds(7)),
            (.tooManyRequests, [:], .rateLimited, nil),
            (.internalServerError, [:], .retryable, nil),
            (.serviceUnavailable, [:], .retryable, nil),
            (.notFound, [:], .permanent, nil),
        ]
        for (status, headers, code, retryAfter) in cases {
            let gate = CountingGate()
            let body = #"{"error":{"type":"api_error","code":"rate_limit","message":"m"}}"#
            let error = try await SimulatorServer.withRunning(
                router: Self.router(status: status, headers: headers, body: body), logger: logger
            ) { port in
                await #expect(throws: StripeAPIError.self) {
                    _ = try await feed(port: port, gate: gate).page(createdAtOrAfter: .distantPast, startingAfter: nil, limit: 10)
                }
            }
            #expect(error?.code == code, "\(status)")
            #expect(error?.retryAfter == retryAfter, "\(status)")
            #expect(error?.status == Int(status.code))
            #expect(error?.stripeCode == "rate_limit")
            #expect(error?.isRetryable == (code != .permanent))
            if status == .tooManyRequests { #expect(gate.rateLimits.withLock { $0 } == [retryAfter]) }
        }
    }

    @Test func rejectsBodiesThatAreNotEventLists() async throws {
        let logger = self.logger
        for body in [#"{"object":"customer","id":"cus_1"}"#, "not json", #"{"object":"list","data":[{"id":"x"}],"has_more":false}"#] {
            let error = try await SimulatorServer.withRunning(router: Self.router(body: body), logger: logger) { port in
                await #expect(throws: StripeAPIError.self) {
                    _ = try await feed(port: port, gate: OpenGate()).page(createdAtOrAfter: .distantPast, startingAfter: nil, limit: 10)
                }
            }
            #expect(error?.code == .invalidResponse)
        }
    }

    @Test func pagesThroughTheStripeSimulatorsEvents() async throws {
        let simulator = StripeSimulator(configuration: .init(idSeed: 7, now: { 1_750_000_000 }))
        for name in ["Ada", "Grace", "Edsger"] {
            #expect(simulator.call("POST", "/v1/customers", parameters: [("name", name), ("email", "\(name)@example.com")]).status == 200)
        }
        #expect(simulator.call("POST", "/v1/products", parameters: [("name", "Seat")]).status == 200)
        let router = Hummingbird.Router()
        simulator.addRoutes(to: router)
        let logger = self.logger
        let gate = CountingGate()
        let events = try await SimulatorServer.withRunning(router: router, logger: logger) { port in
            let feed = StripeEventsFeed(
                system: "stripe",
                configuration: .init(secretKey: "sk_test_weft", apiVersion: "2026-07-29.dahlia", baseURL: "http://127.0.0.1:\(port)"),
                httpClient: HTTPClient.shared, gate: gate, logger: logger
            )
            var collected: [StripeFeedEvent] = []
            for try await event in feed.events(createdAtOrAfter: Date(timeIntervalSince1970: 1_749_999_000), pageSize: 2) {
                collected.append(event)
            }
            return collected
        }
        #expect(events.count >= 4)
        #expect(Set(events.map(\.envelope.id)).count == events.count)
        #expect(gate.acquired.load(ordering: .relaxed) == (events.count + 1) / 2)
        let customers = events.filter { $0.envelope.type == "customer.created" }
        #expect(customers.count == 3)
        let decoder = StripeEventDecoder(system: "stripe")
        for event in events {
            let inbox = InboxEvent(
                seq: EventSeq(1), system: "stripe", eventID: event.envelope.id, type: event.envelope.type,
                entityKey: event.envelope.entityKey, occurredAt: event.envelope.created, receivedAt: event.envelope.created,
                payload: event.payload, traceID: TraceID("t"), status: .pending, attempts: 0, outcome: nil)
            let decoded = try decoder.decode(inbox)
            if event.envelope.type == "customer.created" {
                #expect(event.envelope.entityKey.rawValue.hasPrefix("stripe/customer/cus_"))
                #expect(decoded.changes.first?.fields["email"]?.stringValue?.hasSuffix("@example.com") == true)
            }
        }
    }

    /// A `customer.updated` event as the events API lists it.
    static func event(_ id: String, _ created: Int) throws -> StripeFeedEvent {
        let payload = Data(
            #"{"id":"\#(id)","object":"event","created":\#(created),"type":"customer.updated","data":{"object":{"id":"cus_1","object":"customer"}}}"#
                .utf8)
        return StripeFeedEvent(envelope: try StripeEventEnvelope.parse(payload, system: "stripe"), payload: payload)
    }

    /// Oldest first either way: Stripe's newest-first list is reversed (within one second, the list's order is the
    /// only order there is), and an emulator's oldest-first list is kept as it is.
    @Test func readsEventsOldestFirstWhicheverWayTheSourceLists() throws {
        let newestFirst = [
            try Self.event("evt_c", 1_700_000_001), try Self.event("evt_b", 1_700_000_000), try Self.event("evt_a", 1_700_000_000),
        ]
        #expect(StripeEventsFeed.chronological(newestFirst).map(\.envelope.id.rawValue) == ["evt_a", "evt_b", "evt_c"])
        let oldestFirst = Array(newestFirst.reversed())
        #expect(StripeEventsFeed.chronological(oldestFirst).map(\.envelope.id.rawValue) == ["evt_a", "evt_b", "evt_c"])
        let oneSecond = [try Self.event("evt_b", 1_700_000_000), try Self.event("evt_a", 1_700_000_000)]
        #expect(StripeEventsFeed.chronological(oneSecond).map(\.envelope.id.rawValue) == ["evt_a", "evt_b"])
        #expect(StripeEventsFeed.chronological([]).isEmpty)
    }

    /// A walk hands over a page at a time, oldest first within each, and never splits a second between two batches:
    /// the last second of a page is held back until the next page shows where it ends.
    @Test func batchesKeepEachSecondWholeAndInOrder() throws {
        func ids(_ events: [StripeFeedEvent]) -> [String] { events.map(\.envelope.id.rawValue) }
        // Stripe's list, newest first: e7 e6 | e5 e4 | e3 e2 | e1, seconds 9 9 | 8 8 | 8 7 | 7.
        var batches = ChronologicalBatches()
        #expect(ids(batches.take([try Self.event("e7", 9), try Self.event("e6", 9)], more: true)).isEmpty)
        #expect(ids(batches.take([try Self.event("e5", 8), try Self.event("e4", 8)], more: true)) == ["e6", "e7"])
        #expect(ids(batches.take([try Self.event("e3", 8), try Self.event("e2", 7)], more: true)) == ["e3", "e4", "e5"])
        #expect(ids(batches.take([try Self.event("e1", 7)], more: false)) == ["e1", "e2"])
        // An emulator that lists oldest first is read as it lists, with the same hold-back.
        var ascending = ChronologicalBatches()
        #expect(
            ids(ascending.take([try Self.event("e1", 7), try Self.event("e2", 7), try Self.event("e3", 8)], more: true)) == ["e1", "e2"])
        #expect(ids(ascending.take([try Self.event("e4", 8), try Self.event("e5", 9)], more: false)) == ["e3", "e4", "e5"])
    }

    /// Against the simulator: a walk in pages of two yields every event once, each batch oldest first.
    @Test func walksTheStripeSimulatorsEventsInBatches() async throws {
        // Two customers a second, so that pages of two split seconds.
        let clock = Mutex(1_750_000_000)
        let simulator = StripeSimulator(configuration: .init(idSeed: 7, now: { clock.withLock { $0 } }))
        for (index, name) in ["Ada", "Grace", "Edsger", "Barbara", "Alan"].enumerated() {
            if index > 0 && index % 2 == 0 { clock.withLock { $0 += 1 } }
            #expect(simulator.call("POST", "/v1/customers", parameters: [("name", name)]).status == 200)
        }
        let router = Hummingbird.Router()
        simulator.addRoutes(to: router)
        let logger = self.logger
        let batches = try await SimulatorServer.withRunning(router: router, logger: logger) { port in
            let feed = StripeEventsFeed(
                system: "stripe",
                configuration: .init(secretKey: "sk_test_weft", apiVersion: "2026-07-29.dahlia", baseURL: "http://127.0.0.1:\(port)"),
                httpClient: HTTPClient.shared, gate: CountingGate(), logger: logger
            )
            var batches: [[StripeFeedEvent]] = []
            var positions: [SourceEventID?] = []
            let since = Date(timeIntervalSince1970: 1_749_999_000)
            try await feed.walk(createdAtOrAfter: since, pageSize: 2) { batch, last in
                batches.append(batch)
                positions.append(last)
            }
            // A walk resumed after any batch hands over exactly the batches after it.
            for (index, position) in positions.enumerated() {
                var resumed: [StripeFeedEvent] = []
                try await feed.walk(createdAtOrAfter: since, startingAfter: position, pageSize: 2) { batch, _ in resumed += batch }
                let rest = batches[(index + 1)...].joined().map(\.envelope.id)
                #expect(resumed.count == rest.count, "resumed after batch \(index)")
                #expect(Set(resumed.map(\.envelope.id)) == Set(rest), "resumed after batch \(index)")
            }
            return batches
        }
        let all = batches.flatMap { $0 }
        #expect(all.count == 5)
        #expect(Set(all.map(\.envelope.id)).count == 5)
        for batch in batches { #expect(batch.map(\.envelope.created) == batch.map(\.envelope.created).sorted()) }
        let seconds = batches.map { Set($0.map(\.envelope.created)) }
        for (index, batch) in seconds.enumerated() {
            for other in seconds[(index + 1)...] { #expect(batch.isDisjoint(with: other), "a second split between batches") }
        }
    }

    @Test func configurationDescriptionHidesTheKey() {
        let configuration = StripeEventsFeed.Configuration(secretKey: Self.key, apiVersion: "2023-08-16")
        #expect(!configuration.description.contains(Self.key))
    }

    /// Only an invoice event whose text says `"has_more": true` is read again; everything else costs a byte scan.
    @Test func onlyAnInvoiceWithLinesLeftOutIsCompleted() {
        let pretty = Data(#"{"type": "invoice.finalized", "data": {"object": {"lines": {"data": [], "has_more": true}}}}"#.utf8)
        let compact = Data(#"{"data":{"object":{"lines":{"data":[],"has_more":true}}}}"#.utf8)
        let complete = Data(#"{"data":{"object":{"lines":{"data":[],"has_more": false}}}}"#.utf8)
        #expect(StripeEventsFeed.mayLackInvoiceLines(type: "invoice.finalized", payload: pretty))
        #expect(StripeEventsFeed.mayLackInvoiceLines(type: "invoice.paid", payload: compact))
        #expect(!StripeEventsFeed.mayLackInvoiceLines(type: "invoice.paid", payload: complete))
        #expect(!StripeEventsFeed.mayLackInvoiceLines(type: "customer.updated", payload: compact))
    }
}
