import Foundation
import Logging
import Testing
import WeftCore
import WeftStoreSQLite

/// The behaviour every `Store` must have. Parameterised over store factories so the PostgreSQL store can join.
struct StoreFactory: Sendable, CustomStringConvertible {
    let description: String
    let make: @Sendable () throws -> any Store

    static let sqlite = StoreFactory(description: "SQLite") {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weft-store-\(UUID().uuidString).db").path
        return try SQLiteStore(path: path, logger: Logger(label: "test"))
    }

    static let all: [StoreFactory] = [.sqlite]
}

@Suite("Store conformance")
struct StoreConformanceTests {
    let t0 = Date(timeIntervalSince1970: 1_750_000_000)

    func event(_ id: String, key: String = "k1", occurred: TimeInterval = 0) -> IncomingEvent {
        IncomingEvent(
            system: "stripe", eventID: SourceEventID(id), type: "customer.updated", entityKey: EntityKey(key),
            occurredAt: t0.addingTimeInterval(occurred), receivedAt: t0, payload: Data("{}".utf8), traceID: TraceID("t-\(id)"))
    }

    func command(_ key: String, entity: String = "k1") -> NewCommand {
        let customer = Customer(ref: ExternalRef(system: "stripe", kind: .customer, id: entity), name: key)
        return NewCommand(target: "odoo", entityKey: EntityKey(entity), idempotencyKey: IdempotencyKey(key), payload: .upsertCustomer(customer))
    }

    func done(_ event: InboxEvent, commands: [NewCommand] = [], aggregate: Aggregate? = nil, version: Int64? = nil) -> ProcessedEvent {
        ProcessedEvent(
            seq: event.seq, entityKey: event.entityKey, aggregate: aggregate, expectedVersion: version, commands: commands,
            status: .done, outcome: "applied", traceID: event.traceID)
    }

    @Test(arguments: StoreFactory.all)
    func appendStoresOnceAndReportsDuplicates(_ factory: StoreFactory) async throws {
        let store = try factory.make()
        let first = try await store.append([event("e1"), event("e2"), event("e1")])
        #expect(first.count == 3)
        guard case .stored = first[0], case .stored = first[1] else {
            Issue.record("first two must be stored")
            return
        }
        #expect(first[2] == .duplicate)
        #expect(try await store.append([event("e2")]) == [.duplicate])
        #expect(try await store.listEvents(status: nil, limit: 10).count == 2)
    }

    @Test(arguments: StoreFactory.all)
    func concurrentAppendsAreGroupCommittedAndStoredExactlyOnce(_ factory: StoreFactory) async throws {
        let store = try factory.make()
        let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
            for index in 0..<400 {
                // Every event is sent twice, concurrently.
                for _ in 0..<2 { group.addTask { try await store.append([event("c\(index)", key: "k\(index % 7)")])[0] } }
            }
            return try await group.reduce(into: [AppendResult]()) { $0.append($1) }
        }
        #expect(results.filter { $0 == .duplicate }.count == 400)
        #expect(try await store.listEvents(status: nil, limit: 10_000).count == 400)
        if let sqlite = store as? SQLiteStore { #expect(sqlite.appendTransactions < 800) }
    }

    @Test(arguments: StoreFactory.all)
    func claimsTheEarliestEventPerKeyOneAtATime(_ factory: StoreFactory) async throws {
        let store = try factory.make()
        // Arrival order differs from occurred-at order for k1.
        _ = try await store.append([event("late", key: "k1", occurred: 10), event("early", key: "k1", occurred: 5), event("other", key: "k2")])
        let first = try await store.claimEvents(limit: 10, owner: "w1", lease: .seconds(60), now: t0)
        #expect(Set(first.map(\.eventID.rawValue)) == ["early", "other"])
        // While k1's event is held, nothing else of k1 is handed out.
        #expect(try await store.claimEvents(limit: 10, owner: "w2", lease: .seconds(60), now: t0).isEmpty)
        let early = try #require(first.first { $0.eventID.rawValue == "early" })
        #expect(try await store.commitProcessed([done(early)], owner: "w1", now: t0) == [early.seq])
        let next = try await store.claimEvents(limit: 10, owner: "w2", lease: .seconds(60), now: t0)
        #expect(next.map(\.eventID.rawValue) == ["late"])
    }

