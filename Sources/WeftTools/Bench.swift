public import AsyncHTTPClient
import Foundation
public import Logging
import WeftCore
import WeftStorePostgres
import WeftStoreSQLite

/// `weft bench`: `weft serve` with a fresh SQLite store and `weft simulate --system odoo` as child processes, signed
/// Stripe webhooks sent over loopback HTTP at a fixed concurrency from this process (so the load generator, Weft and
/// the simulator share the same two cores). Peak RSS is the `weft serve` process's.
///
/// Phase 1 sends N events as fast as C connections allow: ingest rate and acknowledgement latency at full load;
/// the run then waits until every event is processed and every command delivered to the Odoo simulator
/// (end-to-end rate). Phase 2 sends N/2 more at half the measured ingest rate: acknowledgement latency at half load.
/// Phase 3 looks entitlements up (`GET /v1/entitlements/stripe/<customer>`) over the customers of phase 1, the load
/// generator on the same cores: each account once (cold: derived from the stored aggregate), then `lookups` more from
/// `lookupConcurrency` clients (lookups per second and latency), then 5,000 from one client alone (latency without
/// queueing: the server's time plus one loopback round trip).
public struct Bench: Sendable {
    public struct Options: Sendable {
        public var events: Int
        public var concurrency: Int
        public var outputPath: String
        public var workDir: String
        public var synchronousFull: Bool
        /// The `weft` executable to run as the server and the Odoo simulator.
        public var executable: String
        /// A PostgreSQL server (URL of any database on it): the bench creates a database of its own there. `nil`:
        /// a SQLite file.
        public var databaseURL: String?
        /// `weft serve` processes sharing the store (PostgreSQL only); the load is spread over them.
        public var nodes: Int
        /// Entitlement lookups in phase 3 (0: skip it).
        public var lookups: Int
        /// Concurrent lookup clients.
        public var lookupConcurrency: Int

        public init(
            executable: String, events: Int, concurrency: Int, outputPath: String, workDir: String, synchronousFull: Bool = true,
            databaseURL: String? = nil, nodes: Int = 1, lookups: Int = 100_000, lookupConcurrency: Int = 64
        ) {
            self.lookups = lookups
            self.lookupConcurrency = lookupConcurrency
            self.executable = executable
            self.events = events
            self.concurrency = concurrency
            self.outputPath = outputPath
            self.workDir = workDir
            self.synchronousFull = synchronousFull
            self.databaseURL = databaseURL
            self.nodes = databaseURL == nil ? 1 : max(1, nodes)
        }
    }

    /// The figures, as printed and written.
    public struct Figures: Codable, Sendable {
        public var events: Int
        public var concurrency: Int
        public var ingestPerSecond: Double
        public var ackP50Ms: Double
        public var ackP99Ms: Double
        public var halfLoadPerSecond: Double
        public var halfLoadAckP50Ms: Double
        public var halfLoadAckP99Ms: Double
        public var endToEndPerSecond: Double
        public var commandsDelivered: Int
        /// `sqlite` or `postgres`.
        public var store: String
        /// `weft serve` processes; the peak RSS is the largest of theirs.
        public var nodes: Int
        /// Peak resident memory of the `weft serve` process.
        public var peakRSSMegabytes: Double
        /// Peak resident memory of the bench itself (the load generator and its prepared events), for reference.
        public var harnessPeakRSSMegabytes: Double
        /// Entitlement lookups answered 200 per second, with their latency as the clients saw it.
        public var lookupsPerSecond: Double
        public var lookupP50Ms: Double
        public var lookupP99Ms: Double
        public var lookupConcurrency: Int
        /// Lookups not answered 200 (must be 0).
        public var lookupFailures: Int
        /// The first lookup of every account (nothing derived yet: each reads and decodes the account's aggregate).
        public var coldLookupsPerSecond: Double
        /// Latency of one client looking up alone (no queueing): the server's time plus one loopback round trip.
        public var lookupSingleP50Ms: Double
        public var lookupSingleP99Ms: Double

