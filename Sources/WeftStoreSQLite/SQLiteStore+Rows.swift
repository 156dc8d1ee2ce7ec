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

    /// The columns `event(_:)` reads, in this order: every query that reads events selects exactly these first.
    static let eventColumns =
        "seq, system, event_id, type, entity_key, occurred_at, received_at, payload, trace_id, status, attempts, outcome"

    /// An event row selected with `eventColumns`. Columns are read by position: by name, GRDB lower-cased and looked up
    /// each one, for every row of every claim.
    static func event(_ row: Row) -> InboxEvent {
        InboxEvent(
            seq: EventSeq(row[0] as Int64), system: SystemName(row[1] as String), eventID: SourceEventID(row[2] as String),
            type: row[3], entityKey: EntityKey(row[4] as String), occurredAt: date(row[5]), receivedAt: date(row[6]),
            payload: row[7], traceID: TraceID(row[8] as String), status: EventStatus(rawValue: row[9]) ?? .pending,
            attempts: row[10], outcome: row[11])
    }

    /// The columns `command(_:)` reads, in this order: every query that reads commands selects exactly these first.
    static let commandColumns = """
        id, target, entity_key, idempotency_key, payload, trace_id, attempts, created_at, status, next_attempt_at,
        last_error, delivered_at, target_model, target_id
        """

    /// A command row selected with `commandColumns`, its payload still encoded (decoding happens outside the database
    /// queue). Columns are read by position, as in `event(_:)`.
    static func command(_ row: Row) -> StoredCommand {
        let model: String? = row[12]
        let targetID: String? = row[13]
        return StoredCommand(
            id: CommandID(row[0] as Int64), target: SystemName(row[1] as String), entityKey: EntityKey(row[2] as String),
            idempotencyKey: IdempotencyKey(row[3] as String), payload: row[4], traceID: TraceID(row[5] as String),
            attempts: row[6], createdAt: date(row[7]), status: CommandStatus(rawValue: row[8]) ?? .pending,
            nextAttemptAt: date(row[9]), lastError: row[10], deliveredAt: (row[11] as Int64?).map(date),
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