    @Test(arguments: StoreFactory.all)
    func expiredLeasesAreReclaimedAndTheOldHolderCannotCommit(_ factory: StoreFactory) async throws {
        let store = try factory.make()
        _ = try await store.append([event("e1")])
        let held = try await store.claimEvents(limit: 1, owner: "dead", lease: .seconds(5), now: t0)
        #expect(held.count == 1)
        #expect(try await store.claimEvents(limit: 1, owner: "w2", lease: .seconds(5), now: t0.addingTimeInterval(4)).isEmpty)
        let taken = try await store.claimEvents(limit: 1, owner: "w2", lease: .seconds(5), now: t0.addingTimeInterval(6))
        #expect(taken.map(\.seq) == held.map(\.seq))
        #expect(taken.first?.attempts == 2)
        #expect(try await store.commitProcessed([done(held[0])], owner: "dead", now: t0).isEmpty)
        #expect(try await store.commitProcessed([done(taken[0])], owner: "w2", now: t0) == [taken[0].seq])
    }

    @Test(arguments: StoreFactory.all)
    func aggregatesUseOptimisticVersions(_ factory: StoreFactory) async throws {
        let store = try factory.make()
        _ = try await store.append([event("e1"), event("e2", occurred: 1)])
        var aggregate = Aggregate()
        aggregate.records["stripe/customer/k1"] = RecordState(fields: ["name": "A"])
        let first = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: t0)
        #expect(try await store.commitProcessed([done(first[0], aggregate: aggregate, version: 0)], owner: "w", now: t0).count == 1)
        let loaded = try await store.loadAggregates([EntityKey("k1")])
        #expect(loaded[EntityKey("k1")]?.version == 1)
        #expect(loaded[EntityKey("k1")]?.aggregate == aggregate)
        // A stale version is refused and the event goes back to pending.
        let second = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: t0)
        #expect(try await store.commitProcessed([done(second[0], aggregate: aggregate, version: 0)], owner: "w", now: t0).isEmpty)
        let again = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: t0)
        #expect(again.map(\.seq) == second.map(\.seq))
        #expect(try await store.commitProcessed([done(again[0], aggregate: aggregate, version: 1)], owner: "w", now: t0).count == 1)
    }

    @Test(arguments: StoreFactory.all)
    func commandsAreHeadOfLinePerEntityAndDeadOnesDoNotBlock(_ factory: StoreFactory) async throws {
        let store = try factory.make()
        _ = try await store.append([event("e1")])
        let claimed = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: t0)
        let commands = [command("a1"), command("a2"), command("b1", entity: "k2"), command("a1")]
        _ = try await store.commitProcessed([done(claimed[0], commands: commands)], owner: "w", now: t0)
        let first = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: t0)
        #expect(first.map(\.idempotencyKey.rawValue) == ["a1", "b1"])
        #expect(first.allSatisfy { $0.attempts == 1 })
        let a1 = first[0]
        let failure = DeliveryFailure(kind: .rejected, message: "422")
        try await store.completeCommands(
            [
                CommandResult(id: a1.id, transition: .dead(failure: failure), subject: a1.payload.subject),
                CommandResult(
                    id: first[1].id, transition: .retry(at: t0.addingTimeInterval(30), failure: failure), subject: first[1].payload.subject),
            ], owner: "d", now: t0)
        let next = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: t0)
        #expect(next.map(\.idempotencyKey.rawValue) == ["a2"])
        #expect(try await store.nextCommandDue(target: "odoo") != nil)
        let later = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: t0.addingTimeInterval(31))
        #expect(later.map(\.idempotencyKey.rawValue) == ["b1"])
        #expect(later.first?.attempts == 2)
    }

    @Test(arguments: StoreFactory.all)
    func deliveredCommandsRecordBindingsAndDeadOnesReplayWithAudit(_ factory: StoreFactory) async throws {
        let store = try factory.make()
        _ = try await store.append([event("e1")])
        let claimed = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: t0)
        _ = try await store.commitProcessed([done(claimed[0], commands: [command("x1"), command("y1", entity: "k2")])], owner: "w", now: t0)
        let batch = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: t0)
        let record = TargetRecordID(model: "res.partner", id: "42")
        try await store.completeCommands(
            [
                CommandResult(id: batch[0].id, transition: .delivered(record: record, note: nil), subject: batch[0].payload.subject),
                CommandResult(
                    id: batch[1].id, transition: .dead(failure: DeliveryFailure(kind: .unavailable, message: "down")),
                    subject: batch[1].payload.subject),
            ], owner: "d", now: t0)
        #expect(try await store.binding(of: batch[0].payload.subject, in: "odoo") == record)
        let dead = try await store.listCommands(filter: CommandFilter(status: .dead), limit: 10)
        #expect(dead.map(\.command.idempotencyKey.rawValue) == ["y1"])
        #expect(dead.first?.lastError?.contains("down") == true)
        #expect(try await store.stats(now: t0).deadCommandsByKind == ["upsert_customer": 1])
        #expect(try await store.replayDeadCommands(filter: CommandFilter(kind: "nope"), actor: "ops", now: t0) == 0)
        #expect(try await store.replayDeadCommands(filter: CommandFilter(), actor: "ops", now: t0) == 1)
        let replayed = try await store.claimCommands(target: "odoo", limit: 10, owner: "d", lease: .seconds(60), now: t0)
        #expect(replayed.map(\.idempotencyKey.rawValue) == ["y1"])
        #expect(replayed.first?.attempts == 1)
        let audit = try await store.auditLog(limit: 10)
        #expect(audit.contains { $0.actor == "ops" && $0.action == "replay_dead_commands" && $0.detail.hasPrefix("1 command") })
    }

    @Test(arguments: StoreFactory.all)
    func cursorsAndStats(_ factory: StoreFactory) async throws {
        let store = try factory.make()
        #expect(try await store.cursor("c") == nil)
        try await store.setCursor("c", to: "1")
        try await store.setCursor("c", to: "2")
        #expect(try await store.cursor("c") == "2")
        _ = try await store.append([event("e1"), event("e2", key: "k2")])
        let stats = try await store.stats(now: t0.addingTimeInterval(3))
        #expect(stats.eventsByStatus[.pending] == 2)
        #expect(stats.oldestPendingEventAge == 3)
    }
}

