public import Foundation
public import WeftCore

/// Weft's whole configuration, as loaded from YAML. Secrets are never part of it: only references to them
/// (`SecretReference`), resolved at start-up.
public struct WeftConfiguration: Sendable, Hashable {
    public var store: StoreConfiguration
    public var server: ServerConfiguration
    public var systems: [SystemName: SystemConfiguration]
    public var flows: [Flow]
    public var ownership: OwnershipRules
    public var delivery: DeliveryConfiguration
    public var pipeline: PipelineConfiguration
    /// How plans map to tiers and support levels (docs/entitlements.md).
    public var entitlements: EntitlementRules

    public init(
        store: StoreConfiguration = .init(), server: ServerConfiguration = .init(),
        systems: [SystemName: SystemConfiguration] = [:], flows: [Flow] = [], ownership: OwnershipRules = .init(),
        delivery: DeliveryConfiguration = .init(), pipeline: PipelineConfiguration = .init(),
        entitlements: EntitlementRules = .init()
    ) {
        self.store = store
        self.server = server
        self.systems = systems
        self.flows = flows
        self.ownership = ownership
        self.delivery = delivery
        self.pipeline = pipeline
        self.entitlements = entitlements
    }
}

/// Where a secret comes from: an environment variable or a file. Never the config text.
public enum SecretReference: Sendable, Hashable, CustomStringConvertible {
    case environment(String)
    case file(String)

    /// Reads the secret. Whitespace around a file's content is trimmed.
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        switch self {
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else {
                throw ConfigurationError(message: "environment variable \(name) is not set")
            }
            return value
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path),
                let text = String(data: data, encoding: .utf8)
            else {
                throw ConfigurationError(message: "secret file \(path) cannot be read")
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Names the reference, never the value.
    public var description: String {
        switch self {
        case .environment(let name): "env:\(name)"
        case .file(let path): "file:\(path)"
        }
    }
}

/// The store to use.
public struct StoreConfiguration: Sendable, Hashable {
    /// Path of the SQLite database file (used when `postgres` is not set).
    public var sqlitePath: String
    /// `true`: `synchronous=FULL` (an acknowledged event survives power loss); `false`: NORMAL.
    public var synchronousFull: Bool
    /// A PostgreSQL database shared by every node, instead of the SQLite file.
    public var postgres: PostgresStoreSettings?
    /// Keys that encrypt event payloads at rest; the first seals new payloads, all open. Empty: not encrypted.
    public var payloadKeys: [PayloadKeyReference]
    /// Pruning of finished history.
    public var retention: RetentionSettings

    public init(
        sqlitePath: String = "./weft.db", synchronousFull: Bool = true, postgres: PostgresStoreSettings? = nil,
        payloadKeys: [PayloadKeyReference] = [], retention: RetentionSettings = .init()
    ) {
        self.sqlitePath = sqlitePath
        self.synchronousFull = synchronousFull
        self.postgres = postgres
        self.payloadKeys = payloadKeys
        self.retention = retention
    }

    /// The payload cipher these keys make, or `nil` when none is configured.
    public func payloadCipher(environment: [String: String]) throws -> PayloadCipher? {
        guard !payloadKeys.isEmpty else { return nil }
        return try PayloadCipher(
            keys: payloadKeys.map { reference in
                try PayloadCipher.Key(id: reference.id, base64: try reference.secret.resolve(environment: environment))
            })
    }
}

/// `store.postgres`: where the shared database is and how this node uses it.
public struct PostgresStoreSettings: Sendable, Hashable {
    /// The database URL (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=…]`), by reference: it may hold a
    /// password.
    public var url: SecretReference
    /// Connections this node opens at most.
    public var maximumConnections: Int
    /// `true`: a node applies pending migrations when it starts; `false`: it refuses to start on an older schema and
    /// `weft migrate` applies them.
    public var applyMigrations: Bool

    public init(url: SecretReference, maximumConnections: Int = 16, applyMigrations: Bool = true) {
        self.url = url
        self.maximumConnections = maximumConnections
        self.applyMigrations = applyMigrations
    }
}

/// `store.retention`: processed events and delivered commands older than `after` are deleted, `batch` rows per
/// statement, every `interval`. Failed events, dead commands, bindings, aggregates and the audit log are never pruned.
public struct RetentionSettings: Sendable, Hashable {
    /// `nil`: keep everything.
    public var after: Duration?
    public var batch: Int
    public var interval: Duration

