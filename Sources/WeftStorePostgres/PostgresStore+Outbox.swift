public import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import PostgresNIO
public import WeftCore

extension PostgresStore {
    static let commandColumns = """
        id, target, entity_key, idempotency_key, payload, trace_id, attempts, created_at, status, next_attempt_at,
        last_error, delivered_at, target_model, target_id
        """

    /// A command row as read, its payload still encoded.
    static func command(_ row: PostgresRow) throws -> StoredCommand {
        let (id, target, key, idempotency, payload, trace, attempts, created, status, next, error, delivered, model, record) =
            try row.decode(
                (
                    Int64, String, String, String, ByteBuffer, String, Int32, Int64, Int16, Int64, String?, Int64?,
                    String?, String?
                ).self)
        return StoredCommand(
            id: CommandID(id), target: SystemName(rawValue: target), entityKey: EntityKey(key),
            idempotencyKey: IdempotencyKey(idempotency), payload: Data(buffer: payload), traceID: TraceID(trace),
            attempts: Int(attempts), createdAt: StoreInstant.date(created),
            status: CommandStatus(rawValue: Int(status)) ?? .pending, nextAttemptAt: StoreInstant.date(next),
            lastError: error, deliveredAt: delivered.map(StoreInstant.date),
            targetRecord: model.flatMap { model in record.map { TargetRecordID(model: model, id: $0) } })
    }

    /// Claims due commands of `target`: for each (target, entity key) only the earliest unfinished command, when it is
    /// pending and due or its lease expired, and while no later command of the entity is in flight (one a replay put
    /// behind it); rows another node is claiming are skipped. Earliest due first. The attempt
    /// is counted at claim time. Candidates are read without locks and only a batch of them is locked, and the head
    /// check is a scalar subquery (see `claimEvents` for both).
    public func claimCommands(target: SystemName, limit: Int, owner: String, lease: Duration, now: Date) async throws
        -> [OutboxCommand]
    {
        guard limit > 0 else { return [] }
        let nowMs = StoreInstant.millis(now)
        let until = nowMs + StoreInstant.millis(lease)
        let limit64 = Int64(limit)
        let rows = try await write(
            "claim commands",
            """
            WITH candidates AS MATERIALIZED (
              SELECT c.id FROM commands AS c
              WHERE c.target = \(target.rawValue) AND c.status IN (0, 1) AND c.next_attempt_at <= \(nowMs)
                AND (c.status = 0 OR c.lease_until < \(nowMs))
                AND c.id = (
                  SELECT min(p.id) FROM commands AS p
                  WHERE p.target = c.target AND p.entity_key = c.entity_key AND p.status IN (0, 1))
                AND NOT EXISTS (
                  SELECT 1 FROM commands AS f
                  WHERE f.target = c.target AND f.entity_key = c.entity_key AND f.status = 1 AND f.id > c.id
                    AND f.lease_until >= \(nowMs))
              ORDER BY c.next_attempt_at, c.id LIMIT \(Self.claimCandidates(limit))),
            picked AS (
              SELECT c.id FROM commands AS c
              WHERE c.id IN (SELECT id FROM candidates)
                AND c.status IN (0, 1) AND c.next_attempt_at <= \(nowMs) AND (c.status = 0 OR c.lease_until < \(nowMs))
              ORDER BY c.next_attempt_at, c.id LIMIT \(limit64)
              FOR UPDATE OF c SKIP LOCKED)
            UPDATE commands AS t SET status = 1, lease_owner = \(owner), lease_until = \(until), attempts = t.attempts + 1
            FROM picked WHERE t.id = picked.id
            RETURNING t.id, t.target, t.entity_key, t.idempotency_key, t.payload, t.trace_id, t.attempts, t.created_at,
              t.status, t.next_attempt_at, t.last_error, t.delivered_at, t.target_model, t.target_id
            """)
        var claimed: [OutboxCommand] = []
        var unreadable: [Int64] = []
        for row in try rows.map(Self.command).sorted(by: { $0.id < $1.id }) {
            if let command = row.command() {
                claimed.append(command)
            } else {
                unreadable.append(row.id.rawValue)
            }
        }
        if !unreadable.isEmpty {
            // They would block their entity forever: dead, for an operator to see.
            logger.info(
                "outbox commands with unreadable payloads marked dead", metadata: ["weft.command.count": "\(unreadable.count)"])
            try await write(
                "mark unreadable commands dead",
                """
                UPDATE commands SET status = 3, last_error = 'payload unreadable by this version of Weft',
                  lease_owner = NULL, lease_until = NULL
                WHERE status = 1 AND lease_owner = \(owner) AND id = ANY(\(unreadable)::int8[])
                """)
        }
        return claimed
    }

