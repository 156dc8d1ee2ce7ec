import Foundation
import Logging
import Synchronization
import Testing
import WeftCore
import WeftRuntime
import WeftStoreSQLite

/// `catch_up.start`: how far back a catch-up reads when the store has no cursor yet. A first deployment beside
/// invoices entered by hand must be able to start from now, and no later read (the overlap) may reach back before it.
@Suite("Catch-up: where the first read starts")
struct CatchUpStartTests {
    /// A source's history: every event it keeps, and the `since` of each read.
    final class History: EventFeed, Sendable {
        let events: Mutex<[IncomingEvent]>
        let reads = Mutex<[Date]>([])
        init(_ events: [IncomingEvent]) { self.events = Mutex(events) }

        func events(since: Date) async throws -> [IncomingEvent] {
            reads.withLock { $0.append(since) }
            // As a source lists by whole seconds: an event in the second of `since` is returned.
            let floor = since.timeIntervalSince1970.rounded(.down)
            return events.withLock { $0.filter { $0.occurredAt.timeIntervalSince1970 >= floor } }
        }

        func add(_ event: IncomingEvent) { events.withLock { $0.append(event) } }
    }

    static func event(_ id: String, at occurredAt: Date) -> IncomingEvent {
        IncomingEvent(
            system: "stripe", eventID: SourceEventID(id), type: "customer.updated", entityKey: EntityKey("stripe/customer/\(id)"),
            occurredAt: occurredAt, receivedAt: Date(), payload: Data("{}".utf8), traceID: TraceID(id))
    }

    static func service(_ store: SQLiteStore, _ feed: any EventFeed, start: CatchUpStart) -> CatchUpService {
        CatchUpService(
            system: "stripe", feed: feed, store: store, interval: .seconds(60), overlap: .seconds(300), events: Doorbell(),
            logger: Logger(label: "test.catch-up"), start: start)
    }

    static func stored(_ store: SQLiteStore) async throws -> Set<String> {
        Set(try await store.listEvents(status: nil, limit: 100).map(\.eventID.rawValue))
    }

    @Test func withoutAStartTheFirstReadTakesEverythingTheSourceKeeps() async throws {
        let store = try SQLiteStore.temporary(logger: Logger(label: "test.store"))
        let now = Date()
        let feed = History([Self.event("old", at: now.addingTimeInterval(-20 * 86_400)), Self.event("new", at: now)])
        #expect(try await Self.service(store, feed, start: .all).runOnce() == 2)
        #expect(feed.reads.withLock { $0 } == [Date(timeIntervalSince1970: 0)])
    }

    /// `start: now`: the first read stores its instant and reads from it; what the source kept from before is never
    /// read, by that read, by a later one reaching back by the overlap, or after a restart.
    @Test func startingNowReadsNothingFromBeforeTheFirstStartEver() async throws {
        let store = try SQLiteStore.temporary(logger: Logger(label: "test.store"))
        let before = Date().addingTimeInterval(-60)
        let feed = History([Self.event("last-month", at: before.addingTimeInterval(-30 * 86_400)), Self.event("a-minute-ago", at: before)])
        let service = Self.service(store, feed, start: .firstStart)
        #expect(try await service.runOnce() == 0)
        let start = try #require(try await store.cursor(service.startCursorName).flatMap { Int64($0) })
        #expect(abs(Double(start) / 1000 - Date().timeIntervalSince1970) < 60)
        #expect(try await Self.stored(store).isEmpty)

        feed.add(Self.event("after-start", at: Date(timeIntervalSince1970: Double(start) / 1000 + 1)))
        // Stamped with the start's own second (Stripe's `created` is whole seconds): it may have happened after the
        // start, so it is read; one stamped with the second before is not.
        let startSecond = (Double(start) / 1000).rounded(.down)
        feed.add(Self.event("same-second", at: Date(timeIntervalSince1970: startSecond)))
        feed.add(Self.event("second-before", at: Date(timeIntervalSince1970: startSecond - 1)))
        #expect(try await service.runOnce() == 2)
        // The cursor is now the new event's instant, and a read reaches back 300 s from it: not before the start.
        let restarted = Self.service(store, feed, start: .firstStart)
        feed.add(Self.event("later", at: Date(timeIntervalSince1970: Double(start) / 1000 + 2)))
        #expect(try await restarted.runOnce() == 1)
        #expect(try await store.cursor(restarted.startCursorName) == String(start))
        #expect(feed.reads.withLock { $0.allSatisfy { StoreInstant.millis($0) >= start } })
        #expect(try await Self.stored(store).sorted() == ["after-start", "later", "same-second"])
    }

    /// `start: <instant>`: reads from that instant, even when the cursor less the overlap is older.
    @Test func startingAtAnInstantReadsFromThatInstant() async throws {
        let store = try SQLiteStore.temporary(logger: Logger(label: "test.store"))
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        let feed = History([
            Self.event("before", at: start.addingTimeInterval(-1)), Self.event("at", at: start),
            Self.event("after", at: start.addingTimeInterval(10)),
        ])
        let service = Self.service(store, feed, start: .at(start))
        #expect(try await service.runOnce() == 2)
        #expect(try await service.runOnce() == 0)
        #expect(feed.reads.withLock { $0 } == [start, start])
        #expect(try await Self.stored(store) == ["at", "after"])
    }

