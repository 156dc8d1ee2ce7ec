public import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import PostgresNIO
public import WeftCore

extension PostgresStore {
    /// One transaction for the whole batch. The events still leased to `owner` are locked first (`FOR UPDATE`), so a
    /// node whose lease expired meanwhile cannot commit over the node that took the event over; a result whose event
    /// is no longer held is skipped. A result whose aggregate version does not match is skipped and its event released
    /// to pending, to be processed again on the current state. Statements are set-based (`unnest`), a handful per
    /// batch rather than several per event.
    @discardableResult
    public func commitProcessed(_ results: [ProcessedEvent], owner: String, now: Date) async throws -> [EventSeq] {
        guard !results.isEmpty else { return [] }
        let nowMs = StoreInstant.millis(now)
        // Encode outside the transaction.
        var batch: [Encoded] = []
        batch.reserveCapacity(results.count)
        do {
            for result in results {
                batch.append(
                    Encoded(
                        result: result, state: try result.aggregate.map { try $0.canonicalJSON() },
                        commands: try result.commands.map { ($0, try $0.encodedPayload()) }))
            }
        } catch {
            throw PostgresStoreError.encoding("encode processing results", "\(error)")
        }
        let encoded = batch
        let logger = logger
        let committed = try await transaction("commit processed events") { connection -> [EventSeq] in
            try await Self.commit(connection, encoded, owner: owner, nowMs: nowMs, logger: logger)
        }
        return committed
    }

    struct Encoded: Sendable {
        var result: ProcessedEvent
        var state: Data?
        var commands: [(NewCommand, Data)]
    }

    private static func commit(
        _ connection: PostgresConnection, _ batch: [Encoded], owner: String, nowMs: Int64, logger: Logger
    ) async throws -> [EventSeq] {
        // Lock order, the same in every transaction that takes both: the keys' advisory locks (sorted), then rows.
        // Commits under a key and adoptions of that key exclude each other through these locks: otherwise an event
        // committed under a provisional key while another node adopts that key would be neither moved by the adoption
        // (it was still claimed) nor rekeyed here (the adoption was not yet visible), and its effect would be lost to
        // the adopting entity. Taken before the event rows are locked, or an adoption moving those rows and this
        // commit would wait on each other.
        var lockedKeys: Set<String> = []
        for item in batch {
            lockedKeys.insert(item.result.entityKey.rawValue)
            for alias in item.result.adoptedAliases { lockedKeys.insert(alias.rawValue) }
        }
        try await lockKeys(connection, Array(lockedKeys), logger: logger)
        let seqs = batch.map(\.result.seq.rawValue)
        let heldRows = try await connection.query(
            """
            SELECT seq FROM events WHERE seq = ANY(\(seqs)::int8[]) AND status = 1 AND lease_owner = \(owner)
            ORDER BY seq FOR UPDATE
            """, logger: logger
        ).collect()
        let held = Set(try heldRows.map { try $0.decode(Int64.self) })
        let items = batch.filter { held.contains($0.result.seq.rawValue) }
        guard !items.isEmpty else { return [] }
        // A result whose key appears earlier in the batch starts a new segment: within a segment every statement runs
        // set-wise (one claim hands out one event per key, so a batch is normally one segment).
        var segments: [[Encoded]] = [[]]
        var keysInSegment: Set<EntityKey> = []
        for item in items {
            if keysInSegment.contains(item.result.entityKey) {
                segments.append([])
                keysInSegment = []
            }
            segments[segments.count - 1].append(item)
            keysInSegment.insert(item.result.entityKey)
        }
        var committed: [EventSeq] = []
        var wroteCommands = false
        for segment in segments where !segment.isEmpty {
            let outcome = try await commitSegment(connection, segment, nowMs: nowMs, logger: logger)
            committed += outcome.committed
            wroteCommands = wroteCommands || outcome.wroteCommands
        }
        if wroteCommands {
            try await connection.run("SELECT pg_notify('weft_commands', '')", logger: logger)
        }
        return committed
    }

