public import Logging

extension HubSpotSimulator {
    /// How the simulator behaves: credentials, paths, limits, the portal's properties, time, ids and webhooks.
    public struct Configuration: Sendable {
        /// Private app access tokens accepted as `Authorization: Bearer <token>` (`pat-na1-…`).
        public var accessTokens: [String]
        /// Where the API is mounted.
        public var paths: Paths
        /// The app's request limits.
        public var rateLimits: RateLimits
        /// The account (hub) id, stamped on webhook events as `portalId`.
        public var portalID: Int
        /// The app id, stamped on webhook events as `appId` and as `sourceId` of the app's own writes.
        public var appID: Int
        /// The user id seeded edits (`call(_:_:body:)`) are attributed to, as `sourceId` `userId:<id>`.
        public var userID: Int
        /// Custom properties per object type (`deals: ["erp_order_ref"]`), on top of the standard ones.
        public var customProperties: [String: Set<String>]
        /// Custom properties with unique values per object type, usable as `idProperty` (must also be in
        /// `customProperties`). Contacts' `email` is always unique.
        public var uniqueProperties: [String: Set<String>]
        /// Seeds the id generator so ids repeat from run to run; `nil` picks a random seed.
        public var idSeed: UInt64?
        /// The current time in unix milliseconds; `nil` uses the system clock. Stamps records, limits and signatures.
        public var now: (@Sendable () -> Int)?
        /// The webhook sender.
        public var webhooks: Webhooks
        /// The portal's owners (users records can be assigned to through `hubspot_owner_id`).
        public var owners: [Owner]
        /// Dropdown properties by object type and name, with their options (default: a company's `industry` with
        /// HubSpot's industries). A value that is not one of the options is refused (`INVALID_OPTION`); the property
        /// API shows them (`GET {properties}/{type}/{name}`).
        public var enumerations: [String: [String: [PropertyOption]]]
        /// The scopes the private app was granted (`crm.objects.companies.read`, `crm.schemas.companies.read`…);
        /// `nil` grants every scope. A call its token lacks the scope for is refused with `403` `MISSING_SCOPES`.
        public var scopes: Set<String>?
        /// Where the simulator logs (deliveries at debug level).
        public var logger: Logger

        /// - Parameters:
        ///   - accessTokens: accepted private app tokens.
        ///   - paths: the API's path prefixes (default `/crm/v3/objects` and `/crm/v4`).
        ///   - rateLimits: the app's limits (default Professional: 190 per 10 s, 650 000 per day).
        ///   - portalID: the hub id.
        ///   - appID: the app id.
        ///   - userID: the user seeded edits come from.
        ///   - customProperties: custom properties by object type (`contacts`, `companies`, `deals`, `line_items`).
        ///   - uniqueProperties: unique custom properties by object type.
        ///   - idSeed: a seed for reproducible ids (`nil`: random).
        ///   - now: the clock, in unix milliseconds (`nil`: system time).
        ///   - webhooks: the webhook sender's configuration.
        ///   - owners: the portal's owners (default none).
        ///   - enumerations: dropdown properties and their options (default: companies' `industry`).
        ///   - scopes: the app's granted scopes (default `nil`: all).
        ///   - logger: the simulator's logger.
        public init(
            accessTokens: [String] = ["pat-na1-simulator"],
            paths: Paths = .init(),
            rateLimits: RateLimits = .professional,
            portalID: Int = 62_515,
            appID: Int = 54_321,
            userID: Int = 1_001,
            customProperties: [String: Set<String>] = [:],
            uniqueProperties: [String: Set<String>] = [:],
            idSeed: UInt64? = nil,
            now: (@Sendable () -> Int)? = nil,
            webhooks: Webhooks = .init(),
            owners: [Owner] = [],
            enumerations: [String: [String: [PropertyOption]]] = ["companies": ["industry": PropertyOption.industries]],
            scopes: Set<String>? = nil,
            logger: Logger = Logger(label: "weft.sim.hubspot")
        ) {
            self.accessTokens = accessTokens
            self.paths = paths
            self.rateLimits = rateLimits
            self.portalID = portalID
            self.appID = appID
            self.userID = userID
            self.customProperties = customProperties
            self.uniqueProperties = uniqueProperties
            self.idSeed = idSeed
            self.now = now
            self.webhooks = webhooks
            self.owners = owners
            self.enumerations = enumerations
            self.scopes = scopes
            self.logger = logger
        }

