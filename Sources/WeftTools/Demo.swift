public import AsyncHTTPClient
import Foundation
import Hummingbird
public import Logging
import ServiceLifecycle
import UnixSignals
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimFreshdesk
import WeftSimHubSpot
import WeftSimKit
import WeftSimOdoo
import WeftSimStripe
import WeftSimZendesk

/// `weft demo`: the Stripe, Odoo, Zendesk, Freshdesk and HubSpot simulators and Weft in one process, on free loopback ports,
/// with a throwaway store; a scripted story told step by step, then a consistency summary. Succeeds only if every
/// check held.
public struct Demo: Sendable {
    public struct Options: Sendable {
        public var keepRunning: Bool
        public var workDir: String
        /// The API version of the simulated Stripe account (its webhook endpoint and Weft's API calls).
        public var stripeAPIVersion: String
        /// Whether the simulated Odoo has Odoo Accounting, whose payments get no journal entry (`in_process`).
        public var odooAccounting: Bool
        public init(
            keepRunning: Bool, workDir: String, stripeAPIVersion: String = Demo.currentStripeAPIVersion, odooAccounting: Bool = false
        ) {
            self.keepRunning = keepRunning
            self.workDir = workDir
            self.stripeAPIVersion = stripeAPIVersion
            self.odooAccounting = odooAccounting
        }
    }

    /// The version a Stripe account created today gets: invoices no longer name their charge, payments arrive as
    /// `invoice_payment` objects that name only their invoice.
    public static let currentStripeAPIVersion = StripeSimulator.Configuration().apiVersion

    let options: Options
    let logger: Logger
    let say: @Sendable (String) -> Void

    public init(options: Options, logger: Logger, say: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.options = options
        self.logger = logger
        self.say = say
    }

