import Foundation
import Testing
import WeftCore

/// Inbox behaviour every `Store` must have: append and dedup, group commit, per-key ordered claims, leases, and the
/// atomic commit of processing results.
@Suite("Store conformance: inbox")
struct InboxConformanceTests {
    typealias F = Fixture

    @Test(arguments: StoreFactory.all)
    func appendStoresEachEventOnceAndReportsDuplicates(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        // A duplicate within one call.
        let first = try await store.append([F.event("e1"), F.event("e2"), F.event("e1")])
        #expect(first.count == 3)
        guard case .stored(let s1) = first[0], case .stored(let s2) = first[1] else {
            Issue.record("the first two events must be stored, got \(first)")
            return
        }
        #expect(s1 < s2)
        #expect(first[2] == .duplicate)
        // A duplicate in a later call; the same event id from another system is a different event.
        let second = try await store.append([F.event("e2"), F.event("e1", system: "hubspot")])
        #expect(second[0] == .duplicate)
        guard case .stored(let s3) = second[1] else {
            Issue.record("an event id of another system is a new event")
            return
        }
        #expect(s2 < s3)
        let stored = try await store.listEvents(status: nil, limit: 10)
        #expect(stored.map(\.seq) == [s3, s2, s1])
        let e1 = try #require(stored.last)
        #expect(e1.eventID.rawValue == "e1")
        #expect(e1.payload == Data("{\"id\":\"e1\"}".utf8))
        #expect(e1.occurredAt == F.t0 && e1.receivedAt == F.t0)
        #expect(e1.traceID == TraceID("t-e1") && e1.type == "customer.updated")
        #expect(e1.status == .pending && e1.attempts == 0 && e1.outcome == nil)
        #expect(try await store.append([]).isEmpty)
    }