    public init(after: Duration? = .seconds(30 * 86_400), batch: Int = 1_000, interval: Duration = .seconds(60)) {
        self.after = after
        self.batch = batch
        self.interval = interval
    }
}

/// A named payload key, by reference (`key_env` / `key_file`): 32 bytes, base64.
public struct PayloadKeyReference: Sendable, Hashable {
    public var id: String
    public var secret: SecretReference

    public init(id: String, secret: SecretReference) {
        self.id = id
        self.secret = secret
    }
}

/// The HTTP server.
public struct ServerConfiguration: Sendable, Hashable {
    public var host: String
    public var port: Int
    /// Webhook bodies larger than this are refused with 413.
    public var maxBodyBytes: Int
    /// Bearer tokens for the admin API, each with scopes (`read`, `operate`, `admin`).
    public var adminTokens: [AdminToken]

    public init(host: String = "127.0.0.1", port: Int = 8080, maxBodyBytes: Int = 1 << 20, adminTokens: [AdminToken] = []) {
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
        self.adminTokens = adminTokens
    }
}

/// An admin API token reference with its scopes.
public struct AdminToken: Sendable, Hashable {
    public var secret: SecretReference
    public var scopes: Set<String>

    public init(secret: SecretReference, scopes: Set<String>) {
        self.secret = secret
        self.scopes = scopes
    }
}

/// One external system.
public enum SystemConfiguration: Sendable, Hashable {
    case stripe(StripeSystemConfiguration)
    /// A Chargebee site: a billing source, like Stripe.
    case chargebee(ChargebeeSystemConfiguration)
    case odoo(OdooSystemConfiguration)
    /// A support desk (Zendesk or Freshdesk): a target for entitlements.
    case desk(DeskSystemConfiguration)
    /// A HubSpot portal: a CRM whose won deals become orders.
    case hubspot(HubSpotSystemConfiguration)
    /// A Salesforce org: a CRM whose won opportunities become orders.
    case salesforce(SalesforceSystemConfiguration)

    /// `stripe`, `chargebee`, `odoo`, `zendesk`, `freshdesk`, `hubspot` or `salesforce`.
    public var type: String {
        switch self {
        case .stripe: "stripe"
        case .chargebee: "chargebee"
        case .odoo: "odoo"
        case .desk(let desk): desk.kind.rawValue
        case .hubspot: "hubspot"
        case .salesforce: "salesforce"
        }
    }
}

extension SystemConfiguration {
    /// A CRM whose accounts and contacts are kept in step with Odoo partners (`accounts` set).
    public var syncsAccounts: Bool {
        switch self {
        case .hubspot(let hubspot): hubspot.accounts != nil
        case .salesforce(let salesforce): salesforce.accounts != nil
        case .stripe, .chargebee, .odoo, .desk: false
        }
    }
}

/// A Stripe account.
public struct StripeSystemConfiguration: Sendable, Hashable {
    public var baseURL: String
    public var apiKey: SecretReference?
    /// One or more webhook signing secrets (several during a rotation).
    public var webhookSecrets: [SecretReference]
    public var signatureTolerance: Duration
    /// Pinned `Stripe-Version`.
    public var apiVersion: String?
    /// How often to read `/v1/events` to catch up on events whose webhook never arrived (`nil`: never).
    public var catchUpInterval: Duration?
    /// How far behind the cursor each catch-up starts reading again (events of the same second, clock skew).
    public var catchUpOverlap: Duration
    /// How far back catch-up reads, from the first start on (`catch_up.start`).
    public var catchUpStart: CatchUpStart = .all

