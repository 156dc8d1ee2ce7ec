import Foundation
public import Logging
import NIOCore
import PostgresNIO
import Synchronization
public import WeftCore

/// The store for many nodes: one PostgreSQL database shared by every Weft node. Claims take rows with
/// `FOR UPDATE SKIP LOCKED` under leases, so nodes never hand out the same work and a dead node's claims expire to the
/// others; inbox appends from concurrent requests are group-committed into one multi-row insert; commits notify the
/// other nodes (`LISTEN`/`NOTIFY`) so idle workers wake at once. See docs/operations/scale-out.md.
public final class PostgresStore: Store, Sendable {
    /// Settings besides the URL.
    public struct Configuration: Sendable {
        /// Connections this node opens at most.
        public var maximumConnections: Int
        /// `true`: apply pending migrations when opening (under the migration lock); `false`: refuse to open a schema
        /// that is behind (run `weft migrate` first).
        public var applyMigrations: Bool
        /// Seals payloads on append and opens them on read, when set.
        public var payloadCipher: PayloadCipher?
        /// How long one store operation may wait for a connection and its answer before it fails as `unavailable`
        /// (ingress then answers 503 and the sender retries), instead of hanging while the database is away.
        public var operationTimeout: Duration

        public init(
            maximumConnections: Int = 16, applyMigrations: Bool = true, payloadCipher: PayloadCipher? = nil,
            operationTimeout: Duration = .seconds(10)
        ) {
            self.maximumConnections = maximumConnections
            self.applyMigrations = applyMigrations
            self.payloadCipher = payloadCipher
            self.operationTimeout = operationTimeout
        }
    }

    let client: PostgresClient
    let logger: Logger
    let cipher: PayloadCipher?
    let opener: EventPayloadOpener
    let appends: AppendBatcher
    let operationTimeout: Duration
    /// Where the store's connection pool runs; cancelled by `close()`.
    private let runner: Task<Void, Never>
    private let closed = Mutex(false)
    /// The URL without its password.
    public let redactedURL: String

    /// Connects to the database at `url`, checks it answers, and applies (or, with `applyMigrations` off, checks)
    /// the migrations.
    public static func open(url: String, configuration: Configuration = .init(), logger: Logger) async throws
        -> PostgresStore
    {
        let parsed = try PostgresURL(url)
        let store = PostgresStore(url: parsed, configuration: configuration, logger: logger)
        do {
            // Fail fast with the connection error when the server cannot be reached (the pool would keep retrying).
            do {
                let probe = try await PostgresConnection.connect(
                    configuration: parsed.connectionConfiguration(), id: 0, logger: logger)
                try await probe.close()
            } catch {
                throw Self.failure(error, unavailable: "connect to \(parsed.redacted)")
            }
            if configuration.applyMigrations {
                _ = try await store.migrate()
            } else {
                let status = try await store.migrationStatus()
                if !status.unknown.isEmpty { throw PostgresStoreError.schemaAhead(status.unknown) }
                if !status.pending.isEmpty { throw PostgresStoreError.schemaBehind(status.pending) }
            }
        } catch {
            store.close()
            throw error
        }
        logger.debug("opened PostgreSQL store", metadata: ["weft.store.url": "\(parsed.redacted)"])
        return store
    }

    /// A store on the database at `url` without applying or checking migrations: for `weft migrate` and tools that
    /// look at the schema itself.
    public static func connect(url: String, configuration: Configuration = .init(), logger: Logger) throws -> PostgresStore {
        PostgresStore(url: try PostgresURL(url), configuration: configuration, logger: logger)
    }

    private init(url: PostgresURL, configuration: Configuration, logger: Logger) {
        let client = PostgresClient(
            configuration: url.clientConfiguration(maximumConnections: max(2, configuration.maximumConnections)),
            backgroundLogger: logger)
        self.client = client
        self.logger = logger
        self.cipher = configuration.payloadCipher
        self.opener = EventPayloadOpener(cipher: configuration.payloadCipher)
        self.redactedURL = url.redacted
        self.operationTimeout = configuration.operationTimeout
        self.runner = Task { await client.run() }
        self.appends = AppendBatcher(client: client, logger: logger, timeout: configuration.operationTimeout)
    }

