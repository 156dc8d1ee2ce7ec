public import AsyncHTTPClient
public import Foundation
public import Logging
import NIOHTTP1
public import WeftCore

/// Catch-up from Stripe's events API (`GET /v1/events`, kept 30 days): pages through the events created at or after
/// an instant and yields each event's raw JSON with its envelope, ready for the inbox.
///
/// Every request awaits the target's `RequestGate` first and reports 429s to it (through the shared outbound HTTP
/// client). The API key is sent as a bearer token and never logged; `Stripe-Version` is pinned from configuration for
/// the list's own shape. The events in it keep the API version they were created in (the account's default version at
/// the time, whatever the request names: Stripe's "List all events"), so they can differ from the webhook endpoint's.
///
/// Stripe lists events newest first; so does this feed. The pipeline orders each entity's changes by the events'
/// `created` versions, so catch-up order does not matter for correctness.
public struct StripeEventsFeed: Sendable {
    /// Where and how to call Stripe.
    public struct Configuration: Sendable, CustomStringConvertible {
        /// The API's base URL, without `/v1` (a simulator's URL in tests).
        public var baseURL: String
        /// The secret API key (`sk_…` or a restricted `rk_…` with read access to events).
        public var secretKey: String
        /// The pinned `Stripe-Version`, e.g. `2023-08-16` or `2026-07-29.dahlia`; `nil` uses the account default.
        public var apiVersion: String?
        /// The deadline of each request.
        public var requestTimeout: Duration

        /// Creates a configuration.
        public init(
            secretKey: String, apiVersion: String?, baseURL: String = "https://api.stripe.com",
            requestTimeout: Duration = .seconds(30)
        ) {
            self.baseURL = baseURL
            self.secretKey = secretKey
            self.apiVersion = apiVersion
            self.requestTimeout = requestTimeout
        }

        /// Never shows the key.
        public var description: String {
            "StripeEventsFeed.Configuration(baseURL: \(baseURL), apiVersion: \(apiVersion ?? "account default"))"
        }
    }

    /// One page of events.
    public struct Page: Sendable {
        /// The events, newest first.
        public var events: [StripeFeedEvent]
        /// Whether older events remain (ask again with `startingAfter` = the last event's id).
        public var hasMore: Bool
    }

    /// The configured name of this Stripe system.
    public let system: SystemName
    let configuration: Configuration
    let http: OutboundHTTPClient
    let logger: Logger

    /// Creates a feed.
    /// - Parameters:
    ///   - system: the configured name of the Stripe system (used in entity keys).
    ///   - configuration: base URL, key, pinned version, timeout.
    ///   - httpClient: the shared HTTP client (its lifetime is the caller's).
    ///   - gate: admission for requests to Stripe.
    ///   - logger: for debug-level paging notes; never sees the key or payloads.
    public init(
        system: SystemName, configuration: Configuration, httpClient: HTTPClient, gate: any RequestGate, logger: Logger
    ) {
        self.system = system
        self.configuration = configuration
        self.http = OutboundHTTPClient(client: httpClient, gate: gate)
        self.logger = logger
    }

    /// All events created at or after `createdAtOrAfter`, newest first, fetched `pageSize` at a time as the
    /// sequence is iterated. Iteration throws ``StripeAPIError``; a caller that retries can resume with
    /// ``page(createdAtOrAfter:startingAfter:limit:)`` from the last event it received.
    /// - Parameters:
    ///   - createdAtOrAfter: the earliest creation instant (truncated to whole seconds).
    ///   - pageSize: events per request, clamped to Stripe's 1…100.
    public func events(createdAtOrAfter: Date, pageSize: Int = 100) -> Events {
        Events(feed: self, createdAtOrAfter: createdAtOrAfter, pageSize: min(max(pageSize, 1), 100))
    }

    /// Fetches one page.
    /// - Parameters:
    ///   - createdAtOrAfter: the earliest creation instant (truncated to whole seconds).
    ///   - startingAfter: the id of the last event of the previous page, `nil` for the first page.
    ///   - limit: events per page, 1…100.
    public func page(
        createdAtOrAfter: Date, startingAfter: SourceEventID?, limit: Int
    ) async throws(StripeAPIError) -> Page {
        let created = Int64(createdAtOrAfter.timeIntervalSince1970.rounded(.down))
        var path = "/v1/events?limit=\(min(max(limit, 1), 100))&created%5Bgte%5D=\(created)"
        if let startingAfter { path += "&starting_after=\(FormEncoding.escape(startingAfter.rawValue))" }
        let page = try Self.parsePage(try await get(path), system: system)
        logger.debug(
            "fetched Stripe events page",
            metadata: ["weft.system": "\(system)", "weft.stripe.events": "\(page.events.count)", "weft.stripe.has_more": "\(page.hasMore)"]
        )
        return page
    }

