public import Foundation
public import Logging
import NIOCore
import PostgresNIO
public import WeftCore

extension PostgresStore {
    // MARK: Operators

    /// Lists events, newest first, with their payloads opened; a payload that cannot be opened is listed as stored.
    public func listEvents(status: EventStatus?, limit: Int) async throws -> [InboxEvent] {
        guard limit > 0 else { return [] }
        let limit64 = Int64(limit)
        let rows: [PostgresRow]
        if let status {
            let code = Int64(status.rawValue)
            rows = try await self.rows(
                "list events",
                "SELECT \(unescaped: Self.eventColumns) FROM events WHERE status = \(code) ORDER BY seq DESC LIMIT \(limit64)")
        } else {
            rows = try await self.rows(
                "list events", "SELECT \(unescaped: Self.eventColumns) FROM events ORDER BY seq DESC LIMIT \(limit64)")
        }
        return try rows.map(Self.event).map(opener.openedForListing)
    }

    /// `WHERE …` for a command filter, with its binds. An empty `ids` list matches nothing.
    static func whereClause(_ filter: CommandFilter, binds: inout PostgresBindings) -> String {
        var terms: [String] = []
        func next() -> String { "$\(binds.count)" }
        if let ids = filter.ids {
            binds.append(ids.map(\.rawValue))
            terms.append("id = ANY(\(next())::int8[])")
        }
        if let status = filter.status {
            binds.append(Int64(status.rawValue))
            terms.append("status = \(next())")
        }
        if let target = filter.target {
            binds.append(target.rawValue)
            terms.append("target = \(next())")
        }
        if let kind = filter.kind {
            binds.append(kind)
            terms.append("kind = \(next())")
        }
        if let entityKey = filter.entityKey {
            binds.append(entityKey.rawValue)
            terms.append("entity_key = \(next())")
        }
        return terms.isEmpty ? "" : "WHERE " + terms.joined(separator: " AND ")
    }

    public func listStoredCommands(filter: CommandFilter, limit: Int) async throws -> [StoredCommand] {
        guard limit > 0 else { return [] }
        var binds = PostgresBindings()
        let clause = Self.whereClause(filter, binds: &binds)
        binds.append(Int64(limit))
        let rows = try await self.rows(
            "list commands",
            PostgresQuery(
                unsafeSQL: "SELECT \(Self.commandColumns), kind FROM commands \(clause) ORDER BY id DESC LIMIT $\(binds.count)",
                binds: binds))
        return try rows.map { row in
            var command = try Self.command(row)
            command.kind = try row.makeRandomAccess()["kind"].decode(String?.self)
            return command
        }
    }

    public func replayDeadCommands(filter: CommandFilter, actor: String, now: Date) async throws -> DeadLetterReplay {
        var deadOnly = filter
        deadOnly.status = .dead
        var binds = PostgresBindings()
        binds.append(StoreInstant.millis(now))
        let clause = Self.whereClause(deadOnly, binds: &binds)
        // A dead command that a later one of the same record supersedes is set aside, saying why after its error.
        var supersededBinds = PostgresBindings()
        supersededBinds.append(OutboxSQL.supersededMessage)
        let supersededClause = Self.whereClause(deadOnly, binds: &supersededBinds)
        let logger = logger
        let superseding = PostgresQuery(
            unsafeSQL: """
                UPDATE commands SET status = \(CommandStatus.superseded.rawValue),
                  last_error = \(OutboxSQL.supersededError(message: "$1"))
                \(supersededClause) AND \(OutboxSQL.supersededByLater) RETURNING id
                """, binds: supersededBinds)
        let statement = PostgresQuery(
            unsafeSQL: """
                UPDATE commands SET status = 0, attempts = 0, next_attempt_at = $1, lease_owner = NULL, lease_until = NULL
                \(clause) AND NOT \(OutboxSQL.supersededByLater) RETURNING id
                """, binds: binds)
        return try await transaction("replay dead commands") { connection -> DeadLetterReplay in
            let superseded = try await connection.query(superseding, logger: logger).collect().count
            let count = try await connection.query(statement, logger: logger).collect().count
            try await Self.insertAudit(
                connection,
                AuditEntry(
                    at: now, actor: actor, action: "replay_dead_commands",
                    detail: OutboxSQL.replayDetail(count, superseded: superseded, filter: filter)),
                logger: logger)
            try await connection.run("SELECT pg_notify('weft_commands', '')", logger: logger)
            return DeadLetterReplay(replayed: count, superseded: superseded)
        }
    }