    private static func commitSegment(
        _ connection: PostgresConnection, _ segment: [Encoded], nowMs: Int64, logger: Logger
    ) async throws -> (committed: [EventSeq], wroteCommands: Bool) {
        // The keys and aliases of this segment are locked already (see `commit`).
        let keys = segment.map(\.result.entityKey.rawValue)
        var adoptedHere: [String: String] = [:]
        for item in segment {
            for alias in item.result.adoptedAliases where alias != item.result.entityKey {
                if adoptedHere[alias.rawValue] == nil { adoptedHere[alias.rawValue] = item.result.entityKey.rawValue }
            }
        }
        // Keys adopted by some entity while their event was processed (here or before): move the event there, to be
        // processed again, instead of committing it.
        let adopterRows = try await connection.query(
            "SELECT alias, entity_key FROM aliases WHERE alias = ANY(\(keys)::text[])", logger: logger
        ).collect()
        var adopters: [String: String] = [:]
        for row in adopterRows {
            let (alias, key) = try row.decode((String, String).self)
            adopters[alias] = key
        }
        for key in keys where adopters[key] == nil {
            if let adopter = adoptedHere[key], adopter != key { adopters[key] = adopter }
        }
        var rekeySeqs: [Int64] = []
        var rekeyKeys: [String] = []
        var creates: [Encoded] = []
        var updates: [Encoded] = []
        var stateless: [Encoded] = []
        for item in segment {
            if let adopter = adopters[item.result.entityKey.rawValue] {
                rekeySeqs.append(item.result.seq.rawValue)
                rekeyKeys.append(adopter)
            } else if item.state == nil {
                stateless.append(item)
            } else if (item.result.expectedVersion ?? 0) == 0 {
                creates.append(item)
            } else {
                updates.append(item)
            }
        }
        if !rekeySeqs.isEmpty {
            try await connection.run(
                """
                UPDATE events AS e SET entity_key = u.key, status = 0, lease_owner = NULL, lease_until = NULL
                FROM unnest(\(rekeySeqs)::int8[], \(rekeyKeys)::text[]) AS u (seq, key) WHERE e.seq = u.seq
                """, logger: logger
            )
        }
        var saved: Set<String> = []
        if !creates.isEmpty {
            let names = creates.map(\.result.entityKey.rawValue)
            let states = creates.map { ByteBuffer(data: $0.state ?? Data()) }
            let rows = try await connection.query(
                """
                INSERT INTO aggregates (entity_key, state, version, updated_at)
                SELECT u.key, u.state, 1, \(nowMs) FROM unnest(\(names)::text[], \(states)::bytea[]) AS u (key, state)
                ON CONFLICT (entity_key) DO NOTHING
                RETURNING entity_key
                """, logger: logger
            ).collect()
            for row in rows { saved.insert(try row.decode(String.self)) }
        }
        if !updates.isEmpty {
            let names = updates.map(\.result.entityKey.rawValue)
            let states = updates.map { ByteBuffer(data: $0.state ?? Data()) }
            let versions = updates.map { $0.result.expectedVersion ?? 0 }
            let rows = try await connection.query(
                """
                UPDATE aggregates AS a SET state = u.state, version = a.version + 1, updated_at = \(nowMs)
                FROM unnest(\(names)::text[], \(states)::bytea[], \(versions)::int8[]) AS u (key, state, expected)
                WHERE a.entity_key = u.key AND a.version = u.expected
                RETURNING a.entity_key
                """, logger: logger
            ).collect()
            for row in rows { saved.insert(try row.decode(String.self)) }
        }
        // Someone else advanced these entities: give their events back, to be processed on the current state.
        let conflicted = (creates + updates).filter { !saved.contains($0.result.entityKey.rawValue) }
        if !conflicted.isEmpty {
            let ids = conflicted.map(\.result.seq.rawValue)
            try await connection.run(
                "UPDATE events SET status = 0, lease_owner = NULL, lease_until = NULL WHERE seq = ANY(\(ids)::int8[])",
                logger: logger
            )
        }
        let finished = segment.filter { item in
            adopters[item.result.entityKey.rawValue] == nil
                && (item.state == nil || saved.contains(item.result.entityKey.rawValue))
        }
        guard !finished.isEmpty else { return ([], false) }
        var targets: [String] = []
        var entityKeys: [String] = []
        var idempotencyKeys: [String] = []
        var kinds: [String] = []
        var payloads: [ByteBuffer] = []
        var traces: [String] = []
        for item in finished {
            for (command, payload) in item.commands {
                targets.append(command.target.rawValue)
                entityKeys.append(command.entityKey.rawValue)
                idempotencyKeys.append(command.idempotencyKey.rawValue)
                kinds.append(command.payload.kind)
                payloads.append(ByteBuffer(data: payload))
                traces.append(item.result.traceID.rawValue)
            }
        }
        if !targets.isEmpty {
            try await connection.run(
                """
                INSERT INTO commands (target, entity_key, idempotency_key, kind, payload, trace_id, next_attempt_at, created_at)
                SELECT u.target, u.key, u.idem, u.kind, u.payload, u.trace, \(nowMs), \(nowMs)
                FROM unnest(\(targets)::text[], \(entityKeys)::text[], \(idempotencyKeys)::text[], \(kinds)::text[],
                  \(payloads)::bytea[], \(traces)::text[]) WITH ORDINALITY AS u (target, key, idem, kind, payload, trace, ord)
                ORDER BY u.ord
                ON CONFLICT (idempotency_key) DO NOTHING
                """, logger: logger
            )
        }
        let finishSeqs = finished.map(\.result.seq.rawValue)
        let statuses = finished.map { Int64($0.result.status.rawValue) }
        let outcomes = finished.map(\.result.outcome)
        try await connection.run(
            """
            UPDATE events AS e SET status = u.status, outcome = u.outcome, lease_owner = NULL, lease_until = NULL,
              processed_at = \(nowMs)
            FROM unnest(\(finishSeqs)::int8[], \(statuses)::int8[], \(outcomes)::text[]) AS u (seq, status, outcome)
            WHERE e.seq = u.seq
            """, logger: logger
        )
        try await adopt(connection, finished, nowMs: nowMs, logger: logger)
        return (finished.map(\.result.seq), !targets.isEmpty)
    }

