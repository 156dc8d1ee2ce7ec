public import Foundation
import GRDB
import Logging
public import WeftCore

extension SQLiteStore {
    /// Claims due commands of `target`: for each (target, entity key) only the earliest unfinished command (pending or
    /// in flight), when it is pending and due or its lease expired, and while no later command of the entity is in
    /// flight (one a replay put behind it). Dead and delivered commands do not block. Earliest
    /// due first. The attempt is counted at claim time (`attempts` of a claimed command is the number of this attempt);
    /// `releaseCommands` gives it back.
    public func claimCommands(target: SystemName, limit: Int, owner: String, lease: Duration, now: Date) async throws
        -> [OutboxCommand]
    {
        guard limit > 0 else { return [] }
        let nowMs = Self.millis(now)
        let arguments: StatementArguments = [
            "target": target.rawValue, "now": nowMs, "limit": limit, "owner": owner, "until": nowMs + Self.millis(lease),
        ]
        let rows: [StoredCommand]
        do {
            rows = try await write { db in
                try Row.fetchAll(
                    db.cachedStatement(
                        sql: """
                            UPDATE commands SET status = 1, lease_owner = :owner, lease_until = :until, attempts = attempts + 1
                            WHERE id IN (
                              SELECT c.id FROM commands AS c INDEXED BY commands_ready
                              WHERE c.target = :target AND c.status IN (0, 1) AND c.next_attempt_at <= :now
                                AND (c.status = 0 OR c.lease_until < :now)
                                AND NOT EXISTS (
                                  SELECT 1 FROM commands AS p INDEXED BY commands_active
                                  WHERE p.target = c.target AND p.entity_key = c.entity_key AND p.status IN (0, 1)
                                    AND p.id < c.id)
                                AND NOT EXISTS (
                                  SELECT 1 FROM commands AS f INDEXED BY commands_active
                                  WHERE f.target = c.target AND f.entity_key = c.entity_key AND f.status IN (0, 1) AND f.status = 1
                                    AND f.id > c.id AND f.lease_until >= :now)
                              ORDER BY c.next_attempt_at, c.id LIMIT :limit)
                            RETURNING \(Self.commandColumns)
                            """),
                    arguments: arguments
                ).map(Self.command)
            }
        } catch {
            throw SQLiteStoreError.write("claim commands", error)
        }
        var claimed: [OutboxCommand] = []
        var unreadable: [CommandID] = []
        for row in rows.sorted(by: { $0.id < $1.id }) {
            if let command = row.command() {
                claimed.append(command)
            } else {
                unreadable.append(row.id)
            }
        }
        if !unreadable.isEmpty { try await bury(unreadable, owner: owner) }
        return claimed
    }

    /// Commands whose payload this version cannot decode would block their entity forever: they go dead, for an
    /// operator to see.
    private func bury(_ ids: [CommandID], owner: String) async throws {
        logger.info("outbox commands with unreadable payloads marked dead", metadata: ["weft.command.count": "\(ids.count)"])
        do {
            try await write { db in
                var arguments: StatementArguments = [owner]
                arguments += StatementArguments(ids.map(\.rawValue))
                try db.execute(
                    sql: """
                        UPDATE commands SET status = 3, last_error = 'payload unreadable by this version of Weft',
                          lease_owner = NULL, lease_until = NULL
                        WHERE status = 1 AND lease_owner = ? AND id IN (\(Self.placeholders(ids.count)))
                        """,
                    arguments: arguments)
            }
        } catch {
            throw SQLiteStoreError.write("mark unreadable commands dead", error)
        }
    }

    /// Records each result, only for commands still leased to `owner` (others are left alone). A delivered command
    /// that names a target record upserts the binding of `subject` in its target.
    public func completeCommands(_ results: [CommandResult], owner: String, now: Date) async throws {
        guard !results.isEmpty else { return }
        let nowMs = Self.millis(now)
        do {
            try await write { db in
                let delivered = try db.cachedStatement(
                    sql: """
                        UPDATE commands SET status = 2, delivered_at = ?, target_model = ?, target_id = ?, note = ?,
                          lease_owner = NULL, lease_until = NULL
                        WHERE id = ? AND status = 1 AND lease_owner = ?
                        RETURNING target
                        """)
                let bind = try db.cachedStatement(
                    sql: """
                        INSERT INTO bindings (source_system, source_kind, source_id, target, model, target_id, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (source_system, source_kind, source_id, target)
                        DO UPDATE SET model = excluded.model, target_id = excluded.target_id, updated_at = excluded.updated_at
                        """)
                let retry = try db.cachedStatement(
                    sql: """
                        UPDATE commands SET status = 0, next_attempt_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL
                        WHERE id = ? AND status = 1 AND lease_owner = ?
                        """)
                let dead = try db.cachedStatement(
                    sql: """
                        UPDATE commands SET status = 3, last_error = ?, lease_owner = NULL, lease_until = NULL
                        WHERE id = ? AND status = 1 AND lease_owner = ?
                        """)
                for result in results {
                    switch result.transition {
                    case .delivered(let record, let note):
                        let target = try String.fetchOne(
                            delivered, arguments: [nowMs, record?.model, record?.id, note, result.id.rawValue, owner])
                        if let target, let record {
                            let subject = result.subject
                            try bind.execute(arguments: [
                                subject.system.rawValue, subject.kind.rawValue, subject.id, target, record.model, record.id,
                                nowMs,
                            ])
                        }
                    case .retry(let at, let failure):
                        try retry.execute(arguments: [Self.millis(at), failure.description, result.id.rawValue, owner])
                    case .dead(let failure):
                        try dead.execute(arguments: [failure.description, result.id.rawValue, owner])
                    }
                }
            }
        } catch {
            throw SQLiteStoreError.write("complete commands", error)
        }
    }

