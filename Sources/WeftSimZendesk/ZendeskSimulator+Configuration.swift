public import Logging

extension ZendeskSimulator {
    /// How the simulator behaves: credentials, rate limits, time, ids and the webhook sender.
    public struct Configuration: Sendable {
        /// The agent whose API tokens are accepted (`{email}/token:{api_token}` in HTTP Basic).
        public var agentEmail: String
        /// API tokens of `agentEmail` (Admin Center > Apps and integrations > Zendesk API).
        public var apiTokens: [String]
        /// OAuth access tokens accepted as `Authorization: Bearer <token>`.
        public var oauthTokens: [String]
        /// Requests per minute for the account (Zendesk: 200 Team, 400 Growth/Professional, 700 Enterprise…).
        public var rateLimitPerMinute: Int
        /// Requests per minute to the incremental export endpoints (Zendesk: 10).
        public var incrementalExportsPerMinute: Int
        /// The account id stamped on webhook events.
        public var accountID: Int
        /// Whether end users may belong to several organizations (Zendesk: off unless an admin enables it on a plan
        /// that has it). Off, `POST /organization_memberships` for a user who already has an organization is a 422.
        public var multipleOrganizations: Bool
        /// Seeds the id generator so ids repeat from run to run; `nil` picks a random seed.
        public var idSeed: UInt64?
        /// The current time in unix seconds; `nil` uses the system clock. Stamps records, limits and signatures.
        public var now: (@Sendable () -> Int)?
        /// The webhook sender.
        public var webhooks: Webhooks
        /// Where the simulator logs (deliveries at debug level).
        public var logger: Logger

        /// - Parameters:
        ///   - agentEmail: the agent the API tokens belong to.
        ///   - apiTokens: accepted API tokens.
        ///   - oauthTokens: accepted OAuth bearer tokens.
        ///   - rateLimitPerMinute: the account's limit (default 400, Growth/Professional).
        ///   - incrementalExportsPerMinute: the incremental export limit (default 10).
        ///   - accountID: the account id on webhook events.
        ///   - multipleOrganizations: whether users may belong to several organizations (default off).
        ///   - idSeed: a seed for reproducible ids (`nil`: random).
        ///   - now: the clock, in unix seconds (`nil`: system time).
        ///   - webhooks: the webhook sender's configuration.
        ///   - logger: the simulator's logger.
        public init(
            agentEmail: String = "agent@example.com",
            apiTokens: [String] = ["zd_tok"],
            oauthTokens: [String] = [],
            rateLimitPerMinute: Int = 400,
            incrementalExportsPerMinute: Int = 10,
            accountID: Int = 12_514_403,
            multipleOrganizations: Bool = false,
            idSeed: UInt64? = nil,
            now: (@Sendable () -> Int)? = nil,
            webhooks: Webhooks = .init(),
            logger: Logger = Logger(label: "weft.sim.zendesk")
        ) {
            self.agentEmail = agentEmail
            self.apiTokens = apiTokens
            self.oauthTokens = oauthTokens
            self.rateLimitPerMinute = rateLimitPerMinute
            self.incrementalExportsPerMinute = incrementalExportsPerMinute
            self.accountID = accountID
            self.multipleOrganizations = multipleOrganizations
            self.idSeed = idSeed
            self.now = now
            self.webhooks = webhooks
            self.logger = logger
        }

        /// One webhook (Admin Center > Apps and integrations > Webhooks) with its signing secret.
        public struct WebhookEndpoint: Sendable, Hashable {
            /// The webhook id (`01GK8E6BKWMJZD2T8Y5AXJQMG5`), sent as `X-Zendesk-Webhook-Id`.
            public var id: String
            /// Where requests go.
            public var url: String
            /// The signing secret (`GET /api/v2/webhooks/{id}/signing_secret`).
            public var secret: String
            /// Event types it subscribes to (`zen:event-type:ticket.created`…); empty: every event.
            public var events: Set<String>

            /// - Parameters:
            ///   - id: the webhook id.
            ///   - url: the endpoint URL.
            ///   - secret: the signing secret.
            ///   - events: subscribed event types (empty: all).
            public init(id: String = "01GK8E6BKWMJZD2T8Y5AXJQMG5", url: String, secret: String, events: Set<String> = []) {
                self.id = id
                self.url = url
                self.secret = secret
                self.events = events
            }
        }

        /// The webhook sender: endpoints, retries, timeout and the clock retries wait on.
        public struct Webhooks: Sendable {
            /// Where events go.
            public var endpoints: [WebhookEndpoint]
            /// Attempts per delivery, the first included.
            public var maxAttempts: Int
            /// The wait before each retry.
            public var retryDelay: Duration
            /// A receiver that has not answered within this is a failed attempt (Zendesk: about 10 s).
            public var timeout: Duration
            /// The clock retry delays are measured on.
            public var clock: any Clock<Duration>

            /// - Parameters:
            ///   - endpoints: the webhooks.
            ///   - maxAttempts: attempts per delivery (default 4: the first and 3 retries).
            ///   - retryDelay: the wait before a retry (default 5 s).
            ///   - timeout: the receiver's deadline (default 10 s).
            ///   - clock: the clock for retry delays.
            public init(
                endpoints: [WebhookEndpoint] = [], maxAttempts: Int = 4, retryDelay: Duration = .seconds(5),
                timeout: Duration = .seconds(10), clock: any Clock<Duration> = ContinuousClock()
            ) {
                self.endpoints = endpoints
                self.maxAttempts = maxAttempts
                self.retryDelay = retryDelay
                self.timeout = timeout
                self.clock = clock
            }
        }
    }
}
