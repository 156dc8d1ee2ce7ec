public import AsyncHTTPClient
public import Foundation
public import Logging
import WeftConnectors
public import WeftCore
public import WeftRuntime

/// `weft backfill`: reads a CRM's deals (HubSpot deals, Salesforce opportunities) modified since a date, page by page,
/// and appends each as a snapshot event to the inbox (`deal.snapshot`, `opportunity.snapshot`) — the same events the
/// live intake stores, so the pipeline's dedup (content-derived event ids), ownership and requirements apply, and a
/// running `weft serve` turns them into orders.
///
/// Resumable: after each page the position (HubSpot: the newest modification time read; Salesforce: the last
/// `SystemModstamp` and Id read) is stored in the store cursor `backfill.<system>.deals.<since>`; a backfill started
/// again with the same `since` continues there, and one that finished (`done`) does nothing.
public struct CRMBackfill: Sendable {
    /// Where a backfill stands, for a progress line.
    public struct Progress: Sendable {
        /// Deals read so far (this run and earlier runs of the same backfill).
        public var read: Int
        /// The CRM's total for the query when the run started (an estimate: records change while it runs).
        public var total: Int
        /// New inbox events stored (unchanged deals already in the inbox are not counted).
        public var stored: Int
        /// Deals per second in this run.
        public var ratePerSecond: Double
        /// Seconds to go at that rate, when known.
        public var remainingSeconds: Double?
    }

    public let system: SystemName
    let source: any CRMBackfillSource
    let store: any Store
    let logger: Logger

    /// A backfill of a HubSpot system's deals (CRM search, `pageSize` deals a page).
    public init(
        system: SystemName, hubspot: HubSpotSystemConfiguration, environment: [String: String], store: any Store,
        httpClient: HTTPClient, pageSize: Int = 200, logger: Logger
    ) throws {
        let reader = try WeftNode.hubSpotReader(
            system, hubspot, environment: environment, httpClient: httpClient, pageSize: pageSize,
            gate: RateGate(limit: hubspot.rateLimit))
        self.init(system: system, source: HubSpotBackfillSource(reader: reader), store: store, logger: logger)
    }

    /// A backfill of a Salesforce system's opportunities (SOQL over `queryAll`, `pageSize` opportunities a page).
    public init(
        system: SystemName, salesforce: SalesforceSystemConfiguration, environment: [String: String], store: any Store,
        httpClient: HTTPClient, pageSize: Int = 200, logger: Logger
    ) throws {
        let reader = try WeftNode.salesforceReader(
            system, salesforce, environment: environment, httpClient: httpClient,
            gate: RateGate(limit: salesforce.rateLimit))
        self.init(
            system: system, source: SalesforceBackfillSource(reader: reader, pageSize: pageSize), store: store,
            logger: logger)
    }

    init(system: SystemName, source: any CRMBackfillSource, store: any Store, logger: Logger) {
        self.system = system
        self.source = source
        self.store = store
        self.logger = logger
    }

    /// The store cursor of a backfill from `since`.
    public func cursorName(since: Date) -> String {
        "backfill.\(system).deals.\(Int64((since.timeIntervalSince1970 * 1000).rounded(.down)))"
    }

    /// Runs (or resumes) the backfill; `progress` is called after each page. Returns the final progress.
    @discardableResult
    public func run(since: Date, progress: @Sendable (Progress) -> Void) async throws -> Progress {
        try await run(source, since: since, progress: progress)
    }

    /// The loop both CRMs share: read a page from the position, append its events, store the next position.
    private func run<Source: CRMBackfillSource>(
        _ source: Source, since: Date, progress: @Sendable (Progress) -> Void
    ) async throws -> Progress {
        let name = cursorName(since: since)
        var position = source.start(since: since)
        var read = 0
        if let saved = try await store.cursor(name) {
            if saved == "done" {
                let done = Progress(read: 0, total: 0, stored: 0, ratePerSecond: 0, remainingSeconds: 0)
                progress(done)
                return done
            }
            if let state = try? JSONDecoder().decode(SavedPosition<Source.Position>.self, from: Data(saved.utf8)) {
                position = state.cursor
                read = state.read
            } else {
                logger.info(
                    "backfill cursor unreadable; starting from the beginning (nothing is stored twice)",
                    metadata: ["weft.cursor": "\(name)"])
            }
        }
        let started = ContinuousClock.now
        var readThisRun = 0
        var stored = 0
        var total: Int?
        while true {
            let page = try await source.page(from: position, since: since, counting: total == nil, logger: logger)
            if total == nil, let remaining = page.remaining { total = read + remaining }
            if !page.events.isEmpty {
                stored += try await store.append(page.events).filter { if case .stored = $0 { true } else { false } }.count
            }
            read += page.read
            readThisRun += page.read
            let elapsed = Self.seconds(started.duration(to: .now))
            let rate = elapsed > 0 ? Double(readThisRun) / elapsed : 0
            guard let next = page.next else {
                try await store.setCursor(name, to: "done")
                let done = Progress(read: read, total: read, stored: stored, ratePerSecond: rate, remainingSeconds: 0)
                progress(done)
                return done
            }
            let expected = max(total ?? read, read)
            position = next
            let saved = try JSONEncoder().encode(SavedPosition(cursor: position, read: read))
            try await store.setCursor(name, to: String(decoding: saved, as: UTF8.self))
            progress(
                Progress(
                    read: read, total: expected, stored: stored, ratePerSecond: rate,
                    remainingSeconds: rate > 0 ? Double(expected - read) / rate : nil))
        }
    }

