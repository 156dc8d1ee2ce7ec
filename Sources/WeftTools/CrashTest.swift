public import AsyncHTTPClient
import Foundation
public import Logging
import WeftCore
import WeftSimKit
import WeftStorePostgres
import WeftStoreSQLite

/// The crash test: `weft serve` and `weft simulate --system odoo` as real processes; thousands of signed Stripe
/// webhooks sent over HTTP while `weft serve` is killed with SIGKILL at random moments and restarted (the sender
/// retries what was not acknowledged, as Stripe does). At the end every acknowledged event must be processed once,
/// and Odoo must hold exactly one partner, invoice, payment and credit note per Stripe object.
public struct CrashTest: Sendable {
    public struct Options: Sendable {
        public var executable: String
        public var events: Int
        public var kills: Int
        public var workDir: String
        public var concurrency: Int
        public var seed: UInt64
        /// A PostgreSQL server (URL of any database on it): the run creates a database of its own there and runs
        /// `nodes` nodes on it. `nil`: one node on a SQLite file.
        public var databaseURL: String?
        /// How many `weft serve` processes share the store (PostgreSQL only); node 1 is the one killed.
        public var nodes: Int
        /// The Odoo rate limit the nodes share, checked against the simulator's request log at the end.
        public var odooRate: (perSecond: Int, burst: Int)

        public init(
            executable: String, events: Int, kills: Int, workDir: String, concurrency: Int = 64, seed: UInt64,
            databaseURL: String? = nil, nodes: Int = 1, odooRate: (perSecond: Int, burst: Int) = (5000, 500)
        ) {
            self.executable = executable
            self.events = events
            self.kills = kills
            self.workDir = workDir
            self.concurrency = concurrency
            self.seed = seed
            self.databaseURL = databaseURL
            self.nodes = databaseURL == nil ? 1 : max(1, nodes)
            self.odooRate = odooRate
        }
    }

