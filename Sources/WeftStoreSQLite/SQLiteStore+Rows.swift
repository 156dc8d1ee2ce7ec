import Foundation
import GRDB
import WeftCore

/// Conversions between rows and the store's types. Instants are stored as integer milliseconds since 1970.
extension SQLiteStore {
    static func millis(_ date: Date) -> Int64 { StoreInstant.millis(date) }

    static func millis(_ duration: Duration) -> Int64 { StoreInstant.millis(duration) }

    static func seconds(_ duration: Duration) -> TimeInterval {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func date(_ millis: Int64) -> Date { StoreInstant.date(millis) }

    static let eventColumns =
        "seq, system, event_id, type, entity_key, occurred_at, received_at, payload, trace_id, status, attempts, outcome"

    static func event(_ row: Row) -> InboxEvent {
        InboxEvent(
            seq: EventSeq(row["seq"] as Int64), system: SystemName(row["system"] as String),
            eventID: SourceEventID(row["event_id"] as String), type: row["type"],
            entityKey: EntityKey(row["entity_key"] as String), occurredAt: date(row["occurred_at"]),
            receivedAt: date(row["received_at"]), payload: row["payload"], traceID: TraceID(row["trace_id"] as String),
            status: EventStatus(rawValue: row["status"]) ?? .pending, attempts: row["attempts"], outcome: row["outcome"])
    }

    static let commandColumns = """
        id, target, entity_key, idempotency_key, payload, trace_id, attempts, created_at, status, next_attempt_at,
        last_error, delivered_at, target_model, target_id
        """

    /// A command row as read, its payload still encoded (decoding happens outside the database queue).
    static func command(_ row: Row) -> StoredCommand {
        let model: String? = row["target_model"]
        let targetID: String? = row["target_id"]
        return StoredCommand(
            id: CommandID(row["id"] as Int64), target: SystemName(row["target"] as String),
            entityKey: EntityKey(row["entity_key"] as String), idempotencyKey: IdempotencyKey(row["idempotency_key"] as String),
            payload: row["payload"], traceID: TraceID(row["trace_id"] as String), attempts: row["attempts"],
            createdAt: date(row["created_at"]), status: CommandStatus(rawValue: row["status"]) ?? .pending,
            nextAttemptAt: date(row["next_attempt_at"]), lastError: row["last_error"],
            deliveredAt: (row["delivered_at"] as Int64?).map(date),
            targetRecord: model.flatMap { model in targetID.map { TargetRecordID(model: model, id: $0) } })
    }

    /// `WHERE …` for a command filter, with its arguments. An empty `ids` list matches nothing.
    static func whereClause(_ filter: CommandFilter) -> (String, StatementArguments) {
        var terms: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if let ids = filter.ids {
            terms.append(ids.isEmpty ? "0" : "id IN (\(ids.map { _ in "?" }.joined(separator: ",")))")
            arguments.append(contentsOf: ids.map(\.rawValue))
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

    /// `?,?,…` for `count` placeholders.
    static func placeholders(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ",") }

    static func insertAudit(_ db: Database, _ entry: AuditEntry) throws {
        try db.cachedStatement(sql: "INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)")
            .execute(arguments: [millis(entry.at), entry.actor, entry.action, entry.detail])
    }
}