    /// The stored cursor: `{"cursor":<the CRM's position>,"read":<deals read so far>}`.
    struct SavedPosition<Position: Codable>: Codable {
        var cursor: Position
        var read: Int
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// One CRM's side of a backfill: where a backfill from a date starts, and a page of snapshot events from a position
/// with the position after it.
protocol CRMBackfillSource: Sendable {
    /// A position in the CRM's ordered results, stored between pages.
    associatedtype Position: Codable & Sendable

    /// The position of a backfill from `since` that has read nothing yet.
    func start(since: Date) -> Position

    /// The page at `position`: its deals read whole as inbox events; with `counting`, how many deals remain from
    /// `position` (this page's included).
    func page(from position: Position, since: Date, counting: Bool, logger: Logger) async throws
        -> CRMBackfillPage<Position>
}

/// A page of a backfill.
struct CRMBackfillPage<Position: Sendable>: Sendable {
    /// The snapshots of the page's deals (deals the CRM no longer returns are left out).
    var events: [IncomingEvent]
    /// Deals the page listed.
    var read: Int
    /// Deals left from the page's start, when counted.
    var remaining: Int?
    /// Where the next page starts; `nil` after the last page.
    var next: Position?
}

/// HubSpot deals through the CRM search API, sorted by modification time.
struct HubSpotBackfillSource: CRMBackfillSource {
    let reader: HubSpotDealReader

    func start(since: Date) -> HubSpotSearchCursor {
        HubSpotSearchCursor(modifiedSince: Int64((since.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    func page(from cursor: HubSpotSearchCursor, since: Date, counting: Bool, logger: Logger) async throws
        -> CRMBackfillPage<HubSpotSearchCursor>
    {
        let page = try await reader.dealPage(cursor, logger: logger)
        let snapshots = try await reader.snapshots(dealIDs: page.ids, logger: logger)
        let now = Date()
        let system = reader.system
        let events = snapshots.map { snapshot in
            IncomingEvent(
                system: system, eventID: snapshot.eventID(system: system), type: HubSpotDealSnapshot.eventType,
                entityKey: EntityKey.of(ExternalRef(system: system, kind: .deal, id: snapshot.deal.id)),
                occurredAt: snapshot.modifiedAt, receivedAt: now, payload: snapshot.payload, traceID: .random())
        }
        // Restart from the newest modification time read rather than paging by offset: a deal modified while the
        // backfill runs moves to the end of the sorted results, and offsets would skip the one that takes its
        // place. Deals at that same millisecond are read again (their snapshots are the same events: no duplicates);
        // only when a whole page shares one millisecond does the offset move on.
        let next =
            page.next == nil
            ? nil
            : page.newest > cursor.modifiedSince
                ? HubSpotSearchCursor(modifiedSince: page.newest)
                : HubSpotSearchCursor(modifiedSince: cursor.modifiedSince, after: (cursor.after ?? 0) + page.ids.count)
        return CRMBackfillPage(events: events, read: page.ids.count, remaining: page.total, next: next)
    }
}

/// Salesforce opportunities through SOQL over `queryAll` (deleted ones too), in `(SystemModstamp, Id)` order, each
/// page continuing after the last row read (keyset paging: `OFFSET` stops at 2000 rows and skips rows that move).
struct SalesforceBackfillSource: CRMBackfillSource {
    /// Where a Salesforce backfill stands: after this opportunity, or at the start.
    struct Position: Codable, Sendable {
        var after: SalesforceModstampPosition?
    }

    let reader: SalesforceOpportunityReader
    let pageSize: Int

    func start(since: Date) -> Position { Position(after: nil) }

    func page(from position: Position, since: Date, counting: Bool, logger: Logger) async throws
        -> CRMBackfillPage<Position>
    {
        let remaining =
            counting
            ? try await reader.countModifiedOpportunities(since: since, after: position.after, logger: logger) : nil
        let limit = max(1, pageSize)
        let page = try await reader.modifiedOpportunities(
            since: since, after: position.after, limit: limit, logger: logger)
        let snapshots = try await reader.snapshots(opportunityIDs: page.ids, logger: logger)
        let now = Date()
        let system = reader.system
        let events = snapshots.map { snapshot in
            IncomingEvent(
                system: system, eventID: snapshot.eventID(system: system), type: SalesforceOpportunitySnapshot.eventType,
                entityKey: EntityKey.of(ExternalRef(system: system, kind: .deal, id: snapshot.opportunityID)),
                occurredAt: snapshot.modifiedAt, receivedAt: now, payload: snapshot.payload, traceID: .random())
        }
        // A short page is the last; a full one may be too (the next, empty, page says so).
        let next = page.ids.count < limit ? nil : page.last.map { Position(after: $0) }
        return CRMBackfillPage(events: events, read: page.ids.count, remaining: remaining, next: next)
    }
}
