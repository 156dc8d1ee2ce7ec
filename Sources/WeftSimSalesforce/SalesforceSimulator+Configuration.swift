public import Logging
public import WeftSimKit

extension SalesforceSimulator {
    /// How the simulator behaves: the org, its API versions, connected apps, sessions, limits, custom fields, outbound
    /// messages, time and ids.
    public struct Configuration: Sendable {
        /// The 18-character organization id (`00D…`).
        public var organizationID: String
        /// The API versions served (`"62.0"`), oldest first; `GET /services/data/` lists them.
        public var apiVersions: [String]
        /// The `aud` values accepted in JWT bearer assertions.
        public var audiences: [String]
        /// Connected apps by consumer key.
        public var connectedApps: [String: ConnectedApp]
        /// An access token stays valid while it is used at least this often (Salesforce's session timeout slides with
        /// activity).
        public var sessionLifetime: Duration
        /// The org's daily API request allocation (`DailyApiRequests.Max`).
        public var dailyApiRequests: Int
        /// Custom fields by sObject (`"Opportunity": [CustomField(...)]`), on top of the standard fields.
        public var customFields: [String: [CustomField]]
        /// The org's currencies, corporate currency first; non-empty turns multi-currency on (`CurrencyIsoCode` on
        /// every object); empty leaves the field out.
        public var currencies: [String]
        /// Opportunity stages, in order (the defaults are Salesforce's, ending with `Closed Won` and `Closed Lost`).
        public var stages: [Stage]
        /// Outbound messages (workflow actions) sent when records are created or edited.
        public var outboundMessages: [OutboundMessage]
        /// The outbound message sender.
        public var delivery: Delivery
        /// Seeds ids so they repeat from run to run; `nil` picks a random seed.
        public var idSeed: UInt64?
        /// The current time in unix milliseconds; `nil` uses the system clock. Stamps records, sessions and JWT checks.
        public var now: (@Sendable () -> Int)?
        /// The user (`005…`) records are owned by and sessions run as, by username.
        public var users: [String: String]
        /// How many child records a parent-to-child subquery returns inline before it pages them (`done: false` and
        /// a `nextRecordsUrl` in the child result). Salesforce does not document the figure; clients report about 200
        /// to 500.
        public var childRecordsPerPage: Int
        /// State and Country/Territory Picklists (Setup ▸ State and Country/Territory Picklists): the address fields
        /// gain `…StateCode` and `…CountryCode` picklists of ISO codes, and a country or state text must be one the
        /// org knows (`AddressPicklists`). Off by default, like an org that never turned them on.
        public var stateAndCountryPicklists: Bool
        /// Where the simulator logs.
        public var logger: Logger

        /// - Parameters:
        ///   - organizationID: the org id (15 or 18 characters, `00D…`; kept in the 18-character form).
        ///   - apiVersions: versions served (default 59.0 … 62.0).
        ///   - audiences: accepted JWT audiences (default login and test.salesforce.com).
        ///   - connectedApps: apps by consumer key.
        ///   - sessionLifetime: idle session timeout (default 2 hours).
        ///   - dailyApiRequests: the daily allocation (default 15 000).
        ///   - customFields: custom fields per sObject (default `Weft_Key__c` on Account, Contact, Opportunity and
        ///     Product2, `ERP_Order_Ref__c`, `Invoice_Status__c` and `Payment_Standing__c` on Opportunity).
        ///   - currencies: the org's currencies (default `USD`, `EUR`, `GBP`).
        ///   - stages: opportunity stages.
        ///   - outboundMessages: outbound message definitions.
        ///   - delivery: the outbound message sender's settings.
        ///   - idSeed: a seed for reproducible ids.
        ///   - now: the clock in unix milliseconds.
        ///   - users: known users (username → user id); pre-authorized usernames of apps are added automatically.
        ///   - childRecordsPerPage: child records a subquery returns inline before paging them (default 200).
        ///   - stateAndCountryPicklists: the org's address fields are State and Country/Territory Picklists.
        ///   - logger: the simulator's logger.
        public init(
            organizationID: String = "00D5g000004SimA",
            apiVersions: [String] = ["59.0", "60.0", "61.0", "62.0"],
            audiences: [String] = ["https://login.salesforce.com", "https://test.salesforce.com"],
            connectedApps: [String: ConnectedApp] = [:],
            sessionLifetime: Duration = .seconds(7200),
            dailyApiRequests: Int = 15_000,
            customFields: [String: [CustomField]] = Configuration.defaultCustomFields,
            currencies: [String] = ["USD", "EUR", "GBP"],
            stages: [Stage] = Stage.defaults,
            outboundMessages: [OutboundMessage] = [],
            delivery: Delivery = .init(),
            idSeed: UInt64? = nil,
            now: (@Sendable () -> Int)? = nil,
            users: [String: String] = [:],
            childRecordsPerPage: Int = 200,
            stateAndCountryPicklists: Bool = false,
            logger: Logger = Logger(label: "weft.sim.salesforce")
        ) {
            self.stateAndCountryPicklists = stateAndCountryPicklists
            self.organizationID = SalesforceID.normalise(organizationID) ?? organizationID
            self.apiVersions = apiVersions
            self.audiences = audiences
            self.connectedApps = connectedApps
            self.sessionLifetime = sessionLifetime
            self.dailyApiRequests = dailyApiRequests
            self.customFields = customFields
            self.currencies = currencies
            self.stages = stages
            self.outboundMessages = outboundMessages
            self.delivery = delivery
            self.idSeed = idSeed
            self.now = now
            self.users = users
            self.childRecordsPerPage = max(1, childRecordsPerPage)
            self.logger = logger
        }

