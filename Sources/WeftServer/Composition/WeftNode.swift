public import AsyncHTTPClient
public import Foundation
public import Hummingbird
public import Logging
import Metrics
public import Prometheus
public import ServiceLifecycle
public import UnixSignals
import WeftConnectors
public import WeftCore
public import WeftRuntime
import WeftStorePostgres
import WeftStoreSQLite

/// The composition root: builds the store, connectors, pipeline, dispatchers, catch-up jobs and HTTP routes of one
/// Weft node from a configuration, and runs them in one `ServiceGroup` with graceful shutdown.
public struct WeftNode: Sendable {
    public let configuration: WeftConfiguration
    public let store: any Store
    /// Rung when events are stored.
    public let events: Doorbell
    /// Rung when commands are written.
    public let commands: Doorbell
    public let pipeline: PipelineService
    /// When webhooks last arrived; the pipeline's helper workers stand back while they arrive.
    public let ingestActivity: IngestActivity
    public let dispatchers: [SystemName: DispatcherService]
    public let catchUps: [CatchUpService]
    let ingresses: [any WebhookRoutes]
    let adminTokens: [AdminRoutes.Token]
    /// The lookup's derived entitlements. On a store only this node writes (SQLite), the pipeline's commits keep it
    /// current and a lookup reads nothing; on a shared store it is checked against the stored version.
    let entitlementCache: EntitlementCache
    let registry: PrometheusCollectorRegistry?
    let logger: Logger