    let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Runs the test; returns the failed checks (empty = passed).
    public func run(client: HTTPClient) async throws -> [String] {
        let work = options.workDir
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let secret = "whsec_crash_\(options.seed)"
        let odooKey = "odoo-crash-key"
        let adminToken = "admin-crash-token"
        let http = HarnessHTTP(client: client)

        // Odoo simulator: its own process, so it outlives every kill of weft serve.
        let (odoo, odooPort) = try await ProcessSupport.startOdooSimulator(
            executable: options.executable, apiKey: odooKey, work: work)
        defer { ProcessSupport.terminate(odoo) }
        let odooURL = "http://127.0.0.1:\(odooPort)"

        // The store: a SQLite file for one node, or a fresh PostgreSQL database every node shares.
        var environment = [
            "WEFT_STRIPE_WEBHOOK_SECRET": secret, "WEFT_ODOO_API_KEY": odooKey, "WEFT_ADMIN_TOKEN": adminToken,
            // Payloads are encrypted at rest, so every kill and restart also crosses sealing and opening.
            "WEFT_PAYLOAD_KEY": PayloadCipher.Key.randomBase64(),
        ]
        let storeLine: String
        if let base = options.databaseURL {
            environment["WEFT_DATABASE_URL"] = try await PostgresStore.createDatabase(
                serverURL: base, name: "weft_crash_\(options.seed)_\(UInt32.random(in: 0...UInt32.max))", logger: logger)
            storeLine =
                "store: { postgres: { url_env: WEFT_DATABASE_URL }, payload_keys: [ { id: crash, key_env: WEFT_PAYLOAD_KEY } ] }"
        } else {
            storeLine = "store: { sqlite: \(work)/weft.db, payload_keys: [ { id: crash, key_env: WEFT_PAYLOAD_KEY } ] }"
        }
        var servers: [ServerProcess] = []
        for node in 1...options.nodes {
            let port = try ProcessSupport.freePort()
            let config = """
                \(storeLine)
                server:
                  listen: 127.0.0.1:\(port)
                  admin_tokens: [ { token_env: WEFT_ADMIN_TOKEN, scopes: [read] } ]
                systems:
                  stripe: { type: stripe, webhook_secret_env: WEFT_STRIPE_WEBHOOK_SECRET, catch_up: { enabled: false } }
                  odoo: { type: odoo, url: "\(odooURL)", database: weft, api: json2, api_key_env: WEFT_ODOO_API_KEY, timeout_seconds: 5, rate_limit: { per_second: \(options.odooRate.perSecond), burst: \(options.odooRate.burst) } }
                flows:
                  billing_to_erp: { from: stripe, to: odoo }
                delivery:
                  retry: { initial_ms: 50, multiplier: 2, max_delay_ms: 2000, max_attempts: 100 }
                  breaker: { failure_threshold: 20, open_seconds: 0.5 }
                  lease_seconds: 10
                pipeline: { lease_seconds: 5 }
                """
            let configPath = "\(work)/weft-node\(node).yaml"
            try config.write(toFile: configPath, atomically: true, encoding: .utf8)
            servers.append(
                ServerProcess(
                    executable: options.executable, configPath: configPath, environment: environment, work: work, port: port,
                    http: http, name: "node\(node)"))
        }
        for server in servers { try await server.start() }
        let server = servers[0]
        let port = server.port

        // About five events per customer.
        // The story has just under four events per customer; ask for enough customers to send at least `events`.
        let story = StripeEventFactory(prefix: "K\(options.seed % 100_000)x").story(
            customers: max(1, Int((Double(options.events) / 3.9).rounded(.up))))
        var generator = SplitMix64(seed: options.seed)
        let duringSend = max(1, options.kills - 1)
        let thresholds = (0..<duringSend).map { _ in Int(Double(story.events.count) * (0.1 + 0.8 * generator.nextUnit())) }.sorted()
        let killer = Killer(server: server, thresholds: thresholds, logger: logger)
        logger.info(
            "crash test: sending", metadata: ["events": "\(story.events.count)", "kills": "\(options.kills)", "port": "\(port)"])
        // Events are spread over every node, and a retry goes to the next node, as behind a load balancer.
        let load = LoadGenerator(client: client, urls: servers.map { "http://127.0.0.1:\($0.port)/hooks/stripe" }, secret: secret)
        let sent = await load.send(story.events, concurrency: options.concurrency, giveUpAfter: .seconds(300)) { count in
            await killer.maybeKill(atAccepted: count)
        }
        // A graceful stop (SIGTERM) while the backlog is processed: nothing may be left half-done.
        var failures: [String] = []
        let stoppedLog = server.logPath
        let stoppedPID = await server.stop()
        let halfDone = try await Self.claimsHeld(
            by: stoppedPID, storePath: "\(work)/weft.db", databaseURL: environment["WEFT_DATABASE_URL"], logger: logger)
        logger.info("crash test: graceful stop", metadata: ["left_claimed": "\(halfDone)"])
        if halfDone > 0 {
            failures.append(
                "after SIGTERM, \(halfDone) events or commands were left claimed by the stopped node (half-done); "
                    + "its warnings and errors are in \(stoppedLog)")
        }
        try await server.start()
        // One more kill while the backlog is being processed and delivered.
        try await server.kill9AndRestart()
        let killCount = await killer.kills + 1
        let stats = try await http.waitForDrain("http://127.0.0.1:\(port)", token: adminToken, timeout: .seconds(900))
        if !stats.deadCommandsByKind.isEmpty {
            // What a failure needs to be understood: each dead command with its attempts and the target's last answer.
            let dead = try await http.get(
                [DeadCommand].self, "http://127.0.0.1:\(port)/v1/commands?status=dead&limit=50", token: adminToken)
            for command in dead {
                logger.error(
                    "crash test: dead command",
                    metadata: [
                        "id": "\(command.id)", "kind": "\(command.kind)", "subject": "\(command.subject)",
                        "attempts": "\(command.attempts)", "last_error": "\(command.lastError ?? "")",
                    ])
            }
        }
        for server in servers { await server.stop() }

        if !sent.abandoned.isEmpty { failures.append("\(sent.abandoned.count) events were never acknowledged") }
        if killCount < options.kills { failures.append("only \(killCount) kills happened (wanted \(options.kills))") }
        let done = stats.events["done"] ?? 0
        if done != story.events.count {
            failures.append("\(done) events processed, \(story.events.count) accepted (each must be processed exactly once)")
        }
        if (stats.events["failed"] ?? 0) != 0 { failures.append("\(stats.events["failed"] ?? 0) events failed") }
        if !stats.deadCommandsByKind.isEmpty { failures.append("dead commands: \(stats.deadCommandsByKind)") }
        // The Odoo rate limit held at the wire for the sum of the nodes: in any window of T seconds at most
        // burst + rate × (T + 0.1 s) requests reached Odoo. The 0.1 s is the wire's own jitter: a token is taken in the
        // database, then the request is built, sent and logged by the simulator when answered, and with every process
        // on two cores those steps vary by tens of milliseconds, bunching requests taken apart.
        let requests = try await http.get([SimulatedRequest].self, "\(odooURL)/__sim/requests", token: nil)
        var busiest: [String] = []
        for seconds in [1.0, 5.0] {
            let most = SimulatedRequest.maxInWindow(requests, windowMs: seconds * 1000)
            let allowed = Int(Double(options.odooRate.burst) + Double(options.odooRate.perSecond) * (seconds + 0.1))
            busiest.append("\(Int(seconds))s:\(most)/\(allowed)")
            if most > allowed {
                failures.append("Odoo saw \(most) requests in \(Int(seconds)) s; the shared limit allows \(allowed)")
            }
        }
        logger.info("crash test: Odoo requests", metadata: ["total": "\(requests.count)", "busiest": "\(busiest)"])
        let prefix = "Customer K\(options.seed % 100_000)x"
        let checks: [(String, String, JSONValue, Int)] = [
            ("partners", "res.partner", [["name", "=like", .string("\(prefix)%")]], story.customers.count),
            ("invoices", "account.move", [["move_type", "=", "out_invoice"]], story.invoices.count),
            // Money in: a payment registered alone carries its Stripe key as memo, one of a shared wizard its invoice's number.
            ("payments", "account.payment", [["payment_type", "=", "inbound"]], story.paidInvoices.count),
            ("credit notes", "account.move", [["move_type", "=", "out_refund"]], story.refunds.count),
        ]
        for (name, model, domain, expected) in checks {
            let count = try await http.odooCount(odooURL, apiKey: odooKey, database: nil, model: model, domain: domain)
            logger.info("crash test: Odoo \(name)", metadata: ["expected": "\(expected)", "found": "\(count)"])
            if count != expected { failures.append("Odoo holds \(count) \(name), expected exactly \(expected)") }
        }
        print(
            "crash-test: nodes=\(options.nodes) store=\(options.databaseURL == nil ? "sqlite" : "postgres") "
                + "odoo_requests=\(requests.count) busiest_window(found/allowed)=\(busiest.joined(separator: ",")) "
                + "events=\(story.events.count) kills=\(killCount) retries=\(sent.retries) duplicates_acked=\(sent.duplicates) "
                + "partners=\(story.customers.count) invoices=\(story.invoices.count) payments=\(story.paidInvoices.count) "
                + "credit_notes=\(story.refunds.count)")
        return failures
    }
}