    @Test(arguments: StoreFactory.all)
    func appendWithACompletionIsTheSameDurableGroupCommit(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        // Callers on an event loop pass a completion instead of awaiting: the same dedup and durability.
        let results = await withTaskGroup(of: (String, Result<[AppendResult], any Error>).self) { group in
            for index in 0..<100 {
                group.addTask {
                    let id = "cb\(index % 50)"
                    return (id, await withCheckedContinuation { done in store.append([F.event(id)]) { done.resume(returning: $0) } })
                }
            }
            return await group.reduce(into: [(String, Result<[AppendResult], any Error>)]()) { $0.append($1) }
        }
        var stored: [String: Int] = [:]
        for (id, result) in results {
            let answers = try result.get()
            #expect(answers.count == 1)
            if case .stored = answers[0] { stored[id, default: 0] += 1 } else { #expect(answers[0] == .duplicate) }
        }
        #expect(stored.count == 50 && stored.values.allSatisfy { $0 == 1 })
        #expect(try await store.listEvents(status: nil, limit: 200).count == 50)
        let none = await withCheckedContinuation { done in store.append([]) { done.resume(returning: $0) } }
        #expect(try none.get().isEmpty)
    }

    @Test(arguments: StoreFactory.all)
    func concurrentAppendersAreGroupCommittedAndStoreEachEventExactlyOnce(_ factory: StoreFactory) async throws {
        let subject = try await factory.make()
        let store = subject.store
        let before = subject.appendTransactions()
        let distinct = 500
        // Every event is sent by two concurrent callers: exactly one of them stores it.
        let results = try await withThrowingTaskGroup(of: (String, AppendResult).self) { group in
            for index in 0..<distinct {
                for _ in 0..<2 {
                    group.addTask {
                        let id = "c\(index)"
                        return (id, try await store.append([F.event(id, key: "k\(index % 13)")])[0])
                    }
                }
            }
            return try await group.reduce(into: [(String, AppendResult)]()) { $0.append($1) }
        }
        var storedBy: [String: Int] = [:]
        var seqs = Set<EventSeq>()
        for (id, result) in results {
            if case .stored(let seq) = result {
                storedBy[id, default: 0] += 1
                seqs.insert(seq)
            }
        }
        #expect(storedBy.count == distinct)
        #expect(storedBy.values.allSatisfy { $0 == 1 })
        #expect(seqs.count == distinct)
        #expect(results.filter { $0.1 == .duplicate }.count == distinct)
        let listed = try await store.listEvents(status: nil, limit: 10 * distinct)
        #expect(listed.count == distinct)
        #expect(Set(listed.map(\.seq)) == seqs)
        let transactions = subject.appendTransactions() - before
        #expect(transactions >= 1)
        #expect(transactions < 2 * distinct, "appends must share transactions, got \(transactions)")
    }

    @Test(arguments: StoreFactory.all)
    func claimsTheEarliestUnfinishedEventPerKeyAndOtherKeysInParallel(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        // For k1 arrival order differs from occurred-at order; ties on occurred-at go by arrival.
        _ = try await store.append([
            F.event("k1-late", key: "k1", occurred: 10), F.event("k1-early", key: "k1", occurred: 5),
            F.event("k2-a", key: "k2", occurred: 7), F.event("k2-b", key: "k2", occurred: 7),
            F.event("k3", key: "k3", occurred: 1),
        ])
        let first = try await store.claimEvents(limit: 10, owner: "w1", lease: .seconds(60), now: F.t0)
        #expect(first.map(\.eventID.rawValue) == ["k1-early", "k2-a", "k3"])
        #expect(first.allSatisfy { $0.status == .processing && $0.attempts == 1 })
        // While a key's event is held, nothing else of that key is handed out.
        #expect(try await store.claimEvents(limit: 10, owner: "w2", lease: .seconds(60), now: F.t0).isEmpty)
        #expect(try await store.listEvents(status: .processing, limit: 10).count == 3)

        let committed = try await store.commitProcessed(first.map { F.processed($0) }, owner: "w1", now: F.t0)
        #expect(Set(committed) == Set(first.map(\.seq)))
        let next = try await store.claimEvents(limit: 10, owner: "w2", lease: .seconds(60), now: F.t0)
        #expect(next.map(\.eventID.rawValue) == ["k1-late", "k2-b"])
        #expect(try await store.listEvents(status: .done, limit: 10).count == 3)
    }

    /// Runs of one entity: each entity's claimed events are the first of its unfinished ones in occurred-at order,
    /// at most `perEntity`; the SQLite store claims whole runs, a store may claim only the first.
    @Test(arguments: StoreFactory.all)
    func claimsARunOfAnEntitysEventsInTheOrderTheyOccurred(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        _ = try await store.append([
            F.event("a-30", key: "a", occurred: 30), F.event("a-10", key: "a", occurred: 10),
            F.event("b-0", key: "b", occurred: 0), F.event("a-20", key: "a", occurred: 20),
            F.event("c-0", key: "c", occurred: 0), F.event("c-5", key: "c", occurred: 5),
        ])
        let order = ["a": ["a-10", "a-20", "a-30"], "b": ["b-0"], "c": ["c-0", "c-5"]]
        func runs(_ events: [InboxEvent]) -> [String: [String]] {
            Dictionary(grouping: events, by: \.entityKey.rawValue).mapValues {
                $0.sorted { ($0.occurredAt, $0.seq) < ($1.occurredAt, $1.seq) }.map(\.eventID.rawValue)
            }
        }
        let first = try await store.claimEvents(limit: 10, perEntity: 2, owner: "w1", lease: .seconds(60), now: F.t0)
        let claimed = runs(first)
        #expect(Set(claimed.keys) == ["a", "b", "c"])
        for (key, run) in claimed {
            #expect(run.count <= 2 && run == Array(order[key]!.prefix(run.count)), "\(key): \(run)")
        }
        if factory.name == "SQLite" { #expect(claimed == ["a": ["a-10", "a-20"], "b": ["b-0"], "c": ["c-0", "c-5"]]) }
        #expect(first.allSatisfy { $0.status == .processing && $0.attempts == 1 })
        // While any event of an entity is held, none of its others is handed out, run or not.
        #expect(try await store.claimEvents(limit: 10, perEntity: 8, owner: "w2", lease: .seconds(60), now: F.t0).isEmpty)

        // Leases ran out: the rest of each entity, in order, from its first unfinished event.
        let next = try await store.claimEvents(limit: 10, perEntity: 8, owner: "w2", lease: .seconds(60), now: F.at(61))
        for (key, run) in runs(next) {
            #expect(!run.isEmpty && run == Array(order[key]!.prefix(run.count)), "\(key): \(run)")
        }
        if factory.name == "SQLite" { #expect(runs(next) == order) }

        // The following events are capped at `limit` in all, after the first events.
        let limited = try await factory.make().store
        _ = try await limited.append((0..<4).map { F.event("x\($0)", key: "x", occurred: TimeInterval($0)) })
        let capped = try await limited.claimEvents(limit: 2, perEntity: 8, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(capped.count <= 3 && runs(capped)["x"] == Array(["x0", "x1", "x2"].prefix(capped.count)))
        if factory.name == "SQLite" { #expect(capped.count == 3) }
    }

    @Test(arguments: StoreFactory.all)
    func claimRespectsTheLimit(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        _ = try await store.append((0..<10).map { F.event("e\($0)", key: "k\($0)") })
        let first = try await store.claimEvents(limit: 4, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(first.map(\.eventID.rawValue) == ["e0", "e1", "e2", "e3"])
        let rest = try await store.claimEvents(limit: 100, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(rest.count == 6)
        #expect(try await store.claimEvents(limit: 0, owner: "w", lease: .seconds(60), now: F.t0).isEmpty)
    }

    @Test(arguments: StoreFactory.all)
    func anEarlierEventArrivingWhileItsKeyIsHeldWaits(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        _ = try await store.append([F.event("second", occurred: 10)])
        let held = try await store.claimEvents(limit: 10, owner: "w1", lease: .seconds(60), now: F.t0)
        #expect(held.map(\.eventID.rawValue) == ["second"])
        // A late delivery of an earlier event: it is now the earliest unfinished, but its key is held.
        _ = try await store.append([F.event("first", occurred: 5)])
        #expect(try await store.claimEvents(limit: 10, owner: "w2", lease: .seconds(60), now: F.t0).isEmpty)
        try await store.commitProcessed([F.processed(held[0])], owner: "w1", now: F.t0)
        let next = try await store.claimEvents(limit: 10, owner: "w2", lease: .seconds(60), now: F.t0)
        #expect(next.map(\.eventID.rawValue) == ["first"])
    }

    @Test(arguments: StoreFactory.all)
    func anExpiredLeaseIsReclaimedAndTheOldHolderCannotCommit(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        _ = try await store.append([F.event("e1"), F.event("e2", occurred: 1)])
        let held = try await store.claimEvents(limit: 10, owner: "crashed", lease: .seconds(5), now: F.t0)
        #expect(held.map(\.eventID.rawValue) == ["e1"])
        // Still leased at the last instant of the lease.
        #expect(try await store.claimEvents(limit: 10, owner: "w2", lease: .seconds(5), now: F.at(5)).isEmpty)
        let taken = try await store.claimEvents(limit: 10, owner: "w2", lease: .seconds(5), now: F.at(6))
        #expect(taken.map(\.seq) == held.map(\.seq))
        #expect(taken.first?.attempts == 2)
        // The old holder lost it: its commit changes nothing, its release neither.
        let aggregate = F.aggregate(name: "from the crashed worker")
        let lost = try await store.commitProcessed(
            [F.processed(held[0], commands: [F.command("lost")], aggregate: aggregate, version: 0)], owner: "crashed",
            now: F.at(6))
        #expect(lost.isEmpty)
        try await store.releaseEvents(held.map(\.seq), owner: "crashed")
        #expect(try await store.loadAggregates([EntityKey("k1")]).isEmpty)
        #expect(try await store.listCommands(filter: CommandFilter(), limit: 10).isEmpty)
        #expect(try await store.listEvents(status: .processing, limit: 10).map(\.seq) == held.map(\.seq))
        #expect(try await store.commitProcessed([F.processed(taken[0])], owner: "w2", now: F.at(6)) == [taken[0].seq])
        #expect(try await store.claimEvents(limit: 10, owner: "w2", lease: .seconds(5), now: F.at(6)).map(\.eventID.rawValue) == ["e2"])
    }

    @Test(arguments: StoreFactory.all)
    func releasedEventsCanBeClaimedAtOnceButOnlyTheHolderReleases(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        _ = try await store.append([F.event("e1"), F.event("e2", key: "k2")])
        let held = try await store.claimEvents(limit: 10, owner: "w1", lease: .seconds(600), now: F.t0)
        #expect(held.count == 2)
        try await store.releaseEvents(held.map(\.seq), owner: "someone-else")
        #expect(try await store.claimEvents(limit: 10, owner: "w2", lease: .seconds(60), now: F.t0).isEmpty)
        try await store.releaseEvents([held[0].seq], owner: "w1")
        let again = try await store.claimEvents(limit: 10, owner: "w2", lease: .seconds(60), now: F.t0)
        #expect(again.map(\.seq) == [held[0].seq])
        try await store.releaseEvents([], owner: "w1")
    }

    @Test(arguments: StoreFactory.all)
    func aggregatesAreSavedWithOptimisticVersions(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        _ = try await store.append([F.event("e1"), F.event("e2", occurred: 1), F.event("e3", occurred: 2)])
        let v1 = F.aggregate(name: "one")
        let first = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(try await store.commitProcessed([F.processed(first[0], aggregate: v1, version: 0)], owner: "w", now: F.t0).count == 1)
        var loaded = try await store.loadAggregates([EntityKey("k1"), EntityKey("missing")])
        #expect(loaded.count == 1)
        #expect(loaded[EntityKey("k1")] == StoredAggregate(aggregate: v1, version: 1))

        // A version that is not the stored one: someone else processed this key. Skipped, and the event goes back to
        // pending with its commands unwritten.
        let second = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: F.t0)
        let conflict = try await store.commitProcessed(
            [F.processed(second[0], commands: [F.command("c-conflict")], aggregate: F.aggregate(name: "stale"), version: 0)],
            owner: "w", now: F.t0)
        #expect(conflict.isEmpty)
        #expect(try await store.listCommands(filter: CommandFilter(), limit: 10).isEmpty)
        #expect(try await store.loadAggregates([EntityKey("k1")])[EntityKey("k1")]?.aggregate == v1)
        let again = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(again.map(\.seq) == second.map(\.seq))
        #expect(again.first?.attempts == 2)

        let v2 = F.aggregate(name: "two")
        #expect(
            try await store.commitProcessed([F.processed(again[0], aggregate: v2, version: 1)], owner: "w", now: F.t0) == [again[0].seq])
        loaded = try await store.loadAggregates([EntityKey("k1")])
        #expect(loaded[EntityKey("k1")] == StoredAggregate(aggregate: v2, version: 2))

        // A version ahead of the stored one conflicts too; no aggregate (unchanged) needs no version.
        let third = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(try await store.commitProcessed([F.processed(third[0], aggregate: v1, version: 7)], owner: "w", now: F.t0).isEmpty)
        let retried = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(
            try await store.commitProcessed([F.processed(retried[0], status: .done, outcome: "stale")], owner: "w", now: F.t0) == [
                retried[0].seq
            ])
        #expect(try await store.loadAggregates([EntityKey("k1")])[EntityKey("k1")]?.version == 2)
        #expect(try await store.listEvents(status: .done, limit: 1).first?.outcome == "stale")
    }

    /// A claim of more entities than a store takes in one transaction (SQLite: 32) takes the same events one would:
    /// the first `limit` entities by arrival, each with its following events, none twice.
    @Test(arguments: StoreFactory.all)
    func aClaimOfManyEntitiesTakesTheOldestArrivalsWithTheirFollowingEvents(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        // Every entity's first event, then every entity's second: arrival order interleaves the entities.
        _ = try await store.append((0..<70).map { F.event("a\($0)", key: "k\($0)") })
        _ = try await store.append((0..<70).map { F.event("b\($0)", key: "k\($0)", occurred: 1) })
        let claimed = try await store.claimEvents(limit: 60, perEntity: 2, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(Set(claimed.map(\.entityKey)) == Set((0..<60).map { EntityKey("k\($0)") }))
        #expect(Set(claimed.map(\.seq)).count == claimed.count)
        let perEntity = Dictionary(grouping: claimed, by: \.entityKey).mapValues { $0.map(\.eventID.rawValue).sorted() }
        // The PostgreSQL store claims one event per entity whatever `perEntity` says (docs/configuration.md).
        let expected = factory.name == "SQLite" ? 2 : 1
        #expect(perEntity.values.allSatisfy { $0.count == expected })
        #expect(claimed.map(\.seq) == claimed.map(\.seq).sorted())
        // The rest, later.
        let rest = try await store.claimEvents(limit: 60, perEntity: 2, owner: "w2", lease: .seconds(60), now: F.t0)
        #expect(Set(rest.map(\.entityKey)) == Set((60..<70).map { EntityKey("k\($0)") }))
    }

    /// An aggregate an older Weft stored (a version and a source for every field) loads as it was, and is stored in
    /// the shared shape once its entity changes; the new row loads back the same.
    @Test(arguments: StoreFactory.all)
    func anAggregateInTheEarlierShapeLoadsAndIsRewrittenWhenItChanges(_ factory: StoreFactory) async throws {
        let under = try await factory.make()
        let store = under.store
        let earlier = #"""
            {"emitted":{},"records":{"stripe/customer/k1":{"fields":{"name":"old","phone":null},"sources":{"name":"stripe","phone":"odoo"},"versions":{"name":{"millis":5,"ordinal":1},"phone":{"millis":5,"ordinal":1}}}}}
            """#
        let bytes = factory.name == "SQLite" ? "CAST('\(earlier)' AS BLOB)" : "convert_to('\(earlier)', 'UTF8')"
        try await under.execute("INSERT INTO aggregates (entity_key, state, version, updated_at) VALUES ('k1', \(bytes), 3, 0)")
        let version = SourceVersion(millis: 5, ordinal: 1)
        let stored = Aggregate(records: [
            "stripe/customer/k1": RecordState(
                fields: ["name": "old", "phone": nil], versions: ["name": version, "phone": version],
                sources: ["name": "stripe", "phone": "odoo"])
        ])
        #expect(try await store.loadAggregates([EntityKey("k1")])[EntityKey("k1")] == StoredAggregate(aggregate: stored, version: 3))

        var changed = stored
        changed.records["stripe/customer/k1"]?.fields["name"] = "new"
        changed.records["stripe/customer/k1"]?.versions["name"] = SourceVersion(millis: 9)
        _ = try await store.append([F.event("e1")])
        let claimed = try await store.claimEvents(limit: 1, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(
            try await store.commitProcessed([F.processed(claimed[0], aggregate: changed, version: 3)], owner: "w", now: F.t0)
                == [claimed[0].seq])
        let shapes = try await under.counts(
            """
            SELECT CASE WHEN \(factory.name == "SQLite" ? "instr(CAST(state AS TEXT), '\"versions\"')" : "position('\"versions\"' in convert_from(state, 'UTF8'))") > 0 THEN 'earlier' ELSE 'shared' END, count(*)
            FROM aggregates GROUP BY 1
            """)
        #expect(shapes == ["shared": 1])
        #expect(try await store.loadAggregates([EntityKey("k1")])[EntityKey("k1")] == StoredAggregate(aggregate: changed, version: 4))
    }

    /// A provisional key (an invoice's) and the customer that adopts it.
    static let alias = "stripe/invoice/in_1"
    static let customer = "stripe/customer/cus_1"

    /// Results for the claimed events of one call, each event's aggregate named after it and saved at the version
    /// the one before it left (`versions` holds where each entity stands, and is moved on).
    static func chained(_ claimed: [InboxEvent], versions: inout [EntityKey: Int64]) -> [ProcessedEvent] {
        claimed.sorted { ($0.entityKey.rawValue, $0.occurredAt) < ($1.entityKey.rawValue, $1.occurredAt) }.map { event in
            let version = versions[event.entityKey, default: 0]
            versions[event.entityKey] = version + 1
            return F.processed(event, aggregate: F.aggregate(name: event.eventID.rawValue), version: version)
        }
    }

    /// A run of one entity's events committed in one call (the SQLite store claims whole runs): the aggregate ends as
    /// the last result left it, at the run's last version, as if each result had been saved in turn.
    @Test(arguments: StoreFactory.all)
    func aRunCommittedInOneCallEndsAtItsLastStateAndVersion(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        _ = try await store.append([
            F.event("a-0", key: "a", occurred: 0), F.event("a-1", key: "a", occurred: 1), F.event("a-2", key: "a", occurred: 2),
            F.event("b-0", key: "b", occurred: 0),
        ])
        var versions: [EntityKey: Int64] = [:]
        var claims = 0
        while true {
            let claimed = try await store.claimEvents(limit: 10, perEntity: 8, owner: "w", lease: .seconds(60), now: F.t0)
            if claimed.isEmpty { break }
            if claims == 0, factory.name == "SQLite" { #expect(claimed.count == 4) }
            claims += 1
            let results = Self.chained(claimed, versions: &versions)
            #expect(Set(try await store.commitProcessed(results, owner: "w", now: F.t0)) == Set(claimed.map(\.seq)))
        }
        #expect(
            try await store.loadAggregates([EntityKey("a"), EntityKey("b")]) == [
                EntityKey("a"): StoredAggregate(aggregate: F.aggregate(name: "a-2"), version: 3),
                EntityKey("b"): StoredAggregate(aggregate: F.aggregate(name: "b-0"), version: 1),
            ])
        #expect(try await store.listEvents(status: .done, limit: 10).count == 4)

        // The next event saves on top of the run's version; one that expects a version inside the run does not.
        _ = try await store.append([F.event("a-3", key: "a", occurred: 3), F.event("a-4", key: "a", occurred: 4)])
        let next = try await store.claimEvents(limit: 1, perEntity: 1, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(
            try await store.commitProcessed([F.processed(next[0], aggregate: F.aggregate(name: "a-3"), version: 3)], owner: "w", now: F.t0)
                == [next[0].seq])
        let stale = try await store.claimEvents(limit: 1, perEntity: 1, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(
            try await store.commitProcessed([F.processed(stale[0], aggregate: F.aggregate(name: "a-4"), version: 2)], owner: "w", now: F.t0)
                .isEmpty)
        #expect(
            try await store.loadAggregates([EntityKey("a")])[EntityKey("a")]
                == StoredAggregate(aggregate: F.aggregate(name: "a-3"), version: 4))
    }

    /// A run whose last event is no longer held when the run commits: the events before it commit, and the aggregate
    /// is what the last of them left, at its version.
    @Test(arguments: StoreFactory.all)
    func aRunWhoseLastEventIsNoLongerHeldKeepsWhatTheEventsBeforeItLeft(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        _ = try await store.append([
            F.event("a-0", key: "a", occurred: 0), F.event("a-1", key: "a", occurred: 1), F.event("a-2", key: "a", occurred: 2),
        ])
        let claimed = try await store.claimEvents(limit: 10, perEntity: 8, owner: "w", lease: .seconds(60), now: F.t0)
        if factory.name == "SQLite" { #expect(claimed.count == 3) }
        var versions: [EntityKey: Int64] = [:]
        let results = Self.chained(claimed, versions: &versions)
        let lost = try #require(results.last)
        try await store.releaseEvents([lost.seq], owner: "w")
        #expect(try await store.commitProcessed(results, owner: "w", now: F.t0) == results.dropLast().map(\.seq))
        let stored = try await store.loadAggregates([EntityKey("a")])[EntityKey("a")]
        if results.count >= 2 {
            let kept = results[results.count - 2]
            #expect(stored == StoredAggregate(aggregate: try #require(kept.aggregate), version: Int64(results.count - 1)))
        } else {
            #expect(stored == nil)
        }
        // The released event is processed again on that state.
        let again = try await store.claimEvents(limit: 10, perEntity: 8, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(again.first?.seq == lost.seq)
    }

    /// A result that adopts an entity's key between two results of that entity's run (the store takes results in any
    /// order): the aggregate built under the adopted key is dropped, and the run's events go to the adopter.
    @Test(arguments: StoreFactory.all)
    func anAdoptionInsideARunOfTheAdoptedKeyDropsItsAggregate(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        let (alias, customer) = (Self.alias, Self.customer)
        _ = try await store.append([
            F.event("x-0", key: alias, occurred: 0), F.event("x-1", key: alias, occurred: 1), F.event("c-0", key: customer, occurred: 0),
        ])
        let claimed = try await store.claimEvents(limit: 10, perEntity: 8, owner: "w", lease: .seconds(60), now: F.t0)
        var versions: [EntityKey: Int64] = [:]
        let results = Self.chained(claimed, versions: &versions)
        var run = results.filter { $0.entityKey == EntityKey(alias) }
        var adopter = try #require(results.first { $0.entityKey == EntityKey(customer) })
        adopter.adoptedAliases = [EntityKey(alias)]
        run.insert(adopter, at: 1)
        let committed = try await store.commitProcessed(run, owner: "w", now: F.t0)
        #expect(committed.contains(adopter.seq))
        #expect(try await store.loadAggregates([EntityKey(alias)]).isEmpty)
        #expect(try await store.loadAggregates([EntityKey(customer)])[EntityKey(customer)]?.aggregate == F.aggregate(name: "c-0"))
        let again = try await store.claimEvents(limit: 10, perEntity: 8, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(Set(again.map(\.eventID.rawValue)) == ["x-0", "x-1"] || again.map(\.eventID.rawValue) == ["x-0"])
        #expect(again.allSatisfy { $0.entityKey == EntityKey(customer) })
    }

    /// A run whose first result adopts a key: the adopted key's events move to the run's entity, and the run's own
    /// aggregate still ends as its last result left it, at its last version.
    @Test(arguments: StoreFactory.all)
    func aRunThatAdoptsAKeyMidwayEndsAtItsLastState(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        let (alias, customer) = (Self.alias, Self.customer)
        _ = try await store.append([
            F.event("x-0", key: alias, occurred: 0), F.event("c-0", key: customer, occurred: 1),
            F.event("c-1", key: customer, occurred: 2), F.event("c-2", key: customer, occurred: 3),
        ])
        // The alias's event is processed on its own first, as a stray.
        let stray = try await store.claimEvents(limit: 1, perEntity: 1, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(stray.map(\.eventID.rawValue) == ["x-0"])
        _ = try await store.commitProcessed(
            [F.processed(stray[0], aggregate: F.aggregate(name: "stray"), version: 0)], owner: "w", now: F.t0)
        var versions: [EntityKey: Int64] = [:]
        while true {
            let claimed = try await store.claimEvents(limit: 10, perEntity: 8, owner: "w", lease: .seconds(60), now: F.t0)
            if claimed.isEmpty { break }
            var results = Self.chained(claimed, versions: &versions)
            if let first = results.firstIndex(where: { $0.seq == claimed.first { $0.eventID.rawValue == "c-0" }?.seq }) {
                results[first].adoptedAliases = [EntityKey(alias)]
            }
            _ = try await store.commitProcessed(results, owner: "w", now: F.t0)
        }
        #expect(try await store.loadAggregates([EntityKey(alias)]).isEmpty)
        let last = try #require(try await store.loadAggregates([EntityKey(customer)])[EntityKey(customer)])
        // x-0 moved to the customer and was processed there again, after c-2 or within the run.
        #expect(last.version == versions[EntityKey(customer)])
        #expect(try await store.listEvents(status: .done, limit: 10).count == 4)
        #expect(try await store.listEvents(status: .pending, limit: 10).isEmpty)
    }

    @Test(arguments: StoreFactory.all)
    func aggregatesTheCallerHoldsAreNotReadAgain(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        _ = try await store.append([F.event("e1"), F.event("e2", key: "k2")])
        let held = try await store.claimEvents(limit: 10, owner: "w", lease: .seconds(60), now: F.t0)
        try await store.commitProcessed(
            held.map { F.processed($0, aggregate: F.aggregate(name: $0.eventID.rawValue), version: 0) }, owner: "w", now: F.t0)
        let keys = [EntityKey("k1"), EntityKey("k2"), EntityKey("missing")]
        // k1 at the version the caller holds; k2 at an older one; a key with no aggregate is in neither part.
        let load = try await store.loadAggregates(keys, known: [EntityKey("k1"): 1, EntityKey("k2"): 0, EntityKey("missing"): 3])
        #expect(load.unchanged == [EntityKey("k1")])
        #expect(load.loaded == [EntityKey("k2"): StoredAggregate(aggregate: F.aggregate(name: "e2"), version: 1)])
        #expect(try await store.loadAggregates(keys, known: [:]).loaded.count == 2)
    }

    @Test(arguments: StoreFactory.all)
    func oneCommitWritesEveryHeldResultAndSkipsOnlyTheOthers(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        _ = try await store.append([F.event("a", key: "ka"), F.event("b", key: "kb"), F.event("c", key: "kc")])
        let held = try await store.claimEvents(limit: 10, owner: "w", lease: .seconds(60), now: F.t0)
        #expect(held.count == 3)
        // "b" is taken over by another worker after its lease expired.
        try await store.releaseEvents([held[1].seq], owner: "w")
        _ = try await store.claimEvents(limit: 10, owner: "other", lease: .seconds(60), now: F.t0)
        let results = [
            F.processed(held[0], commands: [F.command("a1", entity: "ka"), F.command("a2", entity: "ka")]),
            F.processed(held[1], commands: [F.command("b1", entity: "kb")]),
            // A repeated idempotency key (here "a1") is ignored: the first command stands.
            F.processed(held[2], commands: [F.command("a1", entity: "kc", name: "other")], status: .failed, outcome: "failed: bad"),
        ]
        let committed = try await store.commitProcessed(results, owner: "w", now: F.at(1))
        #expect(committed == [held[0].seq, held[2].seq])
        let commands = try await store.listCommands(filter: CommandFilter(), limit: 10)
        #expect(commands.map(\.command.idempotencyKey.rawValue) == ["a2", "a1"])
        let a1 = try #require(commands.last)
        #expect(a1.command.entityKey == EntityKey("ka"))
        #expect(a1.command.traceID == held[0].traceID)
        #expect(a1.command.createdAt == F.at(1) && a1.nextAttemptAt == F.at(1))
        #expect(a1.status == .pending && a1.command.attempts == 0)
        #expect(a1.command.payload == F.command("a1", entity: "ka").payload)
        #expect(try await store.listEvents(status: .failed, limit: 10).map(\.outcome) == ["failed: bad"])
        #expect(try await store.listEvents(status: .processing, limit: 10).map(\.seq) == [held[1].seq])
        #expect(try await store.commitProcessed([], owner: "w", now: F.t0).isEmpty)
    }

    @Test(arguments: StoreFactory.all)
    func failedEventsReplayWithAnAuditEntry(_ factory: StoreFactory) async throws {
        let store = try await factory.make().store
        _ = try await store.append([F.event("a", key: "ka"), F.event("b", key: "kb"), F.event("c", key: "kc")])
        let held = try await store.claimEvents(limit: 10, owner: "w", lease: .seconds(60), now: F.t0)
        try await store.commitProcessed(held.map { F.processed($0, status: .failed, outcome: "failed: x") }, owner: "w", now: F.t0)
        #expect(try await store.replayFailedEvents(seqs: [held[0].seq], actor: "alice", now: F.at(1)) == 1)
        #expect(try await store.replayFailedEvents(seqs: [], actor: "alice", now: F.at(1)) == 0)
        let pending = try await store.listEvents(status: .pending, limit: 10)
        #expect(pending.map(\.seq) == [held[0].seq])
        #expect(pending.first?.outcome == nil)
        #expect(try await store.replayFailedEvents(seqs: nil, actor: "bob", now: F.at(2)) == 2)
        #expect(try await store.listEvents(status: .failed, limit: 10).isEmpty)
        let audit = try await store.auditLog(limit: 10)
        #expect(audit.map(\.actor) == ["bob", "alice"])
        #expect(audit.allSatisfy { $0.action == "replay_failed_events" })
        #expect(audit.first?.at == F.at(2))
        #expect(audit.first?.detail.hasPrefix("2 event") == true)
        #expect(try await store.claimEvents(limit: 10, owner: "w", lease: .seconds(60), now: F.at(3)).count == 3)
    }
}
