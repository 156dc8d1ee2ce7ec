import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals
import WeftSimChargebee
import WeftSimFreshdesk
import WeftSimHubSpot
import WeftSimKit
import WeftSimOdoo
import WeftSimSalesforce
import WeftSimStripe
import WeftSimZendesk
import WeftTools

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one simulator standalone (state in memory) until SIGTERM or SIGINT.",
        discussion: """
            The simulator speaks the system's real wire protocol on HOST:PORT and adds admin routes under /__sim/ \
            (faults, request log). Point a Weft config at it as if it were the real system.
            """)

    enum System: String, ExpressibleByArgument, CaseIterable {
        case odoo, stripe, chargebee, zendesk, freshdesk, hubspot, salesforce
    }

    @Option(name: .long, help: "odoo, stripe, chargebee, zendesk, freshdesk, hubspot or salesforce.") var system: System
    @Option(name: .long, help: "Address to bind.") var host = "127.0.0.1"
    @Option(name: .long, help: "Port (0 picks a free one).") var port = 0
    @Option(name: .long, help: "Write the bound port to this file once listening.") var portFile: String?
    @Option(
        name: .long,
        help: """
            The credential clients must send (Odoo API key, Stripe secret key, Chargebee API key, Zendesk API token, \
            Freshdesk API key, HubSpot private app access token, Salesforce connected app consumer key).
            """)
    var apiKey: String?
    @Option(name: .long, help: "Zendesk: the agent email that signs in with the API token.") var email = "agent@example.com"
    @Option(
        name: .long,
        help: """
            Chargebee, Zendesk, Freshdesk, HubSpot, Salesforce: where webhooks (Salesforce: Opportunity outbound \
            messages) go (e.g. http://127.0.0.1:8080/hooks/hubspot).
            """)
    var webhookURL: String?
    @Option(
        name: .long,
        help: """
            Chargebee: the Basic-auth password (user weft); Zendesk: the signing secret; Freshdesk: the \
            X-Weft-Webhook-Secret value; HubSpot: the app's client secret (signs webhooks, v3).
            """)
    var webhookSecret: String?
    @Option(name: .long, help: "Salesforce: the connected app's consumer secret (client credentials flow).")
    var clientSecret: String?
    @Option(name: .long, help: "Salesforce: the integration user (client credentials run-as, JWT bearer subject).")
    var username = "integration@weft.example"
    @Option(name: .long, help: "Salesforce: a PEM file with the certificate's RSA public key, to enable the JWT bearer flow.")
    var jwtPublicKey: String?
    @Option(name: .long, help: "Freshdesk: a company field to define (repeat), e.g. weft_account.") var companyField: [String] = []
    @Option(name: .long, help: "Odoo: the database name.") var database = "weft"
    @Option(name: .long, help: "Odoo: the version to emulate (18 or 19).") var odooVersion = 19
    @Flag(
        name: .long,
        help: "Odoo: emulate Odoo Accounting, whose payments get no journal entry (in_process) until a bank statement matches them.")
    var odooAccounting = false
    @Flag(name: .long, help: "Odoo: emulate Enterprise subscriptions (sale.subscription.plan, sale.order.plan_id).")
    var odooEnterprise = false
    @Option(name: .long, help: "Log level.") var logLevel: Logger.Level = .info

    func run() async throws {
        _ = ProcessBootstrap.start(logLevel: logLevel)
        let logger = Logger(label: "weft.simulate.\(system.rawValue)")
        let router = Router()
        var services: [any Service] = []
        // What a client needs besides the URL (credentials of a throwaway, in-memory simulator), given the bound port.
        var notes: @Sendable (Int) -> [String] = { _ in [] }
        // Handlers each connection gets before the router (made per connection).
        var channelHandlers: @Sendable () -> [any RemovableChannelHandler] = { [] }
        switch system {
        case .odoo:
            let simulator = OdooSimulator(
                configuration: .init(
                    version: odooVersion, database: database, apiKeys: [apiKey ?? "weft-odoo-key"], enterprise: odooEnterprise,
                    accounting: odooAccounting))
            // The Odoo simulator applies its own fault injector; the shared admin routes steer it.
            addSimulatorAdminRoutes(to: router, faults: simulator.faults, log: simulator.requestLog)
            simulator.addRoutes(to: router)
            // JSON-2 calls are answered on the event loop (`OdooJSON2FastPath`), the rest by the router.
            channelHandlers = { [OdooJSON2FastPath(simulator: simulator)] }
        case .stripe:
            var configuration = StripeSimulator.Configuration()
            if let apiKey { configuration.apiKeys = [apiKey] }
            configuration.logger = logger
            let simulator = StripeSimulator(configuration: configuration, httpClient: .shared)
            // The Stripe simulator mounts its own fault middleware and admin routes.
            simulator.addRoutes(to: router)
            services.append(StripeDeliveryService(simulator: simulator))
        case .chargebee:
            let simulator = ChargebeeSimulator(
                configuration: .init(
                    apiKeys: [apiKey ?? "test_weft_key"],
                    webhooks: .init(
                        endpoints: webhookURL.map { [.init(url: $0, username: "weft", password: webhookSecret)] } ?? []),
                    logger: logger))
            simulator.addRoutes(to: router)
            services.append(DeliveryService { try await simulator.runDelivery() })
        case .zendesk:
            let simulator = ZendeskSimulator(
                configuration: .init(
                    agentEmail: email, apiTokens: [apiKey ?? "zd_tok"],
                    webhooks: .init(
                        endpoints: webhookURL.map { [.init(url: $0, secret: webhookSecret ?? "zd_signing_secret")] } ?? []),
                    logger: logger))
            simulator.addRoutes(to: router)
            services.append(DeliveryService { try await simulator.runDelivery() })
        case .freshdesk:
            let simulator = FreshdeskSimulator(
                configuration: .init(
                    apiKeys: [apiKey ?? "fd_key123"],
                    companyFields: companyField.map { FreshdeskSimulator.CustomField(name: $0, label: $0) },
                    webhooks: webhookURL.map {
                        [.init(url: $0, headers: webhookSecret.map { ["X-Weft-Webhook-Secret": $0] } ?? [:])]
                    } ?? [],
                    logger: logger))
            simulator.addRoutes(to: router)
            services.append(DeliveryService { try await simulator.runDelivery() })
        case .hubspot:
            let token = apiKey ?? CRMDemoDefaults.hubSpotToken
            let secret = webhookSecret ?? CRMDemoDefaults.hubSpotClientSecret
            let simulator = HubSpotSimulator(
                configuration: .init(
                    accessTokens: [token],
                    webhooks: .init(
                        targetURL: webhookURL, clientSecret: secret, subscriptions: CRMDemoDefaults.hubSpotSubscriptions),
                    logger: logger))
            // The HubSpot simulator mounts its own fault middleware and admin routes.
            simulator.addRoutes(to: router)
            services.append(DeliveryService { try await simulator.runDelivery() })
            let (tokenGiven, secretGiven, target) = (apiKey != nil, webhookSecret != nil, webhookURL)
            notes = { _ in
                [
                    "  access token: \(tokenGiven ? "the --api-key value" : token)  (Authorization: Bearer …)",
                    "  client secret: \(secretGiven ? "the --webhook-secret value" : secret)  (v3 webhook signatures)",
                    "  webhooks: \(target ?? "none (set --webhook-url)"); subscriptions "
                        + CRMDemoDefaults.hubSpotSubscriptions.map { $0.subscriptionType + ($0.propertyName.map { ":" + $0 } ?? "") }
                        .joined(separator: ", "),
                ]
            }
        case .salesforce:
            let consumerKey = apiKey ?? CRMDemoDefaults.salesforceConsumerKey
            let consumerSecret = clientSecret ?? CRMDemoDefaults.salesforceConsumerSecret
            var publicKey: String?
            if let path = jwtPublicKey {
                guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ValidationError("--jwt-public-key: cannot read \(path)")
                }
                publicKey = pem
            }
            let simulator = SalesforceSimulator(
                configuration: .init(
                    connectedApps: [
                        consumerKey: .init(
                            jwtPublicKeyPEM: publicKey, preAuthorizedUsernames: [username], clientSecret: consumerSecret,
                            clientCredentialsRunAs: username)
                    ],
                    outboundMessages: webhookURL.map {
                        [
                            .init(
                                name: "Weft_Opportunity", sObjectType: "Opportunity", endpointURL: $0,
                                fields: CRMDemoDefaults.salesforceOutboundFields)
                        ]
                    } ?? [],
                    logger: logger))
            // The Salesforce simulator mounts its own fault middleware and admin routes.
            simulator.addRoutes(to: router)
            services.append(DeliveryService { await simulator.runDelivery() })
            let (keyGiven, secretGiven, user, jwt, target) = (apiKey != nil, clientSecret != nil, username, publicKey != nil, webhookURL)
            let host = self.host
            notes = { port in
                [
                    "  consumer key: \(keyGiven ? "the --api-key value" : consumerKey)",
                    "  consumer secret: \(secretGiven ? "the --client-secret value" : consumerSecret)  (client credentials, runs as \(user))",
                    "  token: curl -s http://\(host):\(port)/services/oauth2/token -d grant_type=client_credentials "
                        + "-d client_id=\(keyGiven ? "<consumer key>" : consumerKey) -d client_secret=\(secretGiven ? "<consumer secret>" : consumerSecret)",
                    "  JWT bearer: \(jwt ? "enabled for sub \(user), aud https://login.salesforce.com" : "off (pass --jwt-public-key)")",
                    "  outbound messages (Opportunity): \(target ?? "none (set --webhook-url)")",
                ]
            }
        }
        let portFile = self.portFile
        let system = self.system
        let notesForPort = notes
        let handlers = channelHandlers
        let app = Application(
            router: router, server: .http1(configuration: .init(additionalChannelHandlers: handlers())),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                FileHandle.standardOutput.write(Data("\(system.rawValue) simulator listening on http://\(host):\(bound)\n".utf8))
                for line in notesForPort(bound) { FileHandle.standardOutput.write(Data("\(line)\n".utf8)) }
                if let portFile {
                    let temporary = portFile + ".tmp"
                    _ = FileManager.default.createFile(atPath: temporary, contents: Data("\(bound)\n".utf8))
                    _ = rename(temporary, portFile)
                }
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) } + [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

/// A simulator's webhook sender as a service.
struct DeliveryService: Service {
    let body: @Sendable () async throws -> Void
    func run() async throws {
        try await cancelWhenGracefulShutdown { try await body() }
    }
}

/// The Stripe simulator's webhook sender as a service.
struct StripeDeliveryService: Service {
    let simulator: StripeSimulator
    func run() async throws {
        try await cancelWhenGracefulShutdown { try await simulator.runDelivery() }
    }
}

extension StripeSimulator {
    /// Stripe's own error bodies for injected faults.
    static let injectedErrorBody: @Sendable (Int) -> (contentType: String, body: String) = { status in
        if status == 429 {
            return (
                "application/json",
                #"{"error":{"code":"rate_limit","message":"Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.","type":"invalid_request_error"}}"#
            )
        }
        return ("application/json", #"{"error":{"message":"An unknown error occurred","type":"api_error"}}"#)
    }
}
