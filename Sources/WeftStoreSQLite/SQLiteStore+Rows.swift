import Foundation
import GRDB
import WeftCore

extension SQLiteStore {
    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    static func millis(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }

    static func event(_ row: Row) -> InboxEvent {
        InboxEvent(
            seq: EventSeq(row["seq"] as Int64), system: SystemName(row["system"] as String),
            eventID: SourceEventID(row["event_id"] as String), type: row["type"], entityKey: EntityKey(row["entity_key"] as String),
            occurredAt: date(row["occurred_at"]), receivedAt: date(row["received_at"]), payload: row["payload"],
            traceID: TraceID(row["trace_id"] as String), status: EventStatus(rawValue: row["status"]) ?? .pending,
            attempts: row["attempts"], outcome: row["outcome"])
    }

    static func command(_ row: Row) throws -> OutboxCommand {
        let data: Data = row["payload"]
        let payload: TargetCommand
        do {
            payload = try CanonicalCoding.decoder.decode(TargetCommand.self, from: data)
        } catch {
            throw SQLiteStoreError.corrupt("command \(row["id"] as Int64) has a payload this version cannot read")
        }
        return OutboxCommand(
            id: CommandID(row["id"] as Int64), target: SystemName(row["target"] as String),
            entityKey: EntityKey(row["entity_key"] as String), idempotencyKey: IdempotencyKey(row["idempotency_key"] as String),
            payload: payload, traceID: TraceID(row["trace_id"] as String), attempts: row["attempts"],
            createdAt: date(row["created_at"]))
    }

    static func whereClause(_ filter: CommandFilter) -> (String, StatementArguments) {
        var terms: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if let ids = filter.ids {
            terms.append(ids.isEmpty ? "0" : "id IN (\(ids.map { String($0.rawValue) }.joined(separator: ",")))")
        }
        if let status = filter.status {
            terms.append("status = ?")
            arguments.append(status.rawValue)
        }
        if let target = filter.target {
            terms.append("target = ?")
            arguments.append(target.rawValue)
        }
        if let kind = filter.kind {
            terms.append("kind = ?")
            arguments.append(kind)
        }
        if let entityKey = filter.entityKey {
            terms.append("entity_key = ?")
            arguments.append(entityKey.rawValue)
        }
        return (terms.isEmpty ? "" : "WHERE " + terms.joined(separator: " AND "), StatementArguments(arguments))
    }

    static func describe(_ filter: CommandFilter) -> String {
        var parts: [String] = []
        if let ids = filter.ids { parts.append("id in \(ids.map(\.description).joined(separator: ","))") }
        if let target = filter.target { parts.append("target=\(target)") }
        if let kind = filter.kind { parts.append("kind=\(kind)") }
        if let entity = filter.entityKey { parts.append("entity=\(entity)") }
        return parts.isEmpty ? "all" : parts.joined(separator: " ")
    }

    static func insertAudit(_ db: Database, _ entry: AuditEntry) throws {
        try db.execute(
            sql: "INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)",
            arguments: [millis(entry.at), entry.actor, entry.action, entry.detail])
    }

    /// Schema changes, only ever appended.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-inbox") { db in
            try db.execute(
                sql: """
                    CREATE TABLE events (
                      seq INTEGER PRIMARY KEY AUTOINCREMENT,
                      system TEXT NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL, entity_key TEXT NOT NULL,
                      occurred_at INTEGER NOT NULL, received_at INTEGER NOT NULL, payload BLOB NOT NULL, trace_id TEXT NOT NULL,
                      status INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
                      lease_owner TEXT, lease_until INTEGER, outcome TEXT, processed_at INTEGER);
                    CREATE UNIQUE INDEX events_dedup ON events (system, event_id);
                    CREATE INDEX events_active ON events (entity_key, occurred_at, seq) WHERE status IN (0, 1);
                    CREATE INDEX events_status ON events (status, seq);
                    CREATE TABLE aggregates (
                      entity_key TEXT PRIMARY KEY, state BLOB NOT NULL, version INTEGER NOT NULL, updated_at INTEGER NOT NULL);
                    """)
        }
        migrator.registerMigration("v1-outbox") { db in
            try db.execute(
                sql: """
                    CREATE TABLE commands (
                      id INTEGER PRIMARY KEY AUTOINCREMENT,
                      target TEXT NOT NULL, entity_key TEXT NOT NULL, idempotency_key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
                      payload BLOB NOT NULL, trace_id TEXT NOT NULL,
                      status INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
                      lease_owner TEXT, lease_until INTEGER, last_error TEXT,
                      created_at INTEGER NOT NULL, delivered_at INTEGER, target_model TEXT, target_id TEXT);
                    CREATE INDEX commands_active ON commands (target, entity_key, id) WHERE status IN (0, 1);
                    CREATE INDEX commands_due ON commands (target, status, next_attempt_at) WHERE status IN (0, 1);
                    CREATE INDEX commands_status ON commands (status, kind);
                    CREATE TABLE bindings (
                      source_system TEXT NOT NULL, source_kind TEXT NOT NULL, source_id TEXT NOT NULL, target TEXT NOT NULL,
                      model TEXT NOT NULL, target_id TEXT NOT NULL, updated_at INTEGER NOT NULL,
                      PRIMARY KEY (source_system, source_kind, source_id, target));
                    """)
        }
        migrator.registerMigration("v1-operations") { db in
            try db.execute(
                sql: """
                    CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);
                    CREATE TABLE audit (
                      id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                      detail TEXT NOT NULL);
                    """)
        }
        return migrator
    }
}