    public init(
        baseURL: String = "https://api.stripe.com", apiKey: SecretReference? = nil, webhookSecrets: [SecretReference] = [],
        signatureTolerance: Duration = .seconds(300), apiVersion: String? = nil, catchUpInterval: Duration? = .seconds(60),
        catchUpOverlap: Duration = .seconds(300)
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.webhookSecrets = webhookSecrets
        self.signatureTolerance = signatureTolerance
        self.apiVersion = apiVersion
        self.catchUpInterval = catchUpInterval
        self.catchUpOverlap = catchUpOverlap
    }
}

/// A Chargebee site (API v2, product catalog 2.0): webhooks protected by Basic auth, catch-up from `/api/v2/events`.
/// See docs/connectors/chargebee.md.
public struct ChargebeeSystemConfiguration: Sendable, Hashable {
    /// The site name: `acme-test` is `https://acme-test.chargebee.com`.
    public var site: String?
    /// The API base without `/api/v2`, instead of `site` (a simulator's URL in tests).
    public var baseURL: String?
    /// An API key that can list events (read-only is enough); needed for catch-up.
    public var apiKey: SecretReference?
    /// The Basic-auth user name set on the webhook in Chargebee.
    public var webhookUsername: String
    /// The Basic-auth passwords accepted with `webhookUsername` (several during a rotation).
    public var webhookPasswords: [SecretReference]
    /// How often to read `/api/v2/events` to catch up on events whose webhook never arrived (`nil`: never).
    public var catchUpInterval: Duration?
    /// How far behind the cursor each catch-up starts reading again.
    public var catchUpOverlap: Duration
    /// How far back catch-up reads, from the first start on (`catch_up.start`).
    public var catchUpStart: CatchUpStart = .all

    /// - Parameters:
    ///   - site: the site name (`baseURL` wins when both are given).
    ///   - baseURL: the API base, e.g. `https://acme-test.chargebee.com`.
    ///   - apiKey: the API key for catch-up.
    ///   - webhookUsername: the webhook's Basic-auth user name.
    ///   - webhookPasswords: the webhook's Basic-auth passwords.
    ///   - catchUpInterval: how often to catch up (`nil`: never).
    ///   - catchUpOverlap: how far behind the cursor a catch-up starts.
    public init(
        site: String? = nil, baseURL: String? = nil, apiKey: SecretReference? = nil, webhookUsername: String = "weft",
        webhookPasswords: [SecretReference] = [], catchUpInterval: Duration? = .seconds(60),
        catchUpOverlap: Duration = .seconds(300)
    ) {
        self.site = site
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.webhookUsername = webhookUsername
        self.webhookPasswords = webhookPasswords
        self.catchUpInterval = catchUpInterval
        self.catchUpOverlap = catchUpOverlap
    }

    /// Where the API is: `baseURL`, else `https://<site>.chargebee.com`.
    public var apiBaseURL: String {
        if let baseURL { return baseURL }
        return "https://\(site ?? "").chargebee.com"
    }
}

/// How Weft talks to Odoo.
public enum OdooAPI: String, Sendable, Hashable, CaseIterable {
    case json2, jsonrpc, xmlrpc
}

/// An Odoo database.
public struct OdooSystemConfiguration: Sendable, Hashable {
    public var url: String
    public var database: String
    public var api: OdooAPI
    public var login: String?
    public var apiKey: SecretReference?
    public var rateLimit: RateLimit?
    /// The partner tag that marks a customer past due.
    public var standingTag: String
    /// Per-call deadline.
    public var timeout: Duration
    /// Most commands delivered together (`batch_size`): each step of a batch is one call for all its records.
    public var batchSize = 50
    /// The largest `batch_size` accepted.
    public static let maxBatchSize = 1000
    /// With a flow from this Odoo to a CRM: how often the status of orders made from deals is read (`catch_up`).
    public var statusInterval: Duration
    /// How far behind the newest `write_date` seen each status read starts again.
    public var statusOverlap: Duration
    /// How an account without a binding is matched to an existing partner before one is created, in order
    /// (`identity`): `vat`, `email_domain`, `email`.
    public var identityKeys: [String] = identityKeyNames
    /// The identity keys there are.
    public static let identityKeyNames = ["vat", "email_domain", "email"]