    /// Runs the story. Returns the failed checks (empty: every check held).
    public func run(client: HTTPClient) async throws -> [String] {
        try FileManager.default.createDirectory(atPath: options.workDir, withIntermediateDirectories: true)
        let odooKey = "demo-odoo-key"
        let stripeKey = "sk_test_demo"
        let quiet = Bench.quieter(logger)

        let odoo = OdooSimulator(
            configuration: .init(database: "demo", apiKeys: [odooKey], accounting: options.odooAccounting))
        let odooFaults = odoo.faults
        let odooRouter = Router()
        addSimulatorAdminRoutes(to: odooRouter, faults: odoo.faults, log: odoo.requestLog)
        odoo.addRoutes(to: odooRouter)

        var stripeConfiguration = StripeSimulator.Configuration()
        stripeConfiguration.apiKeys = [stripeKey]
        stripeConfiguration.apiVersion = options.stripeAPIVersion
        stripeConfiguration.webhooks.baseRetryDelay = .milliseconds(50)
        stripeConfiguration.webhooks.maxRetryDelay = .seconds(1)
        stripeConfiguration.logger = quiet
        let stripe = StripeSimulator(configuration: stripeConfiguration, httpClient: client)

        // The support desks, with the fields an admin creates for Weft (docs/connectors/zendesk.md, freshdesk.md).
        let zendesk = ZendeskSimulator(
            configuration: .init(agentEmail: "weft@demo.example", apiTokens: [Self.zendeskToken], logger: quiet),
            httpClient: client)
        for key in Self.deskFields.fieldNames {
            _ = zendesk.call(
                "POST", "/api/v2/organization_fields.json",
                body: #"{"organization_field":{"key":"\#(key)","type":"text","title":"\#(key)"}}"#)
        }
        let freshdesk = FreshdeskSimulator(
            configuration: .init(
                apiKeys: [Self.freshdeskKey],
                companyFields: Self.freshdeskFields.fieldNames.map { FreshdeskSimulator.CustomField(name: $0, label: $0) },
                logger: quiet),
            httpClient: client)

        // The CRM: a HubSpot portal whose app sends webhooks to Weft (the target is set once Weft's port is known).
        let hubspot = HubSpotSimulator(
            configuration: .init(
                accessTokens: [CRMDemoDefaults.hubSpotToken],
                webhooks: .init(
                    clientSecret: CRMDemoDefaults.hubSpotClientSecret, subscriptions: CRMDemoDefaults.hubSpotSubscriptions,
                    retryBaseDelay: .milliseconds(100), maxRetryDelay: .seconds(1)),
                logger: quiet),
            httpClient: client)

        let work = options.workDir
        let keepRunning = options.keepRunning
        return try await SimulatorServer.withRunning(router: odooRouter, logger: quiet) { odooPort in
            let stripeRouter = Router()
            stripe.addRoutes(to: stripeRouter)
            return try await SimulatorServer.withRunning(router: stripeRouter, logger: quiet) { stripePort in
                let zendeskRouter = Router()
                zendesk.addRoutes(to: zendeskRouter)
                return try await SimulatorServer.withRunning(router: zendeskRouter, logger: quiet) { zendeskPort in
                    let freshdeskRouter = Router()
                    freshdesk.addRoutes(to: freshdeskRouter)
                    return try await SimulatorServer.withRunning(router: freshdeskRouter, logger: quiet) { freshdeskPort in
                        let hubspotRouter = Router()
                        hubspot.addRoutes(to: hubspotRouter)
                        return try await SimulatorServer.withRunning(router: hubspotRouter, logger: quiet) { hubspotPort in
                            let weftPort = try ProcessSupport.freePort()
                            let endpoint = stripe.call(
                                "POST", "/v1/webhook_endpoints",
                                parameters: [("url", "http://127.0.0.1:\(weftPort)/hooks/stripe"), ("enabled_events[]", "*")])
                            guard let secret = try? JSONValue.parse(Data(endpoint.body))["secret"]?.stringValue else {
                                throw HarnessError("the Stripe simulator did not create a webhook endpoint")
                            }
                            var configuration = WeftConfiguration()
                            configuration.store = StoreConfiguration(
                                sqlitePath: "\(work)/demo.db",
                                payloadKeys: [PayloadKeyReference(id: "demo", secret: .environment("PAYLOAD_KEY"))])
                            configuration.server = ServerConfiguration(
                                host: "127.0.0.1", port: weftPort,
                                adminTokens: [AdminToken(secret: .environment("ADMIN"), scopes: ["operate"])])
                            configuration.systems = [
                                "stripe": .stripe(
                                    StripeSystemConfiguration(
                                        baseURL: "http://127.0.0.1:\(stripePort)", apiKey: .environment("STRIPE_KEY"),
                                        webhookSecrets: [.environment("STRIPE_SECRET")], apiVersion: options.stripeAPIVersion,
                                        catchUpInterval: .seconds(2),
                                        catchUpOverlap: .seconds(5))),
                                "odoo": .odoo(
                                    OdooSystemConfiguration(
                                        url: "http://127.0.0.1:\(odooPort)", database: "demo", api: .json2,
                                        apiKey: .environment("ODOO_KEY"),
                                        rateLimit: RateLimit(perSecond: 50, burst: 20))),
                            ]
                            configuration.systems["zendesk"] = .desk(
                                DeskSystemConfiguration(
                                    kind: .zendesk, baseURL: "http://127.0.0.1:\(zendeskPort)", email: "weft@demo.example",
                                    apiKey: .environment("ZENDESK_TOKEN"), fields: Self.deskFields))
                            configuration.systems["freshdesk"] = .desk(
                                DeskSystemConfiguration(
                                    kind: .freshdesk, baseURL: "http://127.0.0.1:\(freshdeskPort)", apiKey: .environment("FRESHDESK_KEY"),
                                    fields: Self.freshdeskFields))
                            configuration.systems["hubspot"] = .hubspot(
                                HubSpotSystemConfiguration(
                                    baseURL: "http://127.0.0.1:\(hubspotPort)", accessToken: .environment("HUBSPOT_TOKEN"),
                                    clientSecrets: [.environment("HUBSPOT_SECRET")], catchUpInterval: .seconds(2)))
                            hubspot.setWebhookTarget("http://127.0.0.1:\(weftPort)/hooks/hubspot")
                            configuration.flows = [
                                Flow(name: "billing_to_erp", source: "stripe", target: "odoo"),
                                Flow(name: "billing_to_zendesk", source: "stripe", target: "zendesk"),
                                Flow(name: "billing_to_freshdesk", source: "stripe", target: "freshdesk"),
                                Flow(name: "deals_to_erp", source: "hubspot", target: "odoo"),
                            ]
                            configuration.entitlements = EntitlementRules(graceDays: 7)
                            configuration.ownership = OwnershipRules(owners: ["customer.taxID": "odoo"])
                            configuration.delivery = DeliveryConfiguration(
                                retry: RetryPolicy(initialDelay: .milliseconds(100), maxDelay: .seconds(1), maxAttempts: 100),
                                breakerFailureThreshold: 3, breakerOpenFor: .milliseconds(500), concurrency: 2)
                            let node = try await WeftNode(
                                configuration: configuration,
                                environment: [
                                    "STRIPE_KEY": stripeKey, "STRIPE_SECRET": secret, "ODOO_KEY": odooKey, "ADMIN": "demo-admin",
                                    "PAYLOAD_KEY": PayloadCipher.Key.randomBase64(), "ZENDESK_TOKEN": Self.zendeskToken,
                                    "FRESHDESK_KEY": Self.freshdeskKey, "HUBSPOT_TOKEN": CRMDemoDefaults.hubSpotToken,
                                    "HUBSPOT_SECRET": CRMDemoDefaults.hubSpotClientSecret,
                                ],
                                httpClient: client, registry: nil, nodeID: "demo", logger: quiet)
                            let (ready, readyContinuation) = AsyncStream<Int>.makeStream()
                            let group = node.makeServiceGroup(gracefulShutdownSignals: keepRunning ? [.sigterm, .sigint] : []) { port in
                                readyContinuation.yield(port)
                                readyContinuation.finish()
                            }
                            // Each task says whether it is the one to wait for when the story is over: the node's service
                            // group (or the deadline for it), not the simulators' webhook senders.
                            return try await withThrowingTaskGroup(of: Bool.self) { tasks in
                                tasks.addTask {
                                    do {
                                        try await group.run()
                                    } catch is CancellationError {
                                        // Stopped by a signal (`--keep-running`): a normal end.
                                    }
                                    return true
                                }
                                tasks.addTask {
                                    try await cancelWhenGracefulShutdown { try await stripe.runDelivery() }
                                    return false
                                }
                                tasks.addTask {
                                    try await cancelWhenGracefulShutdown { try await hubspot.runDelivery() }
                                    return false
                                }
                                var iterator = ready.makeAsyncIterator()
                                _ = await iterator.next() as Int?
                                say("Weft     http://127.0.0.1:\(weftPort)   (POST /hooks/stripe, /metrics, /v1/…)")
                                say("Stripe   http://127.0.0.1:\(stripePort)   simulator (key \(stripeKey))")
                                say("Odoo     http://127.0.0.1:\(odooPort)   simulator (JSON-2, key \(odooKey), database demo)")
                                say("Zendesk  http://127.0.0.1:\(zendeskPort)   simulator (weft@demo.example/token:\(Self.zendeskToken))")
                                say("Freshdesk http://127.0.0.1:\(freshdeskPort)  simulator (key \(Self.freshdeskKey))")
                                say(
                                    "HubSpot  http://127.0.0.1:\(hubspotPort)   simulator (token \(CRMDemoDefaults.hubSpotToken), webhooks → /hooks/hubspot)"
                                )
                                let story = DemoStory(
                                    stripe: stripe,
                                    odoo: OdooProbe(http: HarnessHTTP(client: client), url: "http://127.0.0.1:\(odooPort)", key: odooKey),
                                    odooFaults: odooFaults, node: node,
                                    desks: DeskProbe(
                                        http: HarnessHTTP(client: client), client: client, weftURL: "http://127.0.0.1:\(weftPort)",
                                        zendeskURL: "http://127.0.0.1:\(zendeskPort)", freshdeskURL: "http://127.0.0.1:\(freshdeskPort)",
                                        stripeFaults: stripe.faults),
                                    crm: CRMProbe(
                                        hubspot: hubspot, client: client, weftURL: "http://127.0.0.1:\(weftPort)", adminToken: "demo-admin",
                                        odooURL: "http://127.0.0.1:\(odooPort)", odooKey: odooKey),
                                    say: say)
                                let failures = await story.tell()
                                var nodeRunning = true
                                if keepRunning {
                                    say("\n--keep-running: everything stays up; stop with Ctrl-C.")
                                    nodeRunning = try await tasks.next() != true
                                }
                                // The node winds down by itself (requests in flight answered, workers stopped); cancelling
                                // its task as well would cut the HTTP server's listener in the middle of that, which
                                // Hummingbird logs as errors. The deadline only guards against a shutdown that hangs.
                                await group.triggerGracefulShutdown()
                                if nodeRunning {
                                    tasks.addTask {
                                        try? await Task.sleep(for: .seconds(30))
                                        return true
                                    }
                                    while let ended = try? await tasks.next(), !ended {}
                                }
                                tasks.cancelAll()
                                while (try? await tasks.next()) != nil {}
                                return failures
                            }
                        }
                    }
                }
            }
        }
    }

    static let zendeskToken = "demo-zendesk-token"
    static let freshdeskKey = "demo-freshdesk-key"
    /// What the desks show: the same fields in both (Freshdesk also keeps Weft's account id in one).
    static let deskFields = DeskFieldMap(
        tier: "weft_tier", status: "weft_status", standing: "weft_standing", overdueAmount: "weft_overdue_amount",
        overdueSince: "weft_overdue_since", contractEnd: "weft_contract_end", supportLevel: "weft_support_level")
    static var freshdeskFields: DeskFieldMap {
        var fields = deskFields
        fields.account = "weft_account"
        return fields
    }
}

/// Reads Odoo through its JSON-2 API, as a user would.
struct OdooProbe: Sendable {
    let http: HarnessHTTP
    let url: String
    let key: String

    func read(_ model: String, _ domain: JSONValue, _ fields: [String]) async throws -> [JSONValue] {
        try await http.odoo(
            url, apiKey: key, database: nil, model: model, method: "search_read",
            body: ["domain": domain, "fields": .array(fields.map { .string($0) })]
        ).arrayValue ?? []
    }

    func count(_ model: String, _ domain: JSONValue) async throws -> Int {
        try await http.odooCount(url, apiKey: key, database: nil, model: model, domain: domain)
    }
}