        /// The custom fields a Weft org carries.
        public static let defaultCustomFields: [String: [CustomField]] = [
            "Account": [.init(name: "Weft_Key__c", type: .text, externalID: true, unique: true)],
            "Contact": [.init(name: "Weft_Key__c", type: .text, externalID: true, unique: true)],
            "Product2": [.init(name: "Weft_Key__c", type: .text, externalID: true, unique: true)],
            "Opportunity": [
                .init(name: "Weft_Key__c", type: .text, externalID: true, unique: true),
                .init(name: "ERP_Order_Ref__c", type: .text, externalID: true, unique: false),
                .init(name: "Invoice_Status__c", type: .text),
                .init(name: "Payment_Standing__c", type: .text),
            ],
        ]
    }

    /// A connected app: how it may get tokens.
    public struct ConnectedApp: Sendable {
        /// The certificate's RSA public key (PEM, `BEGIN PUBLIC KEY`) that verifies JWT bearer assertions; `nil`
        /// disables the JWT bearer flow for the app.
        public var jwtPublicKeyPEM: String?
        /// Usernames pre-authorized for the app ("Admin approved users are pre-authorized"); other `sub`s are refused.
        public var preAuthorizedUsernames: Set<String>
        /// The consumer secret, for the client credentials flow (`nil`: no client credentials).
        public var clientSecret: String?
        /// The client credentials flow's run-as user (`nil`: "no client credentials user enabled").
        public var clientCredentialsRunAs: String?
        /// The scopes granted (`scope` of the token answer).
        public var scopes: String

        /// - Parameters:
        ///   - jwtPublicKeyPEM: the RSA public key for JWT bearer assertions.
        ///   - preAuthorizedUsernames: usernames that may use the JWT bearer flow.
        ///   - clientSecret: the consumer secret for client credentials.
        ///   - clientCredentialsRunAs: the client credentials run-as username.
        ///   - scopes: granted scopes (default `api`).
        public init(
            jwtPublicKeyPEM: String? = nil, preAuthorizedUsernames: Set<String> = [], clientSecret: String? = nil,
            clientCredentialsRunAs: String? = nil, scopes: String = "api"
        ) {
            self.jwtPublicKeyPEM = jwtPublicKeyPEM
            self.preAuthorizedUsernames = preAuthorizedUsernames
            self.clientSecret = clientSecret
            self.clientCredentialsRunAs = clientCredentialsRunAs
            self.scopes = scopes
        }
    }

    /// A custom field on an sObject.
    public struct CustomField: Sendable, Hashable {
        /// Field types a custom field can have.
        public struct FieldType: Sendable, Hashable {
            let kind: FieldKind
            /// Text (`string`).
            public static let text = FieldType(kind: .string)
            /// Long text area (`textarea`).
            public static let longText = FieldType(kind: .textarea)
            /// Number (`double`).
            public static let number = FieldType(kind: .double)
            /// Currency (`currency`).
            public static let currency = FieldType(kind: .currency)
            /// Checkbox (`boolean`).
            public static let checkbox = FieldType(kind: .boolean)
            /// Date (`date`).
            public static let date = FieldType(kind: .date)
            /// Date/time (`datetime`).
            public static let dateTime = FieldType(kind: .datetime)
            /// Picklist (`picklist`, unrestricted).
            public static let picklist = FieldType(kind: .picklist)
        }

