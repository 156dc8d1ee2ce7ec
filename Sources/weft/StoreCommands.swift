import ArgumentParser
import Foundation
import Logging
import WeftStorePostgres
import WeftStoreSQLite
import WeftTools

/// `weft store …`: moving and inspecting stores.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Move a store between backends.", subcommands: [Copy.self])

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a SQLite store into PostgreSQL (resumable; stop weft serve first).",
            discussion: """
                weft store copy --from sqlite:/var/lib/weft/weft.db --to postgres
                The PostgreSQL URL is read from the environment variable --url-env names (WEFT_DATABASE_URL). Payloads
                are copied as stored: keep the same store.payload_keys in the new configuration.
                """)
        @Option(name: .long, help: "sqlite:PATH") var from: String
        @Option(name: .long, help: "postgres") var to: String
        @Option(name: .long, help: "The environment variable holding the PostgreSQL URL.") var urlEnv = "WEFT_DATABASE_URL"
        @Option(name: .long, help: "Rows per batch.") var batch = 2_000

        func validate() throws {
            guard from.hasPrefix("sqlite:"), from.count > "sqlite:".count else {
                throw ValidationError("--from must be sqlite:PATH")
            }
            guard to == "postgres" else { throw ValidationError("--to must be postgres") }
            guard batch > 0 else { throw ValidationError("--batch must be positive") }
        }

        func run() async throws {
            let logger = Logger(label: "weft.store-copy")
            let path = String(from.dropFirst("sqlite:".count))
            guard FileManager.default.fileExists(atPath: path) else {
                print("store copy: \(path) does not exist")
                throw ExitCode(1)
            }
            guard let url = ProcessInfo.processInfo.environment[urlEnv], !url.isEmpty else {
                print("store copy: set $\(urlEnv) to the PostgreSQL URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE)")
                throw ExitCode(1)
            }
            let source = try SQLiteStore(path: path, logger: logger)
            let target = try await PostgresStore.open(url: url, configuration: .init(maximumConnections: 2), logger: logger)
            defer { target.close() }
            let counts = try await StoreCopy(source: source, target: target, batchSize: batch, logger: logger).run { progress in
                let percent = progress.total > 0 ? 100 * progress.copied / progress.total : 100
                print("  \(progress.table): \(progress.copied)/\(progress.total) (\(percent)%)")
            }
            var mismatched = false
            for count in counts {
                print("\(count.table): source \(count.source) rows, target \(count.target) rows")
                if count.source != count.target { mismatched = true }
            }
            if mismatched {
                print("store copy: the target holds rows the source does not (was it used before?); nothing was deleted")
                throw ExitCode(1)
            }
            print("store copy: done into \(target.redactedURL); point store.postgres at it and start the nodes")
        }
    }
}
