public import Foundation
import GRDB
public import WeftCore

extension SQLiteStore {
    // MARK: Operators

    /// Lists events, newest first, with their payloads opened; a payload that cannot be opened is listed as stored.
    public func listEvents(status: EventStatus?, limit: Int) async throws -> [InboxEvent] {
        try await listStoredEvents(status: status, limit: limit).map(opener.openedForListing)
    }

    func listStoredEvents(status: EventStatus?, limit: Int) async throws -> [InboxEvent] {
        guard limit > 0 else { return [] }
        do {
            return try await pool.read { db in
                if let status {
                    return try Row.fetchAll(
                        db.cachedStatement(
                            sql: "SELECT \(Self.eventColumns) FROM events WHERE status = ? ORDER BY seq DESC LIMIT ?"),
                        arguments: [status.rawValue, limit]
                    ).map(Self.event)
                }
                return try Row.fetchAll(
                    db.cachedStatement(sql: "SELECT \(Self.eventColumns) FROM events ORDER BY seq DESC LIMIT ?"),
                    arguments: [limit]
                ).map(Self.event)
            }
        } catch {
            throw SQLiteStoreError.read("list events", error)
        }
    }

    public func listStoredCommands(filter: CommandFilter, limit: Int) async throws -> [StoredCommand] {
        guard limit > 0 else { return [] }
        let (clause, filterArguments) = Self.whereClause(filter)
        var listArguments = filterArguments
        listArguments += [limit]
        let arguments = listArguments
        let rows: [StoredCommand]
        do {
            rows = try await pool.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT \(Self.commandColumns), kind FROM commands \(clause) ORDER BY id DESC LIMIT ?",
                    arguments: arguments
                ).map { row in
                    var command = Self.command(row)
                    command.kind = row["kind"]
                    return command
                }
            }
        } catch {
            throw SQLiteStoreError.read("list commands", error)
        }
        return rows
    }

    public func replayDeadCommands(filter: CommandFilter, actor: String, now: Date) async throws -> DeadLetterReplay {
        var deadOnly = filter
        deadOnly.status = .dead
        let (clause, filterArguments) = Self.whereClause(deadOnly)
        let nowMs = Self.millis(now)
        var arguments: StatementArguments = [nowMs]
        arguments += filterArguments
        let statementArguments = arguments
        do {
            return try await write { db in
                // A dead command that a later one of the same record supersedes is set aside, saying why after the
                // error it died of.
                try db.execute(
                    sql: """
                        UPDATE commands SET status = \(CommandStatus.superseded.rawValue),
                          last_error = \(OutboxSQL.supersededError(message: "?1"))
                        \(clause) AND \(OutboxSQL.supersededByLater)
                        """,
                    arguments: [OutboxSQL.supersededMessage] + filterArguments)
                let superseded = db.changesCount
                try db.execute(
                    sql: """
                        UPDATE commands SET status = 0, attempts = 0, next_attempt_at = ?, lease_owner = NULL,
                          lease_until = NULL
                        \(clause) AND NOT \(OutboxSQL.supersededByLater)
                        """,
                    arguments: statementArguments)
                let count = db.changesCount
                try Self.insertAudit(
                    db,
                    AuditEntry(
                        at: now, actor: actor, action: "replay_dead_commands",
                        detail: OutboxSQL.replayDetail(count, superseded: superseded, filter: filter)))
                return DeadLetterReplay(replayed: count, superseded: superseded)
            }
        } catch {
            throw SQLiteStoreError.write("replay dead commands", error)
        }
    }

    public func replayFailedEvents(seqs: [EventSeq]?, actor: String, now: Date) async throws -> Int {
        if let seqs, seqs.isEmpty { return 0 }
        do {
            return try await write { db in
                let update = "UPDATE events SET status = 0, outcome = NULL, lease_owner = NULL, lease_until = NULL"
                if let seqs {
                    try db.execute(
                        sql: "\(update) WHERE status = 3 AND seq IN (\(Self.placeholders(seqs.count)))",
                        arguments: StatementArguments(seqs.map(\.rawValue)))
                } else {
                    try db.execute(sql: "\(update) WHERE status = 3")
                }
                let count = db.changesCount
                let which = seqs.map { "seqs=\($0.map(\.description).joined(separator: ","))" } ?? "all"
                try Self.insertAudit(
                    db,
                    AuditEntry(at: now, actor: actor, action: "replay_failed_events", detail: "\(count) event(s) matching \(which)"))
                return count
            }
        } catch {
            throw SQLiteStoreError.write("replay failed events", error)
        }
    }

    // MARK: Cursors

    public func cursor(_ name: String) async throws -> String? {
        do {
            return try await pool.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM cursors WHERE name = ?", arguments: [name])
            }
        } catch {
            throw SQLiteStoreError.read("read cursor", error)
        }
    }

    public func setCursor(_ name: String, to value: String) async throws {
        let nowMs = Self.millis(Date())
        do {
            try await write { db in
                try db.execute(
                    sql: """
                        INSERT INTO cursors (name, value, updated_at) VALUES (?, ?, ?)
                        ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                        """,
                    arguments: [name, value, nowMs])
            }
        } catch {
            throw SQLiteStoreError.write("set cursor", error)
        }
    }

    // MARK: Observability

    /// Counts by status; the oldest pending event's age since it was received; per target the oldest pending
    /// command's age since it was created; dead commands by kind.
    ///
    /// Only unfinished, failed and dead rows are counted here, through indexes whose ranges hold those alone; done
    /// events and delivered or superseded commands (most of what retention keeps) are read from the counts the
    /// triggers keep (`TerminalCountsSQL`). So a scrape costs what is waiting, not what is kept.
    public func stats(now: Date) async throws -> StoreStats {
        let nowMs = Self.millis(now)
        do {
            return try await pool.read { db in
                var stats = StoreStats()
                let events = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT status, count(*) AS n FROM events INDEXED BY events_status WHERE status IN (0, 1, 3)
                        GROUP BY status
                        """)
                for row in events {
                    if let status = EventStatus(rawValue: row["status"]) { stats.eventsByStatus[status] = row["n"] }
                }
                if let oldest = try Int64.fetchOne(
                    db, sql: "SELECT min(received_at) FROM events INDEXED BY events_pending_received WHERE status = 0")
                {
                    stats.oldestPendingEventAge = Double(nowMs - oldest) / 1000
                }
                // The targets are walked by seeking the index from one to the next (a handful of seeks), then each
                // target's unfinished and dead commands are counted over their own ranges of it.
                let commands = try Row.fetchAll(
                    db,
                    sql: """
                        WITH RECURSIVE targets (target) AS (
                          SELECT (SELECT min(target) FROM commands INDEXED BY commands_target_status)
                          UNION ALL
                          SELECT (
                            SELECT min(target) FROM commands INDEXED BY commands_target_status WHERE target > targets.target)
                          FROM targets WHERE targets.target IS NOT NULL)
                        SELECT c.target, c.status, count(*) AS n, min(c.created_at) AS oldest
                        FROM targets JOIN commands c INDEXED BY commands_target_status
                          ON c.target = targets.target AND c.status IN (0, 1, 3)
                        GROUP BY c.target, c.status
                        """)
                for row in commands {
                    let target = SystemName(row["target"] as String)
                    guard let status = CommandStatus(rawValue: row["status"]) else { continue }
                    stats.commandsByTarget[target, default: [:]][status] = row["n"]
                    if status == .pending, let oldest: Int64 = row["oldest"] {
                        stats.oldestPendingCommandAge[target] = Double(nowMs - oldest) / 1000
                    }
                }
                for row in try Row.fetchAll(db, sql: "SELECT queue, target, status, n FROM terminal_counts") {
                    stats.addTerminalCount(queue: row["queue"], target: row["target"], status: row["status"], count: row["n"])
                }
                for row in try Row.fetchAll(
                    db, sql: "SELECT kind, count(*) AS n FROM commands INDEXED BY commands_status WHERE status = 3 GROUP BY kind")
                {
                    stats.deadCommandsByKind[row["kind"]] = row["n"]
                }
                return stats
            }
        } catch {
            throw SQLiteStoreError.read("stats", error)
        }
    }

    public func hasUnfinishedWork() async throws -> Bool {
        do {
            return try await pool.read { db in
                try Bool.fetchOne(
                    db,
                    sql: """
                        SELECT EXISTS (SELECT 1 FROM events INDEXED BY events_unfinished WHERE status IN (0, 1))
                            OR EXISTS (SELECT 1 FROM commands INDEXED BY commands_ready WHERE status IN (0, 1))
                        """) ?? false
            }
        } catch {
            throw SQLiteStoreError.read("look for unfinished work", error)
        }
    }

    public func prune(before: Date, limit: Int) async throws -> PruneCounts {
        guard limit > 0 else { return PruneCounts() }
        let cutoff = Self.millis(before)
        do {
            return try await write { db in
                try db.execute(
                    sql: """
                        DELETE FROM events WHERE seq IN (
                          SELECT seq FROM events INDEXED BY events_done_processed
                          WHERE status = 2 AND processed_at < ? ORDER BY processed_at LIMIT ?)
                        """,
                    arguments: [cutoff, limit])
                let events = db.changesCount
                try db.execute(
                    sql: """
                        DELETE FROM commands WHERE id IN (
                          SELECT id FROM commands INDEXED BY commands_delivered_at
                          WHERE status = 2 AND delivered_at < ? AND NOT \(OutboxSQL.supersedesDead)
                          ORDER BY delivered_at LIMIT ?)
                        """,
                    arguments: [cutoff, limit])
                return PruneCounts(events: events, commands: db.changesCount)
            }
        } catch {
            throw SQLiteStoreError.write("prune history", error)
        }
    }

    public func audit(_ entry: AuditEntry) async throws {
        do {
            try await write { db in try Self.insertAudit(db, entry) }
        } catch {
            throw SQLiteStoreError.write("audit", error)
        }
    }

    public func auditLog(limit: Int) async throws -> [AuditEntry] {
        guard limit > 0 else { return [] }
        do {
            return try await pool.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT at, actor, action, detail FROM audit ORDER BY id DESC LIMIT ?", arguments: [limit]
                ).map { AuditEntry(at: Self.date($0["at"]), actor: $0["actor"], action: $0["action"], detail: $0["detail"]) }
            }
        } catch {
            throw SQLiteStoreError.read("audit log", error)
        }
    }
}

extension SQLiteStore {
    /// Reads up to `limit` rows of `table` after `afterKey` (a JSON array of the key's values, as returned in the
    /// previous batch), in key order, as JSON, for `weft store copy`.
    public func exportBatch(_ table: StoreCopyTable, after afterKey: String?, limit: Int) async throws -> StoreCopyBatch {
        let object = table.columns.map { column in
            table.blobColumns.contains(column)
                ? "'\(column)', CASE WHEN \(column) IS NULL THEN NULL ELSE '\\x' || lower(hex(\(column))) END"
                : "'\(column)', \(column)"
        }.joined(separator: ", ")
        let keyList = table.key.joined(separator: ", ")
        let keyJSON = "json_array(\(keyList))"
        var condition = ""
        var arguments: StatementArguments = []
        if let afterKey {
            // Row-value comparison against the previous batch's last key.
            let parts = table.key.indices.map { "json_extract(?, '$[\($0)]')" }.joined(separator: ", ")
            condition = "WHERE (\(keyList)) > (\(parts))"
            arguments = StatementArguments(Array(repeating: afterKey, count: table.key.count))
        }
        arguments += [limit]
        let sql = """
            SELECT count(*) AS n, json_group_array(json(row)) AS rows, (SELECT k FROM page ORDER BY \(keyList) DESC LIMIT 1) AS last
            FROM (SELECT json_object(\(object)) AS row FROM page) AS rows_of_page
            """
        let statementArguments = arguments
        let filter = condition
        do {
            return try await pool.read { db in
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        WITH page AS (
                          SELECT *, \(keyJSON) AS k FROM \(table.name) \(filter) ORDER BY \(keyList) LIMIT ?)
                        \(sql)
                        """, arguments: statementArguments)
                return StoreCopyBatch(json: row?["rows"] ?? "[]", count: row?["n"] ?? 0, lastKey: row?["last"])
            }
        } catch {
            throw SQLiteStoreError.read("export \(table.name)", error)
        }
    }

    /// Rows in `table`, for the copy's final check.
    public func rowCount(_ table: StoreCopyTable) async throws -> Int {
        do {
            return try await pool.read { db in try Int.fetchOne(db, sql: table.countedRows) ?? 0 }
        } catch {
            throw SQLiteStoreError.read("count \(table.name)", error)
        }
    }
}