    public init(
        url: String, database: String, api: OdooAPI = .json2, login: String? = nil, apiKey: SecretReference? = nil,
        rateLimit: RateLimit? = nil, standingTag: String = "Past due", timeout: Duration = .seconds(30),
        statusInterval: Duration = .seconds(60), statusOverlap: Duration = .seconds(300)
    ) {
        self.statusInterval = statusInterval
        self.statusOverlap = statusOverlap
        self.url = url
        self.database = database
        self.api = api
        self.login = login
        self.apiKey = apiKey
        self.rateLimit = rateLimit
        self.standingTag = standingTag
        self.timeout = timeout
    }
}

/// A support desk: where it is, how Weft signs in, which fields show the entitlement, and how its webhooks are
/// authenticated. See docs/connectors/zendesk.md and docs/connectors/freshdesk.md.
public struct DeskSystemConfiguration: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case zendesk, freshdesk
    }

    public var kind: Kind
    /// `https://acme.zendesk.com`, `https://acme.freshdesk.com`.
    public var baseURL: String
    /// Zendesk: the agent whose API token signs in (`email/token:`).
    public var email: String?
    /// Zendesk API token or Freshdesk API key.
    public var apiKey: SecretReference?
    /// Zendesk OAuth access token (instead of `email` + API token).
    public var oauthToken: SecretReference?
    /// Zendesk webhook signing secrets, or the Freshdesk shared secrets expected in `webhookSecretHeader`.
    public var webhookSecrets: [SecretReference]
    /// Freshdesk: the header the automation rule sends the shared secret in.
    public var webhookSecretHeader: String
    /// Zendesk: how old a signed webhook may be.
    public var signatureTolerance: Duration
    public var fields: DeskFieldMap
    public var rateLimit: RateLimit?
    public var timeout: Duration
    /// How often to read the desk's tickets (Zendesk's incremental export, Freshdesk's list by `updated_since`) to
    /// catch up on tickets whose webhook never arrived or that predate it (`nil`: never, the default).
    public var catchUpInterval: Duration?
    /// How far behind the cursor (the newest `updated_at` seen) each catch-up starts reading again.
    public var catchUpOverlap: Duration
    /// Freshdesk: the budget of the ticket reads that complete a webhook body naming no time (`ticket_reads`),
    /// beside `rateLimit`, which paces deliveries; `nil`: no reads, every such body is filed as it came.
    public var ticketReads: RateLimit?

    /// Freshdesk's ticket reads unless `ticket_reads` says otherwise: one a second, bursts of ten (60 of the
    /// account's per-minute budget at most, which is 200 on the smallest paid plan).
    public static let defaultTicketReads = RateLimit(perSecond: 1, burst: 10)

    public init(
        kind: Kind, baseURL: String, email: String? = nil, apiKey: SecretReference? = nil,
        oauthToken: SecretReference? = nil, webhookSecrets: [SecretReference] = [],
        webhookSecretHeader: String = "X-Weft-Webhook-Secret", signatureTolerance: Duration = .seconds(300),
        fields: DeskFieldMap = .init(), rateLimit: RateLimit? = nil, timeout: Duration = .seconds(30),
        catchUpInterval: Duration? = nil, catchUpOverlap: Duration = .seconds(300),
        ticketReads: RateLimit? = DeskSystemConfiguration.defaultTicketReads
    ) {
        self.ticketReads = ticketReads
        self.catchUpInterval = catchUpInterval
        self.catchUpOverlap = catchUpOverlap
        self.kind = kind
        self.baseURL = baseURL
        self.email = email
        self.apiKey = apiKey
        self.oauthToken = oauthToken
        self.webhookSecrets = webhookSecrets
        self.webhookSecretHeader = webhookSecretHeader
        self.signatureTolerance = signatureTolerance
        self.fields = fields
        self.rateLimit = rateLimit
        self.timeout = timeout
    }
}

/// A HubSpot portal (docs/connectors/hubspot.md): the private app's token, the app's client secret for webhook
/// signatures and the URL HubSpot calls, how deals are read, and what a won deal must carry.
/// The company properties an account sync reads and writes besides the standard ones (name, domain, phone, address).
public struct HubSpotAccountProperties: Sendable, Hashable {
    /// The account's segment (`industry`); `nil`: not synced.
    public var segment: String? = "industry"
    /// The owner (`hubspot_owner_id`, resolved to the owner's email); `nil`: not synced.
    public var owner: String? = "hubspot_owner_id"
    /// A custom property for payment terms; `nil`: not synced.
    public var paymentTerms: String?
    /// The segment property's values ↔ the ERP's industry names (`segment_values`).
    public var segmentValues: ValueMap
    /// The payment terms property's values ↔ the ERP's payment term names (`payment_terms_values`).
    public var paymentTermsValues: ValueMap

