public import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import PostgresNIO
public import WeftCore

extension PostgresStore {
    /// Appends through the group commit: this call's events share one statement with whatever other callers queued
    /// meanwhile. Duplicates, also within one call or one batch, are reported and not stored.
    public func append(_ events: [IncomingEvent]) async throws -> [AppendResult] {
        try await appends.submit(sealed(events))
    }

    /// The same group commit, answered from its drain: no task per call.
    public func append(
        _ events: [IncomingEvent], completion: @escaping @Sendable (Result<[AppendResult], any Error>) -> Void
    ) {
        do {
            appends.submit(try sealed(events), completion: completion)
        } catch {
            completion(.failure(error))
        }
    }

    /// `events` with their payloads sealed when the store encrypts them.
    private func sealed(_ events: [IncomingEvent]) throws -> [IncomingEvent] {
        guard let cipher else { return events }
        do {
            return try cipher.sealPayloads(events)
        } catch {
            throw PostgresStoreError.encoding("seal an event payload", "\(error)")
        }
    }

    /// How many append statements were run (group commit makes this smaller than the number of appends).
    public var appendTransactions: Int { appends.transactions }

    static let eventColumns =
        "seq, system, event_id, type, entity_key, occurred_at, received_at, payload, trace_id, status, attempts, outcome"

    static func event(_ row: PostgresRow) throws -> InboxEvent {
        let (seq, system, eventID, type, key, occurred, received, payload, trace, status, attempts, outcome) =
            try row.decode(
                (Int64, String, String, String, String, Int64, Int64, ByteBuffer, String, Int16, Int32, String?).self)
        return InboxEvent(
            seq: EventSeq(seq), system: SystemName(rawValue: system), eventID: SourceEventID(eventID), type: type,
            entityKey: EntityKey(key), occurredAt: StoreInstant.date(occurred), receivedAt: StoreInstant.date(received),
            payload: Data(buffer: payload), traceID: TraceID(trace), status: EventStatus(rawValue: Int(status)) ?? .pending,
            attempts: Int(attempts), outcome: outcome)
    }

    /// Claims the head of each entity key's unfinished events (earliest by occurred-at, then seq) when it is pending or
    /// its lease expired, and no other event of that key is under a live lease. Rows another node is claiming at the
    /// same moment are skipped (`SKIP LOCKED`), never waited for. Oldest arrivals first. Counts an attempt per claim.
    ///
    /// Two steps in one statement: the claimable heads are found by a plain read (no row locks, so a long backlog
    /// whose first rows other nodes are claiming is never walked under `FOR UPDATE`, where every row changed since the
    /// statement began is re-checked); then at most `limit` of those candidates are locked, re-checked against their
    /// latest version, and leased. Locking while scanning a backlog of thousands, with a dozen claimers on three nodes,
    /// kept claims running for a minute and stalled every commit and lease renewal queued behind their row locks.
    ///
    /// The per-entity checks are never `NOT EXISTS`: PostgreSQL turns `NOT EXISTS` into an anti join whose strategy
    /// follows the statistics, and a queue's statistics are stale by nature (analysed while the backlog was empty, it
    /// estimates one row and picks a nested loop that rescans every unfinished row per candidate: 5 s instead of 3 ms
    /// for 300 candidates over 18,000 rows). The heads come from one ordered pass over the unfinished events
    /// (`DISTINCT ON`, a sort in memory: 4 ms for 2,000 unfinished rows where a probe per row took 15 ms), and the
    /// leased keys (what is in flight: a few hundred at most) are read once into a hashed `NOT IN`. A head that is
    /// itself under a live lease is excluded by the first condition, so any live lease the `NOT IN` finds for its key
    /// is another event's (one that occurred later but was claimed before this one arrived).
    public func claimEvents(limit: Int, owner: String, lease: Duration, now: Date) async throws -> [InboxEvent] {
        guard limit > 0 else { return [] }
        let nowMs = StoreInstant.millis(now)
        let until = nowMs + StoreInstant.millis(lease)
        let limit64 = Int64(limit)
        let candidates = Self.claimCandidates(limit)
        let rows = try await write(
            "claim events",
            """
            WITH heads AS (
              SELECT DISTINCT ON (h.entity_key) h.seq, h.entity_key, h.status, h.lease_until FROM events AS h
              WHERE h.status IN (0, 1) ORDER BY h.entity_key, h.occurred_at, h.seq),
            candidates AS MATERIALIZED (
              SELECT e.seq FROM heads AS e
              WHERE (e.status = 0 OR e.lease_until < \(nowMs))
                AND e.entity_key NOT IN (
                  SELECT q.entity_key FROM events AS q WHERE q.status = 1 AND q.lease_until >= \(nowMs))
              ORDER BY e.seq LIMIT \(candidates)),
            picked AS (
              SELECT e.seq FROM events AS e
              WHERE e.seq IN (SELECT seq FROM candidates)
                AND e.status IN (0, 1) AND (e.status = 0 OR e.lease_until < \(nowMs))
              ORDER BY e.seq LIMIT \(limit64)
              FOR UPDATE OF e SKIP LOCKED)
            UPDATE events AS t SET status = 1, lease_owner = \(owner), lease_until = \(until), attempts = t.attempts + 1
            FROM picked WHERE t.seq = picked.seq
            RETURNING t.seq, t.system, t.event_id, t.type, t.entity_key, t.occurred_at, t.received_at, t.payload,
              t.trace_id, t.status, t.attempts, t.outcome
            """)
        let claimed = try rows.map(Self.event).sorted { $0.seq < $1.seq }
        return try await opened(claimed, owner: owner)
    }