    public func replayFailedEvents(seqs: [EventSeq]?, actor: String, now: Date) async throws -> Int {
        if let seqs, seqs.isEmpty { return 0 }
        let logger = logger
        let values = seqs?.map(\.rawValue)
        return try await transaction("replay failed events") { connection -> Int in
            let rows: [PostgresRow]
            if let values {
                rows = try await connection.query(
                    """
                    UPDATE events SET status = 0, outcome = NULL, lease_owner = NULL, lease_until = NULL
                    WHERE status = 3 AND seq = ANY(\(values)::int8[]) RETURNING seq
                    """, logger: logger
                ).collect()
            } else {
                rows = try await connection.query(
                    """
                    UPDATE events SET status = 0, outcome = NULL, lease_owner = NULL, lease_until = NULL
                    WHERE status = 3 RETURNING seq
                    """, logger: logger
                ).collect()
            }
            let which = values.map { "seqs=\($0.map(String.init).joined(separator: ","))" } ?? "all"
            try await Self.insertAudit(
                connection,
                AuditEntry(
                    at: now, actor: actor, action: "replay_failed_events", detail: "\(rows.count) event(s) matching \(which)"),
                logger: logger)
            try await connection.run("SELECT pg_notify('weft_events', '')", logger: logger)
            return rows.count
        }
    }

    // MARK: Cursors

    public func cursor(_ name: String) async throws -> String? {
        let rows = try await rows("read cursor", "SELECT value FROM cursors WHERE name = \(name)")
        return try rows.first?.decode(String.self)
    }

    public func setCursor(_ name: String, to value: String) async throws {
        let nowMs = StoreInstant.millis(Date())
        try await write(
            "set cursor",
            """
            INSERT INTO cursors (name, value, updated_at) VALUES (\(name), \(value), \(nowMs))
            ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            """)
    }

    // MARK: Observability