    public init(
        segment: String? = "industry", owner: String? = "hubspot_owner_id", paymentTerms: String? = nil,
        segmentValues: ValueMap = .identity, paymentTermsValues: ValueMap = .identity
    ) {
        self.segment = segment
        self.owner = owner
        self.paymentTerms = paymentTerms
        self.segmentValues = segmentValues
        self.paymentTermsValues = paymentTermsValues
    }
}

public struct HubSpotSystemConfiguration: Sendable, Hashable {
    public var baseURL: String
    /// `/crm/v3/objects`, or a dated path (`/crm/objects/2025-09`).
    public var objectsPath: String
    public var associationsPath: String
    public var accessToken: SecretReference?
    /// The app's client secrets (current, then the previous one during a rotation): webhooks are accepted only with them.
    public var clientSecrets: [SecretReference]
    /// The target URL set in the app's webhook settings, exactly (the v3 signature covers it). Without it, the URL is
    /// rebuilt from the request (`X-Forwarded-Proto` or http, `Host`, path): right when HubSpot reaches Weft directly
    /// or through a proxy that keeps the host.
    public var webhookURL: String?
    public var signatureTolerance: Duration
    /// Stage ids that count as won.
    public var wonStages: Set<String>
    /// The currency of deals without `deal_currency_code`.
    public var currency: CurrencyCode
    public var skuProperty: String
    public var taxIDProperty: String?
    public var requirements: DealRequirements
    /// Deal properties the ERP status is written to, by part (`order_ref`, `order_state`, `invoice_status`,
    /// `payment_standing`); a part without a property is not written. Used with a flow from Odoo to this system.
    public var statusProperties: [String: String] = [
        "order_ref": "erp_order_ref", "invoice_status": "invoice_status", "payment_standing": "payment_standing",
    ]
    public var rateLimit: RateLimit?
    public var timeout: Duration
    /// With `accounts`: companies and their contacts are kept in step with Odoo partners (both ways with flows both
    /// ways), reading these properties; `nil`: only a won deal's company reaches Odoo.
    public var accounts: HubSpotAccountProperties?
    /// How often deals touched since the cursor are read (webhooks also start a read at once); `nil`: never.
    public var catchUpInterval: Duration?
    public var catchUpOverlap: Duration

    public init(
        baseURL: String = "https://api.hubapi.com", objectsPath: String = "/crm/v3/objects", associationsPath: String = "/crm/v4",
        accessToken: SecretReference? = nil, clientSecrets: [SecretReference] = [], webhookURL: String? = nil,
        signatureTolerance: Duration = .seconds(300), wonStages: Set<String> = ["closedwon"],
        currency: CurrencyCode = CurrencyCode(rawValue: "USD")!, skuProperty: String = "hs_sku", taxIDProperty: String? = nil,
        requirements: DealRequirements = .init(), rateLimit: RateLimit? = RateLimit(perSecond: 9, burst: 10),
        timeout: Duration = .seconds(30), catchUpInterval: Duration? = .seconds(60), catchUpOverlap: Duration = .seconds(300)
    ) {
        self.baseURL = baseURL
        self.objectsPath = objectsPath
        self.associationsPath = associationsPath
        self.accessToken = accessToken
        self.clientSecrets = clientSecrets
        self.webhookURL = webhookURL
        self.signatureTolerance = signatureTolerance
        self.wonStages = wonStages
        self.currency = currency
        self.skuProperty = skuProperty
        self.taxIDProperty = taxIDProperty
        self.requirements = requirements
        self.rateLimit = rateLimit
        self.timeout = timeout
        self.catchUpInterval = catchUpInterval
        self.catchUpOverlap = catchUpOverlap
    }
}

