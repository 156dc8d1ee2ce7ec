public import Foundation
import GRDB
public import Logging
public import WeftCore

/// The embedded store: one SQLite file in WAL mode behind one GRDB `DatabasePool` (one writer connection, pooled
/// readers). Inbox appends from concurrent requests are group-committed. See docs/storage.md.
public final class SQLiteStore: Store {
    /// Store settings.
    public struct Configuration: Sendable {
        /// SQLite `synchronous` level.
        public enum Synchronous: String, Sendable {
            /// An acknowledged write survives power loss.
            case full
            /// An acknowledged write survives a process crash; faster.
            case normal
        }

        public var synchronous: Synchronous
        /// How long a writer waits for a lock held by another process (operator commands) before failing.
        public var busyTimeout: Duration

        public init(synchronous: Synchronous = .full, busyTimeout: Duration = .seconds(10)) {
            self.synchronous = synchronous
            self.busyTimeout = busyTimeout
        }
    }

    let pool: DatabasePool
    let logger: Logger
    private let appends = AppendQueue<IncomingEvent, AppendResult>()

    /// Opens (creating if needed) the store at `path` and applies pending migrations.
    public init(path: String, configuration: Configuration = .init(), logger: Logger) throws {
        self.logger = logger
        var config = GRDB.Configuration()
        config.busyMode = .timeout(Double(configuration.busyTimeout.components.seconds))
        config.label = "weft"
        do {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
            pool = try DatabasePool(path: path, configuration: config)
            let level = configuration.synchronous
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(level.rawValue.uppercased())")
                let actual = try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
                let expected = level == .full ? 2 : 1
                guard actual == expected else {
                    throw SQLiteStoreError.configuration("PRAGMA synchronous is \(actual), expected \(expected)")
                }
            }
            try Self.migrator.migrate(pool)
        } catch let error as SQLiteStoreError {
            throw error
        } catch {
            throw SQLiteStoreError.open(path, error)
        }
    }

    /// The `synchronous` level in force on the writer connection (2 = FULL, 1 = NORMAL).
    public func synchronousLevel() throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Events still `processing` plus commands still `in_flight` whose lease owner starts with `ownerPrefix`: after a
    /// graceful stop of the node with that prefix this must be zero.
    public func claimsHeld(byOwnerPrefix ownerPrefix: String) async throws -> Int {
        do {
            return try await pool.read { db in
                let pattern = ownerPrefix.replacingOccurrences(of: "%", with: "") + "%"
                let events = try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE status = 1 AND lease_owner LIKE ?", arguments: [pattern]) ?? 0
                let commands = try Int.fetchOne(db, sql: "SELECT count(*) FROM commands WHERE status = 1 AND lease_owner LIKE ?", arguments: [pattern]) ?? 0
                return events + commands
            }
        } catch {
            throw SQLiteStoreError.read("claims held", error)
        }
    }

    /// How many append transactions were committed (group commit makes this smaller than the number of appends).
    public var appendTransactions: Int { appends.batchCount }

    // MARK: Inbox

    public func append(_ events: [IncomingEvent]) async throws -> [AppendResult] {
        if events.count == 1 {
            return [try await appends.submit(events[0]) { batch in try await self.insert(batch) }]
        }
        return try await insert(events)
    }

    private func insert(_ events: [IncomingEvent]) async throws -> [AppendResult] {
        do {
            return try await pool.write { db in
                let statement = try db.cachedStatement(
                    sql: """
                        INSERT INTO events (system, event_id, type, entity_key, occurred_at, received_at, payload, trace_id)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (system, event_id) DO NOTHING
                        """)
                var results: [AppendResult] = []
                results.reserveCapacity(events.count)
                for event in events {
                    try statement.execute(arguments: [
                        event.system.rawValue, event.eventID.rawValue, event.type, event.entityKey.rawValue,
                        Self.millis(event.occurredAt), Self.millis(event.receivedAt), event.payload, event.traceID.rawValue,
                    ])
                    results.append(db.changesCount == 1 ? .stored(EventSeq(db.lastInsertedRowID)) : .duplicate)
                }
                return results
            }
        } catch {
            throw SQLiteStoreError.write("inbox append", error)
        }
    }

    public func claimEvents(limit: Int, owner: String, lease: Duration, now: Date) async throws -> [InboxEvent] {
        let nowMs = Self.millis(now)
        let until = nowMs + Self.millis(lease)
        do {
            return try await pool.write { db in
                let seqs = try Int64.fetchAll(
                    db.cachedStatement(
                        sql: """
                            SELECT e.seq FROM events e
                            WHERE e.status IN (0, 1) AND (e.status = 0 OR e.lease_until < ?1)
                              AND NOT EXISTS (
                                SELECT 1 FROM events p
                                WHERE p.entity_key = e.entity_key AND p.status IN (0, 1)
                                  AND (p.occurred_at < e.occurred_at OR (p.occurred_at = e.occurred_at AND p.seq < e.seq)))
                              AND NOT EXISTS (
                                SELECT 1 FROM events q
                                WHERE q.entity_key = e.entity_key AND q.status = 1 AND q.lease_until >= ?1 AND q.seq <> e.seq)
                            ORDER BY e.seq LIMIT ?2
                            """), arguments: [nowMs, limit])
                guard !seqs.isEmpty else { return [] }
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        UPDATE events SET status = 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1
                        WHERE seq IN (\(seqs.map(String.init).joined(separator: ",")))
                        RETURNING seq, system, event_id, type, entity_key, occurred_at, received_at, payload, trace_id,
                                  status, attempts, outcome
                        """, arguments: [owner, until])
                return rows.map(Self.event).sorted { $0.seq < $1.seq }
            }
        } catch {
            throw SQLiteStoreError.write("claim events", error)
        }
    }

    public func loadAggregates(_ keys: [EntityKey]) async throws -> [EntityKey: StoredAggregate] {
        guard !keys.isEmpty else { return [:] }
        do {
            return try await pool.read { db in
                var result: [EntityKey: StoredAggregate] = [:]
                let decoder = CanonicalCoding.decoder
                for chunk in stride(from: 0, to: keys.count, by: 500) {
                    let slice = keys[chunk..<min(keys.count, chunk + 500)]
                    let rows = try Row.fetchAll(
                        db,
                        sql: "SELECT entity_key, state, version FROM aggregates WHERE entity_key IN (\(slice.map { _ in "?" }.joined(separator: ",")))",
                        arguments: StatementArguments(slice.map(\.rawValue)))
                    for row in rows {
                        let data: Data = row["state"]
                        let aggregate = try decoder.decode(Aggregate.self, from: data)
                        result[EntityKey(row["entity_key"] as String)] = StoredAggregate(aggregate: aggregate, version: row["version"])
                    }
                }
                return result
            }
        } catch {
            throw SQLiteStoreError.read("load aggregates", error)
        }
    }

    @discardableResult
    public func commitProcessed(_ results: [ProcessedEvent], owner: String, now: Date) async throws -> [EventSeq] {
        guard !results.isEmpty else { return [] }
        let nowMs = Self.millis(now)
        let encoder = CanonicalCoding.encoder
        // Encode outside the write transaction: the writer is the bottleneck.
        var encoded: [(ProcessedEvent, Data?, [(NewCommand, Data)])] = []
        for result in results {
            let state = try result.aggregate.map { try encoder.encode($0) }
            let commands = try result.commands.map { ($0, try encoder.encode($0.payload)) }
            encoded.append((result, state, commands))
        }
        let snapshot = encoded
        do {
            return try await pool.write { db in
                var committed: [EventSeq] = []
                for (result, state, commands) in snapshot {
                    let held = try Bool.fetchOne(
                        db.cachedStatement(sql: "SELECT status = 1 AND lease_owner = ? FROM events WHERE seq = ?"),
                        arguments: [owner, result.seq.rawValue]) ?? false
                    guard held else { continue }
                    if let state {
                        let expected = result.expectedVersion ?? 0
                        if expected == 0 {
                            try db.cachedStatement(
                                sql: "INSERT INTO aggregates (entity_key, state, version, updated_at) VALUES (?, ?, 1, ?) ON CONFLICT (entity_key) DO NOTHING"
                            ).execute(arguments: [result.entityKey.rawValue, state, nowMs])
                        } else {
                            try db.cachedStatement(
                                sql: "UPDATE aggregates SET state = ?, version = version + 1, updated_at = ? WHERE entity_key = ? AND version = ?"
                            ).execute(arguments: [state, nowMs, result.entityKey.rawValue, expected])
                        }
                        if db.changesCount != 1 {
                            // Someone else advanced this entity: give the event back to be processed again.
                            try db.cachedStatement(
                                sql: "UPDATE events SET status = 0, lease_owner = NULL, lease_until = NULL WHERE seq = ?"
                            ).execute(arguments: [result.seq.rawValue])
                            continue
                        }
                    }
                    let insert = try db.cachedStatement(
                        sql: """
                            INSERT INTO commands (target, entity_key, idempotency_key, kind, payload, trace_id, next_attempt_at, created_at)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING
                            """)
                    for (command, payload) in commands {
                        try insert.execute(arguments: [
                            command.target.rawValue, command.entityKey.rawValue, command.idempotencyKey.rawValue,
                            command.payload.kind, payload, result.traceID.rawValue, nowMs, nowMs,
                        ])
                    }
                    try db.cachedStatement(
                        sql: "UPDATE events SET status = ?, outcome = ?, lease_owner = NULL, lease_until = NULL, processed_at = ? WHERE seq = ?"
                    ).execute(arguments: [result.status.rawValue, result.outcome, nowMs, result.seq.rawValue])
                    committed.append(result.seq)
                }
                return committed
            }
        } catch {
            throw SQLiteStoreError.write("commit processed events", error)
        }
    }

    public func releaseEvents(_ seqs: [EventSeq], owner: String) async throws {
        guard !seqs.isEmpty else { return }
        do {
            try await pool.write { db in
                try db.execute(
                    sql: "UPDATE events SET status = 0, lease_owner = NULL, lease_until = NULL WHERE status = 1 AND lease_owner = ? AND seq IN (\(seqs.map { String($0.rawValue) }.joined(separator: ",")))",
                    arguments: [owner])
            }
        } catch {
            throw SQLiteStoreError.write("release events", error)
        }
    }

    // MARK: Outbox

    public func claimCommands(target: SystemName, limit: Int, owner: String, lease: Duration, now: Date) async throws
        -> [OutboxCommand]
    {
        let nowMs = Self.millis(now)
        let until = nowMs + Self.millis(lease)
        do {
            return try await pool.write { db in
                let ids = try Int64.fetchAll(
                    db.cachedStatement(
                        sql: """
                            SELECT c.id FROM commands c
                            WHERE c.target = ?1 AND c.status IN (0, 1) AND c.next_attempt_at <= ?2
                              AND (c.status = 0 OR c.lease_until < ?2)
                              AND NOT EXISTS (
                                SELECT 1 FROM commands p
                                WHERE p.target = c.target AND p.entity_key = c.entity_key AND p.status IN (0, 1) AND p.id < c.id)
                            ORDER BY c.id LIMIT ?3
                            """), arguments: [target.rawValue, nowMs, limit])
                guard !ids.isEmpty else { return [] }
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        UPDATE commands SET status = 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1
                        WHERE id IN (\(ids.map(String.init).joined(separator: ",")))
                        RETURNING id, target, entity_key, idempotency_key, payload, trace_id, attempts, created_at
                        """, arguments: [owner, until])
                return try rows.map(Self.command).sorted { $0.id < $1.id }
            }
        } catch {
            throw SQLiteStoreError.write("claim commands", error)
        }
    }

    public func completeCommands(_ results: [CommandResult], owner: String, now: Date) async throws {
        guard !results.isEmpty else { return }
        let nowMs = Self.millis(now)
        do {
            try await pool.write { db in
                for result in results {
                    switch result.transition {
                    case .delivered(let record, let note):
                        try db.cachedStatement(
                            sql: """
                                UPDATE commands SET status = 2, delivered_at = ?, target_model = ?, target_id = ?, last_error = ?,
                                  lease_owner = NULL, lease_until = NULL
                                WHERE id = ? AND status = 1 AND lease_owner = ?
                                """
                        ).execute(arguments: [nowMs, record?.model, record?.id, note, result.id.rawValue, owner])
                        if db.changesCount == 1, let record {
                            let target = try String.fetchOne(
                                db.cachedStatement(sql: "SELECT target FROM commands WHERE id = ?"), arguments: [result.id.rawValue]) ?? ""
                            try db.cachedStatement(
                                sql: """
                                    INSERT INTO bindings (source_system, source_kind, source_id, target, model, target_id, updated_at)
                                    VALUES (?, ?, ?, ?, ?, ?, ?)
                                    ON CONFLICT (source_system, source_kind, source_id, target)
                                    DO UPDATE SET model = excluded.model, target_id = excluded.target_id, updated_at = excluded.updated_at
                                    """
                            ).execute(arguments: [
                                result.subject.system.rawValue, result.subject.kind.rawValue, result.subject.id, target, record.model,
                                record.id, nowMs,
                            ])
                        }
                    case .retry(let at, let failure):
                        try db.cachedStatement(
                            sql: """
                                UPDATE commands SET status = 0, next_attempt_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL
                                WHERE id = ? AND status = 1 AND lease_owner = ?
                                """
                        ).execute(arguments: [Self.millis(at), failure.description, result.id.rawValue, owner])
                    case .dead(let failure):
                        try db.cachedStatement(
                            sql: """
                                UPDATE commands SET status = 3, last_error = ?, lease_owner = NULL, lease_until = NULL
                                WHERE id = ? AND status = 1 AND lease_owner = ?
                                """
                        ).execute(arguments: [failure.description, result.id.rawValue, owner])
                    }
                }
            }
        } catch {
            throw SQLiteStoreError.write("complete commands", error)
        }
    }

    public func releaseCommands(_ ids: [CommandID], owner: String) async throws {
        guard !ids.isEmpty else { return }
        do {
            try await pool.write { db in
                // Released unattempted: give the attempt back.
                try db.execute(
                    sql: "UPDATE commands SET status = 0, attempts = max(0, attempts - 1), lease_owner = NULL, lease_until = NULL WHERE status = 1 AND lease_owner = ? AND id IN (\(ids.map { String($0.rawValue) }.joined(separator: ",")))",
                    arguments: [owner])
            }
        } catch {
            throw SQLiteStoreError.write("release commands", error)
        }
    }

    public func nextCommandDue(target: SystemName) async throws -> Date? {
        do {
            return try await pool.read { db in
                try Int64.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT min(CASE WHEN status = 0 THEN next_attempt_at ELSE lease_until END) FROM commands WHERE target = ? AND status IN (0, 1)"),
                    arguments: [target.rawValue]
                ).map(Self.date)
            }
        } catch {
            throw SQLiteStoreError.read("next command due", error)
        }
    }

    // MARK: Operators

    public func listEvents(status: EventStatus?, limit: Int) async throws -> [InboxEvent] {
        do {
            return try await pool.read { db in
                let columns = "seq, system, event_id, type, entity_key, occurred_at, received_at, payload, trace_id, status, attempts, outcome"
                let rows: [Row]
                if let status {
                    rows = try Row.fetchAll(
                        db, sql: "SELECT \(columns) FROM events WHERE status = ? ORDER BY seq DESC LIMIT ?", arguments: [status.rawValue, limit])
                } else {
                    rows = try Row.fetchAll(db, sql: "SELECT \(columns) FROM events ORDER BY seq DESC LIMIT ?", arguments: [limit])
                }
                return rows.map(Self.event)
            }
        } catch {
            throw SQLiteStoreError.read("list events", error)
        }
    }

    public func listCommands(filter: CommandFilter, limit: Int) async throws -> [CommandRecord] {
        let (clause, arguments) = Self.whereClause(filter)
        do {
            return try await pool.read { db in
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, target, entity_key, idempotency_key, payload, trace_id, attempts, created_at, status,
                               next_attempt_at, last_error, delivered_at, target_model, target_id
                        FROM commands \(clause) ORDER BY id DESC LIMIT \(max(1, limit))
                        """, arguments: arguments)
                return try rows.map { row in
                    let command = try Self.command(row)
                    let model: String? = row["target_model"]
                    let targetID: String? = row["target_id"]
                    let deliveredAt: Int64? = row["delivered_at"]
                    let status = CommandStatus(rawValue: row["status"]) ?? .pending
                    return CommandRecord(
                        command: command, status: status,
                        nextAttemptAt: status == .pending ? Self.date(row["next_attempt_at"]) : nil, lastError: row["last_error"],
                        deliveredAt: deliveredAt.map(Self.date),
                        targetRecord: model.flatMap { model in targetID.map { TargetRecordID(model: model, id: $0) } })
                }
            }
        } catch {
            throw SQLiteStoreError.read("list commands", error)
        }
    }

    public func replayDeadCommands(filter: CommandFilter, actor: String, now: Date) async throws -> Int {
        var deadOnly = filter
        deadOnly.status = .dead
        let (clause, arguments) = Self.whereClause(deadOnly)
        let nowMs = Self.millis(now)
        do {
            return try await pool.write { db in
                try db.execute(
                    sql: "UPDATE commands SET status = 0, attempts = 0, next_attempt_at = \(nowMs), lease_owner = NULL, lease_until = NULL \(clause)",
                    arguments: arguments)
                let count = db.changesCount
                try Self.insertAudit(
                    db, AuditEntry(at: now, actor: actor, action: "replay_dead_commands", detail: "\(count) command(s) matching \(Self.describe(filter))"))
                return count
            }
        } catch {
            throw SQLiteStoreError.write("replay dead commands", error)
        }
    }

    public func replayFailedEvents(seqs: [EventSeq]?, actor: String, now: Date) async throws -> Int {
        do {
            return try await pool.write { db in
                if let seqs {
                    guard !seqs.isEmpty else { return 0 }
                    try db.execute(
                        sql: "UPDATE events SET status = 0, outcome = NULL WHERE status = 3 AND seq IN (\(seqs.map { String($0.rawValue) }.joined(separator: ",")))")
                } else {
                    try db.execute(sql: "UPDATE events SET status = 0, outcome = NULL WHERE status = 3")
                }
                let count = db.changesCount
                let which = seqs.map { "seqs \($0.map(\.description).joined(separator: ","))" } ?? "all"
                try Self.insertAudit(db, AuditEntry(at: now, actor: actor, action: "replay_failed_events", detail: "\(count) event(s): \(which)"))
                return count
            }
        } catch {
            throw SQLiteStoreError.write("replay failed events", error)
        }
    }

    public func binding(of ref: ExternalRef, in target: SystemName) async throws -> TargetRecordID? {
        do {
            return try await pool.read { db in
                try Row.fetchOne(
                    db,
                    sql: "SELECT model, target_id FROM bindings WHERE source_system = ? AND source_kind = ? AND source_id = ? AND target = ?",
                    arguments: [ref.system.rawValue, ref.kind.rawValue, ref.id, target.rawValue]
                ).map { TargetRecordID(model: $0["model"], id: $0["target_id"]) }
            }
        } catch {
            throw SQLiteStoreError.read("read binding", error)
        }
    }

    // MARK: Cursors

    public func cursor(_ name: String) async throws -> String? {
        do {
            return try await pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM cursors WHERE name = ?", arguments: [name]) }
        } catch {
            throw SQLiteStoreError.read("read cursor", error)
        }
    }

    public func setCursor(_ name: String, to value: String) async throws {
        let nowMs = Self.millis(Date())
        do {
            try await pool.write { db in
                try db.execute(
                    sql: "INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                    arguments: [name, value, nowMs])
            }
        } catch {
            throw SQLiteStoreError.write("set cursor", error)
        }
    }

    // MARK: Observability

    public func stats(now: Date) async throws -> StoreStats {
        let nowMs = Self.millis(now)
        do {
            return try await pool.read { db in
                var stats = StoreStats()
                for row in try Row.fetchAll(db, sql: "SELECT status, count(*) AS n FROM events GROUP BY status") {
                    if let status = EventStatus(rawValue: row["status"]) { stats.eventsByStatus[status] = row["n"] }
                }
                if let oldest = try Int64.fetchOne(db, sql: "SELECT min(received_at) FROM events WHERE status = 0") {
                    stats.oldestPendingEventAge = Double(nowMs - oldest) / 1000
                }
                for row in try Row.fetchAll(db, sql: "SELECT target, status, count(*) AS n, min(created_at) AS oldest FROM commands GROUP BY target, status") {
                    let target = SystemName(row["target"] as String)
                    guard let status = CommandStatus(rawValue: row["status"]) else { continue }
                    stats.commandsByTarget[target, default: [:]][status] = row["n"]
                    if status == .pending, let oldest: Int64 = row["oldest"] {
                        stats.oldestPendingCommandAge[target] = Double(nowMs - oldest) / 1000
                    }
                }
                for row in try Row.fetchAll(db, sql: "SELECT kind, count(*) AS n FROM commands WHERE status = 3 GROUP BY kind") {
                    stats.deadCommandsByKind[row["kind"]] = row["n"]
                }
                return stats
            }
        } catch {
            throw SQLiteStoreError.read("stats", error)
        }
    }

    public func audit(_ entry: AuditEntry) async throws {
        do {
            try await pool.write { db in try Self.insertAudit(db, entry) }
        } catch {
            throw SQLiteStoreError.write("audit", error)
        }
    }

    public func auditLog(limit: Int) async throws -> [AuditEntry] {
        do {
            return try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT at, actor, action, detail FROM audit ORDER BY id DESC LIMIT ?", arguments: [limit]).map {
                    AuditEntry(at: Self.date($0["at"]), actor: $0["actor"], action: $0["action"], detail: $0["detail"])
                }
            }
        } catch {
            throw SQLiteStoreError.read("audit log", error)
        }
    }
}
