public import Foundation
import Logging
import PostgresNIO
public import WeftCore

extension PostgresStore: ClusterCoordination {
    /// The advisory-lock key of a job: FNV-1a over its name, fixed forever (nodes of different versions must agree).
    static func lockKey(_ job: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "weft.job.\(job)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    /// Leadership is a session-level advisory lock held on a connection leased for as long as this node leads: when
    /// the node dies its connection closes and PostgreSQL releases the lock, so another node's next try takes it. The
    /// same connection is checked every `retryEvery`; a failed check cancels `body`.
    public func lead(_ job: String, retryEvery: Duration, body: @escaping @Sendable () async throws -> Void) async throws {
        let key = Self.lockKey(job)
        let logger = logger
        while true {
            try Task.checkCancellation()
            if isClosed { throw PostgresStoreError.unavailable("lead \(job)", "the store is closed") }
            let finished: Bool
            do {
                finished = try await client.withConnection { connection -> Bool in
                    let rows = try await connection.query("SELECT pg_try_advisory_lock(\(key))", logger: logger).collect()
                    guard try rows.first?.decode(Bool.self) == true else { return false }
                    logger.info("leading job", metadata: ["weft.job": "\(job)"])
                    defer { logger.info("no longer leading job", metadata: ["weft.job": "\(job)"]) }
                    let outcome = try await withThrowingTaskGroup(of: Bool.self) { group in
                        group.addTask {
                            try await body()
                            return true
                        }
                        group.addTask {
                            // Leadership holds as long as the connection holding the lock answers (a connection
                            // closed under us may never answer: bounded, by at least a second, so that a busy
                            // machine's slow answer does not drop and retake the lead).
                            let bound = max(retryEvery * 4, .seconds(1))
                            while true {
                                try await Task.sleep(for: retryEvery)
                                try await Self.bounded(bound, "check leadership of \(job)") {
                                    try await connection.run("SELECT 1", logger: logger)
                                }
                            }
                        }
                        defer { group.cancelAll() }
                        return try await group.next() ?? false
                    }
                    try await connection.run("SELECT pg_advisory_unlock(\(key))", logger: logger)
                    return outcome
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                logger.warning(
                    "lost or could not take leadership; will try again",
                    metadata: ["weft.job": "\(job)", "weft.error": "\(Self.detail(error))"])
                finished = false
            }
            if finished { return }
            try await Task.sleep(for: retryEvery)
        }
    }

    /// One connection listens on `weft_events` and `weft_commands`; it reconnects after a failure.
    public func listen(events: @escaping @Sendable () -> Void, commands: @escaping @Sendable () -> Void) async throws {
        let logger = logger
        while true {
            try Task.checkCancellation()
            if isClosed { throw PostgresStoreError.unavailable("listen", "the store is closed") }
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: "weft_events") { eventNotes in
                        try await connection.listen(on: "weft_commands") { commandNotes in
                            // Whatever was sent while not listening is lost: look once.
                            events()
                            commands()
                            try await withThrowingTaskGroup(of: Void.self) { group in
                                group.addTask { for try await _ in eventNotes { events() } }
                                group.addTask { for try await _ in commandNotes { commands() } }
                                defer { group.cancelAll() }
                                try await group.next()
                            }
                        }
                    }
                }
            } catch {
                if Task.isCancelled { throw CancellationError() }
                logger.warning(
                    "lost the notification connection; reconnecting", metadata: ["weft.error": "\(Self.detail(error))"])
            }
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// One row per bucket, refilled from the database's clock (`clock_timestamp()`), so nodes whose clocks disagree
    /// still share one rate; the row lock serialises takers. A taker always gets a token: when none is left the bucket
    /// goes into debt and the taker is told how long to wait before using it, so the tokens handed out are spaced
    /// `1 / rate` apart and every request costs one statement (asking again and again while the bucket is empty
    /// would flood the database from every node at once). The clock is read before the row lock is granted, so a
    /// taker that waited may hold an instant older than the row's: the refill never runs backwards (`greatest(…)`),
    /// or the time between the two instants would be credited twice.
    public func takeToken(bucket: String, perSecond: Double, burst: Int) async throws -> Duration? {
        let capacity = Double(max(1, burst))
        let rows = try await write(
            "take a rate token",
            """
            WITH now AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::int8 AS ms),
            seeded AS (
              INSERT INTO rate_buckets (target, tokens, updated_at) SELECT \(bucket), \(capacity), now.ms FROM now
              ON CONFLICT (target) DO NOTHING),
            current AS (
              SELECT b.target, least(\(capacity), b.tokens + greatest(0, now.ms - b.updated_at) * \(perSecond) / 1000.0)
                AS available, b.paused_until, greatest(now.ms, b.updated_at) AS ms
              FROM rate_buckets AS b, now WHERE b.target = \(bucket) FOR UPDATE OF b)
            UPDATE rate_buckets AS r SET tokens = c.available - 1, updated_at = c.ms
            FROM current AS c, now WHERE r.target = c.target
            RETURNING c.available - 1, c.ms - now.ms
            """)
        guard let row = rows.first else {
            // The bucket row was created by this very statement (a CTE cannot see its own insert): ask again.
            return try await takeToken(bucket: bucket, perSecond: perSecond, burst: burst)
        }
        // `ahead`: how far the bucket's clock is ahead of now (a pause moved it to the pause's end); the debt is paid
        // from there, so tokens taken during a pause are spaced after it, not all handed out as it ends.
        let (after, ahead) = try row.decode((Double, Int64).self)
        let debt = after < 0 ? -after / max(perSecond, 0.000_001) : 0
        let wait = Double(max(0, ahead)) / 1000 + debt
        return wait > 0 ? .milliseconds(Int64((wait * 1000).rounded(.up))) : nil
    }

    public func pause(bucket: String, for duration: Duration) async throws {
        let millis = StoreInstant.millis(duration)
        try await write(
            "pause a rate bucket",
            """
            WITH resume AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::int8 + \(millis) AS ms)
            UPDATE rate_buckets
            SET paused_until = greatest(paused_until, resume.ms), updated_at = greatest(updated_at, resume.ms),
              tokens = least(tokens, 1)
            FROM resume WHERE target = \(bucket)
            """)
    }

    public func prune(before: Date, limit: Int) async throws -> PruneCounts {
        guard limit > 0 else { return PruneCounts() }
        let cutoff = StoreInstant.millis(before)
        let limit64 = Int64(limit)
        let events = try await write(
            "prune events",
            """
            DELETE FROM events WHERE seq IN (
              SELECT seq FROM events WHERE status = 2 AND processed_at < \(cutoff)
              ORDER BY processed_at LIMIT \(limit64) FOR UPDATE SKIP LOCKED)
            RETURNING seq
            """)
        let commands = try await write(
            "prune commands",
            """
            DELETE FROM commands WHERE id IN (
              SELECT id FROM commands
              WHERE status = 2 AND delivered_at < \(cutoff) AND NOT \(unescaped: OutboxSQL.supersedesDead)
              ORDER BY delivered_at LIMIT \(limit64) FOR UPDATE SKIP LOCKED)
            RETURNING id
            """)
        // The deletions above appended as many changes to the terminal counts; fold them while we lead.
        try await foldTerminalCounts()
        return PruneCounts(events: events.count, commands: commands.count)
    }
}