        /// The API name, ending in `__c`.
        public var name: String
        /// The field type.
        public var type: FieldType
        /// Marked External ID: usable in upsert paths.
        public var externalID: Bool
        /// Marked Unique: a second record with the same value (case-insensitive) is refused with `DUPLICATE_VALUE`.
        public var unique: Bool
        /// A picklist's values (describe `picklistValues`); empty for other types.
        public var picklistValues: [String]
        /// *Restrict picklist to the values defined in the value set*: any other value is refused with
        /// `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`.
        public var restricted: Bool

        /// - Parameters:
        ///   - name: the API name (`Weft_Key__c`).
        ///   - type: the type.
        ///   - externalID: whether it is an External ID.
        ///   - unique: whether values are unique.
        ///   - picklistValues: a picklist's values.
        ///   - restricted: whether a picklist refuses values not in `picklistValues`.
        public init(
            name: String, type: FieldType = .text, externalID: Bool = false, unique: Bool = false, picklistValues: [String] = [],
            restricted: Bool = false
        ) {
            self.name = name
            self.type = type
            self.externalID = externalID
            self.unique = unique
            self.picklistValues = picklistValues
            self.restricted = restricted
        }
    }

    /// An opportunity stage (Setup → Opportunity Stages).
    public struct Stage: Sendable, Hashable {
        /// The API value of `StageName`.
        public var name: String
        /// The default `Probability` (percent).
        public var probability: Double
        /// Closed stages set `IsClosed`.
        public var isClosed: Bool
        /// Won stages set `IsWon`.
        public var isWon: Bool
        /// `ForecastCategoryName`: `Pipeline`, `Best Case`, `Commit`, `Omitted`, `Closed`.
        public var forecastCategory: String

        /// - Parameters:
        ///   - name: the stage.
        ///   - probability: its default probability.
        ///   - isClosed: closed?
        ///   - isWon: won?
        ///   - forecastCategory: its forecast category.
        public init(name: String, probability: Double, isClosed: Bool, isWon: Bool, forecastCategory: String) {
            self.name = name
            self.probability = probability
            self.isClosed = isClosed
            self.isWon = isWon
            self.forecastCategory = forecastCategory
        }

        /// Salesforce's default sales process.
        public static let defaults: [Stage] = [
            .init(name: "Prospecting", probability: 10, isClosed: false, isWon: false, forecastCategory: "Pipeline"),
            .init(name: "Qualification", probability: 10, isClosed: false, isWon: false, forecastCategory: "Pipeline"),
            .init(name: "Needs Analysis", probability: 20, isClosed: false, isWon: false, forecastCategory: "Pipeline"),
            .init(name: "Value Proposition", probability: 50, isClosed: false, isWon: false, forecastCategory: "Pipeline"),
            .init(name: "Id. Decision Makers", probability: 60, isClosed: false, isWon: false, forecastCategory: "Pipeline"),
            .init(name: "Perception Analysis", probability: 70, isClosed: false, isWon: false, forecastCategory: "Pipeline"),
            .init(name: "Proposal/Price Quote", probability: 75, isClosed: false, isWon: false, forecastCategory: "Pipeline"),
            .init(name: "Negotiation/Review", probability: 90, isClosed: false, isWon: false, forecastCategory: "Pipeline"),
            .init(name: "Closed Won", probability: 100, isClosed: true, isWon: true, forecastCategory: "Closed"),
            .init(name: "Closed Lost", probability: 0, isClosed: true, isWon: false, forecastCategory: "Omitted"),
        ]
    }

    /// An outbound message (a workflow rule's action): when a record of `sObjectType` is created or edited (and
    /// `criteria` holds), a notification with `fields` is queued for `endpointURL`.
    public struct OutboundMessage: Sendable {
        /// The message's name.
        public var name: String
        /// The object it watches.
        public var sObjectType: String
        /// Where notifications are POSTed.
        public var endpointURL: String
        /// The fields sent (`Id` is always sent first).
        public var fields: [String]
        /// The rule's criteria on the record after the change (`isNew` for creations); `nil`: every create and edit.
        public var criteria: (@Sendable (_ record: [String: SimJSON], _ isNew: Bool) -> Bool)?

