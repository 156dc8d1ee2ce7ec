import Foundation
import GRDB
public import Logging
public import WeftCore

/// The embedded store: one SQLite file in WAL mode behind one GRDB `DatabasePool` (one writer connection, pooled
/// readers). Inbox appends from concurrent requests are group-committed. See docs/storage.md.
public final class SQLiteStore: Store {
    let pool: DatabasePool
    /// The database file.
    let path: String
    let logger: Logger
    let appends: GroupCommit<IncomingEvent, AppendResult>
    /// Every other write goes through it, so that appends wait for at most one of them (see `WriteLane`).
    let lane = WriteLane()
    /// Seals payloads on append and opens them on read, when configured.
    let cipher: PayloadCipher?
    let opener: EventPayloadOpener
    /// A directory this store created for itself and removes when it goes away (see `temporary`).
    private let ownedDirectory: String?
    /// Copies the log into the database file off the writer's queue.
    private let checkpointer: WALCheckpointer
    /// With `synchronous: full`, flushes the log before writes are answered, off the writer's thread; `nil` at `normal`.
    let flusher: LogFlusher?

    /// Opens (creating if needed) the store at `path`, sets `synchronous` and verifies it, and applies pending
    /// migrations.
    /// - Parameters:
    ///   - path: the database file; its directory is created if missing.
    ///   - configuration: durability and locking settings.
    ///   - logger: where the store logs (never payloads).
    public convenience init(path: String, configuration: Configuration = .init(), logger: Logger) throws {
        try self.init(path: path, configuration: configuration, logger: logger, ownedDirectory: nil)
    }

    /// A store in a new file in a fresh temporary directory, removed when the store is deinitialised. For tests and
    /// throwaway runs; it behaves exactly like a file store (WAL, group commit, the same `synchronous` check).
    public static func temporary(configuration: Configuration = .init(), logger: Logger) throws -> SQLiteStore {
        try temporary(configuration: configuration, logger: logger, flush: nil)
    }

    /// A temporary store whose flusher flushes the log with `flush` (tests make it fail or wait).
    static func temporary(
        configuration: Configuration = .init(), logger: Logger, flush: (@Sendable (Int32) -> Int32)?
    ) throws -> SQLiteStore {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("weft-store-\(UUID().uuidString)", isDirectory: true).path
        return try SQLiteStore(
            path: directory + "/weft.sqlite", configuration: configuration, logger: logger, ownedDirectory: directory,
            flush: flush)
    }