    /// Takes the transaction-scoped advisory locks of `keys`, in hash order (so two transactions never wait on each
    /// other in opposite orders).
    private static func lockKeys(_ connection: PostgresConnection, _ keys: [String], logger: Logger) async throws {
        try await connection.run(
            """
            SELECT pg_advisory_xact_lock(h)
            FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(\(keys)::text[]) AS k ORDER BY h) AS s
            """, logger: logger)
    }

    /// Records the aliases the finished results adopt (the first adopter of an alias keeps it), and moves every event
    /// stored under a newly adopted alias to its adopter: processed ones become pending again (processing is
    /// idempotent, and now runs on the right aggregate); ones under a live claim are moved when that claim commits.
    /// The aggregates built under those aliases are dropped. Three statements for the whole segment.
    private static func adopt(_ connection: PostgresConnection, _ finished: [Encoded], nowMs: Int64, logger: Logger)
        async throws
    {
        var aliases: [String] = []
        var adopters: [String] = []
        for item in finished {
            for alias in item.result.adoptedAliases where alias != item.result.entityKey {
                aliases.append(alias.rawValue)
                adopters.append(item.result.entityKey.rawValue)
            }
        }
        guard !aliases.isEmpty else { return }
        let recorded = try await connection.query(
            """
            INSERT INTO aliases (alias, entity_key, created_at)
            SELECT u.alias, u.key, \(nowMs) FROM unnest(\(aliases)::text[], \(adopters)::text[]) WITH ORDINALITY AS u (alias, key, ord)
            ORDER BY u.ord
            ON CONFLICT (alias) DO NOTHING RETURNING alias, entity_key
            """, logger: logger
        ).collect()
        guard !recorded.isEmpty else { return }
        var newAliases: [String] = []
        var newAdopters: [String] = []
        for row in recorded {
            let (alias, key) = try row.decode((String, String).self)
            newAliases.append(alias)
            newAdopters.append(key)
        }
        try await connection.run(
            """
            UPDATE events AS e SET entity_key = u.key,
              status = CASE e.status WHEN 2 THEN 0 ELSE e.status END,
              outcome = CASE e.status WHEN 2 THEN NULL ELSE e.outcome END
            FROM unnest(\(newAliases)::text[], \(newAdopters)::text[]) AS u (alias, key)
            WHERE e.entity_key = u.alias AND e.status <> 1
            """, logger: logger)
        try await connection.run(
            "DELETE FROM aggregates WHERE entity_key = ANY(\(newAliases)::text[])", logger: logger)
    }
}