    /// Only unfinished, failed and dead rows are counted here; done events and delivered or superseded commands are
    /// read from the counts the triggers keep (the `v5-terminal-counts` migration), with their changes not yet folded.
    public func stats(now: Date) async throws -> StoreStats {
        let nowMs = StoreInstant.millis(now)
        var stats = StoreStats()
        // Best effort: the counts read below include the changes not folded yet either way.
        do {
            try await foldTerminalCounts()
        } catch {
            logger.debug("folding the terminal counts failed; will fold later", metadata: ["weft.error": "\(error)"])
        }
        for row in try await rows("stats", "SELECT status, count(*) FROM events WHERE status IN (0, 1, 3) GROUP BY status") {
            let (status, count) = try row.decode((Int16, Int64).self)
            if let status = EventStatus(rawValue: Int(status)) { stats.eventsByStatus[status] = Int(count) }
        }
        if let oldest = try await rows("stats", "SELECT min(received_at) FROM events WHERE status = 0").first?.decode(
            Int64?.self)
        {
            stats.oldestPendingEventAge = Double(nowMs - oldest) / 1000
        }
        // The targets are walked by seeking `commands_target_status` from one to the next, then each target's
        // unfinished and dead commands are counted over their own ranges of it.
        let commands = try await rows(
            "stats",
            """
            WITH RECURSIVE targets (target) AS (
              SELECT (SELECT min(target) FROM commands)
              UNION ALL
              SELECT (SELECT min(target) FROM commands WHERE target > targets.target)
              FROM targets WHERE targets.target IS NOT NULL)
            SELECT c.target, c.status, count(*), min(c.created_at)
            FROM targets JOIN commands c ON c.target = targets.target AND c.status IN (0, 1, 3)
            GROUP BY c.target, c.status
            """)
        for row in commands {
            let (target, code, count, oldest) = try row.decode((String, Int16, Int64, Int64?).self)
            guard let status = CommandStatus(rawValue: Int(code)) else { continue }
            stats.commandsByTarget[SystemName(rawValue: target), default: [:]][status] = Int(count)
            if status == .pending, let oldest {
                stats.oldestPendingCommandAge[SystemName(rawValue: target)] = Double(nowMs - oldest) / 1000
            }
        }
        let terminal = try await rows(
            "stats",
            """
            SELECT queue, target, status, sum(n)::bigint FROM (
              SELECT queue, target, status, n FROM terminal_counts
              UNION ALL SELECT queue, target, status, delta FROM terminal_count_changes) counted
            GROUP BY queue, target, status
            """)
        for row in terminal {
            let (queue, target, status, count) = try row.decode((String, String, Int16, Int64).self)
            stats.addTerminalCount(queue: queue, target: target, status: Int(status), count: Int(count))
        }
        for row in try await rows("stats", "SELECT kind, count(*) FROM commands WHERE status = 3 GROUP BY kind") {
            let (kind, count) = try row.decode((String, Int64).self)
            stats.deadCommandsByKind[kind] = Int(count)
        }
        return stats
    }

    /// Moves the appended changes of the terminal counts into the counts, in one statement. One node folds at a time
    /// (a transaction-scoped advisory lock, tried, not waited for: a node that finds it taken folds nothing). Changes
    /// committed while it runs are left for the next fold. Run by `stats` and by the retention leader's `prune`.
    func foldTerminalCounts() async throws {
        try await write(
            "fold terminal counts",
            """
            WITH held AS (SELECT pg_try_advisory_xact_lock(\(Self.terminalCountsLock)) AS held),
            folded AS (
              DELETE FROM terminal_count_changes WHERE (SELECT held FROM held) RETURNING queue, target, status, delta)
            INSERT INTO terminal_counts (queue, target, status, n)
            SELECT queue, target, status, sum(delta) FROM folded GROUP BY queue, target, status
            ORDER BY queue, target, status
            ON CONFLICT (queue, target, status) DO UPDATE SET n = terminal_counts.n + excluded.n
            """)
    }

    /// The advisory lock key of the fold (`'WEFTCOUN'`, fixed forever).
    static let terminalCountsLock: Int64 = 0x5745_4654_434F_554E

    public func hasUnfinishedWork() async throws -> Bool {
        let rows = try await rows(
            "look for unfinished work",
            """
            SELECT EXISTS (SELECT 1 FROM events WHERE status IN (0, 1))
                OR EXISTS (SELECT 1 FROM commands WHERE status IN (0, 1))
            """)
        return try rows.first?.decode(Bool.self) ?? false
    }

    public func audit(_ entry: AuditEntry) async throws {
        let logger = logger
        try await transaction("audit") { connection in try await Self.insertAudit(connection, entry, logger: logger) }
    }

    static func insertAudit(_ connection: PostgresConnection, _ entry: AuditEntry, logger: Logger) async throws {
        try await connection.run(
            """
            INSERT INTO audit (at, actor, action, detail)
            VALUES (\(StoreInstant.millis(entry.at)), \(entry.actor), \(entry.action), \(entry.detail))
            """, logger: logger
        )
    }

