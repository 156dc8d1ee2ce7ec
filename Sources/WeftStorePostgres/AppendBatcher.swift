import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import PostgresNIO
import Synchronization
import WeftCore

/// Group commit for inbox appends on PostgreSQL.
///
/// Callers queue their events and await (or pass a completion, called from the drain's task). The caller that finds no drain running starts one; the drain takes everything
/// queued (up to `maximumBatch` events), writes it with one multi-row `INSERT … SELECT FROM unnest(…)` statement (its
/// own transaction, one round trip, one WAL flush) and answers every caller of the batch, then takes what queued
/// meanwhile, until the queue is empty. No timer: a lone request commits at once. A failed statement fails every
/// caller of its batch, and nothing of it is stored.
final class AppendBatcher: Sendable {
    typealias Completion = @Sendable (Result<[AppendResult], any Error>) -> Void

    private struct Waiter {
        var events: [IncomingEvent]
        var completion: Completion
    }

    private struct State {
        var queue: [Waiter] = []
        var draining = false
        var transactions = 0
    }

    static let maximumBatch = 512

    private let client: PostgresClient
    private let logger: Logger
    private let timeout: Duration
    private let state = Mutex(State())

    init(client: PostgresClient, logger: Logger, timeout: Duration) {
        self.client = client
        self.logger = logger
        self.timeout = timeout
    }

    /// How many batch statements were run so far.
    var transactions: Int { state.withLock { $0.transactions } }

    func submit(_ events: [IncomingEvent]) async throws -> [AppendResult] {
        guard !events.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            submit(events) { continuation.resume(with: $0) }
        }
    }

    /// Queues `events` and calls `completion` once the statement holding them has committed or failed. It must return
    /// quickly: the next batch waits for it.
    func submit(_ events: [IncomingEvent], completion: @escaping Completion) {
        guard !events.isEmpty else { return completion(.success([])) }
        let start = state.withLock { state -> Bool in
            state.queue.append(Waiter(events: events, completion: completion))
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
        if start { Task { await self.drain() } }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state -> [Waiter]? in
                guard !state.queue.isEmpty else {
                    state.draining = false
                    return nil
                }
                var taken = 0
                var count = 0
                while taken < state.queue.count && (taken == 0 || count + state.queue[taken].events.count <= Self.maximumBatch) {
                    count += state.queue[taken].events.count
                    taken += 1
                }
                let batch = Array(state.queue[..<taken])
                state.queue.removeFirst(taken)
                state.transactions += 1
                return batch
            }
            guard let batch else { return }
            do {
                let results = try await insert(batch.flatMap(\.events))
                var start = 0
                for waiter in batch {
                    let end = start + waiter.events.count
                    waiter.completion(.success(Array(results[start..<end])))
                    start = end
                }
            } catch {
                for waiter in batch { waiter.completion(.failure(error)) }
            }
        }
    }

    /// Inserts the batch in one statement and notifies `weft_events` when anything was stored. Duplicates within the
    /// batch are found here (the first is inserted), duplicates of stored events by the unique index.
    private func insert(_ events: [IncomingEvent]) async throws -> [AppendResult] {
        var firstIndex: [String: Int] = [:]
        var unique: [Int] = []
        for (index, event) in events.enumerated() {
            let key = event.system.rawValue + "\u{0}" + event.eventID.rawValue
            if firstIndex[key] == nil {
                firstIndex[key] = index
                unique.append(index)
            }
        }
        var systems: [String] = []
        var ids: [String] = []
        var types: [String] = []
        var keys: [String] = []
        var occurred: [Int64] = []
        var received: [Int64] = []
        var payloads: [ByteBuffer] = []
        var traces: [String] = []
        var order: [Int64] = []
        for index in unique {
            let event = events[index]
            systems.append(event.system.rawValue)
            ids.append(event.eventID.rawValue)
            types.append(event.type)
            keys.append(event.entityKey.rawValue)
            occurred.append(StoreInstant.millis(event.occurredAt))
            received.append(StoreInstant.millis(event.receivedAt))
            payloads.append(ByteBuffer(data: event.payload))
            traces.append(event.traceID.rawValue)
            order.append(Int64(index))
        }
        // An event sent under a provisional key that an entity has adopted is stored under that entity.
        let query: PostgresQuery = """
            WITH input AS (
              SELECT * FROM unnest(\(systems)::text[], \(ids)::text[], \(types)::text[], \(keys)::text[],
                \(occurred)::int8[], \(received)::int8[], \(payloads)::bytea[], \(traces)::text[], \(order)::int8[])
                AS u (system, event_id, type, entity_key, occurred_at, received_at, payload, trace_id, ord)),
            stored AS (
              INSERT INTO events (system, event_id, type, entity_key, occurred_at, received_at, payload, trace_id)
              SELECT i.system, i.event_id, i.type, coalesce(a.entity_key, i.entity_key), i.occurred_at, i.received_at,
                i.payload, i.trace_id
              FROM input AS i LEFT JOIN aliases AS a ON a.alias = i.entity_key
              ORDER BY i.ord
              ON CONFLICT (system, event_id) DO NOTHING
              RETURNING seq, system, event_id)
            SELECT s.seq, s.system, s.event_id
            FROM stored AS s, (SELECT pg_notify('weft_events', '') WHERE EXISTS (SELECT 1 FROM stored)) AS n
            """
        let rows: [PostgresRow]
        do {
            let client = client
            let logger = logger
            rows = try await PostgresStore.bounded(timeout, "inbox append") {
                try await client.query(query, logger: logger).collect()
            }
        } catch {
            throw PostgresStore.failure(error, write: "inbox append")
        }
        var results = [AppendResult](repeating: .duplicate, count: events.count)
        for row in rows {
            let (seq, system, eventID) = try row.decode((Int64, String, String).self)
            if let index = firstIndex[system + "\u{0}" + eventID] { results[index] = .stored(EventSeq(seq)) }
        }
        return results
    }
}