extension CrashTest {
    /// Events and commands still claimed by the node that ran as process `pid` (node ids are `host-pid`).
    static func claimsHeld(by pid: Int32?, storePath: String, databaseURL: String?, logger: Logger) async throws -> Int {
        guard let pid else { return 0 }
        let prefix = "\(ProcessInfo.processInfo.hostName)-\(pid)/"
        if let databaseURL {
            let store = try PostgresStore.connect(url: databaseURL, configuration: .init(maximumConnections: 2), logger: logger)
            defer { store.close() }
            return try await store.claimsHeld(byOwnerPrefix: prefix)
        }
        let store = try SQLiteStore(path: storePath, logger: logger)
        return try await store.claimsHeld(byOwnerPrefix: prefix)
    }
}

/// A dead command as `GET /v1/commands` lists it.
struct DeadCommand: Decodable {
    var id: Int64
    var kind: String
    var subject: String
    var attempts: Int
    var lastError: String?

    enum CodingKeys: String, CodingKey {
        case id, kind, subject, attempts
        case lastError = "last_error"
    }
}

/// One request as the simulator's log lists it (`GET /__sim/requests`).
struct SimulatedRequest: Decodable {
    var path: String
    var atMs: Double

    enum CodingKeys: String, CodingKey {
        case path
        case atMs = "at_ms"
    }

