public import Foundation
import GRDB
import Logging
public import WeftCore

extension SQLiteStore {
    /// Appends events through the group commit: this call's events share a transaction with whatever other callers
    /// queued meanwhile. Duplicates, also within one call or one batch, are reported and not stored.
    public func append(_ events: [IncomingEvent]) async throws -> [AppendResult] {
        let sealed = try sealed(events)
        do {
            return try await appends.submit(sealed)
        } catch {
            throw SQLiteStoreError.write("inbox append", error)
        }
    }

    /// The same group commit, answered on the writer's thread: no task per call.
    public func append(
        _ events: [IncomingEvent], completion: @escaping @Sendable (Result<[AppendResult], any Error>) -> Void
    ) {
        let sealed: [IncomingEvent]
        do {
            sealed = try self.sealed(events)
        } catch {
            return completion(.failure(error))
        }
        appends.submit(sealed) { result in
            completion(result.mapError { SQLiteStoreError.write("inbox append", $0) })
        }
    }

    /// `events` with their payloads sealed when the store encrypts them; done by the caller, outside the writer's
    /// queue: the writer is the bottleneck.
    private func sealed(_ events: [IncomingEvent]) throws -> [IncomingEvent] {
        guard let cipher else { return events }
        do {
            return try cipher.sealPayloads(events)
        } catch {
            throw SQLiteStoreError.encoding("seal an event payload", error)
        }
    }