@Suite("SQLite store specifics")
struct SQLiteStoreTests {
    func path() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("weft-sqlite-\(UUID().uuidString).db").path
    }

    @Test func synchronousFullIsInForce() throws {
        #expect(try SQLiteStore(path: path(), logger: Logger(label: "t")).synchronousLevel() == 2)
        #expect(try SQLiteStore(path: path(), configuration: .init(synchronous: .normal), logger: Logger(label: "t")).synchronousLevel() == 1)
    }

    @Test func everythingSurvivesReopening() async throws {
        let file = path()
        do {
            let store = try SQLiteStore(path: file, logger: Logger(label: "t"))
            _ = try await store.append([
                IncomingEvent(
                    system: "stripe", eventID: SourceEventID("e1"), type: "t", entityKey: EntityKey("k"), occurredAt: Date(),
                    receivedAt: Date(), payload: Data("{\"a\":1}".utf8), traceID: TraceID("x"))
            ])
            try await store.setCursor("c", to: "v")
        }
        let reopened = try SQLiteStore(path: file, logger: Logger(label: "t"))
        let events = try await reopened.listEvents(status: nil, limit: 10)
        #expect(events.map(\.eventID.rawValue) == ["e1"])
        #expect(events.first?.payload == Data("{\"a\":1}".utf8))
        #expect(try await reopened.cursor("c") == "v")
    }

    @Test func anUnwritableLocationFailsClearly() throws {
        #expect(throws: SQLiteStoreError.self) {
            _ = try SQLiteStore(path: "/proc/weft-cannot-write-here/weft.db", logger: Logger(label: "t"))
        }
    }
}
