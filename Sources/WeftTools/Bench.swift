public import AsyncHTTPClient
import Foundation
import Hummingbird
public import Logging
import WeftCore
import WeftSimHubSpot
import WeftSimKit
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
/// Phase 4 (`deals` > 0) runs an in-process HubSpot simulator whose webhooks go to the first node: N deals are
/// created (company, contact, one line item with a SKU Odoo knows), then each is moved to `closedwon`; it measures the
/// time from each stage change until its `upsert_order` command is delivered (the sale.order created and confirmed).
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
        /// Won HubSpot deals in phase 4 (0: skip it).
        public var deals: Int
        /// Top-level YAML appended to each node's configuration (e.g. `pipeline: { batch_size: 32 }`), to measure a
        /// setting; empty: the defaults.
        public var nodeConfiguration: String
        /// Months of paid invoices each customer of phase 1 builds up (0: the standard story). The events go month by
        /// month across all customers, so each is processed against a customer holding every earlier month: what an
        /// event costs as customers age.
        public var historyMonths: Int = 0

        public init(
            executable: String, events: Int, concurrency: Int, outputPath: String, workDir: String, synchronousFull: Bool = true,
            databaseURL: String? = nil, nodes: Int = 1, lookups: Int = 100_000, lookupConcurrency: Int = 64, deals: Int = 0,
            nodeConfiguration: String = ""
        ) {
            self.nodeConfiguration = nodeConfiguration
            self.deals = max(0, deals)
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
        /// Requests the Odoo simulator served in phase 1 (its API, not its `/__sim/` routes): how well delivery batches.
        public var odooRequests = 0
        /// `sqlite` or `postgres`.
        public var store: String
        /// `weft serve` processes; the peak RSS is the largest of theirs.
        public var nodes: Int
        /// Peak resident memory of the `weft serve` process.
        public var peakRSSMegabytes: Double
        /// CPU time the `weft serve` processes (all nodes together) and the Odoo simulator used in phase 1, from the
        /// first event sent until every command was delivered, per event, in microseconds. Unlike the rates these
        /// hardly move with what else the machine is doing, so they show a change in cost where a rate is lost in noise.
        public var serveCPUMicrosPerEvent: Double = 0
        public var odooCPUMicrosPerEvent: Double = 0
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
        /// Won deals in phase 4 (0: not run).
        public var deals: Int = 0
        /// Deals whose confirmed order was delivered per second, from the first stage change to the last order.
        public var dealsToOrdersPerSecond: Double = 0
        /// From a deal's move to `closedwon` in HubSpot to its confirmed order in Odoo.
        public var dealToOrderP50Ms: Double = 0
        public var dealToOrderP99Ms: Double = 0
        /// What `--node-config` appended to each node's configuration (empty: the defaults were measured).
        public var nodeConfiguration = ""
        /// Months of history per customer in phase 1 (0: the standard story).
        public var historyMonths = 0
        /// Runs the figures are the medians of (1: one run's figures).
        public var runs = 1

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
            case odooRequests = "odoo_requests"
            case peakRSSMegabytes = "peak_rss_mb"
            case harnessPeakRSSMegabytes = "harness_peak_rss_mb"
            case serveCPUMicrosPerEvent = "serve_cpu_us_per_event"
            case odooCPUMicrosPerEvent = "odoo_cpu_us_per_event"
            case lookupsPerSecond = "lookups_per_s"
            case lookupP50Ms = "lookup_p50_ms"
            case lookupP99Ms = "lookup_p99_ms"
            case lookupConcurrency = "lookup_concurrency"
            case lookupFailures = "lookup_failures"
            case coldLookupsPerSecond = "cold_lookups_per_s"
            case lookupSingleP50Ms = "lookup_single_p50_ms"
            case lookupSingleP99Ms = "lookup_single_p99_ms"
            case deals
            case dealsToOrdersPerSecond = "deals_to_orders_per_s"
            case dealToOrderP50Ms = "deal_to_order_p50_ms"
            case dealToOrderP99Ms = "deal_to_order_p99_ms"
            case nodeConfiguration = "node_config"
            case historyMonths = "history_months"
            case runs
        }

        /// The closing line.
        public var line: String {
            base
                + (deals > 0
                    ? String(
                        format: " deals_to_orders_per_s=%.1f deal_to_order_p50_ms=%.1f deal_to_order_p99_ms=%.1f", dealsToOrdersPerSecond,
                        dealToOrderP50Ms, dealToOrderP99Ms) : "")
                + (historyMonths > 0 ? " history_months=\(historyMonths)" : "")
                + (runs > 1 ? " runs=\(runs)" : "")
        }

        var base: String {
            String(
                format:
                    "store=%@ nodes=%d ingest_per_s=%.0f ack_p50_ms=%.2f ack_p99_ms=%.2f half_load_ack_p99_ms=%.2f e2e_per_s=%.0f peak_rss_mb=%.1f lookups_per_s=%.0f lookup_p99_ms=%.2f lookup_single_p50_ms=%.3f lookup_failures=%d serve_cpu_us_per_event=%.0f odoo_cpu_us_per_event=%.0f",
                store, nodes, ingestPerSecond, ackP50Ms, ackP99Ms, halfLoadAckP99Ms, endToEndPerSecond, peakRSSMegabytes,
                lookupsPerSecond, lookupP99Ms, lookupSingleP50Ms, lookupFailures, serveCPUMicrosPerEvent, odooCPUMicrosPerEvent)
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

        guard options.deals > 0 else {
            return try await runNodes(
                odooPort: odooPort, odooPID: odoo.processIdentifier, odooKey: odooKey, secret: secret, client: client, crm: nil)
        }
        // Phase 4's CRM, in this process: its limits are set out of the way, so what is measured is Weft and Odoo.
        let hubspot = HubSpotSimulator(
            configuration: .init(
                accessTokens: [CRMDemoDefaults.hubSpotToken],
                rateLimits: .init(perTenSeconds: 10_000_000, perDay: 1_000_000_000, searchPerSecond: 1_000),
                webhooks: .init(
                    clientSecret: CRMDemoDefaults.hubSpotClientSecret, subscriptions: CRMDemoDefaults.hubSpotSubscriptions,
                    retryBaseDelay: .milliseconds(200), maxRetryDelay: .seconds(2)),
                logger: Self.quieter(logger)),
            httpClient: client)
        let router = Router()
        hubspot.addRoutes(to: router)
        return try await SimulatorServer.withRunning(router: router, logger: Self.quieter(logger)) { hubspotPort in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await hubspot.runDelivery() }
                defer { group.cancelAll() }
                return try await runNodes(
                    odooPort: odooPort, odooPID: odoo.processIdentifier, odooKey: odooKey, secret: secret, client: client,
                    crm: (hubspot, hubspotPort))
            }
        }
    }

    /// Starts the nodes on a fresh store, measures, stops them.
    func runNodes(
        odooPort: Int, odooPID: Int32, odooKey: String, secret: String, client: HTTPClient, crm: (HubSpotSimulator, Int)?
    )
        async throws -> Figures
    {
        let work = options.workDir

        var environment = ["BENCH_STRIPE_SECRET": secret, "BENCH_ODOO_KEY": odooKey, "BENCH_ADMIN_TOKEN": Self.adminToken]
        var crmSystem = ""
        var crmFlow = ""
        if let hubspotPort = crm?.1 {
            environment["BENCH_HUBSPOT_TOKEN"] = CRMDemoDefaults.hubSpotToken
            environment["BENCH_HUBSPOT_SECRET"] = CRMDemoDefaults.hubSpotClientSecret
            crmSystem = """

                  hubspot: { type: hubspot, base_url: "http://127.0.0.1:\(hubspotPort)", access_token_env: BENCH_HUBSPOT_TOKEN, client_secret_env: BENCH_HUBSPOT_SECRET, rate_limit: { per_second: 10000, burst: 1000 } }
                """
            crmFlow = """

                  deals_to_erp: { from: hubspot, to: odoo }
                """
        }
        let storeLine: String
        /// The store read beside the running nodes, opened once they have created and migrated it.
        var postgres: PostgresStore?
        var postgresURL: String?
        if let base = options.databaseURL {
            let url = try await PostgresStore.createDatabase(
                serverURL: base, name: "weft_bench_\(UInt32.random(in: 0...UInt32.max))", logger: logger)
            environment["BENCH_DATABASE_URL"] = url
            storeLine = "store: { postgres: { url_env: BENCH_DATABASE_URL } }"
            postgresURL = url
        } else {
            storeLine = "store: { sqlite: \(work)/bench.db, synchronous: \(options.synchronousFull ? "full" : "normal") }"
        }
        var servers: [ServerProcess] = []
        for node in 1...options.nodes {
            let port = try ProcessSupport.freePort()
            let config = """
                \(storeLine)
                server: { listen: 127.0.0.1:\(port), admin_tokens: [{ token_env: BENCH_ADMIN_TOKEN, scopes: [read] }] }
                systems:
                  stripe: { type: stripe, webhook_secret_env: BENCH_STRIPE_SECRET, catch_up: { enabled: false } }
                  odoo: { type: odoo, url: "http://127.0.0.1:\(odooPort)", database: weft, api: json2, api_key_env: BENCH_ODOO_KEY }\(crmSystem)
                flows:
                  billing_to_erp: { from: stripe, to: odoo }\(crmFlow)
                \(options.nodeConfiguration)
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
            // The first node migrates the store (the others, started after it, find it current).
            for server in servers { try await server.start() }
            crm?.0.setWebhookTarget("http://127.0.0.1:\(servers[0].port)/hooks/hubspot")
            // The store, read beside the running nodes, to see when the pipeline has drained. It is the nodes', migrated
            // by the build under test (which may be another version: `--against`), so it is read as is: neither migrated
            // nor checked against this build's migrations (an older node refuses a schema a newer build migrated).
            let store: any Store
            if let postgresURL {
                let opened = try PostgresStore.connect(
                    url: postgresURL, configuration: .init(maximumConnections: 2), logger: Self.quieter(logger))
                postgres = opened
                store = opened
            } else {
                var readOnly = SQLiteStore.Configuration()
                readOnly.migrates = false
                store = try SQLiteStore(path: "\(work)/bench.db", configuration: readOnly, logger: Self.quieter(logger))
            }
            outcome = .success(
                try await measure(
                    servers: servers, odoo: (odooPID, "http://127.0.0.1:\(odooPort)"), store: store, secret: secret, client: client,
                    crm: crm.map {
                        CRMProbe(
                            hubspot: $0.0, client: client, weftURL: "http://127.0.0.1:\(servers[0].port)", adminToken: Self.adminToken,
                            odooURL: "http://127.0.0.1:\(odooPort)", odooKey: odooKey)
                    }))
        } catch {
            outcome = .failure(error)
        }
        for server in servers { await server.stop() }
        postgres?.close()
        return try outcome.get()
    }

    func measure(
        servers: [ServerProcess], odoo: (pid: Int32, url: String), store: any Store, secret: String, client: HTTPClient,
        crm: CRMProbe?
    ) async throws -> Figures {
        let odooPID = odoo.pid
        let load = WebhookLoad(endpoints: servers.map { ("127.0.0.1", $0.port) }, secret: secret)
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let factory = StripeEventFactory(prefix: "B\(runID)x")
        let months = options.historyMonths
        let story =
            months > 0
            ? factory.history(
                customers: max(1, Int((Double(options.events) / (1 + 2.5 * Double(months))).rounded(.up))), months: months)
            : factory.story(customers: max(1, Int((Double(options.events) / 3.9).rounded(.up))))
        let events = Array(story.events.prefix(options.events))
        logger.info("bench: phase 1", metadata: ["events": "\(events.count)", "concurrency": "\(options.concurrency)"])
        func cpuSeconds() -> (serve: Double, odoo: Double) {
            (servers.compactMap { $0.cpuSeconds() }.reduce(0, +), ProcessSupport.cpuSeconds(pid: odooPID) ?? 0)
        }
        let http = HarnessHTTP(client: client)
        let requestsBefore = try await http.get([SimulatedRequest].self, "\(odoo.url)/__sim/requests").count
        let cpuBefore = cpuSeconds()
        let started = ContinuousClock.now
        let full = try await load.send(events, concurrency: options.concurrency)
        logger.info("bench: phase 1 acknowledged", metadata: ["ingest_per_s": "\(Int(full.perSecond))"])
        try await waitUntilDrained(store)
        let endToEnd = started.duration(to: .now)
        let cpuAfter = cpuSeconds()
        let delivered = try await store.stats(now: Date()).commandsByTarget["odoo"]?[.delivered] ?? 0
        let requests = try await http.get([SimulatedRequest].self, "\(odoo.url)/__sim/requests").dropFirst(requestsBefore)
            .filter { !$0.path.hasPrefix("/__sim/") }
        let byPath = Dictionary(grouping: requests, by: \.path).mapValues(\.count).sorted { $0.value > $1.value }
        logger.info(
            "bench: phase 1 delivered",
            metadata: [
                "commands": "\(delivered)", "odoo_requests": "\(requests.count)",
                "by_path": "\(byPath.map { "\($0.key)=\($0.value)" }.joined(separator: " "))",
            ])

        let halfRate = max(1, full.perSecond / 2)
        let second = StripeEventFactory(prefix: "H\(runID)x").story(customers: max(1, options.events / 10))
        logger.info("bench: phase 2", metadata: ["events": "\(second.events.count)", "rate": "\(Int(halfRate))"])
        let half = try await load.send(second.events, concurrency: options.concurrency, perSecond: halfRate)
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

        var dealFigures: (perSecond: Double, p50: Double, p99: Double) = (0, 0, 0)
        if let crm {
            logger.info("bench: phase 4", metadata: ["deals": "\(options.deals)"])
            dealFigures = try await measureDeals(crm, store: store, runID: runID)
        }

        let seconds = Double(endToEnd.components.seconds) + Double(endToEnd.components.attoseconds) / 1e18
        var figures = Figures(
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
        figures.serveCPUMicrosPerEvent = (cpuAfter.serve - cpuBefore.serve) * 1e6 / Double(max(1, events.count))
        figures.odooCPUMicrosPerEvent = (cpuAfter.odoo - cpuBefore.odoo) * 1e6 / Double(max(1, events.count))
        figures.odooRequests = requests.count
        figures.nodeConfiguration = options.nodeConfiguration
        figures.historyMonths = options.historyMonths
        if crm != nil {
            figures.deals = options.deals
            figures.dealsToOrdersPerSecond = dealFigures.perSecond
            figures.dealToOrderP50Ms = dealFigures.p50
            figures.dealToOrderP99Ms = dealFigures.p99
        }
        // A series of runs writes its file once, at its end.
        if !options.outputPath.isEmpty { try Self.write(figures, to: options.outputPath) }
        return figures
    }

    /// Phase 4: creates the deals (not won yet) and lets Weft read them, then moves each to `closedwon` and waits until
    /// every deal's `upsert_order` is delivered; checks Odoo holds one confirmed order per deal.
    func measureDeals(_ crm: CRMProbe, store: any Store, runID: String) async throws -> (perSecond: Double, p50: Double, p99: Double) {
        let count = options.deals
        try await crm.odooProduct(sku: "WEFT-PRO", name: "Weft Pro", price: 500)
        var deals: [String] = []
        for index in 0..<count {
            deals.append(
                try crm.seedDeal(
                    company: "Bench \(runID) Co \(index)", email: "buyer\(index)@\(runID).bench.example", sku: "WEFT-PRO", amount: "900"
                ).deal)
        }
        // The creations are read before the clock starts (webhooks only name records; the reads follow them).
        await crm.hubspot.waitUntilDeliveriesSettled()
        try await waitUntilDrained(store)
        try await Task.sleep(for: .seconds(1))
        try await waitUntilDrained(store)

        var changedAt: [String: Date] = [:]
        let started = Date()
        for deal in deals {
            try crm.update("deals", deal, ["dealstage": "closedwon"])
            changedAt[deal] = Date()
        }
        var confirmedAt: [String: Date] = [:]
        let deadline = ContinuousClock.now.advanced(by: .seconds(1800))
        while confirmedAt.count < count {
            guard ContinuousClock.now < deadline else {
                throw HarnessError("only \(confirmedAt.count) of \(count) won deals became orders")
            }
            try await Task.sleep(for: .milliseconds(50))
            let records = try await store.listCommands(
                filter: CommandFilter(status: .delivered, kind: "upsert_order"), limit: count * 2 + 100)
            for record in records {
                guard let at = record.deliveredAt, let deal = record.command.entityKey.rawValue.split(separator: "/").last.map(String.init),
                    changedAt[deal] != nil
                else { continue }
                confirmedAt[deal] = min(confirmedAt[deal] ?? at, at)
            }
            let dead = try await store.listCommands(filter: CommandFilter(status: .dead, kind: "upsert_order"), limit: 1)
            if let first = dead.first { throw HarnessError("an order was refused: \(first.lastError ?? "no error recorded")") }
        }
        let confirmed = try await crm.odooCount(
            "sale.order", [["client_order_ref", "=like", "hubspot_deal_%"], ["state", "=", "sale"]])
        guard confirmed == count else { throw HarnessError("Odoo holds \(confirmed) confirmed orders for \(count) won deals") }
        let last = confirmedAt.values.max() ?? started
        let result = LookupLoad.Result(
            ok: count, elapsed: .milliseconds(Int64(last.timeIntervalSince(started) * 1000)),
            latenciesMs: deals.compactMap { deal in confirmedAt[deal].map { $0.timeIntervalSince(changedAt[deal]!) * 1000 } })
        return (result.perSecond, result.latency(quantile: 0.5), result.latency(quantile: 0.99))
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
    /// Writes `value` as sorted, indented JSON to `path`, making its directory.
    public static func write(_ value: some Encodable, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        try encoder.encode(value).write(to: URL(fileURLWithPath: path))
    }

    /// The read-scope admin token the lookups use (a throwaway; the nodes only live for the run).
    static let adminToken = "bench-admin-token-\(UInt64.random(in: 0...UInt64.max))"

    static func quieter(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = .warning
        return quiet
    }
}
