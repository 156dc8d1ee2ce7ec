public import AsyncHTTPClient
public import Foundation
public import Logging
import NIOHTTP1
public import WeftCore

/// Catch-up from Chargebee's events API (`GET /api/v2/events`): pages through the events that occurred at or after
/// an instant, oldest first, and yields each event's JSON with its envelope, ready for the inbox.
///
/// Cursor and overlap: Chargebee filters with `occurred_at[after]`, which is strict and in whole seconds, so the feed
/// asks for `occurred_at[after] = ⌊since⌋ − 1` with `sort_by[asc]=occurred_at`: every event of the cursor's own
/// second comes again. A caller keeps as its cursor the `occurredAt` of the last event it stored and restarts from
/// it; the events of that second that were already stored come again and are dropped by the inbox's dedup on the
/// `ev_` id. Within one catch-up, pages follow Chargebee's opaque `next_offset`, which continues after the last
/// event returned even while new events arrive.
///
/// Every request awaits the target's `RequestGate` first and reports 429s to it (through the shared outbound HTTP
/// client). The API key is sent as the Basic-auth user name (empty password) and never logged.
public struct ChargebeeEventsFeed: Sendable {
    /// Where and how to call Chargebee.
    public struct Configuration: Sendable, CustomStringConvertible {
        /// The site's base URL without `/api/v2`: `https://{site}.chargebee.com` (a simulator's URL in tests).
        public var baseURL: String
        /// The API key (a read-only key is enough).
        public var apiKey: String
        /// The deadline of each request.
        public var requestTimeout: Duration

        /// Creates a configuration.
        public init(apiKey: String, baseURL: String, requestTimeout: Duration = .seconds(30)) {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.requestTimeout = requestTimeout
        }

        /// Creates a configuration for a site: `https://{site}.chargebee.com`.
        public init(site: String, apiKey: String, requestTimeout: Duration = .seconds(30)) {
            self.init(apiKey: apiKey, baseURL: "https://\(site).chargebee.com", requestTimeout: requestTimeout)
        }

        /// Never shows the key.
        public var description: String { "ChargebeeEventsFeed.Configuration(baseURL: \(baseURL))" }
    }

    /// One page of events.
    public struct Page: Sendable {
        /// The events, oldest first.
        public var events: [ChargebeeFeedEvent]
        /// Chargebee's `next_offset`: pass it as `offset` for the next page; `nil` when there is none.
        public var nextOffset: String?
    }

    /// The configured name of this Chargebee system.
    public let system: SystemName
    let configuration: Configuration
    let http: OutboundHTTPClient
    let logger: Logger

    /// Creates a feed.
    /// - Parameters:
    ///   - system: the configured name of the Chargebee system (used in entity keys).
    ///   - configuration: base URL, key, timeout.
    ///   - httpClient: the shared HTTP client (its lifetime is the caller's).
    ///   - gate: admission for requests to Chargebee.
    ///   - logger: for debug-level paging notes; never sees the key or payloads.
    public init(
        system: SystemName, configuration: Configuration, httpClient: HTTPClient, gate: any RequestGate, logger: Logger
    ) {
        self.system = system
        self.configuration = configuration
        self.http = OutboundHTTPClient(client: httpClient, gate: gate)
        self.logger = logger
    }

    /// All events that occurred at or after `since` (whole seconds), oldest first, fetched `pageSize` at a time as
    /// the sequence is iterated. Iteration throws ``ChargebeeAPIError``; a caller that retries resumes from the
    /// `occurredAt` of the last event it stored (see the type's note on overlap).
    /// - Parameters:
    ///   - since: the earliest occurred-at instant (truncated to whole seconds).
    ///   - pageSize: events per request, clamped to Chargebee's 1…100.
    public func events(since: Date, pageSize: Int = 100) -> Events {
        Events(feed: self, since: since, pageSize: min(max(pageSize, 1), 100))
    }

    /// Fetches one page.
    /// - Parameters:
    ///   - since: the earliest occurred-at instant (truncated to whole seconds).
    ///   - offset: the previous page's `nextOffset`, `nil` for the first page.
    ///   - limit: events per page, 1…100.
    public func page(since: Date, offset: String?, limit: Int) async throws(ChargebeeAPIError) -> Page {
        var url = configuration.baseURL
        while url.hasSuffix("/") { url.removeLast() }
        let after = Int64(since.timeIntervalSince1970.rounded(.down)) - 1
        url += "/api/v2/events?limit=\(min(max(limit, 1), 100))&occurred_at%5Bafter%5D=\(after)"
        url += "&sort_by%5Basc%5D=occurred_at"
        if let offset { url += "&offset=\(FormEncoding.escape(offset))" }
        var headers = HTTPHeaders()
        let credentials = Data("\(configuration.apiKey):".utf8).base64EncodedString()
        headers.add(name: "Authorization", value: "Basic \(credentials)")
        headers.add(name: "Accept", value: "application/json")
        let response: OutboundHTTPResponse
        do {
            response = try await http.send(
                OutboundHTTPRequest(method: .GET, url: url, headers: headers, timeout: configuration.requestTimeout),
                logger: logger)
        } catch {
            if error.isCancellation { throw ChargebeeAPIError(code: .cancelled) }
            if error.isTransient { throw ChargebeeAPIError(code: .transport, detail: error.description) }
            throw ChargebeeAPIError(code: .permanent, detail: error.description)
        }
        guard HTTPStatusClass(status: response.status) == .success else { throw Self.classify(response) }
        let page = try Self.parsePage(response.body, system: system)
        logger.debug(
            "fetched Chargebee events page",
            metadata: [
                "weft.system": "\(system)", "weft.chargebee.events": "\(page.events.count)",
                "weft.chargebee.more": "\(page.nextOffset != nil)",
            ])
        return page
    }

