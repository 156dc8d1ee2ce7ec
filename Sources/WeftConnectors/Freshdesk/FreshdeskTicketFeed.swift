public import AsyncHTTPClient
public import Foundation
public import Logging
import NIOHTTP1
public import WeftCore

/// Reads Freshdesk's ticket list by update time, for catching up on tickets whose webhook never arrived (or that
/// predate the automation rule): `GET /api/v2/tickets?updated_since=<ISO 8601>&order_by=updated_at&order_type=asc
/// &per_page=100&page=N`, following `Link: <…>; rel="next"`.
///
/// Freshdesk serves at most 300 pages of one listing (page 301 is a 400, "You cannot access tickets beyond the 300th
/// page"); when the last allowed page still has a next one, the read starts again from the newest `updated_at` seen
/// (tickets of that second come again and are dropped as duplicates). Signs in as `FreshdeskTarget` does (the API key
/// as the Basic user name). Deleted and spam tickets are not listed. See docs/connectors/freshdesk.md,
/// "Backfill / catch-up".
public struct FreshdeskTicketFeed: Sendable {
    /// The highest `page` Freshdesk serves for one listing.
    public static let maximumPage = 300

    /// One page of the list.
    public struct Page: Sendable, Hashable {
        /// The ticket objects, as Freshdesk sent them.
        public var tickets: [JSONValue]
        /// Whether the answer named a next page (`Link: <…>; rel="next"`).
        public var hasNext: Bool

        /// Reads a page: a JSON array of tickets, and the `Link` header.
        /// - Throws: `FreshdeskTicketFeedError` when the body is not an array.
        public init(_ json: JSONValue, link: String?) throws(FreshdeskTicketFeedError) {
            guard let tickets = json.arrayValue else {
                throw FreshdeskTicketFeedError(message: "the ticket list is not a JSON array")
            }
            self.tickets = tickets
            self.hasNext = link.map(Self.namesNext) ?? false
        }

        /// Whether a `Link` header has a `rel="next"` entry.
        static func namesNext(_ link: String) -> Bool {
            link.split(separator: ",").contains { entry in
                entry.split(separator: ";").dropFirst().contains {
                    let parameter = $0.trimmingCharacters(in: .whitespaces).lowercased()
                    return parameter == "rel=\"next\"" || parameter == "rel=next"
                }
            }
        }
    }

    public let configuration: FreshdeskConfiguration
    let client: FreshdeskClient
    let pageSize: Int
    let maximumPage: Int
    let maxRateLimitedAttempts: Int

    /// - Parameters:
    ///   - configuration: the account and its API key (the target's).
    ///   - httpClient: the shared HTTP client.
    ///   - gate: paces the requests (Freshdesk counts them against the account's per-minute limit).
    ///   - pageSize: `per_page` (at most 100).
    ///   - maximumPage: the last page Freshdesk serves (300; smaller in tests).
    ///   - maxRateLimitedAttempts: how many 429s in a row one page may get before the read gives up until next time.
    public init(
        configuration: FreshdeskConfiguration, httpClient: HTTPClient, gate: any RequestGate, pageSize: Int = 100,
        maximumPage: Int = FreshdeskTicketFeed.maximumPage, maxRateLimitedAttempts: Int = 20
    ) {
        self.configuration = configuration
        self.client = FreshdeskClient(configuration: configuration, http: OutboundHTTPClient(client: httpClient, gate: gate))
        self.pageSize = min(100, max(1, pageSize))
        self.maximumPage = min(Self.maximumPage, max(1, maximumPage))
        self.maxRateLimitedAttempts = max(1, maxRateLimitedAttempts)
    }

    /// Every ticket updated at or after `since`, oldest update first, each state once.
    /// - Parameters:
    ///   - since: where to start (whole seconds; Freshdesk's `updated_at` has no fraction).
    ///   - logger: where requests are traced.
    public func tickets(since: Date, logger: Logger) async throws -> [DeskTicketSnapshot] {
        var found: [DeskTicketSnapshot] = []
        var seen: Set<String> = []
        var from = Date(timeIntervalSince1970: max(0, since.timeIntervalSince1970.rounded(.down)))
        while true {
            var newest = from
            var page = 1
            var capped = false
            while true {
                let answer = try await list(updatedSince: from, page: page, logger: logger)
                for object in answer.tickets {
                    let snapshot: DeskTicketSnapshot
                    do {
                        snapshot = try DeskTicketSnapshot(object, desk: .freshdesk)
                    } catch {
                        // One unreadable ticket must not stop the others; it is logged (id only) and skipped.
                        logger.warning(
                            "skipped a Freshdesk ticket the list returned",
                            metadata: ["weft.freshdesk.ticket": "\(object["id"]?.intValue ?? 0)", "weft.error": "\(error)"])
                        continue
                    }
                    if let updatedAt = snapshot.ticket.updatedAt, updatedAt > newest { newest = updatedAt }
                    if seen.insert(snapshot.ticket.eventID).inserted { found.append(snapshot) }
                }
                guard answer.hasNext else { break }
                guard page < maximumPage else {
                    capped = true
                    break
                }
                page += 1
            }
            guard capped else { break }
            guard newest > from else {
                throw FreshdeskTicketFeedError(
                    message: "more than \(maximumPage) pages of tickets share updated_at \(Self.format(from)); cannot page past them")
            }
            logger.debug(
                "Freshdesk page cap reached; reading on from the newest update", metadata: ["weft.since": "\(Self.format(newest))"])
            from = newest
        }
        // Freshdesk already sorts by updated_at; sorting again keeps the order when a list ignores `order_by`.
        return found.sorted {
            ($0.ticket.updatedAt ?? .distantPast, $0.ticket.ticketID) < ($1.ticket.updatedAt ?? .distantPast, $1.ticket.ticketID)
        }
    }

    /// One page; a 429 (which paused the gate) is asked again, up to `maxRateLimitedAttempts` times.
    private func list(updatedSince: Date, page: Int, logger: Logger) async throws -> Page {
        let query = [
            ("updated_since", Self.format(updatedSince)), ("order_by", "updated_at"), ("order_type", "asc"),
            ("per_page", String(pageSize)), ("page", String(page)),
        ]
        let path =
            "/api/v2/tickets?" + query.map { "\($0.0)=\(FreshdeskClient.encodeQueryValue($0.1))" }.joined(separator: "&")
        var attempt = 0
        while true {
            attempt += 1
            let response = try await client.send(.GET, path, operation: "list tickets", logger: logger)
            if response.status == 429 && attempt < maxRateLimitedAttempts {
                logger.debug("Freshdesk rate limit; waiting for the gate")
                try Task.checkCancellation()
                continue
            }
            return try Page(try response.checked(operation: "list tickets"), link: response.headers.first(name: "link"))
        }
    }

    /// `2026-01-31T12:00:00Z`.
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// A Freshdesk ticket list Weft cannot read. The message never holds ticket contents or the API key.
public struct FreshdeskTicketFeedError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    public var description: String { "Freshdesk ticket list: \(message)" }
}