    @discardableResult
    public func renewCommandLeases(_ ids: [CommandID], owner: String, until: Date) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        var arguments: StatementArguments = [Self.millis(until), owner]
        arguments += StatementArguments(ids.map(\.rawValue))
        let statementArguments = arguments
        do {
            return try await write { db in
                try db.execute(
                    sql: """
                        UPDATE commands SET lease_until = max(lease_until, ?)
                        WHERE status = 1 AND lease_owner = ? AND id IN (\(Self.placeholders(ids.count)))
                        """,
                    arguments: statementArguments)
                return db.changesCount
            }
        } catch {
            throw SQLiteStoreError.write("renew command leases", error)
        }
    }

    /// Gives claimed commands back unattempted: pending, due as before, and the attempt counted at claim undone.
    public func releaseCommands(_ ids: [CommandID], owner: String) async throws {
        try await releaseHeld(
            ids.map(\.rawValue), owner: owner, table: "commands", key: "id",
            set: "status = 0, attempts = max(0, attempts - 1), lease_owner = NULL, lease_until = NULL",
            operation: "release commands")
    }

    /// The earliest instant `claimCommands` could hand out something for `target`: over the head command of each
    /// (target, entity key), its due time when pending, or just after its lease ends when in flight. Commands waiting
    /// behind a head do not count, so an idle dispatcher never wakes for work it cannot claim.
    public func nextCommandDue(target: SystemName) async throws -> Date? {
        do {
            return try await pool.read { db in
                try Int64.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT min(CASE WHEN c.status = 0 THEN c.next_attempt_at ELSE c.lease_until + 1 END)
                            FROM commands AS c INDEXED BY commands_active
                            WHERE c.target = :target AND c.status IN (0, 1)
                              AND NOT EXISTS (
                                SELECT 1 FROM commands AS p INDEXED BY commands_active
                                WHERE p.target = c.target AND p.entity_key = c.entity_key AND p.status IN (0, 1)
                                  AND p.id < c.id)
                              AND NOT EXISTS (
                                SELECT 1 FROM commands AS f INDEXED BY commands_active
                                WHERE f.target = c.target AND f.entity_key = c.entity_key AND f.status IN (0, 1) AND f.status = 1
                                  AND f.id > c.id AND f.lease_until >= :now)
                            """),
                    arguments: ["target": target.rawValue, "now": Self.millis(Date())]
                ).map(Self.date)
            }
        } catch {
            throw SQLiteStoreError.read("next command due", error)
        }
    }

    public func binding(of ref: ExternalRef, in target: SystemName) async throws -> TargetRecordID? {
        do {
            return try await pool.read { db in
                try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT model, target_id FROM bindings
                            WHERE source_system = ? AND source_kind = ? AND source_id = ? AND target = ?
                            """),
                    arguments: [ref.system.rawValue, ref.kind.rawValue, ref.id, target.rawValue]
                ).map { TargetRecordID(model: $0["model"], id: $0["target_id"]) }
            }
        } catch {
            throw SQLiteStoreError.read("read binding", error)
        }
    }

    public func boundSources(of record: TargetRecordID, in target: SystemName) async throws -> [ExternalRef] {
        do {
            return try await pool.read { db in
                try Row.fetchAll(
                    db.cachedStatement(
                        sql: """
                            SELECT source_system, source_kind, source_id FROM bindings
                            WHERE target = ? AND model = ? AND target_id = ?
                            ORDER BY source_system, source_kind, source_id
                            """),
                    arguments: [target.rawValue, record.model, record.id]
                ).compactMap { row -> ExternalRef? in
                    guard let kind = EntityKind(rawValue: row["source_kind"]) else { return nil }
                    return ExternalRef(system: SystemName(row["source_system"] as String), kind: kind, id: row["source_id"])
                }
            }
        } catch {
            throw SQLiteStoreError.read("read bindings of a target record", error)
        }
    }
}