    /// How many claimable rows a claim of `limit` reads before locking: enough that claimers on other nodes taking the
    /// first ones at the same moment still leave this one a full batch.
    static func claimCandidates(_ limit: Int) -> Int64 { Int64(max(limit * 3, limit + 64)) }

    /// Opens the payloads of claimed events. An event whose payload cannot be opened is not handed out: it is kept
    /// as failed with the reason (e.g. its key is not configured), for an operator to fix and replay.
    func opened(_ claimed: [InboxEvent], owner: String) async throws -> [InboxEvent] {
        let (ready, unreadable) = opener.openClaimed(claimed)
        guard !unreadable.isEmpty else { return ready }
        logger.error(
            "event payloads cannot be opened; kept as failed",
            metadata: ["weft.events": "\(unreadable.count)", "weft.reason": "\(unreadable[0].reason)"])
        let seqs = unreadable.map(\.seq.rawValue)
        let reasons = unreadable.map(\.reason)
        let nowMs = StoreInstant.millis(Date())
        try await write(
            "keep unreadable events as failed",
            """
            UPDATE events AS e SET status = 3, outcome = u.reason, lease_owner = NULL, lease_until = NULL,
              processed_at = \(nowMs)
            FROM unnest(\(seqs)::int8[], \(reasons)::text[]) AS u (seq, reason)
            WHERE e.seq = u.seq AND e.status = 1 AND e.lease_owner = \(owner)
            """)
        return ready
    }

    public func loadAggregates(_ keys: [EntityKey], known: [EntityKey: Int64]) async throws -> AggregateLoad {
        guard !keys.isEmpty else { return AggregateLoad() }
        let names = keys.map(\.rawValue)
        // Versions start at 1: 0 means "not held".
        let held = keys.map { known[$0] ?? 0 }
        let rows = try await self.rows(
            "load aggregates",
            """
            SELECT a.entity_key, a.version, CASE WHEN a.version = k.known THEN NULL ELSE a.state END
            FROM unnest(\(names)::text[], \(held)::int8[]) AS k (key, known)
            JOIN aggregates AS a ON a.entity_key = k.key
            """)
        var result = AggregateLoad()
        for row in rows {
            let (name, version, state) = try row.decode((String, Int64, ByteBuffer?).self)
            let key = EntityKey(name)
            guard let state else {
                result.unchanged.insert(key)
                continue
            }
            guard let aggregate = try? Aggregate(canonicalJSON: Data(buffer: state)) else {
                throw PostgresStoreError.corrupt("the aggregate of an entity key cannot be read by this version")
            }
            result.loaded[key] = StoredAggregate(aggregate: aggregate, version: version)
        }
        return result
    }

    /// Locks the rows by ascending seq, as `commitProcessed` does: a commit whose answer the pipeline stopped waiting
    /// for may still be running when the batch is given back.
    public func releaseEvents(_ seqs: [EventSeq], owner: String) async throws {
        guard !seqs.isEmpty else { return }
        let ids = seqs.map(\.rawValue)
        try await write(
            "release events",
            """
            WITH held AS (
              SELECT seq FROM events WHERE seq = ANY(\(ids)::int8[]) AND status = 1 AND lease_owner = \(owner)
              ORDER BY seq FOR UPDATE)
            UPDATE events AS e SET status = 0, lease_owner = NULL, lease_until = NULL FROM held WHERE e.seq = held.seq
            """)
        try await write("notify", "SELECT pg_notify('weft_events', '')")
    }
}