        /// - Parameters:
        ///   - name: the message's name.
        ///   - sObjectType: the watched object.
        ///   - endpointURL: the listener URL.
        ///   - fields: the fields to send.
        ///   - criteria: when to send (default: every create and edit).
        public init(
            name: String, sObjectType: String, endpointURL: String, fields: [String],
            criteria: (@Sendable (_ record: [String: SimJSON], _ isNew: Bool) -> Bool)? = nil
        ) {
            self.name = name
            self.sObjectType = sObjectType
            self.endpointURL = endpointURL
            self.fields = fields
            self.criteria = criteria
        }
    }

    /// The outbound message sender: batching, retries, timeouts and faults.
    public struct Delivery: Sendable {
        /// Notifications per SOAP message (Salesforce: up to 100).
        public var maxNotificationsPerMessage: Int
        /// The wait before the first retry; each later retry waits twice as long, up to `maxRetryDelay`.
        public var retryBaseDelay: Duration
        /// The longest wait between attempts (Salesforce: 2 hours).
        public var maxRetryDelay: Duration
        /// Notifications older than this are dropped (Salesforce: 24 hours).
        public var maxAge: Duration
        /// A listener that has not answered within this is a failed attempt (Salesforce: 60 s).
        public var timeout: Duration
        /// How often `runDelivery()` looks for retries that fell due.
        public var pollInterval: Duration
        /// The clock `runDelivery()` sleeps on.
        public var clock: any Clock<Duration>
        /// Duplicate and out-of-order delivery.
        public var faults: OutboundFaultPlan
        /// Seeds the fault decisions.
        public var faultSeed: UInt64

        /// - Parameters:
        ///   - maxNotificationsPerMessage: notifications per message (default 100).
        ///   - retryBaseDelay: the first retry's wait (default 15 s).
        ///   - maxRetryDelay: the cap on the wait (default 2 hours).
        ///   - maxAge: when undelivered notifications are dropped (default 24 hours).
        ///   - timeout: the listener's deadline (default 60 s).
        ///   - pollInterval: how often the sender checks for due retries (default 1 s).
        ///   - clock: the clock the sender sleeps on.
        ///   - faults: duplicates and reordering.
        ///   - faultSeed: seeds fault decisions.
        public init(
            maxNotificationsPerMessage: Int = 100, retryBaseDelay: Duration = .seconds(15),
            maxRetryDelay: Duration = .seconds(7200), maxAge: Duration = .seconds(86_400), timeout: Duration = .seconds(60),
            pollInterval: Duration = .seconds(1), clock: any Clock<Duration> = ContinuousClock(),
            faults: OutboundFaultPlan = .init(), faultSeed: UInt64 = 0x5F0C_E0A1
        ) {
            self.maxNotificationsPerMessage = max(1, min(100, maxNotificationsPerMessage))
            self.retryBaseDelay = retryBaseDelay
            self.maxRetryDelay = maxRetryDelay
            self.maxAge = maxAge
            self.timeout = timeout
            self.pollInterval = pollInterval
            self.clock = clock
            self.faults = faults
            self.faultSeed = faultSeed
        }
    }
}

/// Faults of the outbound message sender (Salesforce delivers at least once and out of order), set over
/// `POST /__sim/outbound/faults` or `SalesforceSimulator.setOutboundFaults(_:)`.
public struct OutboundFaultPlan: Codable, Sendable, Hashable {
    /// Fraction (0…1) of acknowledged notifications sent once more (the same notification `Id`).
    public var duplicateRate: Double
    /// When above 1, the due notifications are shuffled in groups of this many before batching.
    public var reorderWindow: Int

    /// - Parameters:
    ///   - duplicateRate: fraction of notifications sent twice.
    ///   - reorderWindow: how many notifications are shuffled together (0 or 1: in order).
    public init(duplicateRate: Double = 0, reorderWindow: Int = 0) {
        self.duplicateRate = duplicateRate
        self.reorderWindow = reorderWindow
    }

    enum CodingKeys: String, CodingKey {
        case duplicateRate = "duplicate_rate"
        case reorderWindow = "reorder_window"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.duplicateRate = try container.decodeIfPresent(Double.self, forKey: .duplicateRate) ?? 0
        self.reorderWindow = try container.decodeIfPresent(Int.self, forKey: .reorderWindow) ?? 0
    }
}