    /// Builds a node.
    /// - Parameters:
    ///   - configuration: the loaded configuration.
    ///   - environment: where `*_env` secrets are read.
    ///   - store: a store to use instead of the configured one (tests, benchmark).
    ///   - httpClient: the client for outbound calls.
    ///   - registry: the Prometheus registry `/metrics` exposes (the one bootstrapped as the metrics factory).
    ///   - nodeID: this node's name in leases.
    public init(
        configuration: WeftConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment,
        store: (any Store)? = nil, httpClient: HTTPClient, registry: PrometheusCollectorRegistry?, nodeID: String? = nil,
        logger: Logger
    ) async throws {
        self.configuration = configuration
        self.logger = logger
        self.registry = registry
        let nodeID = nodeID ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        let opened: any Store
        if let store {
            opened = store
        } else {
            opened = try await Self.openStore(configuration.store, environment: environment, logger: logger)
        }
        let store = opened
        self.store = store
        let coordination = store as? any ClusterCoordination
        let events = Doorbell()
        let ingest = IngestActivity()
        self.ingestActivity = ingest
        let commands = Doorbell()
        let entitlementCache = EntitlementCache(trustsLocalCommits: coordination == nil)
        self.events = events
        self.commands = commands

        var decoders: [SystemName: any EventDecoder] = [:]
        var enrichers: [SystemName: any EventEnricher] = [:]
        var ingresses: [any WebhookRoutes] = []
        var catchUps: [CatchUpService] = []
        var dispatchers: [SystemName: DispatcherService] = [:]
        // Checks of a system's own setup made before the node starts (desk fields, CRM value maps): each answers the
        // problems it found, as sentences naming what to fix.
        var setupChecks: [(SystemName, @Sendable () async throws -> [String])] = []
        for (name, system) in configuration.systems.sorted(by: { $0.key < $1.key }) {
            var systemLogger = logger
            systemLogger[metadataKey: "weft.system"] = "\(name)"
            switch system {
            case .stripe(let stripe):
                decoders[name] = StripeDecoderAdapter(system: name)
                let secrets = try stripe.webhookSecrets.map { try $0.resolve(environment: environment) }
                ingresses.append(
                    StripeWebhookIngress(
                        system: name, verifier: StripeWebhookVerifier(secrets: secrets, tolerance: stripe.signatureTolerance),
                        store: store, maxBodyBytes: configuration.server.maxBodyBytes, events: events, logger: systemLogger,
                        ingest: ingest))
                if let apiKey = stripe.apiKey {
                    // One gate for all of this node's reads from Stripe (catch-up, invoice lines).
                    let gate = RateGate(limit: RateLimit(perSecond: 20, burst: 20))
                    let key = try apiKey.resolve(environment: environment)
                    let api = StripeEventsFeed(
                        system: name, configuration: .init(secretKey: key, apiVersion: stripe.apiVersion, baseURL: stripe.baseURL),
                        httpClient: httpClient, gate: gate, logger: systemLogger)
                    // An invoice's lines are read while its event is being processed: short deadlines, so that a Stripe
                    // that does not answer holds the pipeline seconds, not the event's lease.
                    enrichers[name] = StripeInvoiceLinesEnricher(
                        api: StripeEventsFeed(
                            system: name,
                            configuration: .init(
                                secretKey: key, apiVersion: stripe.apiVersion, baseURL: stripe.baseURL, requestTimeout: .seconds(5)),
                            httpClient: httpClient, gate: gate, logger: systemLogger))
                    if let interval = stripe.catchUpInterval {
                        catchUps.append(
                            CatchUpService(
                                system: name, feed: StripeFeedAdapter(feed: api, logger: systemLogger), store: store, interval: interval,
                                overlap: stripe.catchUpOverlap, events: events, logger: systemLogger,
                                onReached: { [entitlementCache] in entitlementCache.reached(name, at: $0) },
                                start: stripe.catchUpStart))
                    }
                }
            case .chargebee(let chargebee):
                decoders[name] = ChargebeeDecoderAdapter(decoder: ChargebeeEventDecoder(system: name))
                let passwords = try chargebee.webhookPasswords.map { try $0.resolve(environment: environment) }
                guard !passwords.isEmpty else {
                    throw ConfigurationError(
                        message: "systems.\(name): webhook_password_env (or webhook_password_file / webhook_passwords) is required")
                }
                ingresses.append(
                    ChargebeeWebhookIngress(
                        system: name,
                        authenticator: ChargebeeWebhookAuthenticator(
                            credentials: passwords.map { .init(username: chargebee.webhookUsername, password: $0) }),
                        store: store, maxBodyBytes: configuration.server.maxBodyBytes, events: events, logger: systemLogger,
                        ingest: ingest))
                if let interval = chargebee.catchUpInterval, let apiKey = chargebee.apiKey {
                    let feed = ChargebeeFeedAdapter(
                        feed: ChargebeeEventsFeed(
                            system: name,
                            configuration: .init(
                                apiKey: try apiKey.resolve(environment: environment), baseURL: chargebee.apiBaseURL),
                            // Chargebee allows 150 requests a minute on test sites, 750+ on live ones; catch-up pages
                            // 100 events a request and stays well below either.
                            httpClient: httpClient, gate: RateGate(limit: RateLimit(perSecond: 2, burst: 5)),
                            logger: systemLogger))
                    catchUps.append(
                        CatchUpService(
                            system: name, feed: feed, store: store, interval: interval, overlap: chargebee.catchUpOverlap,
                            events: events, logger: systemLogger,
                            onReached: { [entitlementCache] in entitlementCache.reached(name, at: $0) }, start: chargebee.catchUpStart))
                }
            case .odoo(let odoo):
                let gate = Self.gate(for: name, limit: odoo.rateLimit, coordination: coordination, logger: systemLogger)
                let connector = OdooTarget(
                    configuration: OdooConfiguration(
                        url: odoo.url, database: odoo.database, login: odoo.login ?? "",
                        apiKey: try odoo.apiKey?.resolve(environment: environment) ?? "",
                        transport: OdooTransportKind(rawValue: odoo.api.rawValue) ?? .json2, callTimeout: odoo.timeout,
                        pastDueTagName: odoo.standingTag, maxBatchSize: odoo.batchSize,
                        identityKeys: odoo.identityKeys.compactMap(OdooIdentityKey.init(rawValue:))),
                    httpClient: httpClient, gate: gate)
                dispatchers[name] = DispatcherService(
                    target: name, connector: connector, store: store, configuration: configuration.delivery,
                    commands: commands, nodeID: nodeID, logger: systemLogger, ingest: ingest)
                // A flow from this Odoo to CRMs: the status of the orders made from their deals is read and routed back.
                let statusTargets = configuration.flows.filter { $0.source == name }.map(\.target)
                if !statusTargets.isEmpty {
                    decoders[name] = OdooStatusDecoder()
                    catchUps.append(
                        CatchUpService(
                            system: name,
                            feed: OdooOrderStatusFeed(
                                system: name,
                                reader: OdooOrderStatusReader(client: connector.client, crmSystems: statusTargets.sorted()),
                                logger: systemLogger),
                            store: store, interval: odoo.statusInterval, overlap: odoo.statusOverlap, events: events,
                            logger: systemLogger))
                }
                // CRMs whose accounts flow both ways: the partners bound to their accounts are read back.
                let accountCRMs = configuration.flows.filter { $0.source == name }.map(\.target).filter {
                    configuration.systems[$0]?.syncsAccounts == true
                }
                if !accountCRMs.isEmpty {
                    catchUps.append(
                        CatchUpService(
                            system: name,
                            feed: OdooPartnerFeed(
                                system: name, reader: OdooPartnerReader(client: connector.client, crmSystems: accountCRMs.sorted()),
                                logger: systemLogger),
                            store: store, interval: odoo.statusInterval, overlap: odoo.statusOverlap, events: events,
                            logger: systemLogger, feedName: "partners"))
                }
            case .hubspot(let hubspot):
                // Won deals: read whole by the deal feed (woken by webhooks, and on its interval), decoded into deals.
                decoders[name] = HubSpotDecoderAdapter(
                    decoder: HubSpotEventDecoder(
                        system: name, mapping: Self.dealMapping(hubspot), accounts: Self.accountMapping(hubspot)))
                let gate = Self.gate(for: name, limit: hubspot.rateLimit, coordination: coordination, logger: systemLogger)
                let searchGate = Self.hubSpotSearchGate(gate)
                let reader = try Self.hubSpotReader(
                    name, hubspot, environment: environment, httpClient: httpClient, pageSize: 200, gate: gate,
                    searchGate: searchGate)
                let feed = HubSpotDealFeed(reader: reader, logger: systemLogger)
                if let interval = hubspot.catchUpInterval {
                    catchUps.append(
                        CatchUpService(
                            system: name, feed: feed, store: store, interval: interval, overlap: hubspot.catchUpOverlap,
                            events: events, logger: systemLogger, wake: feed.wake))
                }
                // Accounts: companies and their contacts, read whole like deals, kept in step with Odoo partners.
                var accountFeed: HubSpotAccountFeed?
                if hubspot.accounts != nil, let interval = hubspot.catchUpInterval {
                    var clientConfiguration = try Self.hubSpotConfiguration(hubspot, environment: environment)
                    clientConfiguration.searchPageSize = 200
                    let accounts = HubSpotAccountFeed(
                        reader: HubSpotAccountReader(
                            configuration: clientConfiguration, mapping: Self.accountMapping(hubspot), system: name,
                            httpClient: httpClient, gate: gate, searchGate: searchGate),
                        logger: systemLogger)
                    accountFeed = accounts
                    catchUps.append(
                        CatchUpService(
                            system: name, feed: accounts, store: store, interval: interval, overlap: hubspot.catchUpOverlap,
                            events: events, logger: systemLogger, wake: accounts.wake, feedName: "accounts"))
                    setupChecks.append(
                        (name, { [systemLogger] in try await accounts.reader.valueMapProblems(system: name, logger: systemLogger) }))
                }
                // A flow from Odoo to this portal: deal status is written to the configured deal properties.
                if configuration.flows.contains(where: { $0.target == name }) {
                    let properties = hubspot.statusProperties
                    dispatchers[name] = DispatcherService(
                        target: name,
                        connector: HubSpotTarget(
                            configuration: try Self.hubSpotConfiguration(hubspot, environment: environment),
                            properties: HubSpotStatusProperties(
                                orderRef: properties["order_ref"], orderState: properties["order_state"],
                                invoiceStatus: properties["invoice_status"], paymentStanding: properties["payment_standing"]),
                            accounts: Self.accountMapping(hubspot), httpClient: httpClient, gate: gate),
                        store: store, configuration: configuration.delivery, commands: commands, nodeID: nodeID,
                        logger: systemLogger, ingest: ingest)
                }
                let secrets = try hubspot.clientSecrets.map { try $0.resolve(environment: environment) }
                if !secrets.isEmpty {
                    ingresses.append(
                        HubSpotWebhookIngress(
                            system: name,
                            verifier: HubSpotWebhookVerifier(clientSecrets: secrets, tolerance: hubspot.signatureTolerance),
                            webhookURL: hubspot.webhookURL, feed: hubspot.catchUpInterval == nil ? nil : feed,
                            accountFeed: accountFeed, store: store,
                            maxBodyBytes: configuration.server.maxBodyBytes, events: events, logger: systemLogger,
                            ingest: ingest))
                }
            case .salesforce(let salesforce):
                // Won opportunities: read whole by the opportunity feed (woken by Outbound Messages, and on its
                // interval), decoded into deals.
                let mapping = Self.opportunityMapping(salesforce)
                decoders[name] = SalesforceDecoderAdapter(
                    decoder: SalesforceEventDecoder(system: name, mapping: mapping, accounts: Self.accountMapping(salesforce)))
                let gate = Self.gate(for: name, limit: salesforce.rateLimit, coordination: coordination, logger: systemLogger)
                let limits = SalesforceLimitTracker { used, max in
                    Gauge(label: WeftMetrics.salesforceAPIUsage, dimensions: [("system", name.rawValue), ("kind", "used")])
                        .record(used)
                    Gauge(label: WeftMetrics.salesforceAPIUsage, dimensions: [("system", name.rawValue), ("kind", "max")])
                        .record(max)
                }
                let reader = try Self.salesforceReader(
                    name, salesforce, environment: environment, httpClient: httpClient, gate: gate, limits: limits)
                let feed = SalesforceOpportunityFeed(reader: reader, logger: systemLogger)
                // Whether the org's addresses are State and Country/Territory Picklists decides which fields are read
                // and written: checked against the Account's describe before anything is.
                setupChecks.append(
                    (
                        name,
                        { [systemLogger, client = reader.client, picklists = salesforce.stateCountryPicklists] in
                            try await client.addressPicklistProblems(system: name, configured: picklists, logger: systemLogger)
                        }
                    ))
                catchUps.append(
                    CatchUpService(
                        system: name, feed: feed, store: store, interval: salesforce.catchUpInterval ?? .seconds(60),
                        overlap: salesforce.catchUpOverlap, events: events, logger: systemLogger, wake: feed.wake))
                // Accounts: Accounts and their Contacts, read whole like opportunities, kept in step with Odoo partners.
                var accountFeed: SalesforceAccountFeed?
                if salesforce.accounts != nil {
                    let accounts = SalesforceAccountFeed(
                        reader: SalesforceAccountReader(client: reader.client, mapping: Self.accountMapping(salesforce), system: name),
                        logger: systemLogger)
                    accountFeed = accounts
                    catchUps.append(
                        CatchUpService(
                            system: name, feed: accounts, store: store, interval: salesforce.catchUpInterval ?? .seconds(60),
                            overlap: salesforce.catchUpOverlap, events: events, logger: systemLogger, wake: accounts.wake,
                            feedName: "accounts"))
                    setupChecks.append((name, { [systemLogger] in try await accounts.reader.valueMapProblems(logger: systemLogger) }))
                }
                if let organizationID = salesforce.organizationID {
                    ingresses.append(
                        SalesforceOutboundIngress(
                            system: name, organizationID: organizationID, feed: feed, accountFeed: accountFeed, store: store,
                            maxBodyBytes: configuration.server.maxBodyBytes, events: events, logger: systemLogger,
                            ingest: ingest))
                }
                // A flow from Odoo to this org: deal status is written to the configured Opportunity fields, with the
                // reader's client (one token per org).
                if configuration.flows.contains(where: { $0.target == name }) {
                    let fields = salesforce.statusFields
                    dispatchers[name] = DispatcherService(
                        target: name,
                        connector: SalesforceTarget(
                            client: reader.client,
                            fields: SalesforceStatusFields(
                                orderRef: fields["order_ref"], orderState: fields["order_state"],
                                invoiceStatus: fields["invoice_status"], paymentStanding: fields["payment_standing"]),
                            system: name, accounts: Self.accountMapping(salesforce)),
                        store: store, configuration: configuration.delivery, commands: commands, nodeID: nodeID,
                        logger: systemLogger, ingest: ingest)
                }
            case .desk(let desk):
                // Ticket events, when the desk's webhook is configured: filed under the account they belong to.
                let deskKind: DeskTicket.Desk = desk.kind == .zendesk ? .zendesk : .freshdesk
                decoders[name] = DeskTicketDecoderAdapter(decoder: DeskTicketDecoder(system: name, desk: deskKind))
                let secrets = try desk.webhookSecrets.map { try $0.resolve(environment: environment) }
                if !secrets.isEmpty {
                    let authentication: DeskWebhookIngress.Authentication
                    switch desk.kind {
                    case .zendesk:
                        authentication = .zendesk(ZendeskWebhookVerifier(secrets: secrets, tolerance: desk.signatureTolerance))
                    case .freshdesk:
                        do {
                            authentication = .freshdesk(
                                try FreshdeskWebhookAuthenticator(headerName: desk.webhookSecretHeader, secrets: secrets))
                        } catch {
                            throw ConfigurationError(message: "systems.\(name): \(error)")
                        }
                    }
                    ingresses.append(
                        DeskWebhookIngress(
                            system: name, authentication: authentication, store: store,
                            billingSystems: Self.billingSystems(of: configuration),
                            maxBodyBytes: configuration.server.maxBodyBytes, events: events, logger: systemLogger,
                            ingest: ingest))
                }
                let gate = Self.gate(for: name, limit: desk.rateLimit, coordination: coordination, logger: systemLogger)
                let connector: any TargetConnector
                let ticketSource: DeskTicketFeed.Source
                switch desk.kind {
                case .zendesk:
                    let auth: ZendeskConfiguration.Auth =
                        if let oauth = desk.oauthToken {
                            .oauth(token: try oauth.resolve(environment: environment))
                        } else {
                            .apiToken(
                                email: desk.email ?? "", token: try desk.apiKey?.resolve(environment: environment) ?? "")
                        }
                    let zendeskConfiguration = ZendeskConfiguration(
                        baseURL: desk.baseURL, auth: auth, fields: desk.fields, requestTimeout: desk.timeout)
                    let zendesk = ZendeskTarget(configuration: zendeskConfiguration, client: httpClient, gate: gate)
                    // The incremental export allows 10 requests a minute: one every 6 s keeps within any minute.
                    ticketSource = .zendesk(
                        ZendeskTicketFeed(
                            configuration: zendeskConfiguration, httpClient: httpClient,
                            gate: ChainedGate(gates: [RateGate(limit: RateLimit(perSecond: 1.0 / 6, burst: 1)), gate])))
                    connector = zendesk
                case .freshdesk:
                    let freshdesk = FreshdeskConfiguration(
                        baseURL: desk.baseURL, apiKey: try desk.apiKey?.resolve(environment: environment) ?? "",
                        fields: desk.fields, requestTimeout: desk.timeout)
                    do {
                        try freshdesk.validate()
                    } catch {
                        throw ConfigurationError(message: "systems.\(name): \(error)")
                    }
                    let target = FreshdeskTarget(configuration: freshdesk, client: httpClient, gate: gate)
                    // A ticket webhook does not say when the ticket changed: the pipeline reads it (within a budget of
                    // its own, `ticket_reads`, never waiting, and with a short deadline: a batch waits for its reads).
                    if let budget = desk.ticketReads {
                        var reads = freshdesk
                        reads.requestTimeout = min(freshdesk.requestTimeout, FreshdeskTicketEnricher.readTimeout)
                        enrichers[name] = FreshdeskTicketEnricher(
                            reader: FreshdeskTicketReader(configuration: reads, client: httpClient, gate: OpenGate()),
                            budget: budget)
                    }
                    // Freshdesk counts list calls against the account's per-minute limit (trial plans: 50 in all);
                    // catch-up keeps to 30 a minute, 3000 tickets.
                    ticketSource = .freshdesk(
                        FreshdeskTicketFeed(
                            configuration: freshdesk, httpClient: httpClient,
                            gate: ChainedGate(gates: [RateGate(limit: RateLimit(perSecond: 0.5, burst: 1)), gate])))
                    connector = target
                }
                if let desk = connector as? any DeskFieldChecking {
                    setupChecks.append(
                        (
                            name,
                            { [systemLogger, rules = configuration.entitlements] in
                                Self.deskFieldProblems(
                                    try await desk.fieldProblems(rules: rules, system: name.rawValue, logger: systemLogger),
                                    system: name, place: type(of: desk).fieldsPlace)
                            }
                        ))
                }
                dispatchers[name] = DispatcherService(
                    target: name, connector: connector, store: store, configuration: configuration.delivery,
                    commands: commands, nodeID: nodeID, logger: systemLogger, ingest: ingest)
                // Tickets whose webhook never arrived (or that predate it), read from the desk's API.
                if let interval = desk.catchUpInterval {
                    let feed = DeskTicketFeed(
                        source: ticketSource,
                        filing: DeskTicketFiling(
                            system: name, desk: deskKind, store: store, billingSystems: Self.billingSystems(of: configuration)),
                        logger: systemLogger)
                    catchUps.append(
                        CatchUpService(
                            system: name, feed: feed, store: store, interval: interval, overlap: desk.catchUpOverlap,
                            events: events, logger: systemLogger))
                }
            }
        }
        // Every secret is resolved before anything is asked of a remote system: a configuration error is said at once.
        let adminTokens = try configuration.server.adminTokens.enumerated().map { index, token in
            AdminRoutes.Token(
                name: "token\(index + 1)", value: try token.secret.resolve(environment: environment), scopes: token.scopes)
        }
        // A field key the desk does not define would be dropped silently (Zendesk) or rejected on every command
        // (Freshdesk), a CRM value map naming values the CRM lacks would be refused on every write, and so would a
        // Salesforce address written as text to an org with State and Country/Territory Picklists: refuse to start
        // and say what to fix. A system that cannot be reached now does not stop the node (its commands wait in the
        // outbox); the check is then only logged as skipped. The systems are asked at once, so unreachable ones hold
        // the start for one deadline, not one each.
        let checked = await withTaskGroup(of: (Int, Result<[String], any Error>).self) { group in
            for (index, check) in setupChecks.enumerated() {
                group.addTask { (index, await Self.withDeadline(.seconds(10), check.1)) }
            }
            return await group.reduce(into: []) { $0.append($1) }.sorted { $0.0 < $1.0 }.map(\.1)
        }
        for ((name, _), result) in zip(setupChecks, checked) {
            switch result {
            case .success(let problems) where !problems.isEmpty:
                throw ConfigurationError(message: "systems.\(name): \(problems.joined(separator: "; "))")
            case .success:
                break
            case .failure(let error):
                logger.warning(
                    "could not check the system's setup at start", metadata: ["weft.system": "\(name)", "error": "\(error)"])
            }
        }
        let processor = PipelineProcessor(
            governor: Governor(ownership: configuration.ownership),
            router: CommandRouter(
                flows: configuration.flows, ownership: configuration.ownership,
                desks: Set(configuration.systems.compactMap { name, system in if case .desk = system { name } else { nil } }),
                entitlements: configuration.entitlements,
                dealRequirements: Self.dealRequirements(of: configuration),
                crms: Set(
                    configuration.systems.compactMap { name, system in
                        switch system {
                        case .hubspot: name
                        case .salesforce: configuration.flows.contains { $0.target == name } ? name : nil
                        default: nil
                        }
                    })),
            decoders: decoders)
        self.entitlementCache = entitlementCache
        self.pipeline = PipelineService(
            store: store, processor: processor, configuration: configuration.pipeline, events: events, commands: commands,
            nodeID: nodeID, logger: logger, enrichers: enrichers, ingest: ingest,
            commits: CommitObserver(
                willCommit: { [entitlementCache] keys in entitlementCache.willCommit(keys) },
                didCommit: {
                    [
                        billingSystems = Self.billingSystems(of: configuration), rules = configuration.entitlements,
                        // Deriving at commit serves lookups (which need an admin token) and the grace-period clock
                        // (which needs a desk flow); without either the pipeline only invalidates.
                        derives = !configuration.server.adminTokens.isEmpty
                            || configuration.flows.contains {
                                if case .desk = configuration.systems[$0.target] { true } else { false }
                            }
                    ] committed, announced in
                    if derives {
                        entitlementCache.committed(committed, billingSystems: billingSystems, rules: rules)
                    } else {
                        entitlementCache.invalidate(committed.map(\.key))
                    }
                    entitlementCache.didCommit(announced)
                }))
        self.dispatchers = dispatchers
        self.catchUps = catchUps
        self.ingresses = ingresses
        self.adminTokens = adminTokens
    }