    /// The most requests to the API (not the simulator's own `/__sim/` routes) in any window of `windowMs`.
    static func maxInWindow(_ requests: [SimulatedRequest], windowMs: Double) -> Int {
        let times = requests.filter { !$0.path.hasPrefix("/__sim/") }.map(\.atMs).sorted()
        var best = 0
        var low = 0
        for high in times.indices {
            while times[high] - times[low] >= windowMs { low += 1 }
            best = max(best, high - low + 1)
        }
        return best
    }
}

/// `weft serve` as a child process that can be killed and restarted on the same port.
final class ServerProcess: @unchecked Sendable {
    let executable: String
    let configPath: String
    let environment: [String: String]
    let work: String
    let port: Int
    let http: HarnessHTTP
    let name: String
    private let lock = NSLock()
    private var process: ChildProcess?
    private var generation = 0

    init(
        executable: String, configPath: String, environment: [String: String], work: String, port: Int, http: HarnessHTTP,
        name: String = "weft"
    ) {
        self.executable = executable
        self.configPath = configPath
        self.environment = environment
        self.work = work
        self.port = port
        self.http = http
        self.name = name
    }

    func start() async throws {
        let generation = lock.withLock {
            self.generation += 1
            return self.generation
        }
        let process = try ProcessSupport.start(
            executable: executable, arguments: ["serve", "--config", configPath, "--log-level", "warning"],
            environment: environment, logPath: "\(work)/\(name)-\(generation).log")
        lock.withLock { self.process = process }
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < deadline {
            if await http.isUp("http://127.0.0.1:\(port)/readyz") { return }
            guard process.isRunning else { throw HarnessError("weft serve exited at start; see \(work)/\(name)-\(generation).log") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("weft serve was not ready within 60 s")
    }

    func kill9AndRestart() async throws {
        if let process = lock.withLock({ self.process }) { ProcessSupport.kill9(process) }
        try await start()
    }

    /// The running server's pid.
    var pid: Int32? { lock.withLock { self.process?.processIdentifier } }

    /// Where the current (or last) run of the server writes its warnings and errors.
    var logPath: String { "\(work)/\(name)-\(lock.withLock { generation }).log" }

    /// CPU time the running server has used so far, in seconds.
    func cpuSeconds() -> Double? { pid.flatMap(ProcessSupport.cpuSeconds(pid:)) }

    /// Peak resident memory of the running server, in MiB.
    func peakRSSMegabytes() -> Double? { pid.flatMap(ProcessSupport.peakRSSMegabytes(pid:)) }

    /// Stops the server with SIGTERM (graceful) and returns its pid.
    @discardableResult
    func stop() async -> Int32? {
        guard let process = lock.withLock({ self.process }) else { return nil }
        let pid = process.processIdentifier
        ProcessSupport.terminate(process)
        return pid
    }
}

/// Kills the server when the acknowledged count passes each threshold.
actor Killer {
    let server: ServerProcess
    var thresholds: [Int]
    let logger: Logger
    private(set) var kills = 0
    /// A kill and restart is under way. The actor is reentrant across the restart's awaits: without this, two
    /// acknowledgements a few milliseconds apart that both pass a threshold killed the process the first restart had
    /// just started and started a second one on the same port ("Address already in use"). The next threshold waits for
    /// a later acknowledgement instead.
    private var restarting = false

    init(server: ServerProcess, thresholds: [Int], logger: Logger) {
        self.server = server
        self.thresholds = thresholds
        self.logger = logger
    }

    func maybeKill(atAccepted count: Int) async {
        guard !restarting, let next = thresholds.first, count >= next else { return }
        restarting = true
        defer { restarting = false }
        thresholds.removeFirst()
        kills += 1
        logger.info("crash test: SIGKILL", metadata: ["accepted": "\(count)", "kill": "\(kills)"])
        do {
            try await server.kill9AndRestart()
        } catch {
            logger.error("crash test: restart failed", metadata: ["error": "\(error)"])
        }
    }
}