/// A Salesforce org (docs/connectors/salesforce.md): where it is, how Weft signs in (JWT bearer or client
/// credentials), the org id Outbound Messages must carry, how opportunities are read, and what a won one must carry.
/// The Account fields an account sync reads and writes besides the standard ones (Name, Website, Phone, Billing*).
public struct SalesforceAccountFields: Sendable, Hashable {
    /// The segment (`Industry`); `nil`: not synced.
    public var segment: String? = "Industry"
    /// The owner's email, through the owner relationship (`Owner.Email`); `nil`: not synced.
    public var ownerEmail: String? = "Owner.Email"
    /// A custom field for payment terms; `nil`: not synced.
    public var paymentTerms: String?
    /// The segment field's picklist values ↔ the ERP's industry names (`segment_values`).
    public var segmentValues: ValueMap
    /// The payment terms field's values ↔ the ERP's payment term names (`payment_terms_values`).
    public var paymentTermsValues: ValueMap

    public init(
        segment: String? = "Industry", ownerEmail: String? = "Owner.Email", paymentTerms: String? = nil,
        segmentValues: ValueMap = .identity, paymentTermsValues: ValueMap = .identity
    ) {
        self.segment = segment
        self.ownerEmail = ownerEmail
        self.paymentTerms = paymentTerms
        self.segmentValues = segmentValues
        self.paymentTermsValues = paymentTermsValues
    }
}

public struct SalesforceSystemConfiguration: Sendable, Hashable {
    /// How Weft signs in.
    public enum Authentication: Sendable, Hashable {
        /// OAuth 2.0 JWT bearer: the connected app's consumer key, the integration user, and the PEM private key
        /// (read from a file, never inline).
        case jwtBearer(consumerKey: String, username: String, privateKey: SecretReference)
        /// OAuth 2.0 client credentials: the app's consumer key and secret (runs as the app's Run As user).
        case clientCredentials(clientID: String, clientSecret: SecretReference)
    }

    /// The org's My Domain URL, e.g. `https://acme.my.salesforce.com`.
    public var instanceURL: String
    /// `https://login.salesforce.com`, or `https://test.salesforce.com` for a sandbox.
    public var loginURL: String
    /// REST API version, e.g. `62.0`.
    public var apiVersion: String
    public var authentication: Authentication
    /// The org id (15 or 18 characters) Outbound Messages must carry; without it `POST /hooks/<name>` is not served.
    public var organizationID: String?
    /// The currency of opportunities in single-currency orgs (no `CurrencyIsoCode`).
    public var currency: CurrencyCode
    /// The Account field holding the VAT number (e.g. `VAT_Number__c`).
    public var vatField: String?
    public var requirements: DealRequirements
    /// Opportunity fields the ERP status is written to, by part (`order_ref`, `order_state`, `invoice_status`,
    /// `payment_standing`); a part without a field is not written. Used with a flow from Odoo to this system.
    public var statusFields: [String: String] = [
        "order_ref": "ERP_Order_Ref__c", "invoice_status": "Invoice_Status__c", "payment_standing": "Payment_Standing__c",
    ]
    /// With `accounts`: Accounts and their Contacts are kept in step with Odoo partners (both ways with flows both
    /// ways); `nil`: only a won opportunity's account reaches Odoo.
    public var accounts: SalesforceAccountFields?
    /// The org has State and Country/Territory Picklists (`state_country_picklists`): an account's state and country
    /// are read and written as ISO codes (`BillingStateCode`, `BillingCountryCode`); checked against the org at start.
    public var stateCountryPicklists = false
    public var rateLimit: RateLimit?
    public var timeout: Duration
    /// How often opportunities touched since the cursor are read (Outbound Messages also start a read at once).
    /// Never `nil`: opportunities reach Weft only by this read.
    public var catchUpInterval: Duration?
    public var catchUpOverlap: Duration

    public init(
        instanceURL: String, loginURL: String = "https://login.salesforce.com", apiVersion: String = "62.0",
        authentication: Authentication, organizationID: String? = nil, currency: CurrencyCode = CurrencyCode(rawValue: "USD")!,
        vatField: String? = nil, requirements: DealRequirements = .init(), rateLimit: RateLimit? = RateLimit(perSecond: 10, burst: 10),
        timeout: Duration = .seconds(30), catchUpInterval: Duration? = .seconds(60), catchUpOverlap: Duration = .seconds(300)
    ) {
        self.instanceURL = instanceURL
        self.loginURL = loginURL
        self.apiVersion = apiVersion
        self.authentication = authentication
        self.organizationID = organizationID
        self.currency = currency
        self.vatField = vatField
        self.requirements = requirements
        self.rateLimit = rateLimit
        self.timeout = timeout
        self.catchUpInterval = catchUpInterval
        self.catchUpOverlap = catchUpOverlap
    }
}

