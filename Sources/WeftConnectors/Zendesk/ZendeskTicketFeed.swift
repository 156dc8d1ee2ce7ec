public import AsyncHTTPClient
public import Foundation
public import Logging
public import WeftCore

/// Reads Zendesk's cursor-based incremental ticket export, for catching up on tickets whose webhook never arrived
/// (or that predate it): `GET /api/v2/incremental/tickets/cursor.json?start_time=<unix seconds>`, then
/// `?cursor=<after_cursor>` until `end_of_stream` is true.
///
/// The export allows 10 requests a minute (on top of the account's limit) and answers 429 with `Retry-After` beyond
/// it: pass a gate that keeps to that rate; a 429 pauses the gate (`OutboundHTTPClient`) and the page is asked for
/// again once the gate opens. Signs in exactly as `ZendeskTarget` does (`ZendeskConfiguration.auth`). Tickets changed
/// in the last minute are not exported yet (Zendesk holds them back, and refuses a `start_time` younger than a minute
/// with 400 `StartTimeTooRecent`, which this feed reads as "nothing yet"); soft-deleted tickets come with status
/// `deleted` and are recorded so.
/// See docs/connectors/zendesk.md, "Backfill / catch-up".
public struct ZendeskTicketFeed: Sendable {
    /// The export's own limit: requests per minute (Zendesk's documentation, "Incremental Exports").
    public static let exportRequestsPerMinute = 10

    /// One page of the export.
    public struct Page: Sendable, Hashable {
        /// The ticket objects, as Zendesk sent them.
        public var tickets: [JSONValue]
        /// Where the next page (or the next export) starts.
        public var afterCursor: String?
        /// Whether this page holds everything up to now (less the held-back last minute).
        public var endOfStream: Bool

        /// Reads a page: `{"tickets":[…],"after_cursor":…,"after_url":…,"end_of_stream":…}`.
        /// - Throws: `ZendeskTicketFeedError` when the body is not such a page.
        public init(_ json: JSONValue) throws(ZendeskTicketFeedError) {
            guard let tickets = json["tickets"]?.arrayValue else {
                throw ZendeskTicketFeedError(message: "the incremental export page has no tickets array")
            }
            guard let endOfStream = json["end_of_stream"]?.boolValue else {
                throw ZendeskTicketFeedError(message: "the incremental export page has no end_of_stream")
            }
            self.tickets = tickets
            self.afterCursor = json["after_cursor"]?.stringValue
            self.endOfStream = endOfStream
            if !endOfStream && afterCursor == nil {
                throw ZendeskTicketFeedError(message: "the incremental export page has more to come but no after_cursor")
            }
        }
    }

    public let configuration: ZendeskConfiguration
    let client: ZendeskClient
    let pageSize: Int?
    let maxRateLimitedAttempts: Int

    /// - Parameters:
    ///   - configuration: the account and its credentials (the target's).
    ///   - httpClient: the shared HTTP client.
    ///   - gate: paces the export's requests; keep it at `exportRequestsPerMinute` or below.
    ///   - pageSize: `per_page` (Zendesk's default and maximum is 1000); `nil` leaves it to Zendesk.
    ///   - maxRateLimitedAttempts: how many 429s in a row one page may get before the read gives up until next time.
    public init(
        configuration: ZendeskConfiguration, httpClient: HTTPClient, gate: any RequestGate, pageSize: Int? = nil,
        maxRateLimitedAttempts: Int = 20
    ) {
        self.configuration = configuration
        self.client = ZendeskClient(http: OutboundHTTPClient(client: httpClient, gate: gate), configuration: configuration)
        self.pageSize = pageSize.map { min(1000, max(1, $0)) }
        self.maxRateLimitedAttempts = max(1, maxRateLimitedAttempts)
    }

    /// Every ticket that changed at or after `since` (as far as the export shows yet), in export order (oldest change
    /// first). A ticket changed several times in the window appears once per export position Zendesk gives it.
    /// - Parameters:
    ///   - since: where to start; moved back to one minute ago when later (Zendesk refuses a more recent start).
    ///   - now: the current time.
    ///   - logger: where requests are traced.
    public func tickets(since: Date, now: Date = Date(), logger: Logger) async throws -> [DeskTicketSnapshot] {
        let startTime = max(0, min(Int64(since.timeIntervalSince1970.rounded(.down)), Int64(now.timeIntervalSince1970) - 60))
        var query: [(String, String)] = [("start_time", String(startTime))]
        var found: [DeskTicketSnapshot] = []
        var pages = 0
        while true {
            if let pageSize { query.append(("per_page", String(pageSize))) }
            let json: JSONValue
            do {
                json = try await get(query, logger: logger)
            } catch let error as ZendeskAPIError where pages == 0 && Self.isStartTimeTooRecent(error) {
                // Zendesk's clock is behind ours: from its point of view nothing older than a minute is left to read.
                logger.debug("Zendesk refused the start_time as too recent; nothing to export yet")
                return []
            }
            let page = try Page(json)
            pages += 1
            for object in page.tickets {
                do {
                    found.append(try DeskTicketSnapshot(object, desk: .zendesk))
                } catch {
                    // One unreadable ticket must not stop the others; it is logged (id only) and skipped.
                    logger.warning(
                        "skipped a Zendesk ticket the export returned",
                        metadata: ["weft.zendesk.ticket": "\(object["id"]?.intValue ?? 0)", "weft.error": "\(error)"])
                }
            }
            guard !page.endOfStream, let cursor = page.afterCursor else { break }
            if page.tickets.isEmpty, query.contains(where: { $0 == ("cursor", cursor) }) {
                throw ZendeskTicketFeedError(message: "the incremental export repeated its cursor without progress")
            }
            query = [("cursor", cursor)]
        }
        logger.debug("read the Zendesk ticket export", metadata: ["weft.pages": "\(pages)", "weft.count": "\(found.count)"])
        return found
    }

    /// Whether Zendesk refused the first request's `start_time` as less than a minute old (`StartTimeTooRecent`; older
    /// accounts answered `Too recent start_time…`).
    static func isStartTimeTooRecent(_ error: ZendeskAPIError) -> Bool {
        error.kind == .invalid && (error.message.contains("StartTimeTooRecent") || error.message.contains("Too recent start_time"))
    }

    /// One export request; a 429 (which paused the gate) is asked again, up to `maxRateLimitedAttempts` times.
    private func get(_ query: [(String, String)], logger: Logger) async throws -> JSONValue {
        var attempt = 0
        while true {
            attempt += 1
            let result: Result<JSONValue, ZendeskAPIError>
            do {
                result = .success(try await client.get("/api/v2/incremental/tickets/cursor.json", query: query, logger: logger))
            } catch {
                result = .failure(error)
            }
            switch result {
            case .success(let page):
                return page
            case .failure(let error) where error.kind == .rateLimited && attempt < maxRateLimitedAttempts:
                logger.debug(
                    "Zendesk export rate limit; waiting for the gate",
                    metadata: ["weft.retry_after": "\(error.retryAfter.map { "\($0)" } ?? "-")"])
                try Task.checkCancellation()
            case .failure(let error):
                throw error
            }
        }
    }
}

/// A Zendesk export answer Weft cannot read. The message never holds ticket contents or credentials.
public struct ZendeskTicketFeedError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    public var description: String { "Zendesk ticket export: \(message)" }
}
