public import AsyncHTTPClient
public import Foundation
public import Logging
import WeftConnectors
public import WeftCore
public import WeftRuntime

/// `weft backfill`: reads a CRM's deals modified since a date, page by page, and appends each as a `deal.snapshot`
/// event to the inbox — the same events the live intake stores, so the pipeline's dedup (content-derived event ids),
/// ownership and requirements apply, and a running `weft serve` turns them into orders.
///
/// Resumable: after each page the position (the newest modification time read) is stored in the store cursor `backfill.<system>.deals.<since>`; a backfill started again with the same `since` continues there.
public struct CRMBackfill: Sendable {
    /// Where a backfill stands, for a progress line.
    public struct Progress: Sendable {
        /// Deals read so far (this run and earlier runs of the same backfill).
        public var read: Int
        /// HubSpot's total for the query when the run started (an estimate: records change while it runs).
        public var total: Int
        /// New inbox events stored (unchanged deals already in the inbox are not counted).
        public var stored: Int
        /// Deals per second in this run.
        public var ratePerSecond: Double
        /// Seconds to go at that rate, when known.
        public var remainingSeconds: Double?
    }

    public let system: SystemName
    let reader: HubSpotDealReader
    let store: any Store
    let logger: Logger

    public init(
        system: SystemName, hubspot: HubSpotSystemConfiguration, environment: [String: String], store: any Store,
        httpClient: HTTPClient, pageSize: Int = 200, logger: Logger
    ) throws {
        self.reader = try WeftNode.hubSpotReader(
            system, hubspot, environment: environment, httpClient: httpClient, pageSize: pageSize,
            gate: RateGate(limit: hubspot.rateLimit))
        self.system = system
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
        let name = cursorName(since: since)
        let sinceMillis = Int64((since.timeIntervalSince1970 * 1000).rounded(.down))
        var cursor = HubSpotSearchCursor(modifiedSince: sinceMillis)
        var read = 0
        if let saved = try await store.cursor(name) {
            if saved == "done" {
                let done = Progress(read: 0, total: 0, stored: 0, ratePerSecond: 0, remainingSeconds: 0)
                progress(done)
                return done
            }
            if let state = try? JSONDecoder().decode(SavedPosition.self, from: Data(saved.utf8)) {
                cursor = state.cursor
                read = state.read
            }
        }
        let started = ContinuousClock.now
        var readThisRun = 0
        var stored = 0
        var total = 0
        while true {
            let page = try await reader.dealPage(cursor, logger: logger)
            if total == 0 { total = read + page.total }
            let snapshots = try await reader.snapshots(dealIDs: page.ids, logger: logger)
            let now = Date()
            let events = snapshots.map { snapshot in
                IncomingEvent(
                    system: system, eventID: snapshot.eventID(system: system), type: HubSpotDealSnapshot.eventType,
                    entityKey: EntityKey.of(ExternalRef(system: system, kind: .deal, id: snapshot.deal.id)),
                    occurredAt: snapshot.modifiedAt, receivedAt: now, payload: snapshot.payload, traceID: .random())
            }
            if !events.isEmpty {
                stored += try await store.append(events).filter { if case .stored = $0 { true } else { false } }.count
            }
            read += page.ids.count
            readThisRun += page.ids.count
            let elapsed = Self.seconds(started.duration(to: .now))
            let rate = elapsed > 0 ? Double(readThisRun) / elapsed : 0
            let remaining = rate > 0 ? Double(max(total - read, 0)) / rate : nil
            let current = Progress(read: read, total: max(total, read), stored: stored, ratePerSecond: rate, remainingSeconds: remaining)
            guard page.next != nil else {
                try await store.setCursor(name, to: "done")
                progress(Progress(read: read, total: read, stored: stored, ratePerSecond: rate, remainingSeconds: 0))
                return Progress(read: read, total: read, stored: stored, ratePerSecond: rate, remainingSeconds: 0)
            }
            // Restart from the newest modification time read rather than paging by offset: a deal modified while the
            // backfill runs moves to the end of the sorted results, and offsets would skip the one that takes its
            // place. Deals at that same millisecond are read again (their snapshots are the same events: no duplicates);
            // only when a whole page shares one millisecond does the offset move on.
            cursor =
                page.newest > cursor.modifiedSince
                ? HubSpotSearchCursor(modifiedSince: page.newest)
                : HubSpotSearchCursor(modifiedSince: cursor.modifiedSince, after: (cursor.after ?? 0) + page.ids.count)
            let position = try JSONEncoder().encode(SavedPosition(cursor: cursor, read: read))
            try await store.setCursor(name, to: String(decoding: position, as: UTF8.self))
            progress(current)
        }
    }

    struct SavedPosition: Codable {
        var cursor: HubSpotSearchCursor
        var read: Int
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
