import Foundation
import GRDB
import Logging
import PostgresNIO
import Testing
import WeftCore

@testable import WeftStorePostgres
@testable import WeftStoreSQLite

/// A store under test, with what the conformance suite needs to see beyond the `Store` protocol.
struct StoreUnderTest: Sendable {
    let store: any Store
    /// How many append transactions the store ran so far (to see group commit at work).
    let appendTransactions: @Sendable () -> Int
    /// Runs one SQL statement on the store's database, behind its back (to leave rows an older or newer Weft left).
    let execute: @Sendable (String) async throws -> Void
    /// Runs a query of `(key text, n integer)` rows on the store's database and returns them as a dictionary (to
    /// count rows the slow way and compare with what the store reports).
    let counts: @Sendable (String) async throws -> [String: Int]
    /// Opens another store on the same database, applying the migrations it does not have yet.
    let reopen: @Sendable () async throws -> any Store
    /// SQL that takes the `terminal-counts` migration back out, as if an older Weft had written the database.
    let undoTerminalCounts: String
}

/// Makes a fresh, empty store. The conformance suite runs every test once per factory in `all`: SQLite always,
/// PostgreSQL when `WEFT_TEST_DATABASE_URL` names a server (scripts/test starts one; without it the PostgreSQL cases
/// are left out, so `swift test` on a machine without PostgreSQL still passes).
struct StoreFactory: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable () async throws -> StoreUnderTest

    var testDescription: String { name }

    static let sqlite = StoreFactory(name: "SQLite") {
        let store = try SQLiteStore.temporary(logger: Logger(label: "weft.test.store"))
        return StoreUnderTest(
            store: store, appendTransactions: { store.appendTransactions },
            execute: { sql in try await store.pool.write { try $0.execute(sql: sql) } },
            counts: { sql in
                try await store.pool.read { db in
                    Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: sql).map { ($0[0] as String, $0[1] as Int) })
                }
            },
            // The first store stays open (it owns the temporary directory); SQLite lets both use the file.
            reopen: { try SQLiteStore(path: store.path, logger: Logger(label: "weft.test.store")) },
            undoTerminalCounts: """
                DROP TRIGGER events_done_inserted; DROP TRIGGER events_done_changed; DROP TRIGGER events_done_deleted;
                DROP TRIGGER commands_terminal_inserted; DROP TRIGGER commands_terminal_changed;
                DROP TRIGGER commands_terminal_deleted; DROP TABLE terminal_counts;
                DELETE FROM grdb_migrations WHERE identifier = 'v7-terminal-counts';
                """)
    }

    /// Each store gets a database of its own (`weft_test_…`) on the test server.
    static let postgres = StoreFactory(name: "PostgreSQL") {
        let url = try await TestDatabase.create()
        let store = try await PostgresStore.open(
            url: url, configuration: .init(maximumConnections: 4), logger: Logger(label: "weft.test.store"))
        return StoreUnderTest(
            store: store, appendTransactions: { store.appendTransactions },
            execute: { sql in _ = try await store.rows("test statement", PostgresQuery(unsafeSQL: sql)) },
            counts: { sql in
                Dictionary(
                    uniqueKeysWithValues: try await store.rows("test count", PostgresQuery(unsafeSQL: sql)).map { row in
                        let (key, count) = try row.decode((String, Int64).self)
                        return (key, Int(count))
                    })
            },
            reopen: {
                try await PostgresStore.open(
                    url: url, configuration: .init(maximumConnections: 4), logger: Logger(label: "weft.test.store"))
            },
            undoTerminalCounts: """
                DROP TABLE terminal_counts; DROP TABLE terminal_count_changes;
                DROP FUNCTION weft_count_terminal_event CASCADE; DROP FUNCTION weft_count_terminal_command CASCADE;
                DELETE FROM schema_migrations WHERE name = 'v5-terminal-counts'
                """)
    }

    static let all: [StoreFactory] = TestDatabase.baseURL == nil ? [.sqlite] : [.sqlite, .postgres]
}

/// Fresh databases on the PostgreSQL server the test script started (or the one `WEFT_TEST_DATABASE_URL` names).
enum TestDatabase {
    static let baseURL = ProcessInfo.processInfo.environment["WEFT_TEST_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// Creates an empty database and returns its URL.
    static func create() async throws -> String {
        guard let baseURL, var components = URLComponents(string: baseURL), let host = components.host,
            let user = components.user
        else { throw TestDatabaseError.notConfigured }
        let name = "weft_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let configuration = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: String(components.path.dropFirst()), tls: .disable)
        let connection = try await PostgresConnection.connect(
            configuration: configuration, id: 1, logger: Logger(label: "weft.test.postgres"))
        do {
            _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: Logger(label: "weft.test"))
                .collect()
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        components.path = "/" + name
        components.query = "sslmode=disable"
        return components.string ?? baseURL
    }
}

enum TestDatabaseError: Error { case notConfigured }
