public import AsyncHTTPClient
import Foundation
import Hummingbird
public import Logging
import ServiceLifecycle
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimKit
import WeftSimOdoo
import WeftStoreSQLite

/// `weft bench`: a fresh SQLite store, the Odoo simulator and Weft in this process, signed Stripe webhooks sent over
/// loopback HTTP at a fixed concurrency (the load generator runs here too, on the same two cores).
///
/// Phase 1 sends N events as fast as C connections allow: ingest rate and acknowledgement latency at full load;
/// the run then waits until every event is processed and every command delivered to the Odoo simulator
/// (end-to-end rate). Phase 2 sends N/2 more at half the measured ingest rate: acknowledgement latency at half load.
public struct Bench: Sendable {
    public struct Options: Sendable {
        public var events: Int
        public var concurrency: Int
        public var outputPath: String
        public var workDir: String
        public var synchronousFull: Bool

        public init(events: Int, concurrency: Int, outputPath: String, workDir: String, synchronousFull: Bool = true) {
            self.events = events
            self.concurrency = concurrency
            self.outputPath = outputPath
            self.workDir = workDir
            self.synchronousFull = synchronousFull
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
        public var peakRSSMegabytes: Double

        enum CodingKeys: String, CodingKey {
            case events, concurrency
            case ingestPerSecond = "ingest_per_s"
            case ackP50Ms = "ack_p50_ms"
            case ackP99Ms = "ack_p99_ms"
            case halfLoadPerSecond = "half_load_per_s"
            case halfLoadAckP50Ms = "half_load_ack_p50_ms"
            case halfLoadAckP99Ms = "half_load_ack_p99_ms"
            case endToEndPerSecond = "e2e_per_s"
            case commandsDelivered = "commands_delivered"
            case peakRSSMegabytes = "peak_rss_mb"
        }

        /// The closing line.
        public var line: String {
            String(
                format: "ingest_per_s=%.0f ack_p50_ms=%.2f ack_p99_ms=%.2f half_load_ack_p99_ms=%.2f e2e_per_s=%.0f peak_rss_mb=%.1f",
                ingestPerSecond, ackP50Ms, ackP99Ms, halfLoadAckP99Ms, endToEndPerSecond, peakRSSMegabytes)
        }
    }

    let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    public func run(client: HTTPClient) async throws -> Figures {
        try FileManager.default.createDirectory(atPath: options.workDir, withIntermediateDirectories: true)
        let odooKey = "bench-odoo-key"
        let secret = "whsec_bench_secret"
        let odoo = OdooSimulator(configuration: .init(database: "bench", apiKeys: [odooKey]))
        let odooRouter = Router()
        odoo.addRoutes(to: odooRouter)
        let quiet = Self.quieter(logger)
        return try await SimulatorServer.withRunning(router: odooRouter, logger: quiet) { odooPort in
            var configuration = WeftConfiguration()
            configuration.store = StoreConfiguration(sqlitePath: "\(options.workDir)/bench.db", synchronousFull: options.synchronousFull)
            configuration.server = ServerConfiguration(host: "127.0.0.1", port: 0, maxBodyBytes: 1 << 20)
            configuration.systems = [
                "stripe": .stripe(
                    StripeSystemConfiguration(webhookSecrets: [.environment("BENCH_STRIPE_SECRET")], catchUpInterval: nil)),
                "odoo": .odoo(
                    OdooSystemConfiguration(
                        url: "http://127.0.0.1:\(odooPort)", database: "bench", api: .json2,
                        apiKey: .environment("BENCH_ODOO_KEY"))),
            ]
            configuration.flows = [Flow(name: "billing_to_erp", source: "stripe", target: "odoo")]
            let node = try WeftNode(
                configuration: configuration,
                environment: ["BENCH_STRIPE_SECRET": secret, "BENCH_ODOO_KEY": odooKey],
                httpClient: client, registry: nil, nodeID: "bench", logger: quiet)
            let (ports, continuation) = AsyncStream<Int>.makeStream()
            let group = node.makeServiceGroup { port in
                continuation.yield(port)
                continuation.finish()
            }
            return try await withThrowingTaskGroup(of: Figures?.self) { tasks in
                tasks.addTask {
                    try await group.run()
                    return nil
                }
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next() else { throw HarnessError("weft did not start") }
                let outcome: Result<Figures, any Error>
                do {
                    outcome = .success(try await measure(node: node, port: port, secret: secret, client: client))
                } catch {
                    outcome = .failure(error)
                }
                await group.triggerGracefulShutdown()
                while (try? await tasks.next()) != nil {}
                return try outcome.get()
            }
        }
    }

    func measure(node: WeftNode, port: Int, secret: String, client: HTTPClient) async throws -> Figures {
        let url = "http://127.0.0.1:\(port)/hooks/stripe"
        let load = LoadGenerator(client: client, url: url, secret: secret)
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let story = StripeEventFactory(prefix: "B\(runID)x").story(customers: max(1, Int((Double(options.events) / 3.9).rounded(.up))))
        let events = Array(story.events.prefix(options.events))
        logger.info("bench: phase 1", metadata: ["events": "\(events.count)", "concurrency": "\(options.concurrency)"])
        let started = ContinuousClock.now
        let full = await load.send(events, concurrency: options.concurrency)
        try await waitUntilDrained(node.store)
        let endToEnd = started.duration(to: .now)
        let delivered = try await node.store.stats(now: Date()).commandsByTarget["odoo"]?[.delivered] ?? 0

        let halfRate = max(1, full.perSecond / 2)
        let second = StripeEventFactory(prefix: "H\(runID)x").story(customers: max(1, options.events / 10))
        logger.info("bench: phase 2", metadata: ["events": "\(second.events.count)", "rate": "\(Int(halfRate))"])
        let half = await load.send(second.events, concurrency: options.concurrency, perSecond: halfRate)
        try await waitUntilDrained(node.store)

        let seconds = Double(endToEnd.components.seconds) + Double(endToEnd.components.attoseconds) / 1e18
        let figures = Figures(
            events: events.count, concurrency: options.concurrency, ingestPerSecond: full.perSecond,
            ackP50Ms: full.latency(quantile: 0.5), ackP99Ms: full.latency(quantile: 0.99), halfLoadPerSecond: half.perSecond,
            halfLoadAckP50Ms: half.latency(quantile: 0.5), halfLoadAckP99Ms: half.latency(quantile: 0.99),
            endToEndPerSecond: Double(events.count) / seconds, commandsDelivered: delivered,
            peakRSSMegabytes: ProcessSupport.peakRSSMegabytes())
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
    static func quieter(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = .warning
        return quiet
    }
}
