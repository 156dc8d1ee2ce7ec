public import Foundation
public import Logging
public import WeftConnectors
public import WeftCore
public import WeftRuntime

/// A desk's tickets as an `EventFeed`, for `CatchUpService`: the tickets changed since the cursor, read from the
/// desk's API (Zendesk's incremental export, Freshdesk's list by `updated_since`), each filed as its webhook would be
/// (`DeskTicketFiling`) and stored as a `ticket.snapshot` event whose payload is the ticket object.
///
/// The event id is `<desk>:ticket:<id>:<updated_at millis>`: reading the same state again stores nothing new. Reads at
/// most `maximumLookBack` into the past (the bound Chargebee's catch-up keeps), so a first catch-up does not replay
/// years of tickets.
public struct DeskTicketFeed: EventFeed {
    /// Where tickets are read.
    public enum Source: Sendable {
        case zendesk(ZendeskTicketFeed)
        case freshdesk(FreshdeskTicketFeed)
    }

    /// How far back any read goes: the window Chargebee's catch-up reads (Stripe's events API keeps 30 days).
    public static let maximumLookBack: TimeInterval = ChargebeeFeedAdapter.maximumLookBack

    public let source: Source
    public let filing: DeskTicketFiling
    let now: @Sendable () -> Date
    let logger: Logger

    /// - Parameters:
    ///   - source: the connector feed.
    ///   - filing: where tickets are filed (the desk's system name and kind must match `source`).
    ///   - now: the clock (tests).
    ///   - logger: the desk's logger.
    public init(source: Source, filing: DeskTicketFiling, now: @escaping @Sendable () -> Date = Date.init, logger: Logger) {
        self.source = source
        self.filing = filing
        self.now = now
        self.logger = logger
    }

    /// The tickets changed at or after `since` (bounded by `maximumLookBack`), oldest change first.
    public func events(since: Date) async throws -> [IncomingEvent] {
        let now = self.now()
        let since = max(since, now.addingTimeInterval(-Self.maximumLookBack))
        let snapshots: [DeskTicketSnapshot]
        switch source {
        case .zendesk(let feed): snapshots = try await feed.tickets(since: since, now: now, logger: logger)
        case .freshdesk(let feed): snapshots = try await feed.tickets(since: since, logger: logger)
        }
        var keys: [Int64?: EntityKey] = [:]
        var events: [IncomingEvent] = []
        events.reserveCapacity(snapshots.count)
        for snapshot in snapshots {
            let ticket = snapshot.ticket
            let key: EntityKey
            if let known = keys[ticket.organizationID] {
                key = known
            } else {
                key = try await filing.entityKey(organization: ticket.organizationID)
                keys[ticket.organizationID] = key
            }
            events.append(
                IncomingEvent(
                    system: filing.system, eventID: SourceEventID(ticket.eventID), type: DeskTicket.snapshotEventType,
                    entityKey: key, occurredAt: ticket.updatedAt ?? now, receivedAt: now, payload: snapshot.payload,
                    traceID: .random()))
        }
        // Oldest first, as the inbox should see them (stable for equal instants: the desk's own order).
        return events.enumerated().sorted { ($0.element.occurredAt, $0.offset) < ($1.element.occurredAt, $1.offset) }.map(\.element)
    }
}

/// A `RequestGate` that admits a request once every gate admits it: the export's own limit first, then the desk's
/// account-wide rate that the target's deliveries share. A 429 pauses the first gate only (the export's limit is what
/// the feed runs into; the deliveries get their own 429s when the account limit is what ran out).
struct ChainedGate: RequestGate {
    let gates: [any RequestGate]

    func acquire() async throws {
        for gate in gates { try await gate.acquire() }
    }

    func didReceiveRateLimit(retryAfter: Duration?) {
        gates.first?.didReceiveRateLimit(retryAfter: retryAfter)
    }
}