        /// One option of a dropdown property: what the UI shows and the internal value the API reads and writes.
        public struct PropertyOption: Sendable, Hashable {
            public var label: String
            public var value: String

            public init(label: String, value: String) {
                self.label = label
                self.value = value
            }
        }

        /// One owner, as `GET /crm/v3/owners` lists it.
        public struct Owner: Sendable, Hashable {
            /// The owner id: the value of `hubspot_owner_id`.
            public var id: Int
            public var email: String
            public var firstName: String?
            public var lastName: String?
            /// The user's id (settings API); not usable as an owner id.
            public var userID: Int
            /// Teams by name; the first is the primary one.
            public var teams: [String]
            /// A deactivated user: listed only with `archived=true`, refused as `hubspot_owner_id`.
            public var archived: Bool

            /// - Parameters:
            ///   - id: the owner id.
            ///   - email: the user's email.
            ///   - firstName: the first name.
            ///   - lastName: the last name.
            ///   - userID: the user id (default: the owner id + 1 000 000).
            ///   - teams: team names (default none).
            ///   - archived: whether the user is deactivated.
            public init(
                id: Int, email: String, firstName: String? = nil, lastName: String? = nil, userID: Int? = nil,
                teams: [String] = [], archived: Bool = false
            ) {
                self.id = id
                self.email = email
                self.firstName = firstName
                self.lastName = lastName
                self.userID = userID ?? id + 1_000_000
                self.teams = teams
                self.archived = archived
            }
        }

        /// The API's path prefixes. HubSpot is moving from `/crm/v3/objects` to dated paths such as
        /// `/crm/objects/2025-09`; both are a configuration value here.
        public struct Paths: Sendable, Hashable {
            /// Objects, batch, search and merge: `{objects}/{type}[/{id}|/batch/{op}|/search|/merge]`.
            public var objects: String
            /// Associations v4: `{associations}/objects/{from}/{id}/associations/…` and
            /// `{associations}/associations/{from}/{to}/batch/…`.
            public var associations: String

            /// Owners: `{owners}` and `{owners}/{ownerId}`.
            public var owners: String
            /// Property definitions: `{properties}/{type}` and `{properties}/{type}/{name}`.
            public var properties: String

            /// - Parameters:
            ///   - objects: the objects prefix (default `/crm/v3/objects`).
            ///   - associations: the associations v4 prefix (default `/crm/v4`).
            ///   - owners: the owners prefix (default: the objects prefix with `objects` replaced by `owners`,
            ///     `/crm/v3/owners`).
            ///   - properties: the properties prefix (default: the objects prefix with `objects` replaced by
            ///     `properties`, `/crm/v3/properties`, `/crm/properties/2025-09`).
            public init(
                objects: String = "/crm/v3/objects", associations: String = "/crm/v4", owners: String? = nil,
                properties: String? = nil
            ) {
                self.objects = Self.normalise(objects)
                self.associations = Self.normalise(associations)
                let objectsPath = self.objects
                func replacingObjects(with name: String) -> String {
                    objectsPath.split(separator: "/", omittingEmptySubsequences: false)
                        .map { $0 == "objects" ? name : String($0) }.joined(separator: "/")
                }
                self.owners = Self.normalise(owners ?? replacingObjects(with: "owners"))
                self.properties = Self.normalise(properties ?? replacingObjects(with: "properties"))
            }

            private static func normalise(_ path: String) -> String {
                var text = path.hasPrefix("/") ? path : "/" + path
                while text.count > 1, text.hasSuffix("/") { text.removeLast() }
                return text
            }
        }

        /// An app's request limits (HubSpot's published tiers; the search API has its own per-second limit).
        public struct RateLimits: Sendable, Hashable {
            /// Requests per rolling ten seconds.
            public var perTenSeconds: Int
            /// Requests per day.
            public var perDay: Int
            /// Search requests per second (search answers carry no rate-limit headers).
            public var searchPerSecond: Int

