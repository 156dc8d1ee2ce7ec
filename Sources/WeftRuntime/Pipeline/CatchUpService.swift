public import Foundation
public import Logging
public import ServiceLifecycle
public import WeftCore

/// A source's event history, read to catch up on events whose webhook never arrived.
public protocol EventFeed: Sendable {
    /// Events that occurred at or after `since`, oldest first, ready to append to the inbox.
    func events(since: Date) async throws -> [IncomingEvent]

    /// The same events, handed to `deliver` a batch at a time as they are read (each batch oldest first; a feed that
    /// pages may hand its newest batch first), so that a long history is never held whole: a catch-up after days
    /// down stores each batch before it reads the next, and a read that fails part way keeps what it stored.
    ///
    /// With each batch comes the position after it (`nil`: the feed cannot resume there): a later read with the same
    /// `since` and that position as `resumingAfter` hands over only what follows it. A position the source no longer
    /// knows fails the read with ``FeedPositionUnknown``. The default ignores positions and hands everything
    /// `events(since:)` returns in one batch.
    func events(
        since: Date, resumingAfter position: String?,
        inBatches deliver: (_ batch: [IncomingEvent], _ position: String?) async throws -> Void
    ) async throws
}

extension EventFeed {
    public func events(
        since: Date, resumingAfter position: String?,
        inBatches deliver: (_ batch: [IncomingEvent], _ position: String?) async throws -> Void
    ) async throws {
        let all = try await events(since: since)
        if !all.isEmpty { try await deliver(all, nil) }
    }
}

/// The source no longer knows the position a read was asked to resume after (Stripe forgets an event after 30 days,
/// and a cursor naming it is a 404): the read must start again from the beginning.
public struct FeedPositionUnknown: Error, CustomStringConvertible {
    public var position: String
    public init(position: String) { self.position = position }
    public var description: String { "the source no longer knows position \(position)" }
}

/// Where a read that failed part way got to: the read's `since`, when the first attempt of the read began (what it
/// knows of the source's newest events dates from then), the newest event it had seen, and the feed's position after
/// the last batch it stored. Kept as a store cursor (`v1|<since ms>|<began ms>|<newest ms or ->|<position>`).
public struct CatchUpCheckpoint: Hashable, Sendable {
    public var sinceMillis: Int64
    public var beganMillis: Int64
    public var newestMillis: Int64?
    public var position: String

    public init(sinceMillis: Int64, beganMillis: Int64, newestMillis: Int64?, position: String) {
        self.sinceMillis = sinceMillis
        self.beganMillis = beganMillis
        self.newestMillis = newestMillis
        self.position = position
    }

    public init?(_ stored: String) {
        let parts = stored.split(separator: "|", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "v1", let since = Int64(parts[1]), let began = Int64(parts[2]), !parts[4].isEmpty
        else { return nil }
        sinceMillis = since
        beganMillis = began
        newestMillis = Int64(parts[3])
        position = String(parts[4])
    }

    public var stored: String { "v1|\(sinceMillis)|\(beganMillis)|\(newestMillis.map(String.init) ?? "-")|\(position)" }
}

/// Where a catch-up reads from when it starts without a cursor (the first start of a store): a billing platform keeps
/// 30 days of events, and reading all of them books those days' invoices and payments in the ERP, which is what a
/// first deployment beside invoices already entered by hand must not do.
public enum CatchUpStart: Sendable, Hashable {
    /// Every event the source keeps.
    case all
    /// Events from the first read on: that moment is stored (its own cursor), and no read ever goes before it.
    case firstStart
    /// Events from this instant on: no read goes before it.
    case at(Date)
}

/// Periodically reads a source's event history from a stored cursor and appends what it finds to the inbox;
/// duplicates of delivered webhooks are recognised by the inbox's `(system, event id)` key and stored once.
public struct CatchUpService: Service {
    public let system: SystemName
    let feed: any EventFeed
    let store: any Store
    let interval: Duration
    let overlap: Duration
    let events: Doorbell
    let logger: Logger
    /// Told when a read of the source succeeded (after the reach cursor is stored).
    let onReached: (@Sendable (Date) -> Void)?
    /// Rung to read now rather than at the end of the interval (a webhook named a record the feed reads whole).
    let wake: Doorbell?
    /// Names a second feed of the same system (`accounts`): its own cursor and its own leader lock.
    let feedName: String?
    /// How far back reads go (whatever the overlap): see `CatchUpStart`.
    let start: CatchUpStart