    /// Records each result, only for commands still leased to `owner`. A delivered command that names a target record
    /// upserts the binding of `subject` in its target. One transaction, a statement per kind of transition.
    ///
    /// Lock order: the batch's rows first, by ascending id, as the lease renewal and the release take them (a renewal
    /// the dispatcher stopped waiting for may still be running when the outcomes are recorded); then the bindings, by
    /// key, as every other recording takes them.
    public func completeCommands(_ results: [CommandResult], owner: String, now: Date) async throws {
        guard !results.isEmpty else { return }
        let nowMs = StoreInstant.millis(now)
        var delivered: [(id: Int64, model: String?, recordID: String?, note: String?, subject: ExternalRef)] = []
        var retryIDs: [Int64] = []
        var retryAt: [Int64] = []
        var retryErrors: [String] = []
        var deadIDs: [Int64] = []
        var deadErrors: [String] = []
        for result in results {
            switch result.transition {
            case .delivered(let record, let note):
                delivered.append((result.id.rawValue, record?.model, record?.id, note, result.subject))
            case .retry(let at, let failure):
                retryIDs.append(result.id.rawValue)
                retryAt.append(StoreInstant.millis(at))
                retryErrors.append(failure.description)
            case .dead(let failure):
                deadIDs.append(result.id.rawValue)
                deadErrors.append(failure.description)
            }
        }
        let logger = logger
        let deliveredRows = delivered
        let (rIDs, rAt, rErrors, dIDs, dErrors) = (retryIDs, retryAt, retryErrors, deadIDs, deadErrors)
        let allIDs = results.map(\.id.rawValue).sorted()
        try await transaction("complete commands") { connection in
            try await connection.run(
                """
                SELECT id FROM commands WHERE id = ANY(\(allIDs)::int8[]) AND status = 1 AND lease_owner = \(owner)
                ORDER BY id FOR UPDATE
                """, logger: logger
            )
            if !deliveredRows.isEmpty {
                let ids = deliveredRows.map(\.id)
                let models = deliveredRows.map { $0.model ?? "" }
                let recordIDs = deliveredRows.map { $0.recordID ?? "" }
                let hasRecord = deliveredRows.map { $0.model != nil && $0.recordID != nil }
                let notes = deliveredRows.map { $0.note ?? "" }
                let hasNote = deliveredRows.map { $0.note != nil }
                let rows = try await connection.query(
                    """
                    UPDATE commands AS c SET status = 2, delivered_at = \(nowMs),
                      target_model = CASE WHEN u.has_record THEN u.model END,
                      target_id = CASE WHEN u.has_record THEN u.record_id END,
                      note = CASE WHEN u.has_note THEN u.note END, lease_owner = NULL, lease_until = NULL
                    FROM unnest(\(ids)::int8[], \(models)::text[], \(recordIDs)::text[], \(hasRecord)::bool[],
                      \(notes)::text[], \(hasNote)::bool[]) AS u (id, model, record_id, has_record, note, has_note)
                    WHERE c.id = u.id AND c.status = 1 AND c.lease_owner = \(owner)
                    RETURNING c.id, c.target
                    """, logger: logger
                ).collect()
                var targets: [Int64: String] = [:]
                for row in rows {
                    let (id, target) = try row.decode((Int64, String).self)
                    targets[id] = target
                }
                // One binding per (subject, target): the last result of the batch wins. Upserted in key order (the
                // lock order every recording shares).
                var bindings: [String: (ExternalRef, String, String, String)] = [:]
                for item in deliveredRows {
                    guard let target = targets[item.id], let model = item.model, let recordID = item.recordID else { continue }
                    let key = [item.subject.system.rawValue, item.subject.kind.rawValue, item.subject.id, target]
                        .joined(separator: "\u{0}")
                    bindings[key] = (item.subject, target, model, recordID)
                }
                if !bindings.isEmpty {
                    let chosen = bindings.keys.sorted().compactMap { bindings[$0] }
                    let systems = chosen.map(\.0.system.rawValue)
                    let kinds = chosen.map(\.0.kind.rawValue)
                    let sourceIDs = chosen.map(\.0.id)
                    let bindTargets = chosen.map(\.1)
                    let models = chosen.map(\.2)
                    let targetIDs = chosen.map(\.3)
                    try await connection.run(
                        """
                        INSERT INTO bindings (source_system, source_kind, source_id, target, model, target_id, updated_at)
                        SELECT u.system, u.kind, u.id, u.target, u.model, u.target_id, \(nowMs)
                        FROM unnest(\(systems)::text[], \(kinds)::text[], \(sourceIDs)::text[], \(bindTargets)::text[],
                          \(models)::text[], \(targetIDs)::text[]) AS u (system, kind, id, target, model, target_id)
                        ON CONFLICT (source_system, source_kind, source_id, target)
                        DO UPDATE SET model = excluded.model, target_id = excluded.target_id, updated_at = excluded.updated_at
                        """, logger: logger
                    )
                }
            }
            if !rIDs.isEmpty {
                try await connection.run(
                    """
                    UPDATE commands AS c SET status = 0, next_attempt_at = u.at, last_error = u.error, lease_owner = NULL,
                      lease_until = NULL
                    FROM unnest(\(rIDs)::int8[], \(rAt)::int8[], \(rErrors)::text[]) AS u (id, at, error)
                    WHERE c.id = u.id AND c.status = 1 AND c.lease_owner = \(owner)
                    """, logger: logger
                )
            }
            if !dIDs.isEmpty {
                try await connection.run(
                    """
                    UPDATE commands AS c SET status = 3, last_error = u.error, lease_owner = NULL, lease_until = NULL
                    FROM unnest(\(dIDs)::int8[], \(dErrors)::text[]) AS u (id, error)
                    WHERE c.id = u.id AND c.status = 1 AND c.lease_owner = \(owner)
                    """, logger: logger
                )
            }
        }
    }

