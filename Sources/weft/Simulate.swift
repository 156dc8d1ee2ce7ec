import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals
import WeftSimChargebee
import WeftSimFreshdesk
import WeftSimKit
import WeftSimOdoo
import WeftSimStripe
import WeftSimZendesk

struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one simulator standalone (state in memory) until SIGTERM or SIGINT.",
        discussion: """
            The simulator speaks the system's real wire protocol on HOST:PORT and adds admin routes under /__sim/ \
            (faults, request log). Point a Weft config at it as if it were the real system.
            """)

    enum System: String, ExpressibleByArgument, CaseIterable {
        case odoo, stripe, chargebee, zendesk, freshdesk
    }

    @Option(name: .long, help: "odoo, stripe, chargebee, zendesk or freshdesk.") var system: System
    @Option(name: .long, help: "Address to bind.") var host = "127.0.0.1"
    @Option(name: .long, help: "Port (0 picks a free one).") var port = 0
    @Option(name: .long, help: "Write the bound port to this file once listening.") var portFile: String?
    @Option(
        name: .long,
        help: "The API key clients must send (Odoo API key, Stripe secret key, Chargebee API key, Zendesk API token, Freshdesk API key).")
    var apiKey: String?
    @Option(name: .long, help: "Zendesk: the agent email that signs in with the API token.") var email = "agent@example.com"
    @Option(name: .long, help: "Chargebee, Zendesk, Freshdesk: where webhooks go (e.g. http://127.0.0.1:8080/hooks/zendesk).")
    var webhookURL: String?
    @Option(
        name: .long,
        help: "Chargebee: the Basic-auth password (user weft); Zendesk: the signing secret; Freshdesk: the X-Weft-Webhook-Secret value.")
    var webhookSecret: String?
    @Option(name: .long, help: "Freshdesk: a company field to define (repeat), e.g. weft_account.") var companyField: [String] = []
    @Option(name: .long, help: "Odoo: the database name.") var database = "weft"
    @Option(name: .long, help: "Odoo: the version to emulate (18 or 19).") var odooVersion = 19
    @Option(name: .long, help: "Log level.") var logLevel: Logger.Level = .info

    func run() async throws {
        _ = ProcessBootstrap.start(logLevel: logLevel)
        let logger = Logger(label: "weft.simulate.\(system.rawValue)")
        let router = Router()
        var services: [any Service] = []
        switch system {
        case .odoo:
            let simulator = OdooSimulator(
                configuration: .init(version: odooVersion, database: database, apiKeys: [apiKey ?? "weft-odoo-key"]))
            // The Odoo simulator applies its own fault injector; the shared admin routes steer it.
            addSimulatorAdminRoutes(to: router, faults: simulator.faults, log: simulator.requestLog)
            simulator.addRoutes(to: router)
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
        }
        let portFile = self.portFile
        let system = self.system
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                FileHandle.standardOutput.write(Data("\(system.rawValue) simulator listening on http://\(host):\(bound)\n".utf8))
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