    public func auditLog(limit: Int) async throws -> [AuditEntry] {
        guard limit > 0 else { return [] }
        let limit64 = Int64(limit)
        return try await rows("audit log", "SELECT at, actor, action, detail FROM audit ORDER BY id DESC LIMIT \(limit64)")
            .map { row in
                let (at, actor, action, detail) = try row.decode((Int64, String, String, String).self)
                return AuditEntry(at: StoreInstant.date(at), actor: actor, action: action, detail: detail)
            }
    }
}

extension PostgresStore {
    /// Events still `processing` plus commands still `in_flight` whose lease owner starts with `ownerPrefix`: after a
    /// graceful stop of the node with that prefix this must be zero.
    public func claimsHeld(byOwnerPrefix ownerPrefix: String) async throws -> Int {
        let rows = try await rows(
            "count claims held",
            """
            SELECT (SELECT count(*) FROM events WHERE status = 1 AND starts_with(lease_owner, \(ownerPrefix)))
                 + (SELECT count(*) FROM commands WHERE status = 1 AND starts_with(lease_owner, \(ownerPrefix)))
            """)
        return Int(try rows.first?.decode(Int64.self) ?? 0)
    }

    /// Creates an empty database `name` on the server `serverURL` points at (any database there) and returns its URL.
    /// For test and benchmark harnesses that want a database of their own.
    public static func createDatabase(serverURL: String, name: String, logger: Logger) async throws -> String {
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), !name.isEmpty else {
            throw PostgresStoreError.configuration("a database name of letters, digits and _ only")
        }
        let url = try PostgresURL(serverURL)
        do {
            let connection = try await PostgresConnection.connect(
                configuration: url.connectionConfiguration(), id: 0, logger: logger)
            do {
                try await connection.run(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
                try await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
        } catch {
            throw failure(error, write: "create database \(name)")
        }
        guard var components = URLComponents(string: serverURL) else { throw PostgresStoreError.configuration("bad URL") }
        components.path = "/" + name
        return components.string ?? serverURL
    }
}

extension PostgresStore {
    /// Writes a batch exported by the source store: each row inserted with its own key (identity values kept), or
    /// overwritten when a previous copy already wrote it, so a copy run again converges on the source.
    public func importBatch(_ table: StoreCopyTable, _ batch: StoreCopyBatch) async throws {
        guard batch.count > 0 else { return }
        let columns = table.columns.joined(separator: ", ")
        let updates = table.columns.filter { !table.key.contains($0) }.map { "\($0) = excluded.\($0)" }
        let conflict =
            updates.isEmpty
            ? "ON CONFLICT (\(table.key.joined(separator: ", "))) DO NOTHING"
            : "ON CONFLICT (\(table.key.joined(separator: ", "))) DO UPDATE SET \(updates.joined(separator: ", "))"
        let overriding = table.integerKey ? "OVERRIDING SYSTEM VALUE" : ""
        var binds = PostgresBindings()
        binds.append(batch.json)
        try await write(
            "import \(table.name)",
            PostgresQuery(
                unsafeSQL: """
                    INSERT INTO \(table.name) (\(columns)) \(overriding)
                    SELECT \(columns) FROM json_populate_recordset(NULL::\(table.name), $1::json)
                    \(conflict)
                    """, binds: binds))
    }

    /// After a copy: identity counters continue after the copied rows, so new rows never reuse a copied id.
    public func advanceIdentities() async throws {
        for (table, column) in [("events", "seq"), ("commands", "id"), ("audit", "id")] {
            try await write(
                "advance \(table) identity",
                PostgresQuery(
                    unsafeSQL: """
                        SELECT setval(pg_get_serial_sequence('\(table)', '\(column)'),
                          greatest((SELECT coalesce(max(\(column)), 0) FROM \(table)), 1))
                        """))
        }
    }

    /// Rows in `table`, for the copy's final check.
    public func rowCount(_ table: StoreCopyTable) async throws -> Int {
        let rows = try await rows("count \(table.name)", PostgresQuery(unsafeSQL: table.countedRows))
        return Int(try rows.first?.decode(Int64.self) ?? 0)
    }
}