    /// `GET` of `path` (with its query) on the API: the body of a 2xx answer.
    func get(_ path: String) async throws(StripeAPIError) -> [UInt8] {
        var url = configuration.baseURL
        while url.hasSuffix("/") { url.removeLast() }
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(configuration.secretKey)")
        headers.add(name: "Accept", value: "application/json")
        if let apiVersion = configuration.apiVersion { headers.add(name: "Stripe-Version", value: apiVersion) }
        let response: OutboundHTTPResponse
        do {
            response = try await http.send(
                OutboundHTTPRequest(method: .GET, url: url + path, headers: headers, timeout: configuration.requestTimeout),
                logger: logger
            )
        } catch {
            if error.isCancellation { throw StripeAPIError(code: .cancelled) }
            if error.isTransient { throw StripeAPIError(code: .transport, detail: error.description) }
            throw StripeAPIError(code: .permanent, detail: error.description)
        }
        guard HTTPStatusClass(status: response.status) == .success else { throw Self.classify(response) }
        return response.body
    }

    /// Walks the events created at or after `createdAtOrAfter` a page at a time, handing `deliver` each page as it is
    /// read (see ``ChronologicalBatches``): a walk over 30 days of a busy account never holds more than a page and a
    /// second's events. With each batch comes the id of its last event in the list's order: a walk with the same
    /// `createdAtOrAfter` and that id as `startingAfter` goes on after the batch. Throws ``StripeAPIError`` from a
    /// read, or what `deliver` throws.
    public func walk(
        createdAtOrAfter: Date, startingAfter resume: SourceEventID? = nil, pageSize: Int = 100,
        _ deliver: (_ batch: [StripeFeedEvent], _ lastListed: SourceEventID?) async throws -> Void
    ) async throws {
        var batches = ChronologicalBatches()
        var startingAfter = resume
        var more = true
        while more {
            let page = try await page(createdAtOrAfter: createdAtOrAfter, startingAfter: startingAfter, limit: min(max(pageSize, 1), 100))
            startingAfter = page.events.last?.envelope.id
            more = page.hasMore && !page.events.isEmpty
            let batch = batches.take(page.events, more: more)
            if !batch.isEmpty { try await deliver(batch, batches.lastListedTaken) }
        }
    }

    /// `events` as read from the list, oldest first. Stripe lists newest first, so within one second the list's
    /// order is the only order there is: it is reversed, not sorted. An emulator that lists oldest first (localstripe
    /// does) is recognised by its first event being older than its last, and read as it lists.
    public static func chronological(_ events: [StripeFeedEvent]) -> [StripeFeedEvent] {
        guard let first = events.first, let last = events.last, first.envelope.created < last.envelope.created else {
            return events.reversed()
        }
        return events
    }

    /// Classifies a non-2xx response.
    static func classify(_ response: OutboundHTTPResponse) -> StripeAPIError {
        let body = try? JSONDecoder().decode(ErrorBody.self, from: Data(response.body))
        let type = body?.error?.type
        let code = body?.error?.code
        switch response.status {
        case 401, 403:
            return StripeAPIError(code: .configuration, status: response.status, stripeType: type, stripeCode: code)
        case 429:
            return StripeAPIError(
                code: .rateLimited, status: response.status, stripeType: type, stripeCode: code,
                retryAfter: response.retryAfter()
            )
        default:
            let classification: StripeAPIError.Code =
                HTTPStatusClass(status: response.status) == .retryable ? .retryable : .permanent
            return StripeAPIError(code: classification, status: response.status, stripeType: type, stripeCode: code)
        }
    }

    /// Splits a list body into raw events and parses each envelope.
    static func parsePage(_ body: [UInt8], system: SystemName) throws(StripeAPIError) -> Page {
        let head: ListHead
        do {
            head = try JSONDecoder().decode(ListHead.self, from: Data(body))
        } catch {
            throw StripeAPIError(code: .invalidResponse, detail: "body is not a Stripe list")
        }
        guard head.object == nil || head.object == "list", let ranges = StripeListSlicer.dataElements(body) else {
            throw StripeAPIError(code: .invalidResponse, detail: "body is not a Stripe list")
        }
        var events: [StripeFeedEvent] = []
        events.reserveCapacity(ranges.count)
        for range in ranges {
            let payload = Data(body[range])
            do {
                events.append(StripeFeedEvent(envelope: try StripeEventEnvelope.parse(payload, system: system), payload: payload))
            } catch {
                throw StripeAPIError(code: .invalidResponse, detail: "list element: \(error.description)")
            }
        }
        return Page(events: events, hasMore: head.has_more ?? false)
    }