            /// - Parameters:
            ///   - perTenSeconds: requests per rolling ten seconds.
            ///   - perDay: requests per day.
            ///   - searchPerSecond: search requests per second.
            public init(perTenSeconds: Int, perDay: Int, searchPerSecond: Int = 5) {
                self.perTenSeconds = perTenSeconds
                self.perDay = perDay
                self.searchPerSecond = searchPerSecond
            }

            /// Free and Starter: 100 per 10 s, 250 000 per day.
            public static let starter = RateLimits(perTenSeconds: 100, perDay: 250_000)
            /// Professional: 190 per 10 s, 650 000 per day.
            public static let professional = RateLimits(perTenSeconds: 190, perDay: 650_000)
            /// Enterprise: 190 per 10 s, 1 000 000 per day.
            public static let enterprise = RateLimits(perTenSeconds: 190, perDay: 1_000_000)
            /// With the API limit increase add-on: 250 per 10 s, 1 000 000 more per day (on Professional).
            public static let increased = RateLimits(perTenSeconds: 250, perDay: 1_650_000)
        }

        /// One webhook subscription of the app (Webhooks settings of the app).
        public struct Subscription: Sendable, Hashable {
            /// The subscription id (`subscriptionId` on events).
            public var id: Int
            /// `deal.creation`, `deal.propertyChange`, `contact.merge`, `company.associationChange`, `deal.deletion`…
            public var subscriptionType: String
            /// For `*.propertyChange`: the property watched.
            public var propertyName: String?

            /// - Parameters:
            ///   - id: the subscription id.
            ///   - subscriptionType: the event type.
            ///   - propertyName: the property, for property changes.
            public init(id: Int, subscriptionType: String, propertyName: String? = nil) {
                self.id = id
                self.subscriptionType = subscriptionType
                self.propertyName = propertyName
            }
        }

        /// The webhook sender: the app's target URL, client secret, subscriptions, batching, retries and clock.
        public struct Webhooks: Sendable {
            /// Where every event of the app goes (`nil`: no webhooks).
            public var targetURL: String?
            /// The app's client secret: the v3 HMAC key (and v1's hash prefix).
            public var clientSecret: String
            /// What the app subscribes to.
            public var subscriptions: [Subscription]
            /// Events per request (HubSpot: up to 100).
            public var maxEventsPerRequest: Int
            /// Attempts per request, the first included (HubSpot: the first and up to 10 retries).
            public var maxAttempts: Int
            /// The wait before the first retry; each later retry waits twice as long, up to `maxRetryDelay`.
            public var retryBaseDelay: Duration
            /// The longest wait between attempts.
            public var maxRetryDelay: Duration
            /// A receiver that has not answered within this is a failed attempt.
            public var timeout: Duration
            /// The clock retry delays are measured on.
            public var clock: any Clock<Duration>

            /// - Parameters:
            ///   - targetURL: the app's webhook URL.
            ///   - clientSecret: the app's client secret.
            ///   - subscriptions: the app's subscriptions.
            ///   - maxEventsPerRequest: events per POST (default 100).
            ///   - maxAttempts: attempts per request (default 11).
            ///   - retryBaseDelay: the first retry's wait (default 1 minute).
            ///   - maxRetryDelay: the cap on the wait (default 8 hours).
            ///   - timeout: the receiver's deadline (default 5 s).
            ///   - clock: the clock for retry delays.
            public init(
                targetURL: String? = nil, clientSecret: String = "hs_client_secret", subscriptions: [Subscription] = [],
                maxEventsPerRequest: Int = 100, maxAttempts: Int = 11, retryBaseDelay: Duration = .seconds(60),
                maxRetryDelay: Duration = .seconds(8 * 3600), timeout: Duration = .seconds(5),
                clock: any Clock<Duration> = ContinuousClock()
            ) {
                self.targetURL = targetURL
                self.clientSecret = clientSecret
                self.subscriptions = subscriptions
                self.maxEventsPerRequest = max(1, min(100, maxEventsPerRequest))
                self.maxAttempts = max(1, maxAttempts)
                self.retryBaseDelay = retryBaseDelay
                self.maxRetryDelay = maxRetryDelay
                self.timeout = timeout
                self.clock = clock
            }
        }
    }
}