        enum CodingKeys: String, CodingKey {
            case events, concurrency, store, nodes
            case ingestPerSecond = "ingest_per_s"
            case ackP50Ms = "ack_p50_ms"
            case ackP99Ms = "ack_p99_ms"
            case halfLoadPerSecond = "half_load_per_s"
            case halfLoadAckP50Ms = "half_load_ack_p50_ms"
            case halfLoadAckP99Ms = "half_load_ack_p99_ms"
            case endToEndPerSecond = "e2e_per_s"
            case commandsDelivered = "commands_delivered"
            case peakRSSMegabytes = "peak_rss_mb"
            case harnessPeakRSSMegabytes = "harness_peak_rss_mb"
            case lookupsPerSecond = "lookups_per_s"
            case lookupP50Ms = "lookup_p50_ms"
            case lookupP99Ms = "lookup_p99_ms"
            case lookupConcurrency = "lookup_concurrency"
            case lookupFailures = "lookup_failures"
            case coldLookupsPerSecond = "cold_lookups_per_s"
            case lookupSingleP50Ms = "lookup_single_p50_ms"
            case lookupSingleP99Ms = "lookup_single_p99_ms"
        }

        /// The closing line.
        public var line: String {
            String(
                format:
                    "store=%@ nodes=%d ingest_per_s=%.0f ack_p50_ms=%.2f ack_p99_ms=%.2f half_load_ack_p99_ms=%.2f e2e_per_s=%.0f peak_rss_mb=%.1f lookups_per_s=%.0f lookup_p99_ms=%.2f lookup_single_p50_ms=%.3f lookup_failures=%d",
                store, nodes, ingestPerSecond, ackP50Ms, ackP99Ms, halfLoadAckP99Ms, endToEndPerSecond, peakRSSMegabytes,
                lookupsPerSecond, lookupP99Ms, lookupSingleP50Ms, lookupFailures)
        }
    }

    let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    public func run(client: HTTPClient) async throws -> Figures {
        let work = options.workDir
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let odooKey = "bench-odoo-key"
        let secret = "whsec_bench_secret"

        // The Odoo simulator and Weft run as their own processes, as in production: Weft's memory is measured alone,
        // and all three still share the machine's two cores.
        let (odoo, odooPort) = try await ProcessSupport.startOdooSimulator(
            executable: options.executable, apiKey: odooKey, work: work)
        defer { ProcessSupport.terminate(odoo) }

        var environment = ["BENCH_STRIPE_SECRET": secret, "BENCH_ODOO_KEY": odooKey, "BENCH_ADMIN_TOKEN": Self.adminToken]
        let storeLine: String
        let store: any Store
        if let base = options.databaseURL {
            let url = try await PostgresStore.createDatabase(
                serverURL: base, name: "weft_bench_\(UInt32.random(in: 0...UInt32.max))", logger: logger)
            environment["BENCH_DATABASE_URL"] = url
            storeLine = "store: { postgres: { url_env: BENCH_DATABASE_URL } }"
            // Applied here once, so the nodes start on a current schema together.
            store = try await PostgresStore.open(url: url, configuration: .init(maximumConnections: 2), logger: Self.quieter(logger))
        } else {
            storeLine = "store: { sqlite: \(work)/bench.db, synchronous: \(options.synchronousFull ? "full" : "normal") }"
            store = try SQLiteStore(path: "\(work)/bench.db", logger: Self.quieter(logger))
        }
        var servers: [ServerProcess] = []
        for node in 1...options.nodes {
            let port = try ProcessSupport.freePort()
            let config = """
                \(storeLine)
                server: { listen: 127.0.0.1:\(port), admin_tokens: [{ token_env: BENCH_ADMIN_TOKEN, scopes: [read] }] }
                systems:
                  stripe: { type: stripe, webhook_secret_env: BENCH_STRIPE_SECRET, catch_up: { enabled: false } }
                  odoo: { type: odoo, url: "http://127.0.0.1:\(odooPort)", database: weft, api: json2, api_key_env: BENCH_ODOO_KEY }
                flows:
                  billing_to_erp: { from: stripe, to: odoo }
                """
            let configPath = "\(work)/weft-node\(node).yaml"
            try config.write(toFile: configPath, atomically: true, encoding: .utf8)
            servers.append(
                ServerProcess(
                    executable: options.executable, configPath: configPath, environment: environment, work: work, port: port,
                    http: HarnessHTTP(client: client), name: "node\(node)"))
        }
        let outcome: Result<Figures, any Error>
        do {
            for server in servers { try await server.start() }
            // The store, read beside the running nodes, to see when the pipeline has drained.
            outcome = .success(try await measure(servers: servers, store: store, secret: secret, client: client))
        } catch {
            outcome = .failure(error)
        }
        for server in servers { await server.stop() }
        (store as? PostgresStore)?.close()
        return try outcome.get()
    }

