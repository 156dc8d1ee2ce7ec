import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Prometheus
import ServiceLifecycle
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimKit
import WeftSimOdoo
import WeftStoreSQLite
import WeftTools

/// A running Odoo simulator (real HTTP, with fault injection) and a Weft node (real HTTP, fresh SQLite store) for
/// end-to-end tests.
struct TestNode: Sendable {
    static let webhookSecret = "whsec_e2e_secret"
    static let odooKey = "e2e-odoo-key"
    static let adminToken = "e2e-admin-token"

    let node: WeftNode
    let weftURL: String
    let odooURL: String
    let faults: FaultInjector
    let requests: RequestLog
    let http: HarnessHTTP

    var store: any Store { node.store }

    /// Starts both, runs `body`, stops both.
    /// - Parameter directory: where the node keeps its SQLite file (`weft.db`), left in place afterwards, so a second
    ///   node can start on the same file (a restart); by default a fresh directory, removed afterwards.
    static func with<T: Sendable>(
        directory: String? = nil, odooRateLimit: RateLimit? = nil,
        retry: RetryPolicy = RetryPolicy(initialDelay: .milliseconds(20), maxDelay: .milliseconds(500), maxAttempts: 200),
        breakerThreshold: Int = 3, breakerOpenFor: Duration = .milliseconds(200), store: (@Sendable (String) throws -> any Store)? = nil,
        api: OdooAPI = .json2, entitlements: EntitlementRules = .init(), stripeCatchUpURL: String? = nil,
        stripeCatchUpInterval: Duration = .seconds(3600), stripeAPIURL: String? = nil,
        extraSystems: [SystemName: SystemConfiguration] = [:], extraFlows: [Flow] = [],
        extraEnvironment: [String: String] = [:], odooStatusInterval: Duration = .seconds(60),
        ownership: OwnershipRules = .init(), odooIdentity: [String]? = nil, odooBatchSize: Int? = nil, odooAccounting: Bool = false,
        logger: Logger = Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() }),
        registry: PrometheusCollectorRegistry? = nil,
        _ body: @Sendable @escaping (TestNode) async throws -> T
    ) async throws -> T {
        let kept = directory
        let directory = kept ?? FileManager.default.temporaryDirectory.appendingPathComponent("weft-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { if kept == nil { try? FileManager.default.removeItem(atPath: directory) } }
        let odoo = OdooSimulator(configuration: .init(database: "e2e", apiKeys: [odooKey], accounting: odooAccounting))
        let faults = odoo.faults
        let requests = odoo.requestLog
        let odooRouter = Router()
        odoo.addRoutes(to: odooRouter)
        return try await SimulatorServer.withRunning(router: odooRouter, logger: logger) { odooPort in
            var configuration = WeftConfiguration()
            configuration.store = StoreConfiguration(sqlitePath: "\(directory)/weft.db")
            configuration.server = ServerConfiguration(
                host: "127.0.0.1", port: 0, maxBodyBytes: 64 * 1024,
                adminTokens: [AdminToken(secret: .environment("ADMIN"), scopes: ["operate"])])
            configuration.systems = [
                "stripe": .stripe(
                    StripeSystemConfiguration(
                        baseURL: stripeCatchUpURL ?? stripeAPIURL ?? "https://api.stripe.com", apiKey: .environment("STRIPE_KEY"),
                        webhookSecrets: [.environment("SECRET")], catchUpInterval: stripeCatchUpURL == nil ? nil : stripeCatchUpInterval)),
                "odoo": .odoo(
                    OdooSystemConfiguration(
                        url: "http://127.0.0.1:\(odooPort)", database: "e2e", api: api, login: "admin",
                        apiKey: .environment("ODOO"), rateLimit: odooRateLimit, statusInterval: odooStatusInterval)),
            ]
            if case .odoo(var odoo)? = configuration.systems["odoo"] {
                if let odooIdentity { odoo.identityKeys = odooIdentity }
                if let odooBatchSize { odoo.batchSize = odooBatchSize }
                configuration.systems["odoo"] = .odoo(odoo)
            }
            configuration.systems.merge(extraSystems) { _, extra in extra }
            configuration.ownership = ownership
            configuration.flows = [Flow(name: "billing_to_erp", source: "stripe", target: "odoo")] + extraFlows
            configuration.delivery = DeliveryConfiguration(
                retry: retry, breakerFailureThreshold: breakerThreshold, breakerOpenFor: breakerOpenFor, concurrency: 2,
                lease: .seconds(30))
            configuration.pipeline = PipelineConfiguration(
                workers: 2, batchSize: 64, lease: .seconds(30), idlePoll: .milliseconds(100), recheckInterval: .milliseconds(200))
            configuration.entitlements = entitlements
            let node = try await WeftNode(
                configuration: configuration,
                environment: ["SECRET": webhookSecret, "ODOO": odooKey, "ADMIN": adminToken, "STRIPE_KEY": "sk_test_e2e"]
                    .merging(extraEnvironment) { _, extra in extra },
                store: try store?("\(directory)/weft.db"), httpClient: .shared, registry: registry, nodeID: "e2e", logger: logger)
            let (ports, continuation) = AsyncStream<Int>.makeStream()
            let group = node.makeServiceGroup { port in
                continuation.yield(port)
                continuation.finish()
            }
            return try await withThrowingTaskGroup(of: T?.self) { tasks in
                tasks.addTask {
                    try await group.run()
                    return nil
                }
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next() else { throw HarnessError("weft did not start") }
                let testNode = TestNode(
                    node: node, weftURL: "http://127.0.0.1:\(port)", odooURL: "http://127.0.0.1:\(odooPort)", faults: faults,
                    requests: requests, http: HarnessHTTP(client: .shared))
                let outcome: Result<T, any Error>
                do {
                    outcome = .success(try await body(testNode))
                } catch {
                    outcome = .failure(error)
                }
                await group.triggerGracefulShutdown()
                while (try? await tasks.next()) != nil {}
                return try outcome.get()
            }
        }
    }

    /// Sends events as Stripe would (retrying until acknowledged).
    func send(_ events: [StripeTestEvent], concurrency: Int = 8) async -> LoadGenerator.Result {
        await LoadGenerator(client: .shared, url: "\(weftURL)/hooks/stripe", secret: Self.webhookSecret)
            .send(events, concurrency: concurrency, giveUpAfter: .seconds(60))
    }

    /// Waits until every event is processed and every command settled.
    func drain() async throws -> StatsSnapshot {
        try await http.waitForDrain(weftURL, token: Self.adminToken, timeout: .seconds(120))
    }

    /// `GET /v1/entitlements/<path>` as a support tool calls it: the status and the JSON body.
    func entitlementLookup(_ path: String) async throws -> (status: Int, body: JSONValue) {
        var request = HTTPClientRequest(url: "\(weftURL)/v1/entitlements/\(path)")
        request.headers.add(name: "Authorization", value: "Bearer \(Self.adminToken)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), try JSONValue.parse(Data(body.readableBytesView)))
    }

    /// `GET` on the admin API with the test's token: the JSON body.
    func adminJSON(_ path: String) async throws -> JSONValue {
        var request = HTTPClientRequest(url: "\(weftURL)\(path)")
        request.headers.add(name: "Authorization", value: "Bearer \(Self.adminToken)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return try JSONValue.parse(Data(body.readableBytesView))
    }

    /// `search_count` in the Odoo simulator over JSON-2, as a user would check.
    func odooCount(_ model: String, _ domain: JSONValue) async throws -> Int {
        try await http.odooCount(odooURL, apiKey: Self.odooKey, database: nil, model: model, domain: domain)
    }

    /// `search_read` in the Odoo simulator.
    func odooRead(_ model: String, _ domain: JSONValue, fields: [String]) async throws -> [JSONValue] {
        let result = try await http.odoo(
            odooURL, apiKey: Self.odooKey, database: nil, model: model, method: "search_read",
            body: ["domain": domain, "fields": .array(fields.map { .string($0) })])
        return result.arrayValue ?? []
    }

    /// The Odoo state a story must leave: counts that reveal any duplicate or missing record.
    func odooSummary(namePrefix: String) async throws -> OdooSummary {
        OdooSummary(
            partners: try await odooCount("res.partner", [["name", "=like", .string("\(namePrefix)%")]]),
            invoices: try await odooCount("account.move", [["move_type", "=", "out_invoice"], ["state", "=", "posted"]]),
            paidInvoices: try await odooCount(
                "account.move", [["move_type", "=", "out_invoice"], ["payment_state", "in", ["paid", "in_payment", "reversed"]]]),
            // Money in, however Odoo labelled it (a payment paid alone carries its key, one of several its invoice's number).
            payments: try await odooCount("account.payment", [["payment_type", "=", "inbound"]]),
            creditNotes: try await odooCount("account.move", [["move_type", "=", "out_refund"], ["state", "=", "posted"]]),
            pastDue: try await odooCount("res.partner", [["category_id.name", "=", "Past due"]]))
    }
}

struct OdooSummary: Equatable, CustomStringConvertible {
    var partners: Int
    var invoices: Int
    var paidInvoices: Int
    var payments: Int
    var creditNotes: Int
    var pastDue: Int

    var description: String {
        "partners=\(partners) invoices=\(invoices) paid=\(paidInvoices) payments=\(payments) creditNotes=\(creditNotes) pastDue=\(pastDue)"
    }

    static func expected(_ story: StripeEventFactory.Story) -> OdooSummary {
        OdooSummary(
            partners: story.customers.count, invoices: story.invoices.count, paidInvoices: story.paidInvoices.count,
            payments: story.paidInvoices.count, creditNotes: story.refunds.count, pastDue: story.pastDueCustomers.count)
    }
}