/// A request rate: `perSecond` sustained, `burst` at once.
public struct RateLimit: Sendable, Hashable {
    public var perSecond: Double
    public var burst: Int

    public init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = burst
    }
}

/// Delivery behaviour for every target.
public struct DeliveryConfiguration: Sendable, Hashable {
    public var retry: RetryPolicy
    public var breakerFailureThreshold: Int
    public var breakerOpenFor: Duration
    /// Concurrent delivery loops per target.
    public var concurrency: Int
    /// Command lease: a command claimed longer than this is given to another dispatcher.
    public var lease: Duration
    /// Added to the nice value of the threads a target's delivery loops run on (0–19; 0: scheduled like the rest of the
    /// node). Their HTTP calls run on the event loops either way; this is their own CPU work (claiming, encoding,
    /// recording), which may wait while webhooks are acknowledged and the store's writer commits.
    public var nice: Int32
    /// While webhooks arrived at this node within this window, a target's loops after the first wait before claiming,
    /// unless the first runs behind (`HelperYield`); zero: they never wait.
    public var ingestYield: Duration

    public init(
        retry: RetryPolicy = .init(), breakerFailureThreshold: Int = 5, breakerOpenFor: Duration = .seconds(10),
        concurrency: Int = 4, lease: Duration = .seconds(120), nice: Int32 = 10, ingestYield: Duration = .milliseconds(50)
    ) {
        self.ingestYield = ingestYield
        self.retry = retry
        self.breakerFailureThreshold = breakerFailureThreshold
        self.breakerOpenFor = breakerOpenFor
        self.concurrency = concurrency
        self.lease = lease
        self.nice = nice
    }
}

/// Pipeline behaviour.
public struct PipelineConfiguration: Sendable, Hashable {
    /// Concurrent pipeline workers.
    public var workers: Int
    /// Events claimed per batch (first events of their entities; as many following ones again at most).
    public var batchSize: Int
    /// Events of one entity claimed and processed as one run, routed once on the state after the last (1: one event
    /// of an entity at a time). A backlog of one customer's events then costs one routing and one set of commands.
    public var eventsPerEntity: Int
    /// Event lease.
    public var lease: Duration
    /// Longest idle wait before looking for work again (a wake-up usually comes first).
    public var idlePoll: Duration
    /// How often the node looks for entitlements whose grace period has ended, to derive and push them again.
    public var recheckInterval: Duration
    /// Added to the nice value of the workers' threads (0–19; 0: scheduled like the rest of the node). Processing may
    /// lag; acknowledging a webhook may not: with a nice value the kernel runs ingress first when the CPU is short.
    public var nice: Int32
    /// While webhooks arrived at this node within this long, the workers after the first wait before claiming (zero:
    /// they never wait). Acknowledgements and the first worker then share the CPU during a burst; every worker drains
    /// the backlog once it ends.
    public var ingestYield: Duration
    /// Most decoded records (customers, invoices, payments, …) the workers keep in memory between batches, over the
    /// aggregates they committed last (`AggregateCache`; a record weighs what it holds). 0 keeps none: every event's
    /// aggregate is read and decoded from the store.
    public var cacheRecords: Int

    public init(
        workers: Int = 2, batchSize: Int = 128, eventsPerEntity: Int = 8, lease: Duration = .seconds(60),
        idlePoll: Duration = .milliseconds(250), recheckInterval: Duration = .seconds(30), nice: Int32 = 10,
        ingestYield: Duration = .milliseconds(50), cacheRecords: Int = AggregateCache.defaultRecordCapacity
    ) {
        self.cacheRecords = cacheRecords
        self.nice = nice
        self.ingestYield = ingestYield
        self.workers = workers
        self.batchSize = batchSize
        self.eventsPerEntity = eventsPerEntity
        self.lease = lease
        self.idlePoll = idlePoll
        self.recheckInterval = recheckInterval
    }
}

/// A configuration problem, safe to print.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