    /// Locks the rows by ascending id, as `completeCommands` and `releaseCommands` do.
    @discardableResult
    public func renewCommandLeases(_ ids: [CommandID], owner: String, until: Date) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let values = ids.map(\.rawValue)
        let untilMs = StoreInstant.millis(until)
        return try await write(
            "renew command leases",
            """
            WITH held AS (
              SELECT id FROM commands WHERE status = 1 AND lease_owner = \(owner) AND id = ANY(\(values)::int8[])
              ORDER BY id FOR UPDATE)
            UPDATE commands AS c SET lease_until = greatest(c.lease_until, \(untilMs)) FROM held WHERE c.id = held.id
            RETURNING c.id
            """
        ).count
    }

    /// Gives claimed commands back unattempted: pending, due as before, and the attempt counted at claim undone.
    public func releaseCommands(_ ids: [CommandID], owner: String) async throws {
        guard !ids.isEmpty else { return }
        let values = ids.map(\.rawValue)
        try await write(
            "release commands",
            """
            WITH held AS (
              SELECT id FROM commands WHERE status = 1 AND lease_owner = \(owner) AND id = ANY(\(values)::int8[])
              ORDER BY id FOR UPDATE)
            UPDATE commands AS c SET status = 0, attempts = greatest(0, c.attempts - 1), lease_owner = NULL,
              lease_until = NULL
            FROM held WHERE c.id = held.id
            """)
        try await write("notify", "SELECT pg_notify('weft_commands', '')")
    }

    /// The earliest instant `claimCommands` could hand out something for `target` (see the SQLite store): the first
    /// due head in due order (the index's order, so the scan stops at the first head) or the first lease to expire (a
    /// leased command is always its entity's head). Every idle delivery loop on every node asks this, so it must not
    /// walk the whole backlog the way a `min` over all heads does.
    public func nextCommandDue(target: SystemName) async throws -> Date? {
        let rows = try await rows(
            "next command due",
            """
            SELECT least(
              (SELECT c.next_attempt_at FROM commands AS c
               WHERE c.target = \(target.rawValue) AND c.status = 0
                 AND c.id = (
                   SELECT min(p.id) FROM commands AS p
                   WHERE p.target = c.target AND p.entity_key = c.entity_key AND p.status IN (0, 1))
                 AND NOT EXISTS (
                   SELECT 1 FROM commands AS f
                   WHERE f.target = c.target AND f.entity_key = c.entity_key AND f.status = 1 AND f.id > c.id
                     AND f.lease_until >= \(StoreInstant.millis(Date())))
               ORDER BY c.next_attempt_at, c.id LIMIT 1),
              (SELECT min(l.lease_until) + 1 FROM commands AS l WHERE l.target = \(target.rawValue) AND l.status = 1))
            """)
        return try rows.first?.decode(Int64?.self).map(StoreInstant.date)
    }

    public func binding(of ref: ExternalRef, in target: SystemName) async throws -> TargetRecordID? {
        let rows = try await rows(
            "read binding",
            """
            SELECT model, target_id FROM bindings
            WHERE source_system = \(ref.system.rawValue) AND source_kind = \(ref.kind.rawValue)
              AND source_id = \(ref.id) AND target = \(target.rawValue)
            """)
        guard let row = rows.first else { return nil }
        let (model, id) = try row.decode((String, String).self)
        return TargetRecordID(model: model, id: id)
    }

    public func boundSources(of record: TargetRecordID, in target: SystemName) async throws -> [ExternalRef] {
        let rows = try await rows(
            "read bindings of a target record",
            """
            SELECT source_system, source_kind, source_id FROM bindings
            WHERE target = \(target.rawValue) AND model = \(record.model) AND target_id = \(record.id)
            ORDER BY source_system, source_kind, source_id
            """)
        return try rows.compactMap { row -> ExternalRef? in
            let (system, kind, id) = try row.decode((String, String, String).self)
            return EntityKind(rawValue: kind).map { ExternalRef(system: SystemName(system), kind: $0, id: id) }
        }
    }
}