    public init(
        system: SystemName, feed: any EventFeed, store: any Store, interval: Duration, overlap: Duration, events: Doorbell,
        logger: Logger, onReached: (@Sendable (Date) -> Void)? = nil, wake: Doorbell? = nil, feedName: String? = nil,
        start: CatchUpStart = .all
    ) {
        self.feedName = feedName
        self.start = start
        self.onReached = onReached
        self.wake = wake
        self.system = system
        self.feed = feed
        self.store = store
        self.interval = interval
        self.overlap = overlap
        self.events = events
        self.logger = logger
    }

    /// The store cursor holding the newest occurred-at (milliseconds) seen.
    public var cursorName: String { "catch_up.\(feedKey).occurred_at_ms" }

    /// `<system>` or `<system>.<feed name>`.
    var feedKey: String { feedName.map { "\(system).\($0)" } ?? system.rawValue }

    /// The store cursor holding where a read that failed part way got to (`CatchUpCheckpoint`; empty: none).
    public var checkpointCursorName: String { "catch_up.\(feedKey).walk" }

    /// The store cursor holding the first read's instant (milliseconds) under `CatchUpStart.firstStart`.
    public var startCursorName: String { "catch_up.\(feedKey).start_ms" }

    /// The store cursor holding when (Unix milliseconds) a catch-up last read the source successfully: how the
    /// entitlement lookup knows whether the billing platform has been unreachable (`stale`), on every node.
    public static func reachedCursorName(_ system: SystemName) -> String { "catch_up.\(system).reached_at_ms" }