    func measure(servers: [ServerProcess], store: any Store, secret: String, client: HTTPClient) async throws -> Figures {
        let load = LoadGenerator(client: client, urls: servers.map { "http://127.0.0.1:\($0.port)/hooks/stripe" }, secret: secret)
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let story = StripeEventFactory(prefix: "B\(runID)x").story(customers: max(1, Int((Double(options.events) / 3.9).rounded(.up))))
        let events = Array(story.events.prefix(options.events))
        logger.info("bench: phase 1", metadata: ["events": "\(events.count)", "concurrency": "\(options.concurrency)"])
        let started = ContinuousClock.now
        let full = await load.send(events, concurrency: options.concurrency)
        try await waitUntilDrained(store)
        let endToEnd = started.duration(to: .now)
        let delivered = try await store.stats(now: Date()).commandsByTarget["odoo"]?[.delivered] ?? 0

        let halfRate = max(1, full.perSecond / 2)
        let second = StripeEventFactory(prefix: "H\(runID)x").story(customers: max(1, options.events / 10))
        logger.info("bench: phase 2", metadata: ["events": "\(second.events.count)", "rate": "\(Int(halfRate))"])
        let half = await load.send(second.events, concurrency: options.concurrency, perSecond: halfRate)
        try await waitUntilDrained(store)

        var lookups = LookupLoad.Result()
        var single = LookupLoad.Result()
        var cold = LookupLoad.Result()
        if options.lookups > 0 {
            // The customers whose creation was sent (the event list is cut at N, so the last few may be missing).
            let paths = Set(events.filter { $0.type == "customer.created" }.map(\.customer)).sorted().map { "stripe/\($0)" }
            logger.info("bench: phase 3", metadata: ["lookups": "\(options.lookups)", "clients": "\(options.lookupConcurrency)"])
            // Every account once first: the cold path, measured on its own; then the steady state.
            cold = try await LookupLoad(endpoints: servers.map { ("127.0.0.1", $0.port) }, token: Self.adminToken)
                .run(paths: paths, total: paths.count, concurrency: options.lookupConcurrency)
            lookups = try await LookupLoad(endpoints: servers.map { ("127.0.0.1", $0.port) }, token: Self.adminToken)
                .run(paths: paths, total: options.lookups, concurrency: options.lookupConcurrency)
            single = try await LookupLoad(endpoints: servers.map { ("127.0.0.1", $0.port) }, token: Self.adminToken)
                .run(paths: paths, total: 5_000, concurrency: 1)
            lookups.failed += single.failed + cold.failed
        }

        let seconds = Double(endToEnd.components.seconds) + Double(endToEnd.components.attoseconds) / 1e18
        let figures = Figures(
            events: events.count, concurrency: options.concurrency, ingestPerSecond: full.perSecond,
            ackP50Ms: full.latency(quantile: 0.5), ackP99Ms: full.latency(quantile: 0.99), halfLoadPerSecond: half.perSecond,
            halfLoadAckP50Ms: half.latency(quantile: 0.5), halfLoadAckP99Ms: half.latency(quantile: 0.99),
            endToEndPerSecond: Double(events.count) / seconds, commandsDelivered: delivered,
            store: options.databaseURL == nil ? "sqlite" : "postgres", nodes: servers.count,
            peakRSSMegabytes: servers.compactMap { $0.peakRSSMegabytes() }.max() ?? 0,
            harnessPeakRSSMegabytes: ProcessSupport.peakRSSMegabytes(), lookupsPerSecond: lookups.perSecond,
            lookupP50Ms: lookups.latency(quantile: 0.5), lookupP99Ms: lookups.latency(quantile: 0.99),
            lookupConcurrency: options.lookupConcurrency, lookupFailures: lookups.failed,
            coldLookupsPerSecond: cold.perSecond, lookupSingleP50Ms: single.latency(quantile: 0.5),
            lookupSingleP99Ms: single.latency(quantile: 0.99))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let directory = (options.outputPath as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        try encoder.encode(figures).write(to: URL(fileURLWithPath: options.outputPath))
        return figures
    }

    /// Waits until no event is pending and no command is pending or in flight.
    func waitUntilDrained(_ store: any Store) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(1800))
        while ContinuousClock.now < deadline {
            if try await !store.hasUnfinishedWork() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("the pipeline did not drain")
    }
}

extension Bench {
    /// The read-scope admin token the lookups use (a throwaway; the nodes only live for the run).
    static let adminToken = "bench-admin-token-\(UInt64.random(in: 0...UInt64.max))"

    static func quieter(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = .warning
        return quiet
    }
}