    private struct ListHead: Decodable {
        var object: String?
        var has_more: Bool?
    }

    private struct ErrorBody: Decodable {
        var error: Detail?

        struct Detail: Decodable {
            var type: String?
            var code: String?
        }
    }
}

/// One event from the events API: its raw JSON (as Stripe rendered it, for the inbox) and its envelope.
public struct StripeFeedEvent: Hashable, Sendable {
    /// The parsed envelope (id, type, created, entity key).
    public var envelope: StripeEventEnvelope
    /// The event's raw JSON bytes.
    public var payload: Data

    /// Creates a feed event.
    public init(envelope: StripeEventEnvelope, payload: Data) {
        self.envelope = envelope
        self.payload = payload
    }
}

extension StripeEventsFeed {
    /// The events created at or after an instant, newest first, fetched page by page as iteration proceeds.
    public struct Events: AsyncSequence, Sendable {
        public typealias Element = StripeFeedEvent

        let feed: StripeEventsFeed
        let createdAtOrAfter: Date
        let pageSize: Int

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(feed: feed, createdAtOrAfter: createdAtOrAfter, pageSize: pageSize)
        }

        /// Fetches the next page when the current one is used up.
        public struct AsyncIterator: AsyncIteratorProtocol {
            let feed: StripeEventsFeed
            let createdAtOrAfter: Date
            let pageSize: Int
            var buffer: [StripeFeedEvent] = []
            var position = 0
            var startingAfter: SourceEventID?
            var exhausted = false

            init(feed: StripeEventsFeed, createdAtOrAfter: Date, pageSize: Int) {
                self.feed = feed
                self.createdAtOrAfter = createdAtOrAfter
                self.pageSize = pageSize
            }

            /// The next event; throws ``StripeAPIError``.
            public mutating func next() async throws -> StripeFeedEvent? {
                while position == buffer.count {
                    if exhausted { return nil }
                    let page = try await feed.page(
                        createdAtOrAfter: createdAtOrAfter, startingAfter: startingAfter, limit: pageSize
                    )
                    buffer = page.events
                    position = 0
                    startingAfter = page.events.last?.envelope.id
                    exhausted = !page.hasMore || page.events.isEmpty
                }
                defer { position += 1 }
                return buffer[position]
            }
        }
    }
}

/// Turns the pages of a walk into batches to store. Each batch is oldest first; Stripe lists newest first, so the
/// batches of a walk come newest first. The pipeline orders each record's changes by `created` (an older snapshot of
/// a record already applied is dropped as stale), and a command that needs another first (a payment its invoice, a
/// credit its payments) waits for it and is retried, as with webhooks out of order. The events of one second are always handed over together, in
/// the list's order reversed: within a second the list's order is the only order there is, and a second split between
/// two batches would be stored newest part first. So the last second of a page is held back until the next page
/// shows where it ends. An emulator that lists oldest first is recognised by the first batch that spans two seconds.
public struct ChronologicalBatches: Sendable {
    private var held: [StripeFeedEvent] = []
    private var oldestFirst: Bool?
    /// The last event, in the list's order, of what `take` handed over so far: a walk resumed after it lists next
    /// what was held back.
    public private(set) var lastListedTaken: SourceEventID?

    public init() {}

    /// What of `page` (after anything held back) can be stored now, oldest first. `more`: whether pages follow.
    public mutating func take(_ page: [StripeFeedEvent], more: Bool) -> [StripeFeedEvent] {
        var listed = held + page
        held = []
        if oldestFirst == nil, let first = listed.first?.envelope.created, let last = listed.last?.envelope.created, first != last {
            oldestFirst = first < last
        }
        if more, let lastSecond = listed.last?.envelope.created {
            let cut = (listed.lastIndex { $0.envelope.created != lastSecond }).map { $0 + 1 } ?? 0
            held = Array(listed[cut...])
            listed.removeSubrange(cut...)
        }
        if let last = listed.last { lastListedTaken = last.envelope.id }
        return oldestFirst == true ? listed : listed.reversed()
    }
}