    /// Runs on one node of a cluster at a time (`SingleLeader`): another node takes over when this one dies.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            try await SingleLeader(store: store).run("catch_up.\(feedKey)") { try await loop() }
        }
    }

    private func loop() async throws {
        var failures = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let appended = try await runOnce()
                failures = 0
                if appended > 0 {
                    logger.info("caught up on missed events", metadata: ["weft.system": "\(system)", "weft.count": "\(appended)"])
                }
            } catch {
                // Shutting down cancels the read in flight: that is not a failure to report.
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                failures += 1
                logger.warning("catch-up failed; will try again", metadata: ["weft.system": "\(system)", "weft.error": "\(error)"])
            }
            // After a failure (the source limited or unreachable), try again sooner than the interval: 1 s, 2 s, 4 s…
            let pause = failures == 0 ? interval : min(interval, .seconds(1 << min(failures - 1, 10)))
            if let wake {
                await cancelWhenGracefulShutdown { await wake.wait(upTo: pause) }
            } else {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
        }
    }

    /// Reads once from the cursor (less the overlap), appending each batch as the feed hands it over, and advances the
    /// cursor once the whole read succeeded. A read that fails part way keeps what it appended and where it got to
    /// (a checkpoint, when the feed gives positions): the next read, from the same cursor, resumes there, so a walk
    /// over days of events finishes even when requests fail now and then. Returns how many new events were stored.
    @discardableResult
    public func runOnce() async throws -> Int {
        let cursorMillis = try await store.cursor(cursorName).flatMap { Int64($0) }
        let overlapSeconds = Double(overlap.components.seconds)
        let floor = try await startFloor()
        let fromCursor =
            cursorMillis.map { Date(timeIntervalSince1970: Double($0) / 1000 - overlapSeconds) }
            ?? Date(timeIntervalSince1970: 0)
        let since = floor.map { max($0, fromCursor) } ?? fromCursor
        // What a feed returns from before the start's second is left out here. The start's own second is kept whole:
        // the sources stamp events in whole seconds, so an event of that second may have happened after the start,
        // and leaving out one that did would lose it for good; one from just before it is processed instead.
        let firstSecond = floor.map { Date(timeIntervalSince1970: $0.timeIntervalSince1970.rounded(.down)) }
        let sinceMillis = StoreInstant.millis(since)
        let checkpoint = try await store.cursor(checkpointCursorName).flatMap(CatchUpCheckpoint.init)
        // Only a read from the same instant resumes: once the cursor moved, the walk is another one.
        let resuming = checkpoint.flatMap { $0.sinceMillis == sinceMillis ? $0 : nil }
        var stored = 0
        var newest = resuming?.newestMillis
        var checkpointed = false
        // The source is known as of when the read began (its first attempt, for a resumed read): a walk that takes a
        // while (newest first) does not make what it read first any fresher.
        let reached = resuming.map { StoreInstant.date($0.beganMillis) } ?? StoreInstant.date(StoreInstant.millis(Date()))
        let beganMillis = StoreInstant.millis(reached)
        do {
            try await feed.events(since: since, resumingAfter: resuming?.position) { batch, position in
                let found = batch.filter { event in firstSecond.map { event.occurredAt >= $0 } ?? true }
                for chunk in stride(from: 0, to: found.count, by: 500) {
                    let results = try await store.append(Array(found[chunk..<min(found.count, chunk + 500)]))
                    let new = results.filter { if case .stored = $0 { true } else { false } }.count
                    stored += new
                    // The pipeline starts on what is stored while the rest is read.
                    if new > 0 { events.ring() }
                }
                for event in found {
                    newest = max(newest ?? .min, Int64((event.occurredAt.timeIntervalSince1970 * 1000).rounded()))
                }
                if let position {
                    let next = CatchUpCheckpoint(
                        sinceMillis: sinceMillis, beganMillis: beganMillis, newestMillis: newest, position: position)
                    try await store.setCursor(checkpointCursorName, to: next.stored)
                    checkpointed = true
                }
            }
        } catch let error as FeedPositionUnknown {
            // Resuming there would fail every time: the next read walks from the start. Any other failure (a 429, a
            // timeout) keeps the checkpoint.
            logger.warning(
                "catch-up could not resume where the last read stopped; the next read starts the walk again",
                metadata: ["weft.system": "\(system)", "weft.error": "\(error)"])
            try? await store.setCursor(checkpointCursorName, to: "")
            throw error
        }
        try await store.setCursor(Self.reachedCursorName(system), to: String(StoreInstant.millis(reached)))
        onReached?(reached)
        if let newest, newest > cursorMillis ?? Int64.min { try await store.setCursor(cursorName, to: String(newest)) }
        // Only once the cursor moved: a checkpoint left by a failure here resumes at its end, reads nothing more, and
        // moves the cursor then.
        if checkpoint != nil || checkpointed { try await store.setCursor(checkpointCursorName, to: "") }
        return stored
    }

    /// The instant no read goes before (`nil`: none). Under `.firstStart`, the first read stores its own instant.
    func startFloor() async throws -> Date? {
        switch start {
        case .all: return nil
        case .at(let instant): return instant
        case .firstStart:
            if let stored = try await store.cursor(startCursorName).flatMap({ Int64($0) }) { return StoreInstant.date(stored) }
            let now = StoreInstant.millis(Date())
            try await store.setCursor(startCursorName, to: String(now))
            logger.info(
                "first catch-up: reading events from now on (catch_up.start: now)",
                metadata: ["weft.system": "\(system)", "weft.start_ms": "\(now)"])
            return StoreInstant.date(now)
        }
    }
}