    /// Inserts one batch; runs inside the group commit's transaction. An event sent under a provisional key that an
    /// entity has adopted is stored under that entity.
    static func insertEvents(_ db: Database, _ events: [IncomingEvent]) throws -> [AppendResult] {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO events (system, event_id, type, entity_key, occurred_at, received_at, payload, trace_id)
                VALUES (?1, ?2, ?3, coalesce((SELECT entity_key FROM aliases WHERE alias = ?4), ?4), ?5, ?6, ?7, ?8)
                ON CONFLICT (system, event_id) DO NOTHING
                """)
        var results: [AppendResult] = []
        results.reserveCapacity(events.count)
        for event in events {
            statement.setUncheckedArguments([
                event.system.rawValue, event.eventID.rawValue, event.type, event.entityKey.rawValue,
                millis(event.occurredAt), millis(event.receivedAt), event.payload, event.traceID.rawValue,
            ])
            try statement.execute()
            results.append(db.changesCount == 1 ? .stored(EventSeq(db.lastInsertedRowID)) : .duplicate)
        }
        return results
    }

    /// Claims the head of each entity key's unfinished events (earliest by occurred-at, then seq) when it is pending or
    /// its lease expired, and no other event of that key is under a live lease. Oldest arrivals first. Counts an
    /// attempt per claim.
    public func claimEvents(limit: Int, owner: String, lease: Duration, now: Date) async throws -> [InboxEvent] {
        try await claimEvents(limit: limit, perEntity: 1, owner: owner, lease: lease, now: now)
    }

    /// The first claimable event of each entity (no earlier unfinished one, none of its events under a live lease),
    /// oldest arrival first, then up to `perEntity - 1` of each one's following unfinished events: with no live lease
    /// on the entity, every unfinished event after its first is claimable, in order. In transactions of at most
    /// `claimPart` entities, each one's events together: a claim of 128 heads and their followers held the writer for
    /// 4–14 ms, and every webhook's append waited behind it.
    public func claimEvents(
        limit: Int, perEntity: Int, owner: String, lease: Duration, now: Date
    ) async throws -> [InboxEvent] {
        guard limit > 0 else { return [] }
        let nowMs = Self.millis(now)
        do {
            var claimed: [InboxEvent] = []
            var heads = 0
            var followers = 0
            // A part that finds fewer heads than it asked for found them all. The followers share one budget, taken in
            // the order of their heads: the events one claim of `limit` would take.
            while heads < limit {
                let part = min(Self.claimPart, limit - heads)
                let arguments: StatementArguments = [
                    "now": nowMs, "limit": part, "followers": limit - followers, "owner": owner,
                    "until": nowMs + Self.millis(lease), "following": max(0, perEntity - 1),
                ]
                let rows: [InboxEvent]
                do {
                    rows = try await claimPart(arguments)
                } catch let error where !claimed.isEmpty {
                    // What earlier parts claimed is claimed: hand it out; the next claim meets the failure again.
                    logger.warning(
                        "a claim's later part failed; processing what was claimed",
                        metadata: ["weft.events": "\(claimed.count)", "weft.error": "\(error)"])
                    break
                }
                claimed += rows
                let partHeads = Set(rows.map(\.entityKey)).count
                heads += partHeads
                followers += rows.count - partHeads
                if partHeads < part { break }
            }
            return try await opened(claimed.sorted { $0.seq < $1.seq }, owner: owner)
        } catch let error as SQLiteStoreError {
            throw error
        } catch {
            throw SQLiteStoreError.write("claim events", error)
        }
    }

    /// One part of a claim (see `claimEvents`): `limit` heads, up to `followers` of their following events.
    private func claimPart(_ arguments: StatementArguments) async throws -> [InboxEvent] {
        try await write { [arguments] db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        UPDATE events SET status = 1, lease_owner = :owner, lease_until = :until, attempts = attempts + 1
                        WHERE seq IN (
                          WITH heads AS (
                            SELECT e.seq, e.entity_key, e.occurred_at FROM events AS e INDEXED BY events_unfinished
                            WHERE e.status IN (0, 1) AND (e.status = 0 OR e.lease_until < :now)
                              AND NOT EXISTS (
                                SELECT 1 FROM events AS p INDEXED BY events_active
                                WHERE p.entity_key = e.entity_key AND p.status IN (0, 1)
                                  AND (p.occurred_at, p.seq) < (e.occurred_at, e.seq))
                              AND NOT EXISTS (
                                SELECT 1 FROM events AS q INDEXED BY events_active
                                WHERE q.entity_key = e.entity_key AND q.status IN (0, 1) AND q.status = 1
                                  AND q.lease_until >= :now AND q.seq <> e.seq)
                            ORDER BY e.seq LIMIT :limit)
                          SELECT seq FROM heads
                          UNION ALL
                          SELECT seq FROM (
                            SELECT seq FROM (
                              SELECT f.seq, h.seq AS head,
                                row_number() OVER (PARTITION BY f.entity_key ORDER BY f.occurred_at, f.seq) AS position
                              FROM heads AS h JOIN events AS f INDEXED BY events_active
                                ON f.entity_key = h.entity_key AND f.status IN (0, 1)
                                  AND (f.occurred_at, f.seq) > (h.occurred_at, h.seq)
                              WHERE :following > 0)
                            WHERE position <= :following ORDER BY head, position LIMIT :followers))
                        RETURNING \(Self.eventColumns)
                        """),
                arguments: arguments
            ).map(Self.event)
        }
    }

    /// Opens the payloads of claimed events. An event whose payload cannot be opened is not handed out: it is kept
    /// as failed with the reason (e.g. its key is not configured), for an operator to fix and replay.
    func opened(_ claimed: [InboxEvent], owner: String) async throws -> [InboxEvent] {
        let (ready, unreadable) = opener.openClaimed(claimed)
        guard !unreadable.isEmpty else { return ready }
        logger.error(
            "event payloads cannot be opened; kept as failed",
            metadata: ["weft.events": "\(unreadable.count)", "weft.reason": "\(unreadable[0].reason)"])
        let nowMs = Self.millis(Date())
        let failed = unreadable
        do {
            try await write { db in
                let fail = try db.cachedStatement(
                    sql: """
                        UPDATE events SET status = 3, outcome = ?, lease_owner = NULL, lease_until = NULL, processed_at = ?
                        WHERE seq = ? AND status = 1 AND lease_owner = ?
                        """)
                for (seq, reason) in failed { try fail.execute(arguments: [reason, nowMs, seq.rawValue, owner]) }
            }
        } catch {
            throw SQLiteStoreError.write("keep unreadable events as failed", error)
        }
        return ready
    }

    public func loadAggregates(_ keys: [EntityKey], known: [EntityKey: Int64]) async throws -> AggregateLoad {
        guard !keys.isEmpty else { return AggregateLoad() }
        let rows: [(key: String, state: Data?, version: Int64)]
        do {
            rows = try await pool.read { db in
                var rows: [(key: String, state: Data?, version: Int64)] = []
                for start in stride(from: 0, to: keys.count, by: 400) {
                    let slice = keys[start..<min(keys.count, start + 400)]
                    var arguments = StatementArguments()
                    for key in slice { arguments += [key.rawValue, known[key]] }
                    // The state is left out where the caller holds the stored version.
                    let found = try Row.fetchAll(
                        db,
                        sql: """
                            WITH k (key, known) AS (VALUES \(Array(repeating: "(?, ?)", count: slice.count).joined(separator: ", ")))
                            SELECT a.entity_key, a.version, CASE WHEN a.version IS k.known THEN NULL ELSE a.state END AS state
                            FROM k JOIN aggregates AS a ON a.entity_key = k.key
                            """,
                        arguments: arguments)
                    rows += found.map { ($0["entity_key"], $0["state"], $0["version"]) }
                }
                return rows
            }
        } catch {
            throw SQLiteStoreError.read("load aggregates", error)
        }
        var result = AggregateLoad()
        for row in rows {
            let key = EntityKey(row.key)
            guard let state = row.state else {
                result.unchanged.insert(key)
                continue
            }
            guard let aggregate = try? Aggregate(canonicalJSON: state) else {
                throw SQLiteStoreError.corrupt("the aggregate of an entity key cannot be read by this version")
            }
            result.loaded[key] = StoredAggregate(aggregate: aggregate, version: row.version)
        }
        return result
    }

    /// One transaction for the whole batch, or several while webhooks' appends wait for the writer: a transaction
    /// then ends between two entities' runs once it holds `commitPart` results, so that an append waits behind a short
    /// transaction rather than the batch's (the half-load acknowledgement latency). A result whose event is no longer
    /// leased to `owner` is skipped and its event left alone; a result whose aggregate version does not match
    /// (`expectedVersion`, 0 or `nil` = new) is skipped and its event released to pending, to be processed again on
    /// the current state. A transaction failing after others committed throws `PartialCommitError`.
    @discardableResult
    public func commitProcessed(_ results: [ProcessedEvent], owner: String, now: Date) async throws -> [EventSeq] {
        try await commitProcessed(results, owner: owner, now: now) { [appends] _ in appends.hasQueued }
    }

    /// `commitProcessed`, ending a transaction between runs (past `commitPart` results) whenever `yield` says so; it is
    /// asked with the index of the result the next transaction would start at.
    func commitProcessed(
        _ results: [ProcessedEvent], owner: String, now: Date, yield: @escaping @Sendable (Int) -> Bool
    ) async throws -> [EventSeq] {
        guard !results.isEmpty else { return [] }
        let nowMs = Self.millis(now)
        // Encode outside the write transaction: the writer is the bottleneck. A state the next result of its run
        // saves over in this transaction is not encoded (see `commit`).
        let superseded = Self.superseded(results)
        var batch: [EncodedResult] = []
        batch.reserveCapacity(results.count)
        do {
            for (index, result) in results.enumerated() {
                let later = superseded.contains(index)
                batch.append(
                    EncodedResult(
                        result: result, state: later ? nil : try result.aggregate.map { try $0.canonicalJSON() },
                        superseded: later, commands: try result.commands.map { ($0, try $0.encodedPayload()) }))
            }
        } catch {
            throw SQLiteStoreError.encoding("encode processing results", error)
        }
        let encoded = batch
        var committed: [EventSeq] = []
        var next = 0
        repeat {
            let from = next
            do {
                let part = try await write { db in
                    try Self.commit(db, encoded, from: from, owner: owner, nowMs: nowMs, yield: yield)
                }
                committed += part.committed
                next = part.next
            } catch {
                let failure = SQLiteStoreError.write("commit processed events", error)
                guard from > 0 else { throw failure }
                throw PartialCommitError(committed: committed, underlying: failure)
            }
        } while next < encoded.count
        return committed
    }

    struct EncodedResult: Sendable {
        var result: ProcessedEvent
        /// The aggregate as stored; `nil` when there is none to save, or when `superseded`.
        var state: Data?
        /// The result's aggregate is saved over by a later result of the batch (its entity's next version).
        var superseded: Bool
        var commands: [(NewCommand, Data)]
    }

    /// The results (by index) whose aggregate a later result of the same entity saves over at the next version: the
    /// states between the first and the last of a run. Within one transaction nothing reads them, so `commit` checks
    /// their versions but writes only the run's last state, once.
    static func superseded(_ results: [ProcessedEvent]) -> Set<Int> {
        var superseded: Set<Int> = []
        // The version the nearest later result of each entity expects.
        var nextExpected: [EntityKey: Int64] = [:]
        for index in results.indices.reversed() {
            let result = results[index]
            guard result.aggregate != nil else { continue }
            let expected = result.expectedVersion ?? 0
            if nextExpected[result.entityKey] == expected + 1 { superseded.insert(index) }
            nextExpected[result.entityKey] = expected
        }
        return superseded
    }

    /// A run's state checked but not written yet: the version it reaches, whether the row existed before the run, and
    /// the last state (encoded when the batch encoded it).
    private struct PendingState {
        var version: Int64
        var existed: Bool
        var aggregate: Aggregate
        var state: Data?
    }

    /// Most entities a claim transaction takes (a larger claim is several): each holds the writer about a millisecond.
    static let claimPart = 32
    /// Results a commit transaction holds before it may end for waiting appends (see `commitProcessed`).
    static let commitPart = 32

    private static func commit(
        _ db: Database, _ batch: [EncodedResult], from start: Int, owner: String, nowMs: Int64, yield: (Int) -> Bool
    ) throws -> (committed: [EventSeq], next: Int) {
        // From `start`; returns the results committed and where the next transaction starts (`batch.count`: done).
        let held = try db.cachedStatement(sql: "SELECT 1 FROM events WHERE seq = ? AND status = 1 AND lease_owner = ?")
        let create = try db.cachedStatement(
            sql: """
                INSERT INTO aggregates (entity_key, state, version, updated_at) VALUES (?, ?, 1, ?)
                ON CONFLICT (entity_key) DO NOTHING
                """)
        let update = try db.cachedStatement(
            sql: "UPDATE aggregates SET state = ?, version = version + 1, updated_at = ? WHERE entity_key = ? AND version = ?")
        let release = try db.cachedStatement(
            sql: "UPDATE events SET status = 0, lease_owner = NULL, lease_until = NULL WHERE seq = ?")
        let insertCommand = try db.cachedStatement(
            sql: """
                INSERT INTO commands (target, entity_key, idempotency_key, kind, payload, trace_id, next_attempt_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING
                """)
        let finish = try db.cachedStatement(
            sql: """
                UPDATE events SET status = ?, outcome = ?, lease_owner = NULL, lease_until = NULL, processed_at = ?
                WHERE seq = ?
                """)
        let adopter = try db.cachedStatement(sql: "SELECT entity_key FROM aliases WHERE alias = ?")
        let rekey = try db.cachedStatement(
            sql: "UPDATE events SET entity_key = ?, status = 0, lease_owner = NULL, lease_until = NULL WHERE seq = ?")
        let storedVersion = try db.cachedStatement(sql: "SELECT version FROM aggregates WHERE entity_key = ?")
        let insertAt = try db.cachedStatement(
            sql: "INSERT INTO aggregates (entity_key, state, version, updated_at) VALUES (?, ?, ?, ?)")
        let updateTo = try db.cachedStatement(
            sql: "UPDATE aggregates SET state = ?, version = ?, updated_at = ? WHERE entity_key = ?")
        // States checked at their versions, to be written once when their run's last state is known: a run of one
        // entity's events saves each event's state at the version the one before it left, and inside this transaction
        // only the last one is ever read. The row ends as writing each in turn would leave it.
        var pending: [EntityKey: PendingState] = [:]
        func write(_ key: EntityKey) throws {
            guard let run = pending.removeValue(forKey: key) else { return }
            let state = try run.state ?? run.aggregate.canonicalJSON()
            if run.existed {
                try updateTo.execute(arguments: [state, run.version, nowMs, key.rawValue])
            } else {
                try insertAt.execute(arguments: [key.rawValue, state, run.version, nowMs])
            }
        }
        var committed: [EventSeq] = []
        for index in start..<batch.count {
            if index - start >= commitPart, pending.isEmpty, yield(index) {
                return (committed, index)
            }
            let item = batch[index]
            let result = item.result
            guard try Int.fetchOne(held, arguments: [result.seq.rawValue, owner]) != nil else { continue }
            if let owningKey = try String.fetchOne(adopter, arguments: [result.entityKey.rawValue]) {
                // Its key was adopted while it was being processed: process it again under the adopting entity.
                try rekey.execute(arguments: [owningKey, result.seq.rawValue])
                continue
            }
            if let aggregate = result.aggregate, item.superseded || pending[result.entityKey] != nil {
                // Part of a run: checked against the version the run reached, written with its last state.
                let expected = result.expectedVersion ?? 0
                var run: PendingState
                if let reached = pending[result.entityKey] {
                    run = reached
                } else {
                    let stored = try Int64.fetchOne(storedVersion, arguments: [result.entityKey.rawValue])
                    run = PendingState(version: stored ?? 0, existed: stored != nil, aggregate: aggregate)
                }
                guard run.version == expected else {
                    try release.execute(arguments: [result.seq.rawValue])
                    continue
                }
                run.version = expected + 1
                run.aggregate = aggregate
                run.state = item.state
                pending[result.entityKey] = run
                if !item.superseded { try write(result.entityKey) }
            } else if let state = item.state {
                let expected = result.expectedVersion ?? 0
                if expected == 0 {
                    try create.execute(arguments: [result.entityKey.rawValue, state, nowMs])
                } else {
                    try update.execute(arguments: [state, nowMs, result.entityKey.rawValue, expected])
                }
                guard db.changesCount == 1 else {
                    // Someone else advanced this entity: give the event back to be processed on the current state.
                    try release.execute(arguments: [result.seq.rawValue])
                    continue
                }
            }
            for (command, payload) in item.commands {
                try insertCommand.execute(arguments: [
                    command.target.rawValue, command.entityKey.rawValue, command.idempotencyKey.rawValue,
                    command.payload.kind, payload, result.traceID.rawValue, nowMs, nowMs,
                ])
            }
            try finish.execute(arguments: [result.status.rawValue, result.outcome, nowMs, result.seq.rawValue])
            if !result.adoptedAliases.isEmpty {
                // Adopting drops the aggregates built under the aliases: whatever a run left for them is written first
                // (only for them: the adopter's own run goes on, written once at its end).
                for alias in result.adoptedAliases where pending[alias] != nil { try write(alias) }
                try adopt(db, result.adoptedAliases, by: result.entityKey, nowMs: nowMs)
            }
            committed.append(result.seq)
        }
        // Runs whose last result was not committed (its lease lost, its key adopted): their last checked state.
        for key in Array(pending.keys) { try write(key) }
        return (committed, batch.count)
    }

    /// Records that `entityKey` adopted `aliases`, and moves every event stored under one of them to `entityKey`:
    /// processed ones become pending again (processing is idempotent, and now runs on the right aggregate), ones under
    /// a live claim are moved when that claim commits. The aggregate built under an alias is dropped.
    private static func adopt(_ db: Database, _ aliases: [EntityKey], by entityKey: EntityKey, nowMs: Int64) throws {
        guard !aliases.isEmpty else { return }
        let record = try db.cachedStatement(
            sql: "INSERT INTO aliases (alias, entity_key, created_at) VALUES (?, ?, ?) ON CONFLICT (alias) DO NOTHING")
        let move = try db.cachedStatement(
            sql: """
                UPDATE events INDEXED BY events_provisional SET entity_key = ?1,
                  status = CASE status WHEN 2 THEN 0 ELSE status END,
                  outcome = CASE status WHEN 2 THEN NULL ELSE outcome END
                WHERE entity_key = ?2 AND status <> 1 AND \(Schema.provisionalKey)
                """)
        let drop = try db.cachedStatement(sql: "DELETE FROM aggregates WHERE entity_key = ?")
        for alias in aliases where alias != entityKey {
            try record.execute(arguments: [alias.rawValue, entityKey.rawValue, nowMs])
            guard db.changesCount == 1 else { continue }
            try move.execute(arguments: [entityKey.rawValue, alias.rawValue])
            try drop.execute(arguments: [alias.rawValue])
        }
    }

    public func releaseEvents(_ seqs: [EventSeq], owner: String) async throws {
        try await releaseHeld(
            seqs.map(\.rawValue), owner: owner, table: "events", key: "seq",
            set: "status = 0, lease_owner = NULL, lease_until = NULL", operation: "release events")
    }

    /// Gives rows of `table` that `owner` holds (status 1) back with `assignments`, in statements of 500 ids.
    func releaseHeld(
        _ ids: [Int64], owner: String, table: String, key: String, set assignments: String, operation: String
    ) async throws {
        guard !ids.isEmpty else { return }
        do {
            try await write { db in
                for start in stride(from: 0, to: ids.count, by: 500) {
                    let slice = ids[start..<min(ids.count, start + 500)]
                    var arguments: StatementArguments = [owner]
                    arguments += StatementArguments(Array(slice))
                    try db.execute(
                        sql: """
                            UPDATE \(table) SET \(assignments)
                            WHERE status = 1 AND lease_owner = ? AND \(key) IN (\(Self.placeholders(slice.count)))
                            """,
                        arguments: arguments)
                }
            }
        } catch {
            throw SQLiteStoreError.write(operation, error)
        }
    }
}