    /// Classifies a non-2xx response.
    static func classify(_ response: OutboundHTTPResponse) -> ChargebeeAPIError {
        let body = try? JSONDecoder().decode(ErrorBody.self, from: Data(response.body))
        let type = body?.type
        let code = body?.api_error_code
        switch response.status {
        case 401, 403:
            return ChargebeeAPIError(code: .configuration, status: response.status, errorType: type, apiErrorCode: code)
        case 429:
            return ChargebeeAPIError(
                code: .rateLimited, status: response.status, errorType: type, apiErrorCode: code,
                retryAfter: response.retryAfter())
        default:
            let classification: ChargebeeAPIError.Code =
                HTTPStatusClass(status: response.status) == .retryable ? .retryable : .permanent
            return ChargebeeAPIError(code: classification, status: response.status, errorType: type, apiErrorCode: code)
        }
    }

    /// Splits a list body (`{"list":[{"event":{…}}],"next_offset":"…"}`) into events and parses each envelope.
    static func parsePage(_ body: [UInt8], system: SystemName) throws(ChargebeeAPIError) -> Page {
        guard let root = try? JSONValue.parse(Data(body)), case .object(let members) = root,
            case .array(let list)? = members["list"]
        else { throw ChargebeeAPIError(code: .invalidResponse, detail: "body is not a Chargebee list") }
        var nextOffset: String?
        if case .string(let offset)? = members["next_offset"] { nextOffset = offset }
        var events: [ChargebeeFeedEvent] = []
        events.reserveCapacity(list.count)
        for element in list {
            guard case .object(let entry) = element, let event = entry["event"] else {
                throw ChargebeeAPIError(code: .invalidResponse, detail: "list element has no event")
            }
            var bytes: [UInt8] = []
            do {
                try event.write(to: &bytes)
            } catch {
                throw ChargebeeAPIError(code: .invalidResponse, detail: "list element is not writable JSON")
            }
            let payload = Data(bytes)
            do {
                events.append(
                    ChargebeeFeedEvent(envelope: try ChargebeeEventEnvelope.parse(payload, system: system), payload: payload))
            } catch {
                throw ChargebeeAPIError(code: .invalidResponse, detail: "list element: \(error.description)")
            }
        }
        return Page(events: events, nextOffset: nextOffset)
    }

    private struct ErrorBody: Decodable {
        var type: String?
        var api_error_code: String?
    }
}

/// One event from the events API: its JSON (for the inbox) and its envelope.
public struct ChargebeeFeedEvent: Hashable, Sendable {
    /// The parsed envelope (id, type, occurred-at, entity key).
    public var envelope: ChargebeeEventEnvelope
    /// The event's JSON bytes (re-serialised from the list element, members in sorted order).
    public var payload: Data

    /// Creates a feed event.
    public init(envelope: ChargebeeEventEnvelope, payload: Data) {
        self.envelope = envelope
        self.payload = payload
    }
}

extension ChargebeeEventsFeed {
    /// The events that occurred at or after an instant, oldest first, fetched page by page as iteration proceeds.
    public struct Events: AsyncSequence, Sendable {
        public typealias Element = ChargebeeFeedEvent

        let feed: ChargebeeEventsFeed
        let since: Date
        let pageSize: Int

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(feed: feed, since: since, pageSize: pageSize)
        }

        /// Fetches the next page when the current one is used up.
        public struct AsyncIterator: AsyncIteratorProtocol {
            let feed: ChargebeeEventsFeed
            let since: Date
            let pageSize: Int
            var buffer: [ChargebeeFeedEvent] = []
            var position = 0
            var offset: String?
            var exhausted = false

            init(feed: ChargebeeEventsFeed, since: Date, pageSize: Int) {
                self.feed = feed
                self.since = since
                self.pageSize = pageSize
            }

            /// The next event; throws ``ChargebeeAPIError``.
            public mutating func next() async throws -> ChargebeeFeedEvent? {
                while position == buffer.count {
                    if exhausted { return nil }
                    let page = try await feed.page(since: since, offset: offset, limit: pageSize)
                    buffer = page.events
                    position = 0
                    offset = page.nextOffset
                    exhausted = page.nextOffset == nil || page.events.isEmpty
                }
                defer { position += 1 }
                return buffer[position]
            }
        }
    }
}
