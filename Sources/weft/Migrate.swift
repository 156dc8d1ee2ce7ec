import ArgumentParser
import Foundation
import Logging
import WeftRuntime
import WeftStorePostgres

/// `weft migrate --config FILE`: applies the store's pending schema migrations. On PostgreSQL each migration runs in
/// its own transaction under an advisory lock and only adds to the schema, so it is safe while other nodes run.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending store schema migrations (safe while other nodes are running).")
    @Option(name: .long, help: "The configuration file (YAML).") var config: String
    @Flag(name: .long, help: "Only report what is pending; change nothing.") var dryRun = false

    func run() async throws {
        let configuration = try ConfigFile.load(config)
        let environment = ProcessInfo.processInfo.environment
        let logger = Logger(label: "weft.migrate")
        guard let postgres = configuration.store.postgres else {
            // SQLite applies its migrations when the file is opened (one node owns the file).
            _ = try await openStore(configPath: config)
            print("SQLite store \(configuration.store.sqlitePath): schema is current")
            return
        }
        let url = try postgres.url.resolve(environment: environment)
        let store = try PostgresStore.connect(url: url, configuration: .init(maximumConnections: 2), logger: logger)
        defer { store.close() }
        let status = try await store.migrationStatus()
        if dryRun {
            print(status.pending.isEmpty ? "schema is current" : "pending: \(status.pending.joined(separator: ", "))")
            return
        }
        let applied = try await store.migrate()
        print(applied.isEmpty ? "schema is current (\(store.redactedURL))" : "applied: \(applied.joined(separator: ", "))")
    }
}