    /// The request gate of a target: its configured rate, shared by every node through the database when the store
    /// coordinates a cluster (so the nodes' sum keeps to the rate), else kept in this process.
    static func gate(
        for name: SystemName, limit: RateLimit?, coordination: (any ClusterCoordination)?, logger: Logger
    ) -> any RequestGate {
        let onWait: @Sendable (Duration) -> Void = { _ in
            Counter(label: WeftMetrics.rateLimitWaits, dimensions: [("target", name.rawValue)]).increment()
        }
        if let coordination, let limit {
            return ClusterRateGate(
                coordination: coordination, bucket: "target.\(name)", limit: limit, logger: logger, onWait: onWait)
        }
        return RateGate(limit: limit, onWait: onWait)
    }

    /// Runs `body`, giving up after `deadline`.
    static func withDeadline<T: Sendable>(
        _ deadline: Duration, _ body: @Sendable @escaping () async throws -> T
    ) async -> Result<T, any Error> {
        await withTaskGroup(of: Result<T, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await body()) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: deadline)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(ConfigurationError(message: "no answer within \(deadline)"))
        }
    }

    /// The API client settings of a HubSpot system (token resolved).
    static func hubSpotConfiguration(
        _ hubspot: HubSpotSystemConfiguration, environment: [String: String]
    ) throws -> HubSpotConfiguration {
        HubSpotConfiguration(
            baseURL: hubspot.baseURL, objectsPath: hubspot.objectsPath, associationsPath: hubspot.associationsPath,
            accessToken: try hubspot.accessToken?.resolve(environment: environment) ?? "", requestTimeout: hubspot.timeout)
    }

    /// The deal reader of a HubSpot system (the live feed's and the backfill's).
    static func hubSpotReader(
        _ name: SystemName, _ hubspot: HubSpotSystemConfiguration, environment: [String: String], httpClient: HTTPClient,
        pageSize: Int, gate: any RequestGate, searchGate: (any RequestGate)? = nil
    ) throws -> HubSpotDealReader {
        var configuration = try hubSpotConfiguration(hubspot, environment: environment)
        configuration.searchPageSize = pageSize
        return HubSpotDealReader(
            configuration: configuration,
            mapping: dealMapping(hubspot), system: name, httpClient: httpClient, gate: gate,
            searchGate: searchGate ?? hubSpotSearchGate(gate))
    }

    /// HubSpot's search API allows 5 requests a second per account (its own limit, besides the 10-second window,
    /// counted per second): every search of one account — deals' and companies' — keeps to 3, spaced, and passes the
    /// account's gate too.
    static func hubSpotSearchGate(_ gate: any RequestGate) -> any RequestGate {
        ChainedGate(gates: [RateGate(limit: RateLimit(perSecond: 3, burst: 1)), gate])
    }

    /// The problems of a desk without the fields its configuration names, or with dropdowns lacking what Weft writes.
    static func deskFieldProblems(_ found: (missing: [String], choices: [String]), system: SystemName, place: String)
        -> [String]
    {
        let missing = found.missing
        guard !missing.isEmpty else { return found.choices }
        return [
            "the desk has no field \(missing.sorted().joined(separator: ", ")); create \(missing.count == 1 ? "it" : "them") in "
                + "\(place), or change systems.\(system).fields"
        ] + found.choices
    }

    /// Where a HubSpot system's companies keep the account fields.
    static func accountMapping(_ hubspot: HubSpotSystemConfiguration) -> HubSpotAccountMapping {
        HubSpotAccountMapping(
            segment: hubspot.accounts?.segment, owner: hubspot.accounts?.owner, taxID: hubspot.taxIDProperty,
            paymentTerms: hubspot.accounts?.paymentTerms, segmentValues: hubspot.accounts?.segmentValues ?? .identity,
            paymentTermsValues: hubspot.accounts?.paymentTermsValues ?? .identity)
    }

    static func dealMapping(_ hubspot: HubSpotSystemConfiguration) -> HubSpotDealMapping {
        HubSpotDealMapping(
            wonStages: hubspot.wonStages, defaultCurrency: hubspot.currency, skuProperty: hubspot.skuProperty,
            taxIDProperty: hubspot.taxIDProperty)
    }

    /// The opportunity reader of a Salesforce system (the live feed's and the backfill's).
    static func salesforceReader(
        _ name: SystemName, _ salesforce: SalesforceSystemConfiguration, environment: [String: String],
        httpClient: HTTPClient, gate: any RequestGate, limits: SalesforceLimitTracker = SalesforceLimitTracker()
    ) throws -> SalesforceOpportunityReader {
        SalesforceOpportunityReader(
            configuration: SalesforceConfiguration(
                instanceURL: salesforce.instanceURL, loginURL: salesforce.loginURL, apiVersion: salesforce.apiVersion,
                authentication: try authentication(salesforce, system: name, environment: environment),
                requestTimeout: salesforce.timeout),
            mapping: opportunityMapping(salesforce), system: name, httpClient: httpClient, gate: gate, limits: limits)
    }

    /// How a Salesforce system's opportunities are read.
    static func opportunityMapping(_ salesforce: SalesforceSystemConfiguration) -> SalesforceOpportunityMapping {
        SalesforceOpportunityMapping(
            defaultCurrency: salesforce.currency, vatField: salesforce.vatField, addressCodes: salesforce.stateCountryPicklists)
    }

    /// Where a Salesforce system's Accounts keep the account fields.
    static func accountMapping(_ salesforce: SalesforceSystemConfiguration) -> SalesforceAccountMapping {
        SalesforceAccountMapping(
            segmentField: salesforce.accounts?.segment, ownerEmailField: salesforce.accounts?.ownerEmail,
            vatField: salesforce.vatField, paymentTermsField: salesforce.accounts?.paymentTerms,
            segmentValues: salesforce.accounts?.segmentValues ?? .identity,
            paymentTermsValues: salesforce.accounts?.paymentTermsValues ?? .identity,
            addressCodes: salesforce.stateCountryPicklists)
    }

    /// A Salesforce system's OAuth flow with its secrets read: the private key from its PEM file, or the client secret.
    static func authentication(
        _ salesforce: SalesforceSystemConfiguration, system: SystemName, environment: [String: String]
    ) throws -> SalesforceConfiguration.Authentication {
        switch salesforce.authentication {
        case .jwtBearer(let consumerKey, let username, let privateKey):
            let pem = try privateKey.resolve(environment: environment)
            guard pem.contains("-----BEGIN") && pem.contains("PRIVATE KEY-----") else {
                throw ConfigurationError(
                    message: "systems.\(system).private_key_file (\(privateKey)) is not a PEM private key "
                        + "(-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)")
            }
            return .jwtBearer(consumerKey: consumerKey, username: username, privateKeyPEM: pem)
        case .clientCredentials(let clientID, let clientSecret):
            return .clientCredentials(clientID: clientID, clientSecret: try clientSecret.resolve(environment: environment))
        }
    }

    /// What each CRM's won deals must carry.
    static func dealRequirements(of configuration: WeftConfiguration) -> [SystemName: DealRequirements] {
        BusinessExceptions.requirements(of: configuration)
    }

    /// The configured entitlement rules.
    var entitlementRules: EntitlementRules { configuration.entitlements }

    /// The billing systems (entitlements are looked up by their customer ids).
    var billingSystems: Set<SystemName> { Self.billingSystems(of: configuration) }

    static func billingSystems(of configuration: WeftConfiguration) -> Set<SystemName> {
        Set(
            configuration.systems.compactMap { name, system in
                switch system {
                case .stripe, .chargebee: name
                case .odoo, .desk, .hubspot, .salesforce: nil
                }
            })
    }

    /// The targets an account can be looked up in by the target's own id, with the model accounts are bound to there.
    var accountModels: [SystemName: String] {
        var models: [SystemName: String] = [:]
        for (name, system) in configuration.systems {
            switch system {
            case .odoo: models[name] = "res.partner"
            case .desk(let desk): models[name] = desk.kind == .zendesk ? "organization" : "company"
            case .stripe, .chargebee, .hubspot, .salesforce: break
            }
        }
        return models
    }

    /// The HTTP routes: webhooks, health, metrics, admin API.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        for ingress in ingresses { ingress.addRoutes(to: router) }
        let exceptions = BusinessExceptions(store: store, configuration: configuration)
        OperationsRoutes(store: store, registry: registry, exceptions: exceptions.crmSystems.isEmpty ? nil : exceptions)
            .addRoutes(to: router)
        adminRoutes.addRoutes(to: router)
        return router
    }

    var adminRoutes: AdminRoutes {
        AdminRoutes(
            store: store, tokens: adminTokens, entitlementRules: entitlementRules, billingSystems: billingSystems,
            watchedSources: Set(catchUps.map(\.system)), accountModels: accountModels, entitlementCache: entitlementCache,
            exceptions: BusinessExceptions(store: store, configuration: configuration))
    }

    /// The long-running services besides the HTTP server, in start order.
    public var backgroundServices: [any Service] {
        var services: [any Service] = dispatchers.keys.sorted().compactMap { dispatchers[$0] }
        services.append(pipeline)
        services.append(contentsOf: catchUps as [any Service])
        if configuration.flows.contains(where: { if case .desk = configuration.systems[$0.target] { true } else { false } }) {
            services.append(
                EntitlementClock(configuration: configuration, cache: entitlementCache, store: store, events: events, logger: logger))
        }
        if let coordination = store as? any ClusterCoordination {
            services.append(ClusterWakeUpService(coordination: coordination, events: events, commands: commands))
        }
        if let after = configuration.store.retention.after {
            services.append(
                RetentionService(
                    store: store, after: after, batch: configuration.store.retention.batch,
                    interval: configuration.store.retention.interval, logger: logger))
        }
        return services
    }

    /// Runs the node until SIGTERM/SIGINT (or cancellation). Shutdown is graceful and in reverse order: the HTTP server
    /// stops accepting first, then catch-up, the pipeline and the dispatchers finish what they hold.
    /// - Parameter onServerRunning: called with the bound port once the server listens.
    public func run(
        host: String? = nil, port: Int? = nil, gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint],
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        try await makeServiceGroup(
            host: host, port: port, gracefulShutdownSignals: gracefulShutdownSignals, onServerRunning: onServerRunning
        ).run()
    }

    /// The node's services in one group, for callers that shut it down themselves
    /// (`triggerGracefulShutdown()`): tests, the demo and the benchmark.
    public func makeServiceGroup(
        host: String? = nil, port: Int? = nil, gracefulShutdownSignals: [UnixSignal] = [],
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> ServiceGroup {
        let admin = adminRoutes
        let fastIngresses = ingresses.compactMap { $0 as? any EventLoopWebhookIngress }
        let app = Application(
            router: makeRouter(),
            // Webhook deliveries (WebhookFastPath) and entitlement lookups answerable from memory (EntitlementFastPath)
            // are answered on the event loop.
            server: .http1(
                configuration: .init(additionalChannelHandlers: [
                    WebhookFastPath(ingresses: fastIngresses), EntitlementFastPath(routes: admin),
                ])),
            configuration: .init(
                address: .hostname(host ?? configuration.server.host, port: port ?? configuration.server.port), serverName: nil),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        return ServiceGroup(
            configuration: .init(
                services: backgroundServices.map { .init(service: $0) } + [.init(service: app)],
                gracefulShutdownSignals: gracefulShutdownSignals, logger: logger))
    }
}

/// Adapts the desk ticket decoder to the runtime's `EventDecoder`.
struct DeskTicketDecoderAdapter: EventDecoder {
    let decoder: DeskTicketDecoder
    func decode(_ event: InboxEvent) throws -> DecodedEvent { try decoder.decode(event) }
}

/// Adapts the Stripe decoder to the runtime's `EventDecoder` (also what `weft bench --pipeline-only` decodes with).
public struct StripeDecoderAdapter: EventDecoder {
    let decoder: StripeEventDecoder
    /// The decoder of the Stripe system named `system`.
    public init(system: SystemName) { self.decoder = StripeEventDecoder(system: system) }
    public func decode(_ event: InboxEvent) throws -> DecodedEvent { try decoder.decode(event) }
}

/// Completes a Stripe invoice event's lines from the API (`StripeEventsFeed.completingInvoiceLines(of:)`); when
/// Stripe cannot be read now, the event is decoded as it came (its lines still add up to the invoice's total).
struct StripeInvoiceLinesEnricher: EventEnricher {
    let api: StripeEventsFeed

    func mayNeed(_ event: InboxEvent) -> Bool { StripeEventsFeed.mayLackInvoiceLines(type: event.type, payload: event.payload) }

    func completed(_ event: InboxEvent, logger: Logger) async -> Data? {
        do {
            return try await api.completingInvoiceLines(of: event.payload)
        } catch {
            logger.warning(
                "could not read the invoice's other lines from Stripe; booking one line for them",
                metadata: ["weft.error": "\(error)"])
            return nil
        }
    }
}

/// Adapts the Stripe events API to the runtime's `EventFeed`.
struct StripeFeedAdapter: EventFeed {
    /// How long Stripe keeps events.
    static let retention: TimeInterval = 30 * 86_400
    let feed: StripeEventsFeed
    let logger: Logger

    func events(since: Date) async throws -> [IncomingEvent] {
        var found: [StripeFeedEvent] = []
        for try await event in feed.events(createdAtOrAfter: since, pageSize: 100) { found.append(event) }
        // The inbox sees them oldest first (Stripe lists newest first).
        let now = Date()
        return StripeEventsFeed.chronological(found).map {
            $0.envelope.incomingEvent(system: feed.system, payload: $0.payload, receivedAt: now, traceID: .random())
        }
    }

    /// A page at a time, each oldest first (the pages newest first, as Stripe lists them). A read from further back
    /// than Stripe keeps starts an hour inside its 30 days: a walk that began at the edge would name as its cursor an
    /// event that ages out between two pages, which Stripe answers 404, and the read would never finish.
    ///
    /// A position is `<created[gte] in seconds>:<event id>`: the instant the walk listed from (the clamp moves with
    /// the clock, so a resumed walk lists from the same one while it is still kept) and the last event it stored. A
    /// cursor Stripe no longer knows fails the read with `FeedPositionUnknown`.
    func events(
        since: Date, resumingAfter position: String?, inBatches deliver: ([IncomingEvent], String?) async throws -> Void
    ) async throws {
        let now = Date()
        let kept = now.addingTimeInterval(-Self.retention + 3_600)
        if since < kept, since.timeIntervalSince1970 > 0 {
            logger.warning(
                "catch-up starts further back than Stripe keeps events; what happened before is not read again",
                metadata: ["weft.system": "\(feed.system)", "weft.since": "\(since)", "weft.from": "\(kept)"])
        }
        var from = Date(timeIntervalSince1970: max(since, kept).timeIntervalSince1970.rounded(.down))
        var startingAfter: SourceEventID?
        if let resumed = position.flatMap(PinnedPosition.init) { (from, startingAfter) = (resumed.from, SourceEventID(resumed.after)) }
        var handedOver = false
        do {
            try await feed.walk(createdAtOrAfter: from, startingAfter: startingAfter) { batch, last in
                handedOver = true
                try await deliver(
                    batch.map { $0.envelope.incomingEvent(system: feed.system, payload: $0.payload, receivedAt: now, traceID: .random()) },
                    last.map { PinnedPosition(from: from, after: $0.rawValue).text })
            }
        } catch let error as StripeAPIError where startingAfter != nil && !handedOver && Self.forgotCursor(error) {
            throw FeedPositionUnknown(position: position ?? "")
        }
    }

    /// Whether Stripe refused a list's cursor as unknown: `resource_missing` ("No such event"), whose status is
    /// reported as 404 and as 400; a 404 alone counts too. Asked only of a resumed walk's first request.
    static func forgotCursor(_ error: StripeAPIError) -> Bool {
        error.status == 404 || (error.status == 400 && error.stripeCode == "resource_missing")
    }
}

/// A billing feed's position: the instant its read listed from (whole seconds; a read clamped to the last 30 days
/// moves its start with the clock, so a resumed read lists from the same one) and the source's own cursor after the
/// last batch stored (Stripe: an event id; Chargebee: a `next_offset`). Written `<seconds>:<cursor>`.
struct PinnedPosition: Hashable {
    var from: Date
    var after: String

    init(from: Date, after: String) {
        self.from = from
        self.after = after
    }

    init?(_ text: String) {
        guard let colon = text.firstIndex(of: ":"), let seconds = Int64(text[..<colon]) else { return nil }
        let cursor = text[text.index(after: colon)...]
        guard !cursor.isEmpty else { return nil }
        (from, after) = (Date(timeIntervalSince1970: TimeInterval(seconds)), String(cursor))
    }

    var text: String { "\(Int64(from.timeIntervalSince1970)):\(after)" }
}

/// Adapts the Chargebee decoder to the runtime's `EventDecoder`.
struct ChargebeeDecoderAdapter: EventDecoder {
    let decoder: ChargebeeEventDecoder
    func decode(_ event: InboxEvent) throws -> DecodedEvent { try decoder.decode(event) }
}

/// Adapts Chargebee's events API to the runtime's `EventFeed`.
///
/// Reads at most `maximumLookBack` into the past: Chargebee keeps a site's whole event history, and a first catch-up
/// (no cursor yet) would otherwise replay years of invoices into the targets. Stripe's events API keeps 30 days, so
/// both sources backfill alike.
struct ChargebeeFeedAdapter: EventFeed {
    static let maximumLookBack: TimeInterval = 30 * 86_400
    let feed: ChargebeeEventsFeed

    func events(since: Date) async throws -> [IncomingEvent] {
        var found: [IncomingEvent] = []
        let now = Date()
        let since = max(since, now.addingTimeInterval(-Self.maximumLookBack))
        // The feed reads oldest first (`sort_by[asc]=occurred_at`), the order the inbox should see them in.
        for try await event in feed.events(since: since, pageSize: 100) {
            found.append(
                event.envelope.incomingEvent(system: feed.system, payload: event.payload, receivedAt: now, traceID: .random()))
        }
        return found
    }

    /// A page at a time, oldest first throughout. The position after a page is a `PinnedPosition` of the read's
    /// (clamped) start and Chargebee's `next_offset`, which names the last event listed, so a resumed read goes on
    /// after it even when newer events arrived meanwhile. An offset Chargebee refuses (400) on a resumed read is
    /// `FeedPositionUnknown`.
    func events(
        since: Date, resumingAfter position: String?, inBatches deliver: ([IncomingEvent], String?) async throws -> Void
    ) async throws {
        let now = Date()
        var from = Date(
            timeIntervalSince1970: max(since, now.addingTimeInterval(-Self.maximumLookBack)).timeIntervalSince1970.rounded(.down))
        var offset: String?
        let resumed = position.flatMap(PinnedPosition.init)
        if let resumed { (from, offset) = (resumed.from, resumed.after) }
        var handedOver = false
        do {
            repeat {
                let page = try await feed.page(since: from, offset: offset, limit: 100)
                offset = page.nextOffset
                guard !page.events.isEmpty else { break }
                handedOver = true
                try await deliver(
                    page.events.map {
                        $0.envelope.incomingEvent(system: feed.system, payload: $0.payload, receivedAt: now, traceID: .random())
                    }, offset.map { PinnedPosition(from: from, after: $0).text })
            } while offset != nil
        } catch let error as ChargebeeAPIError where error.status == 400 && resumed != nil && !handedOver {
            throw FeedPositionUnknown(position: position ?? "")
        }
    }
}

extension WeftNode {

    /// The store a configuration names (SQLite file or PostgreSQL database), with its payload keys resolved, for
    /// `weft serve` and operator commands alike, so both read what the other wrote.
    public static func openStore(_ store: StoreConfiguration, environment: [String: String], logger: Logger) async throws
        -> any Store
    {
        let cipher = try store.payloadCipher(environment: environment)
        if let postgres = store.postgres {
            return try await PostgresStore.open(
                url: try postgres.url.resolve(environment: environment),
                configuration: .init(
                    maximumConnections: postgres.maximumConnections, applyMigrations: postgres.applyMigrations,
                    payloadCipher: cipher),
                logger: logger)
        }
        return try SQLiteStore(
            path: store.sqlitePath,
            configuration: .init(synchronous: store.synchronousFull ? .full : .normal, payloadCipher: cipher),
            logger: logger)
    }
}