    private init(
        path: String, configuration: Configuration, logger: Logger, ownedDirectory: String?,
        flush: (@Sendable (Int32) -> Int32)? = nil
    ) throws {
        self.path = path
        self.logger = logger
        self.cipher = configuration.payloadCipher
        self.opener = EventPayloadOpener(cipher: configuration.payloadCipher)
        self.ownedDirectory = ownedDirectory
        var config = GRDB.Configuration()
        config.busyMode = .timeout(Self.seconds(configuration.busyTimeout))
        config.maximumReaderCount = max(1, configuration.maximumReaderCount)
        config.label = "weft"
        let pool: DatabasePool
        do {
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw SQLiteStoreError.open(path, error)
        }
        let level = configuration.synchronous
        do {
            // Migrations commit flushed; after them the writer commits at NORMAL (GRDB's default for a WAL database,
            // set again and verified here) and, at `full`, the flusher flushes the log before writes are answered.
            if configuration.migrates {
                try Self.setSynchronous(pool, "FULL", level: 2)
                try Schema.migrator.migrate(pool)
            }
            try Self.setSynchronous(pool, "NORMAL", level: 1)
            // The writer never checkpoints: `WALCheckpointer` does, on its own connection and thread. A statement that
            // fires the terminal-count triggers keeps a statement journal (the pages it changed, to undo it alone if it
            // fails); in memory, not in a temporary file written through the kernel.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY")
            }
            self.flusher = level == .full ? try LogFlusher(path: path + "-wal", flush: flush ?? LogFlusher.flushFile) : nil
            self.checkpointer = try WALCheckpointer(path: path, configuration: config, logger: logger)
        } catch let error as SQLiteStoreError {
            throw error
        } catch {
            throw SQLiteStoreError.open(path, error)
        }
        self.pool = pool
        self.appends = GroupCommit(writer: pool, flusher: flusher) { db, events in try Self.insertEvents(db, events) }
        logger.debug(
            "opened SQLite store",
            metadata: ["weft.store.path": "\(path)", "weft.store.synchronous": "\(level)"])
    }

    deinit {
        checkpointer.stop()
        guard let ownedDirectory else { return }
        try? pool.close()
        try? FileManager.default.removeItem(atPath: ownedDirectory)
    }

    /// Closes every connection. Any later call fails with an error; closing twice is harmless.
    public func close() throws {
        checkpointer.stop()
        do {
            try pool.close()
        } catch {
            throw SQLiteStoreError.write("close", error)
        }
    }

    /// Sets `PRAGMA synchronous` on the writer and checks that it took.
    private static func setSynchronous(_ pool: DatabasePool, _ value: String, level: Int) throws {
        let actual = try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(value)")
            return try Int.fetchOne(db, sql: "PRAGMA synchronous")
        }
        guard actual == level else {
            throw SQLiteStoreError.configuration(
                "PRAGMA synchronous is \(actual.map(String.init) ?? "unknown"), expected \(level)")
        }
    }

    /// Whether writes are answered only once the log holding them is flushed (`synchronous: full`).
    public var flushesBeforeAnswering: Bool { flusher != nil }

    /// The `synchronous` level in force on the writer connection (2 = FULL, 1 = NORMAL): NORMAL after opening, the
    /// flusher making writes durable at `full`.
    public func synchronousLevel() throws -> Int {
        do {
            return try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
        } catch {
            throw SQLiteStoreError.read("read synchronous level", error)
        }
    }

    /// Runs one checkpoint on the checkpointer's connection now (tests; it runs every 50 ms anyway).
    func checkpointNow() throws -> (logFrames: Int, copiedFrames: Int) { try checkpointer.checkpoint() }

    /// The writer's `wal_autocheckpoint` (0: it never checkpoints).
    func writerAutoCheckpoint() async throws -> Int? {
        try await write { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") }
    }

    /// How many append transactions were run (group commit makes this smaller than the number of appends).
    public var appendTransactions: Int { appends.transactions }

    /// Events still `processing` plus commands still `in_flight` whose lease owner starts with `ownerPrefix`: after a
    /// graceful stop of the node with that prefix this must be zero.
    public func claimsHeld(byOwnerPrefix ownerPrefix: String) async throws -> Int {
        do {
            return try await pool.read { db in
                let events =
                    try Int.fetchOne(
                        db,
                        sql: "SELECT count(*) FROM events WHERE status = 1 AND substr(lease_owner, 1, length(:p)) = :p",
                        arguments: ["p": ownerPrefix]) ?? 0
                let commands =
                    try Int.fetchOne(
                        db,
                        sql: "SELECT count(*) FROM commands WHERE status = 1 AND substr(lease_owner, 1, length(:p)) = :p",
                        arguments: ["p": ownerPrefix]) ?? 0
                return events + commands
            }
        } catch {
            throw SQLiteStoreError.read("count claims held", error)
        }
    }

    /// The payload column exactly as stored, in arrival order (tests check encryption at rest with it).
    func storedPayloads() async throws -> [Data] {
        try await pool.read { db in try Data.fetchAll(db, sql: "SELECT payload FROM events ORDER BY seq") }
    }

    /// Runs raw SQL on the writer (tests inject faults with it, e.g. a trigger that fails one insert).
    func execute(sql: String) async throws {
        try await write { db in try db.execute(sql: sql) }
    }
}
