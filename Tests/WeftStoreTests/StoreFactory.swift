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
            execute: { sql in try await store.pool.write { try $0.execute(sql: sql) } })
    }

    /// Each store gets a database of its own (`weft_test_…`) on the test server.
    static let postgres = StoreFactory(name: "PostgreSQL") {
        let url = try await TestDatabase.create()
        let store = try await PostgresStore.open(
            url: url, configuration: .init(maximumConnections: 4), logger: Logger(label: "weft.test.store"))
        return StoreUnderTest(
            store: store, appendTransactions: { store.appendTransactions },
            execute: { sql in _ = try await store.rows("test statement", PostgresQuery(unsafeSQL: sql)) })
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
