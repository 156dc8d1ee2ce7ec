import ArgumentParser
import AsyncHTTPClient
import Foundation
import Logging
import WeftConnectors
import WeftTools

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark ingest and end-to-end throughput (build with -c release).",
        discussion: """
            The last line is: ingest_per_s=… ack_p50_ms=… ack_p99_ms=… e2e_per_s=… peak_rss_mb=… lookups_per_s=… \
            (and, with --deals, deals_to_orders_per_s=… deal_to_order_p50_ms=… deal_to_order_p99_ms=…)
            """)

    @Option(name: .long, help: "Events to send in the full-load phase.") var events = 20_000
    @Option(name: .long, help: "Concurrent connections.") var concurrency = 256
    @Option(name: .long, help: "Where to write the figures as JSON.") var output = "bench-results/bench.json"
    @Option(
        name: .long,
        help: """
            Working directory for the store, logs and config: new or empty, and kept after the run (default: a new \
            temporary one, removed after the run).
            """)
    var workDir: String?
    @Flag(name: .long, help: "Use synchronous=NORMAL instead of FULL.") var synchronousNormal = false
    @Option(name: .long, help: "sqlite, or postgres (a database of its own on the server --database-url-env names).")
    var store = "sqlite"
    @Option(name: .long, help: "The environment variable holding a PostgreSQL server URL.")
    var databaseURLEnv = "WEFT_DATABASE_URL"
    @Option(name: .long, help: "weft serve processes sharing the store (postgres only); the load is spread over them.")
    var nodes = 1
    @Option(name: .long, help: "Entitlement lookups in the last phase (0 skips it).") var lookups = 100_000
    @Option(name: .long, help: "Concurrent entitlement lookup clients.") var lookupConcurrency = 64
    @Option(name: .long, help: "Won HubSpot deals to turn into confirmed Odoo orders in a last phase (0 skips it).")
    var deals = 0
    @Option(
        name: .long,
        help: "Top-level YAML appended to each node's config, to measure a setting (e.g. 'pipeline: { batch_size: 32 }').")
    var nodeConfig = ""
    @Option(
        name: .long,
        help: "Months of paid invoices per customer in the full-load phase, sent month by month (0: the standard story).")
    var historyMonths = 0
    @Option(
        name: .long,
        help: "The weft executable to run as the server and the Odoo simulator (default: this one), to compare two builds.")
    var executable: String?
    @Option(
        name: .long,
        help: """
            Run the whole bench this many times, each on a fresh store and simulator, and print the median of each \
            figure as the last line (each run's line before it).
            """)
    var runs = 1
    @Option(
        name: .long,
        help: """
            Another weft build to compare with: its runs alternate with this one's, pair by pair (the order swapped \
            every other pair), and a line counts the pairs in which the measured build did better.
            """)
    var against: String?
    @Flag(
        name: .long,
        help: """
            Measure the pipeline's core alone: --events of the standard story stored as a backlog, then claimed, decoded, \
            governed, routed and committed by one worker in this process (SQLite; no HTTP, no delivery). Prints \
            pipeline_cpu_us_per_event=… and writes it to bench-results/pipeline.json unless --output says otherwise.
            """)
    var pipelineOnly = false

    func validate() throws {
        try HarnessStore.validate(store: store, nodes: nodes)
        if pipelineOnly, store != "sqlite" { throw ValidationError("--pipeline-only runs on SQLite") }
        if deals < 0 { throw ValidationError("--deals is 0 or more") }
        if historyMonths < 0 { throw ValidationError("--history-months is 0 or more") }
        if let executable, !FileManager.default.isExecutableFile(atPath: executable) {
            throw ValidationError("--executable \(executable) is not an executable file")
        }
        if runs < 1 { throw ValidationError("--runs is 1 or more") }
        if let against {
            guard FileManager.default.isExecutableFile(atPath: against) else {
                throw ValidationError("--against \(against) is not an executable file")
            }
            if pipelineOnly { throw ValidationError("--against compares whole benches, not --pipeline-only") }
        }
        if pipelineOnly, runs > 1 { throw ValidationError("--runs repeats whole benches, not --pipeline-only") }
        if pipelineOnly, workDir != nil { throw ValidationError("--pipeline-only keeps its store in a temporary directory") }
        if let workDir, let problem = BenchWorkDirectory.problem(with: workDir) { throw ValidationError(problem) }
    }

    func run() async throws {
        _ = ProcessBootstrap.start(logLevel: .info)
        if pipelineOnly {
            let figures = try await PipelineBench(events: events, logger: Logger(label: "weft.bench")).run()
            let path = output == "bench-results/bench.json" ? "bench-results/pipeline.json" : output
            try WeftTools.Bench.write(figures, to: path)
            print(figures.line)
            return
        }
        let databaseURL = try HarnessStore.databaseURL(store: store, environmentVariable: databaseURLEnv, tool: "bench")
        // One connection per concurrent sender, or the client's pool (not Weft) would be what is measured.
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton, configuration: OutboundHTTP.clientConfiguration(connectionsPerHost: max(16, concurrency)))
        do {
            let executable = self.executable ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            let series = runs > 1 || against != nil
            /// One whole bench of `build`, on a store and in a working directory of its own.
            func measure(_ build: String, label: String) async throws -> WeftTools.Bench.Figures {
                // A series's runs each get a directory of their own: under --work-dir by their label, else a new one.
                let directory = BenchWorkDirectory.forRun(workDir: workDir, series: series, label: label)
                let work = directory.path
                var options = WeftTools.Bench.Options(
                    executable: build, events: events, concurrency: concurrency, outputPath: series ? "" : output, workDir: work,
                    synchronousFull: !synchronousNormal, databaseURL: databaseURL, nodes: nodes, lookups: lookups,
                    lookupConcurrency: lookupConcurrency, deals: deals, nodeConfiguration: nodeConfig)
                options.historyMonths = historyMonths
                let figures = try await WeftTools.Bench(options: options, logger: Logger(label: "weft.bench")).run(client: client)
                // Only a directory the bench made for itself: a named one is the operator's, kept to be looked at.
                if directory.removedAfterRun { try? FileManager.default.removeItem(atPath: work) }
                return figures
            }
            guard series else {
                let figures = try await measure(executable, label: "")
                try? await client.shutdown()
                print(figures.line)
                return
            }
            var measured: [WeftTools.Bench.Figures] = []
            var others: [WeftTools.Bench.Figures] = []
            for pair in 0..<runs {
                let builds =
                    against.map { other in
                        BenchSeries.measuredFirst(inPair: pair)
                            ? [(executable, false), (other, true)] : [(other, true), (executable, false)]
                    } ?? [(executable, false)]
                for (build, isOther) in builds {
                    let figures = try await measure(build, label: "run-\(pair + 1)\(isOther ? "-against" : "")")
                    print("run \(pair + 1)/\(runs)\(isOther ? " against" : ""): \(figures.line)")
                    // Each run as it ends: a series takes minutes, and its output is often a file.
                    fflush(nil)
                    if isOther { others.append(figures) } else { measured.append(figures) }
                }
            }
            try? await client.shutdown()
            let report = BenchSeries(runs: measured, againstExecutable: against, against: against == nil ? nil : others)
            try WeftTools.Bench.write(report, to: output)
            if let other = report.againstMedian, let comparison = report.comparisonLine {
                print("against \(against ?? ""), median of \(runs) runs: \(other.line)")
                print(comparison)
            }
            print(report.median.line)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

struct CrashTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash-test",
        abstract: "SIGKILL weft serve repeatedly while sending signed webhooks; verify nothing is lost or doubled.")

    @Option(name: .long, help: "Events to send.") var events = 20_000
    @Option(name: .long, help: "How many times to SIGKILL weft serve (at least 5 for the standard run).") var kills = 6
    @Option(name: .long, help: "Concurrent connections.") var concurrency = 64
    @Option(name: .long, help: "Working directory (store, logs, config).") var workDir: String
    @Option(name: .long, help: "Seed for kill moments and ids.") var seed = UInt64(Date().timeIntervalSince1970)
    @Option(name: .long, help: "sqlite, or postgres (a database of its own on the server --database-url-env names).")
    var store = "sqlite"
    @Option(name: .long, help: "The environment variable holding a PostgreSQL server URL.")
    var databaseURLEnv = "WEFT_TEST_DATABASE_URL"
    @Option(name: .long, help: "weft serve processes sharing the store (postgres only); node 1 is the one killed.")
    var nodes = 1
    @Option(name: .long, help: "The Odoo rate limit every node shares, per second.") var odooRate = 5000
    @Option(name: .long, help: "The Odoo rate limit's burst.") var odooBurst = 500

    func validate() throws { try HarnessStore.validate(store: store, nodes: nodes) }

    func run() async throws {
        _ = ProcessBootstrap.start(logLevel: .info)
        let databaseURL = try HarnessStore.databaseURL(store: store, environmentVariable: databaseURLEnv, tool: "crash-test")
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: OutboundHTTP.clientConfiguration())
        let failures: [String]
        do {
            failures = try await WeftTools.CrashTest(
                options: .init(
                    executable: executable, events: events, kills: kills, workDir: workDir, concurrency: concurrency, seed: seed,
                    databaseURL: databaseURL, nodes: nodes, odooRate: (odooRate, odooBurst)),
                logger: Logger(label: "weft.crash-test")
            ).run(client: client)
        } catch {
            try? await client.shutdown()
            print("crash-test: harness error: \(error)")
            print("crash-test: 0 passed, 1 failed")
            throw ExitCode(1)
        }
        try? await client.shutdown()
        for failure in failures { print("crash-test: FAILED: \(failure)") }
        print("crash-test: \(failures.isEmpty ? 1 : 0) passed, \(failures.isEmpty ? 0 : 1) failed")
        if !failures.isEmpty { throw ExitCode(1) }
    }
}

/// The `--store`/`--nodes`/`--database-url-env` options the bench and the crash test share.
enum HarnessStore {
    static func validate(store: String, nodes: Int) throws {
        guard ["sqlite", "postgres"].contains(store) else { throw ValidationError("--store is sqlite or postgres") }
        if store == "sqlite" && nodes != 1 { throw ValidationError("several nodes need --store postgres") }
    }

    /// The PostgreSQL server URL for `--store postgres` (`nil` for SQLite); exits 2 when the variable is not set.
    static func databaseURL(store: String, environmentVariable: String, tool: String) throws -> String? {
        guard store == "postgres" else { return nil }
        guard let url = ProcessInfo.processInfo.environment[environmentVariable], !url.isEmpty else {
            print("\(tool): --store postgres needs a server URL in $\(environmentVariable)")
            throw ExitCode(2)
        }
        return url
    }
}
