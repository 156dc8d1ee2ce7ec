import Dispatch
import Foundation
import GRDB
import Logging
import Synchronization
import Testing
import WeftCore

@testable import WeftStoreSQLite

/// What only the SQLite store promises: its durability settings, its file, and how write failures surface.
@Suite("SQLite store")
struct SQLiteStoreTests {
    typealias F = Fixture
    let logger = Logger(label: "weft.test.sqlite")

    /// A fresh directory for one test, removed at the end.
    func withDirectory(_ body: (String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("weft-sqlite-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(directory)
    }

    /// A store at `path` as a version without `migration` left it: `undo` turns this version's schema back into that
    /// version's.
    func olderStore(at path: String, without migration: String, undo: String) async throws -> SQLiteStore {
        let store = try SQLiteStore(path: path, logger: logger)
        try await store.pool.write { db in
            try db.execute(sql: undo + "\nDELETE FROM grdb_migrations WHERE identifier = '\(migration)';")
        }
        return store
    }

    /// The names of `store`'s indexes on `table`, or on every table.
    func indexNames(_ store: SQLiteStore, on table: String? = nil) async throws -> Set<String> {
        Set(
            try await store.pool.read { db in
                try String.fetchAll(
                    db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = coalesce(?, tbl_name)",
                    arguments: [table])
            })
    }

    /// With payload keys, the file holds no payload in the clear; the store hands payloads out opened; an event whose
    /// key is missing is kept as failed (with the reason) instead of being processed, and replays once the key is back.
    @Test func payloadsAreEncryptedAtRestAndKeyLossIsVisible() async throws {
        try await withDirectory { directory in
            let path = directory + "/weft.sqlite"
            let key = try PayloadCipher.Key(id: "k1", base64: Data(repeating: 7, count: 32).base64EncodedString())
            let encrypted = SQLiteStore.Configuration(payloadCipher: try PayloadCipher(keys: [key]))
            let store = try SQLiteStore(path: path, configuration: encrypted, logger: logger)
            _ = try await store.append([F.event("e1"), F.event("e2", key: "k2")])
            let raw = try await store.storedPayloads()
            #expect(raw.count == 2 && raw.allSatisfy(PayloadCipher.isSealed))
            #expect(raw.allSatisfy { $0.range(of: Data("\"id\"".utf8)) == nil })
            #expect(try await store.listEvents(status: nil, limit: 10).last?.payload == Data("{\"id\":\"e1\"}".utf8))
            let claimed = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: F.t0)
            #expect(claimed.first?.payload == Data("{\"id\":\"e1\"}".utf8))
            try store.close()

            // Reopened without the key: the remaining event cannot be read, so it is kept as failed, saying why.
            let keyless = try SQLiteStore(path: path, logger: logger)
            #expect(try await keyless.claimEvents(limit: 10, owner: "w2", lease: .seconds(60), now: F.at(120)).isEmpty)
            let failed = try await keyless.listEvents(status: .failed, limit: 10)
            #expect(failed.count == 2)
            #expect(failed.allSatisfy { $0.outcome?.contains("key 'k1', which is not configured") == true })
            try keyless.close()

            // With the key back, a replay processes them.
            let again = try SQLiteStore(path: path, configuration: encrypted, logger: logger)
            #expect(try await again.replayFailedEvents(seqs: nil, actor: "ops", now: F.at(121)) == 2)
            let replayed = try await again.claimEvents(limit: 10, owner: "w3", lease: .seconds(60), now: F.at(122))
            #expect(Set(replayed.map(\.payload)) == [Data("{\"id\":\"e1\"}".utf8), Data("{\"id\":\"e2\"}".utf8)])
        }
    }

    /// The writer commits at NORMAL either way; at `full` (the default) the store flushes the log itself before it
    /// answers a write.
    @Test func writesAreFlushedBeforeTheyAreAnsweredByDefaultAndNotWhenAsked() throws {
        let full = try SQLiteStore.temporary(logger: logger)
        #expect(try full.synchronousLevel() == 1)
        #expect(full.flushesBeforeAnswering)
        let normal = try SQLiteStore.temporary(configuration: .init(synchronous: .normal), logger: logger)
        #expect(try normal.synchronousLevel() == 1)
        #expect(!normal.flushesBeforeAnswering)
    }

    /// Holds every flush of the log until the test lets it go.
    final class HeldFlush: Sendable {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let count = Atomic(0)

        var flush: @Sendable (Int32) -> Int32 {
            { [self] descriptor in
                count.add(1, ordering: .relaxed)
                entered.signal()
                release.wait()
                return LogFlusher.flushFile(descriptor)
            }
        }

        /// Whether a flush began, waiting for it off the test's thread. The bound only keeps a write that never flushes
        /// from hanging the suite; a flush begins within microseconds of its write's commit.
        func begun() async -> Bool {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(returning: self.entered.wait(timeout: .now() + .seconds(60)) == .success)
                }
            }
        }
    }

    /// An append is committed before the log is flushed, and answered only after: while the flush is held, its
    /// event can be read but the append has not returned; once the flush ends it returns the event as stored. Writes
    /// through the lane wait for a flush the same way.
    @Test func aWriteIsAnsweredOnlyOnceTheLogIsFlushedPastIt() async throws {
        let held = HeldFlush()
        let store = try SQLiteStore.temporary(logger: logger, flush: held.flush)
        let answered = Atomic(false)
        let append = Task {
            let results = try await store.append([F.event("e1")])
            answered.store(true, ordering: .sequentiallyConsistent)
            return results
        }
        try #require(await held.begun(), "the append's commit started no flush")
        #expect(try await store.listEvents(status: nil, limit: 10).map(\.eventID.rawValue) == ["e1"])
        let early = answered.load(ordering: .sequentiallyConsistent)
        #expect(!early)
        held.release.signal()
        #expect(try await append.value.count == 1)
        let late = answered.load(ordering: .sequentiallyConsistent)
        #expect(late)

        let claim = Task { try await store.claimEvents(limit: 10, owner: "w", lease: .seconds(60), now: F.t0) }
        try #require(await held.begun(), "the claim's commit started no flush")
        held.release.signal()
        #expect(try await claim.value.map(\.eventID.rawValue) == ["e1"])
        let flushes = held.count.load(ordering: .relaxed)
        #expect(flushes == 2)
    }

    /// A flush that fails may have lost what it was flushing, and a retry could not tell: the writes it held fail,
    /// and so does every write after it, until the store is opened again, each saying why.
    @Test func aFailedFlushFailsTheWritesItHeldAndEveryOneAfter() async throws {
        let store = try SQLiteStore.temporary(
            logger: logger,
            flush: { _ in
                errno = EIO
                return -1
            })
        for attempt in ["e1", "e2"] {
            let error = await #expect(throws: SQLiteStoreError.self) { try await store.append([F.event(attempt)]) }
            #expect("\(error.map { String(describing: $0) } ?? "")".contains("could not flush the store's log"))
        }
        await #expect(throws: SQLiteStoreError.self) {
            try await store.claimEvents(limit: 10, owner: "w", lease: .seconds(60), now: F.t0)
        }
    }

    /// The writer never copies the log into the file (a checkpoint there would hold every queued append): its
    /// automatic checkpoint is off, and the checkpointer's own connection copies everything committed, while the
    /// store stays open.
    @Test func theWriterNeverCheckpointsAndTheCheckpointerCopiesEverything() async throws {
        let store = try SQLiteStore.temporary(logger: logger)
        #expect(try await store.writerAutoCheckpoint() == 0)
        _ = try await store.append((0..<200).map { F.event("cp\($0)", key: "k\($0)") })
        let (logFrames, copiedFrames) = try store.checkpointNow()
        #expect(logFrames > 0)
        #expect(copiedFrames == logFrames)
        #expect(try await store.listEvents(status: nil, limit: 500).count == 200)
    }

    @Test func everythingSurvivesClosingAndReopening() async throws {
        try await withDirectory { directory in
            let path = directory + "/nested/weft.sqlite"
            let record = TargetRecordID(model: "res.partner", id: "42")
            let aggregate = F.aggregate(name: "kept")
            var seqs: [EventSeq] = []
            do {
                let store = try SQLiteStore(path: path, logger: logger)
                let appended = try await store.append([F.event("e1"), F.event("e2", occurred: 1)])
                seqs = appended.compactMap { if case .stored(let seq) = $0 { seq } else { nil } }
                let claimed = try await store.claimEvents(limit: 10, owner: "w", lease: .seconds(60), now: F.t0)
                try await store.commitProcessed(
                    [F.processed(claimed[0], commands: [F.command("a1"), F.command("a2")], aggregate: aggregate, version: 0)],
                    owner: "w", now: F.t0)
                let commands = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: F.t0)
                try await store.completeCommands(
                    [
                        CommandResult(
                            id: commands[0].id, transition: .delivered(record: record, note: nil), subject: commands[0].payload.subject)
                    ],
                    owner: "d", now: F.t0)
                try await store.setCursor("c", to: "v")
                try await store.audit(AuditEntry(at: F.t0, actor: "ops", action: "config", detail: "v1"))
                try store.close()
            }
            let reopened = try SQLiteStore(path: path, logger: logger)
            let events = try await reopened.listEvents(status: nil, limit: 10)
            #expect(events.map(\.seq) == seqs.reversed())
            #expect(events.map(\.status) == [.pending, .done])
            #expect(events.last?.payload == Data("{\"id\":\"e1\"}".utf8))
            #expect(
                try await reopened.loadAggregates([EntityKey("k1")])[EntityKey("k1")] == StoredAggregate(aggregate: aggregate, version: 1))
            #expect(try await reopened.listCommands(filter: CommandFilter(), limit: 10).map(\.status) == [.pending, .delivered])
            #expect(try await reopened.binding(of: F.command("a1").payload.subject, in: "odoo") == record)
            #expect(try await reopened.cursor("c") == "v")
            #expect(try await reopened.auditLog(limit: 10).map(\.detail) == ["v1"])
            // Sequence numbers keep growing across reopening.
            let next = try await reopened.append([F.event("e3")])
            guard case .stored(let seq) = next[0] else {
                Issue.record("e3 must be stored")
                return
            }
            #expect(seq > seqs.max()!)
            #expect(try await reopened.append([F.event("e1")]) == [.duplicate])
        }
    }

    @Test func aClosedStoreFailsEveryCallAndStoresNothing() async throws {
        try await withDirectory { directory in
            let path = directory + "/weft.sqlite"
            let store = try SQLiteStore(path: path, logger: logger)
            _ = try await store.append([F.event("before")])
            try store.close()
            await #expect(throws: SQLiteStoreError.self) { try await store.append([F.event("after")]) }
            await #expect(throws: SQLiteStoreError.self) {
                try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(1), now: F.t0)
            }
            await #expect(throws: SQLiteStoreError.self) { try await store.listEvents(status: nil, limit: 1) }
            let reopened = try SQLiteStore(path: path, logger: logger)
            #expect(try await reopened.listEvents(status: nil, limit: 10).map(\.eventID.rawValue) == ["before"])
        }
    }

    @Test func aFailedGroupCommitFailsEveryCallerOfItsBatchAndStoresNoneOfThem() async throws {
        let store = try SQLiteStore.temporary(logger: logger)
        try await store.execute(
            sql: """
                CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.event_id = 'poison'
                BEGIN SELECT RAISE(ABORT, 'poisoned'); END
                """)
        // One call holding a good event and the poison: the whole call fails.
        await #expect(throws: SQLiteStoreError.self) { try await store.append([F.event("good"), F.event("poison")]) }
        #expect(try await store.listEvents(status: nil, limit: 10).isEmpty)
        // Many concurrent callers, one poisoned: whoever shared its transaction fails with it; everyone else is stored.
        let outcomes = await withTaskGroup(of: (String, Bool).self) { group in
            for index in 0..<300 {
                let id = index == 150 ? "poison" : "c\(index)"
                group.addTask {
                    do {
                        _ = try await store.append([F.event(id, key: "k\(index % 5)")])
                        return (id, true)
                    } catch {
                        return (id, false)
                    }
                }
            }
            return await group.reduce(into: [String: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes["poison"] == false)
        let stored = Set(try await store.listEvents(status: nil, limit: 1000).map(\.eventID.rawValue))
        for (id, succeeded) in outcomes {
            #expect(stored.contains(id) == succeeded, "\(id): answered \(succeeded ? "stored" : "failed")")
        }
        // How the 300 calls fell into transactions is up to timing; the poison's batch is at least the poison.
        #expect(outcomes.values.filter { !$0 }.count >= 1)
        #expect(try await store.append([F.event("good")]).count == 1)
    }

    @Test func anUnusableLocationFailsToOpenWithAClearError() throws {
        let error = #expect(throws: SQLiteStoreError.self) {
            _ = try SQLiteStore(path: "/proc/weft-cannot-write-here/weft.db", logger: logger)
        }
        #expect(error?.isOpenFailure == true)
        #expect(error?.description.contains("cannot open the SQLite store") == true)
    }

    @Test func aTemporaryStoreRemovesItsFilesWhenReleased() throws {
        var store: SQLiteStore? = try SQLiteStore.temporary(logger: logger)
        let path = try #require(store?.path)
        #expect(FileManager.default.fileExists(atPath: path))
        store = nil
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func claimQueriesUseTheirIndexes() async throws {
        let store = try SQLiteStore.temporary(logger: logger)
        // INDEXED BY makes a statement fail to prepare when its index cannot serve it: preparing them all is the check.
        _ = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(1), now: F.t0)
        _ = try await store.claimCommands(target: "odoo", limit: 1, owner: "d", lease: .seconds(1), now: F.t0)
        _ = try await store.nextCommandDue(target: "odoo")
    }

    /// A store from before `events_provisional` (every event's key indexed) gets the smaller index when it is opened,
    /// and an adoption then still moves every event under the adopted key, whatever its status, and only those.
    @Test func aStoreFromBeforeTheProvisionalKeysIndexStillMovesAnAdoptedKeysEvents() async throws {
        try await withDirectory { directory in
            let path = directory + "/weft.sqlite"
            let customer = "stripe/customer/cus_1"
            let alias = "stripe/invoice/in_1"
            let older = try await olderStore(
                at: path, without: "v8-provisional-keys-index",
                undo: "DROP INDEX events_provisional; CREATE INDEX events_entity ON events (entity_key);")
            _ = try await older.append([F.event("early", key: alias, occurred: 0), F.event("other", key: customer, occurred: 0)])
            let stray = try await older.claimEvents(limit: 10, owner: "w", lease: .seconds(60), now: F.t0)
            try await older.commitProcessed(stray.map { F.processed($0) }, owner: "w", now: F.t0)
            _ = try await older.append([F.event("adopter", key: customer, occurred: 1), F.event("late", key: alias, occurred: 1)])
            try older.close()

            let store = try SQLiteStore(path: path, logger: logger)
            let indexes = try await indexNames(store, on: "events")
            #expect(indexes.contains("events_provisional") && !indexes.contains("events_entity"))
            let held = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: F.t0)
            #expect(held.map(\.eventID.rawValue) == ["adopter"])
            var result = F.processed(held[0], aggregate: F.aggregate(name: "Ada"), version: 0)
            result.adoptedAliases = [EntityKey(alias)]
            try await store.commitProcessed([result], owner: "w", now: F.t0)
            // Both events under the alias (the processed one pending again) are the customer's now; the customer's own
            // processed event stays done.
            let moved = try await store.listEvents(status: nil, limit: 10).filter { $0.entityKey == EntityKey(customer) }
            #expect(Set(moved.map(\.eventID.rawValue)) == ["early", "late", "other", "adopter"])
            let pending = try await store.listEvents(status: .pending, limit: 10)
            #expect(Set(pending.map(\.eventID.rawValue)) == ["early", "late"])
        }
    }

    /// A store opened without migrating (`weft bench --against` reading another build's store) is read as that build
    /// left it: a migration this version has and that build had not is not applied under it; the default applies it.
    @Test func aStoreOpenedWithoutMigratingKeepsItsSchema() async throws {
        try await withDirectory { directory in
            let path = directory + "/weft.sqlite"
            let older = try await olderStore(
                at: path, without: "v8-provisional-keys-index",
                undo: "DROP INDEX events_provisional; CREATE INDEX events_entity ON events (entity_key);")
            _ = try await older.append([F.event("e1")])
            try older.close()
            var asIs = SQLiteStore.Configuration()
            asIs.migrates = false
            let reader = try SQLiteStore(path: path, configuration: asIs, logger: logger)
            let read = try await indexNames(reader, on: "events")
            #expect(read.contains("events_entity") && !read.contains("events_provisional"))
            #expect(try await reader.hasUnfinishedWork())
            try reader.close()
            let migrated = try SQLiteStore(path: path, logger: logger)
            let now = try await indexNames(migrated, on: "events")
            #expect(now.contains("events_provisional") && !now.contains("events_entity"))
        }
    }

    /// A store from before `v9-lease-checks-in-active-indexes` (leases checked through `events_leased` and
    /// `commands_inflight`) loses those indexes when it is opened, and a lease taken before the upgrade still holds: an
    /// event of a key whose later event is in flight is not handed out until that lease ends.
    @Test func leasesTakenBeforeTheActiveIndexesCarriedThemStillHold() async throws {
        try await withDirectory { directory in
            let path = directory + "/weft.sqlite"
            let older = try await olderStore(
                at: path, without: "v9-lease-checks-in-active-indexes",
                undo: """
                    DROP INDEX events_active;
                    CREATE INDEX events_active ON events (entity_key, occurred_at, seq) WHERE status IN (0, 1);
                    CREATE INDEX events_leased ON events (entity_key, lease_until) WHERE status = 1;
                    DROP INDEX commands_active;
                    CREATE INDEX commands_active ON commands (target, entity_key, id) WHERE status IN (0, 1);
                    CREATE INDEX commands_inflight ON commands (target, entity_key, id) WHERE status = 1;
                    """)
            // The key's event in flight, then an earlier one of it arriving late.
            _ = try await older.append([F.event("later", key: "k", occurred: 2)])
            #expect(try await older.claimEvents(limit: 10, owner: "w", lease: .seconds(600), now: F.t0).count == 1)
            _ = try await older.append([F.event("earlier", key: "k", occurred: 1), F.event("other", key: "j", occurred: 1)])
            try older.close()

            let store = try SQLiteStore(path: path, logger: logger)
            let indexes = try await indexNames(store)
            #expect(!indexes.contains("events_leased") && !indexes.contains("commands_inflight"))
            let claimed = try await store.claimEvents(limit: 10, owner: "w2", lease: .seconds(600), now: F.t0)
            #expect(claimed.map(\.eventID.rawValue) == ["other"])
            // Once the lease runs out, the earlier event is the key's head again.
            let later = try await store.claimEvents(limit: 10, owner: "w2", lease: .seconds(600), now: F.t0.addingTimeInterval(601))
            // (`other`'s lease has run out too.)
            #expect(Set(later.map(\.eventID.rawValue)) == ["earlier", "other"])
        }
    }

    /// Results of a batch grouped in runs, as the pipeline commits them: entity `k<i>` has `length` events, each
    /// saving its aggregate at the next version, the run's last one named `"<key>-last"`.
    func runs(_ store: SQLiteStore, entities: Int, length: Int) async throws -> [ProcessedEvent] {
        var incoming: [IncomingEvent] = []
        for entity in 0..<entities {
            for index in 0..<length { incoming.append(F.event("e\(entity)-\(index)", key: "k\(entity)", occurred: Double(index))) }
        }
        _ = try await store.append(incoming)
        let claimed = try await store.claimEvents(
            limit: entities * length, perEntity: length, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(claimed.count == entities * length)
        let byKey = Dictionary(grouping: claimed, by: \.entityKey)
        return (0..<entities).flatMap { entity -> [ProcessedEvent] in
            let run = (byKey[EntityKey("k\(entity)")] ?? []).sorted { $0.occurredAt < $1.occurredAt }
            return run.enumerated().map { index, event in
                let name = index == run.count - 1 ? "k\(entity)-last" : "k\(entity)-\(index)"
                return F.processed(event, aggregate: F.aggregate(name: name), version: Int64(index))
            }
        }
    }

    /// While appends wait, a commit ends its transaction once it holds `commitPart` results, between two runs; what it
    /// stores is what one transaction stores.
    @Test func aCommitEndsItsTransactionBetweenRunsWhileAppendsWait() async throws {
        let store = try SQLiteStore.temporary(logger: logger)
        // Runs of 3: 32 results would end inside the eleventh run, so the first transaction takes 33.
        let results = try await runs(store, entities: 30, length: 3)
        // Answered no the first time: the transaction goes on to the next run's end.
        let asked = Mutex<[Int]>([])
        let committed = try await store.commitProcessed(results, owner: "w", now: F.t0) { next in
            asked.withLock { asked in
                asked.append(next)
                return asked.count > 1
            }
        }
        #expect(committed == results.map(\.seq))
        // Asked only where a run had just ended, past 32 results since the transaction began: three transactions.
        #expect(asked.withLock { $0 } == [33, 36, 69])
        let loaded = try await store.loadAggregates((0..<30).map { EntityKey("k\($0)") })
        for entity in 0..<30 {
            #expect(
                loaded[EntityKey("k\(entity)")] == StoredAggregate(aggregate: F.aggregate(name: "k\(entity)-last"), version: 3))
        }
        #expect(try await store.listEvents(status: .done, limit: 200).count == 90)
    }

    /// Makes writing the command with idempotency key `key` fail, as a full disk would.
    func refuseCommand(_ key: String, in store: SQLiteStore) async throws {
        try await store.execute(
            sql: """
                CREATE TRIGGER refuse_command BEFORE INSERT ON commands WHEN NEW.idempotency_key = '\(key)'
                BEGIN SELECT RAISE(ABORT, 'injected'); END
                """)
    }

    /// A transaction that fails after another committed: the error says which events committed; they are done, the
    /// failed transaction's are still claimed and nothing of them is stored.
    @Test func aCommitFailingAfterAPartCommittedSaysWhatCommitted() async throws {
        let store = try SQLiteStore.temporary(logger: logger)
        var results = try await runs(store, entities: 40, length: 1)
        results[35].commands = [F.command("late", entity: "k35")]
        try await refuseCommand("late", in: store)
        let error = await #expect(throws: PartialCommitError.self) {
            try await store.commitProcessed(results, owner: "w", now: F.t0) { _ in true }
        }
        #expect(error?.committed == results.prefix(32).map(\.seq))
        #expect(error?.underlying is SQLiteStoreError)
        #expect(Set(try await store.listEvents(status: .done, limit: 100).map(\.seq)) == Set(results.prefix(32).map(\.seq)))
        #expect(try await store.listEvents(status: .processing, limit: 100).count == 8)
        #expect(try await store.listCommands(filter: CommandFilter(), limit: 10).isEmpty)
        let loaded = try await store.loadAggregates((32..<40).map { EntityKey("k\($0)") })
        #expect(loaded.isEmpty)
        // The first transaction failing is a plain failure: nothing committed.
        let fresh = try SQLiteStore.temporary(logger: logger)
        var first = try await runs(fresh, entities: 2, length: 1)
        first[0].commands = [F.command("late", entity: "k0")]
        try await refuseCommand("late", in: fresh)
        await #expect(throws: SQLiteStoreError.self) { try await fresh.commitProcessed(first, owner: "w", now: F.t0) { _ in true } }
    }

    /// A claim's later part that fails leaves what the earlier parts claimed claimed and hands it out; a first part
    /// that fails is the claim's failure.
    @Test func aClaimWhoseLaterPartFailsHandsOutWhatItClaimed() async throws {
        let store = try SQLiteStore.temporary(logger: logger)
        _ = try await store.append((0..<70).map { F.event("x\($0)", key: "k\($0)") })
        try await store.execute(
            sql: """
                CREATE TRIGGER refuse BEFORE UPDATE OF status ON events WHEN NEW.event_id = 'x40' AND NEW.status = 1
                BEGIN SELECT RAISE(ABORT, 'injected'); END
                """)
        let claimed = try await store.claimEvents(limit: 64, perEntity: 1, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(claimed.map(\.eventID.rawValue) == (0..<32).map { "x\($0)" })
        #expect(try await store.listEvents(status: .processing, limit: 100).count == 32)
        // Now the refused event is in the first part.
        await #expect(throws: SQLiteStoreError.self) {
            try await store.claimEvents(limit: 64, perEntity: 1, owner: "w2", lease: .seconds(60), now: F.t0)
        }
        #expect(try await store.listEvents(status: .processing, limit: 100).count == 32)
    }
}