    deinit { runner.cancel() }

    /// Whether `close()` was called.
    var isClosed: Bool { closed.withLock { $0 } }

    /// Closes the connection pool. Later calls fail; closing twice is harmless.
    public func close() {
        let first = closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        if first { runner.cancel() }
    }

    // MARK: Migrations

    /// Which migrations this version knows that the database has not applied, and which the database has that this
    /// version does not know.
    public func migrationStatus() async throws -> (pending: [String], unknown: [String]) {
        let logger = logger
        let names: [String]
        do {
            // Under the migration lock: nodes starting together on an empty database would otherwise race to create
            // the bookkeeping table.
            names = try await client.withTransaction(logger: logger) { connection -> [String] in
                try await connection.run("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))", logger: logger)
                try await connection.run(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at bigint NOT NULL)",
                    logger: logger)
                return try await connection.query("SELECT name FROM schema_migrations", logger: logger).collect().map {
                    try $0.decode(String.self)
                }
            }
        } catch {
            throw Self.failure(error, read: "read the schema version")
        }
        let applied = Set(names)
        let known = PostgresSchema.migrations.map(\.name)
        return (known.filter { !applied.contains($0) }, applied.subtracting(known).sorted())
    }

    /// Applies the pending migrations in order, each in its own transaction under the migration advisory lock (so
    /// concurrent runners apply each exactly once). Safe while other nodes are running.
    /// - Returns: the names of the migrations this call applied.
    @discardableResult
    public func migrate() async throws -> [String] {
        let status = try await migrationStatus()
        if !status.unknown.isEmpty { throw PostgresStoreError.schemaAhead(status.unknown) }
        var applied: [String] = []
        for migration in PostgresSchema.migrations where status.pending.contains(migration.name) {
            do {
                let ran = try await client.withTransaction(logger: logger) { connection -> Bool in
                    try await connection.run(
                        "SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))", logger: logger
                    )
                    let done = try await connection.query(
                        "SELECT 1 FROM schema_migrations WHERE name = \(migration.name)", logger: logger
                    ).collect()
                    guard done.isEmpty else { return false }
                    // The extended protocol runs one statement per query: a migration's statements run one by one, all
                    // in this transaction.
                    for statement in PostgresSchema.statements(of: migration.sql) {
                        try await connection.run(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.run(
                        "INSERT INTO schema_migrations (name, applied_at) VALUES (\(migration.name), \(StoreInstant.millis(Date())))",
                        logger: logger
                    )
                    return true
                }
                if ran {
                    applied.append(migration.name)
                    logger.info("applied migration", metadata: ["weft.migration": "\(migration.name)"])
                }
            } catch {
                throw Self.failure(error, write: "apply migration \(migration.name)")
            }
        }
        return applied
    }

    // MARK: Helpers

    /// Runs `body` in one transaction on a pooled connection. A transaction the database rolled back as a deadlock's
    /// victim or a serialization failure runs again (see `retryingRollbacks`).
    func transaction<Result: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            let client = client
            let logger = logger
            return try await Self.bounded(operationTimeout, operation) {
                try await Self.retryingRollbacks(operation, logger: logger) {
                    try await client.withTransaction(logger: logger) { connection -> Result in try await body(connection) }
                }
            }
        } catch let error as PostgresStoreError {
            throw error
        } catch {
            throw Self.failure(error, write: operation)
        }
    }

    /// Runs one statement outside a transaction and collects its rows.
    func rows(_ operation: String, _ query: PostgresQuery) async throws -> [PostgresRow] {
        do {
            let client = client
            let logger = logger
            return try await Self.bounded(operationTimeout, operation) { try await client.query(query, logger: logger).collect() }
        } catch {
            throw Self.failure(error, read: operation)
        }
    }

    /// Runs one writing statement outside a transaction and collects its rows. A statement the database rolled back as
    /// a deadlock's victim runs again (see `retryingRollbacks`).
    @discardableResult
    func write(_ operation: String, _ query: PostgresQuery) async throws -> [PostgresRow] {
        do {
            let client = client
            let logger = logger
            return try await Self.bounded(operationTimeout, operation) {
                try await Self.retryingRollbacks(operation, logger: logger) { try await client.query(query, logger: logger).collect() }
            }
        } catch {
            throw Self.failure(error, write: operation)
        }
    }

    /// Runs `body`, failing with `unavailable` when it takes longer than `timeout` (it is cancelled: a wait for a
    /// connection ends; a statement already sent may still complete, which every caller tolerates since an
    /// unanswered write is retried by its sender and every write is idempotent).
    static func bounded<T: Sendable>(
        _ timeout: Duration, _ operation: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        // Not a task group: a group waits for all its children, and a wait for a pooled connection may not end
        // promptly on cancellation. The loser is cancelled and left to finish on its own.
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation)
                race.add(Task { await race.finish(catching: body) })
                race.add(
                    Task {
                        try? await Task.sleep(for: timeout)
                        race.finish(.failure(PostgresStoreError.unavailable(operation, "no answer within \(timeout)")))
                    })
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }

    /// Runs `body` again, up to three times in all, when the database rolled it back as a deadlock's victim (40P01) or
    /// a serialization failure (40001). Such a statement or transaction had no effect, and running it again is what
    /// PostgreSQL's documentation asks of the client. The rows' lock order is kept the same in every statement that
    /// takes several (ascending ids), so this is the exception: a lock order missed, or one of PostgreSQL's own.
    static func retryingRollbacks<T: Sendable>(
        _ operation: String, logger: Logger, _ body: @Sendable () async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await body()
            } catch  where attempt < 3 && isRolledBackConflict(error) {
                logger.warning(
                    "store statement rolled back by a conflict; running it again",
                    metadata: ["weft.operation": "\(operation)", "weft.error": "\(detail(error))", "weft.attempt": "\(attempt)"])
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int64.random(in: 5...50) * Int64(attempt)))
            }
        }
    }

    /// The database rolled the statement or transaction back because of another one: a deadlock or a serialization
    /// failure.
    static func isRolledBackConflict(_ error: any Error) -> Bool {
        if let error = error as? PostgresTransactionError {
            guard let inner = error.closureError ?? error.beginError ?? error.commitError else { return false }
            return isRolledBackConflict(inner)
        }
        guard let state = (error as? PSQLError)?.serverInfo?[.sqlState] else { return false }
        return state == "40P01" || state == "40001"
    }

    /// The database's own message and SQLSTATE, never the query's bound values (they hold payloads).
    static func detail(_ error: any Error) -> String {
        if let error = error as? PostgresTransactionError {
            if let inner = error.closureError ?? error.beginError ?? error.commitError { return detail(inner) }
            return "transaction failed"
        }
        if let error = error as? PSQLError {
            if let server = error.serverInfo {
                let message = server[.message] ?? "error"
                let code = server[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return message + code
            }
            return "\(error.code)"
        }
        if error is CancellationError { return "cancelled" }
        return "\(type(of: error))"
    }

    /// Connection problems are `unavailable` (the caller retries or answers 503); the rest keep their operation.
    static func failure(_ error: any Error, read operation: String? = nil, write: String? = nil, unavailable: String? = nil)
        -> PostgresStoreError
    {
        if let error = error as? PostgresStoreError { return error }
        if let error = error as? PostgresTransactionError,
            let inner = error.closureError ?? error.beginError ?? error.commitError
        {
            return failure(inner, read: operation, write: write, unavailable: unavailable)
        }
        let detail = detail(error)
        if let error = error as? PSQLError, error.serverInfo == nil {
            return .unavailable(operation ?? write ?? unavailable ?? "query", detail)
        }
        if let unavailable { return .unavailable(unavailable, detail) }
        if let write { return .write(write, detail) }
        return .read(operation ?? "query", detail)
    }
}

extension PostgresConnection {
    /// Runs a statement whose rows (if any) are not needed, waiting until it completed.
    func run(_ query: PostgresQuery, logger: Logger) async throws {
        _ = try await self.query(query, logger: logger).collect()
    }
}