    /// A source whose history is read in batches (each batch's position is its index), failing after the first
    /// `failAfter` batches of a read (`nil`: never); `resumedAfter` records each read's `resumingAfter`.
    final class PagedHistory: EventFeed, Sendable {
        let pages: [[IncomingEvent]]
        let failAfter = Mutex<Int?>(nil)
        let resumedAfter = Mutex<[String?]>([])
        struct Unreachable: Error {}
        init(_ pages: [[IncomingEvent]]) { self.pages = pages }

        func events(since: Date) async throws -> [IncomingEvent] { pages.flatMap { $0 } }

        func events(
            since: Date, resumingAfter position: String?, inBatches deliver: ([IncomingEvent], String?) async throws -> Void
        ) async throws {
            resumedAfter.withLock { $0.append(position) }
            let first = position.flatMap { Int($0) }.map { $0 + 1 } ?? 0
            // A position this source does not know fails the read at once, as Stripe answers a forgotten cursor.
            if let position, Int(position) == nil { throw FeedPositionUnknown(position: position) }
            var handed = 0
            for index in pages.indices where index >= first {
                if let failAfter = failAfter.withLock({ $0 }), handed >= failAfter { throw Unreachable() }
                try await deliver(pages[index], String(index))
                handed += 1
            }
        }
    }

    /// A long read stores each batch as it comes: when the source fails part way, what was read is kept, the cursor
    /// stays, and the next read resumes after the last batch stored instead of walking it all again.
    @Test func aReadThatFailsPartWayKeepsWhatItStoredAndResumesThere() async throws {
        let store = try SQLiteStore.temporary(logger: Logger(label: "test.store"))
        let now = Date()
        let feed = PagedHistory([
            [Self.event("newest-a", at: now.addingTimeInterval(-10)), Self.event("newest-b", at: now)],
            [Self.event("older", at: now.addingTimeInterval(-3_600))],
        ])
        feed.failAfter.withLock { $0 = 1 }
        let service = Self.service(store, feed, start: .all)
        await #expect(throws: PagedHistory.Unreachable.self) { try await service.runOnce() }
        #expect(try await Self.stored(store) == ["newest-a", "newest-b"])
        #expect(try await store.cursor(service.cursorName) == nil)

        let checkpoint = try #require(try await store.cursor(service.checkpointCursorName).flatMap(CatchUpCheckpoint.init))
        #expect(checkpoint.position == "0")
        #expect(checkpoint.newestMillis == StoreInstant.millis(now))

        // A resumed read that fails at once (the source limited, a timeout) keeps the checkpoint.
        feed.failAfter.withLock { $0 = 0 }
        await #expect(throws: PagedHistory.Unreachable.self) { try await service.runOnce() }
        #expect(try await store.cursor(service.checkpointCursorName).flatMap(CatchUpCheckpoint.init) == checkpoint)

        feed.failAfter.withLock { $0 = nil }
        #expect(try await service.runOnce() == 1)
        #expect(feed.resumedAfter.withLock { $0 } == [nil, "0", "0"])
        #expect(try await Self.stored(store) == ["newest-a", "newest-b", "older"])
        // The newest event the first, failed read saw still moves the cursor; the source counts as reached when that
        // first read began, since what the resumed reads add is older.
        #expect(try await store.cursor(service.cursorName) == String(StoreInstant.millis(now)))
        #expect(try await store.cursor(CatchUpService.reachedCursorName("stripe")) == String(checkpoint.beganMillis))
        #expect(try await store.cursor(service.checkpointCursorName) == "")
    }

    /// A checkpoint of another read (the cursor has moved since) is not resumed, and goes once the read succeeds.
    @Test func aCheckpointOfAnotherReadIsNotResumed() async throws {
        let store = try SQLiteStore.temporary(logger: Logger(label: "test.store"))
        let feed = PagedHistory([[Self.event("only", at: Date())]])
        let service = Self.service(store, feed, start: .all)
        let other = CatchUpCheckpoint(sinceMillis: 12_345, beganMillis: 0, newestMillis: nil, position: "0")
        try await store.setCursor(service.checkpointCursorName, to: other.stored)
        #expect(try await service.runOnce() == 1)
        #expect(feed.resumedAfter.withLock { $0 } == [nil])
        #expect(try await store.cursor(service.checkpointCursorName) == "")
    }

    /// A read that cannot resume where the last one stopped (the source forgot that position) starts the walk again
    /// on the next read, instead of failing at the same place for ever.
    @Test func aReadThatCannotResumeStartsTheWalkAgain() async throws {
        let store = try SQLiteStore.temporary(logger: Logger(label: "test.store"))
        let feed = PagedHistory([[Self.event("only", at: Date())]])
        let service = Self.service(store, feed, start: .all)
        let forgotten = CatchUpCheckpoint(sinceMillis: 0, beganMillis: 0, newestMillis: nil, position: "evt_forgotten")
        try await store.setCursor(service.checkpointCursorName, to: forgotten.stored)
        await #expect(throws: FeedPositionUnknown.self) { try await service.runOnce() }
        #expect(try await store.cursor(service.checkpointCursorName) == "")
        #expect(try await service.runOnce() == 1)
        #expect(feed.resumedAfter.withLock { $0 } == ["evt_forgotten", nil])
    }

}
