public import Logging

extension ChargebeeSimulator {
    /// How the simulator behaves: site, API keys, catalog, time, ids, rate limit, dunning and the webhook sender.
    public struct Configuration: Sendable {
        /// The site name (`{site}.chargebee.com`); shown in events' webhooks and in logs.
        public var site: String
        /// API keys accepted as the Basic-auth user name (password empty).
        public var apiKeys: [String]
        /// Item prices (with their items) that exist from the start.
        public var catalog: [ItemPriceSeed]
        /// Seeds the id generator so ids repeat from run to run; `nil` picks a random seed.
        public var idSeed: UInt64?
        /// The current time in unix seconds; `nil` uses the system clock.
        public var now: (@Sendable () -> Int)?
        /// API requests allowed per minute (Chargebee test sites: 150); more answer 429 `api_request_limit_exceeded`.
        public var requestsPerMinute: Int
        /// Whether a subscription change prorates when the request does not say (the site setting).
        public var prorateByDefault: Bool
        /// What the payment method of a new customer does when charged.
        public var defaultPaymentOutcome: PaymentOutcome
        /// The wait before a failed automatic charge is retried (`next_retry_at`), in seconds.
        public var dunningRetryIntervalSeconds: Int
        /// What happens to the subscription when dunning ends without payment.
        public var dunningEndAction: DunningEndAction
        /// How long a `chargebee-idempotency-key` is remembered, in seconds.
        public var idempotencyKeyLifetimeSeconds: Int
        /// The webhook sender.
        public var webhooks: Webhooks
        /// Where the simulator logs (deliveries at debug level).
        public var logger: Logger

        /// - Parameters:
        ///   - site: the site name.
        ///   - apiKeys: accepted API keys.
        ///   - catalog: item prices that exist from the start.
        ///   - idSeed: a seed for reproducible ids (`nil`: random).
        ///   - now: the clock, in unix seconds (`nil`: system time).
        ///   - requestsPerMinute: the rate limit (default 150, as on test sites).
        ///   - prorateByDefault: the site's proration setting (default on).
        ///   - defaultPaymentOutcome: what new customers' cards do (default: succeed).
        ///   - dunningRetryIntervalSeconds: the wait before an automatic retry (default 3 days).
        ///   - dunningEndAction: what ends a failed dunning (default: cancel the subscription).
        ///   - idempotencyKeyLifetimeSeconds: how long idempotent results are kept (default 24 h).
        ///   - webhooks: the webhook sender's configuration.
        ///   - logger: the simulator's logger.
        public init(
            site: String = "weft-test",
            apiKeys: [String] = ["test_weft_key"],
            catalog: [ItemPriceSeed] = [],
            idSeed: UInt64? = nil,
            now: (@Sendable () -> Int)? = nil,
            requestsPerMinute: Int = 150,
            prorateByDefault: Bool = true,
            defaultPaymentOutcome: PaymentOutcome = .succeed,
            dunningRetryIntervalSeconds: Int = 3 * 86_400,
            dunningEndAction: DunningEndAction = .cancelSubscription,
            idempotencyKeyLifetimeSeconds: Int = 24 * 60 * 60,
            webhooks: Webhooks = .init(),
            logger: Logger = Logger(label: "weft.sim.chargebee")
        ) {
            self.site = site
            self.apiKeys = apiKeys
            self.catalog = catalog
            self.idSeed = idSeed
            self.now = now
            self.requestsPerMinute = requestsPerMinute
            self.prorateByDefault = prorateByDefault
            self.defaultPaymentOutcome = defaultPaymentOutcome
            self.dunningRetryIntervalSeconds = dunningRetryIntervalSeconds
            self.dunningEndAction = dunningEndAction
            self.idempotencyKeyLifetimeSeconds = idempotencyKeyLifetimeSeconds
            self.webhooks = webhooks
            self.logger = logger
        }

        /// The webhook sender: endpoints, retries, timeouts, faults and the clock it waits on.
        public struct Webhooks: Sendable {
            /// Where events are POSTed (Chargebee allows up to 5).
            public var endpoints: [WebhookEndpoint]
            /// The waits before each retry (Chargebee: 2 m, 6 m, 30 m, 1 h, 5 h, 1 d, 2 d); their count is the number of
            /// retries.
            public var retryDelays: [Duration]
            /// A receiver that has not answered within this is a failed attempt (Chargebee: 60 s in total).
            public var timeout: Duration
            /// Deliveries in flight at once (1 keeps the order in which events happened).
            public var maxConcurrentDeliveries: Int
            /// The clock retry delays are measured on.
            public var clock: any Clock<Duration>
            /// Seeds the duplicate and reorder faults.
            public var faultSeed: UInt64
            /// Faults active from the start.
            public var faults: WebhookFaultPlan

            /// - Parameters:
            ///   - endpoints: the webhook endpoints.
            ///   - retryDelays: the waits before each retry.
            ///   - timeout: the receiver's deadline.
            ///   - maxConcurrentDeliveries: deliveries in flight at once.
            ///   - clock: the clock for retry delays.
            ///   - faultSeed: the seed of the delivery faults.
            ///   - faults: the delivery faults active from the start.
            public init(
                endpoints: [WebhookEndpoint] = [],
                retryDelays: [Duration] = [
                    .seconds(120), .seconds(360), .seconds(1800), .seconds(3600), .seconds(5 * 3600), .seconds(86_400),
                    .seconds(2 * 86_400),
                ],
                timeout: Duration = .seconds(60),
                maxConcurrentDeliveries: Int = 1,
                clock: any Clock<Duration> = ContinuousClock(),
                faultSeed: UInt64 = 0x5EED,
                faults: WebhookFaultPlan = .init()
            ) {
                self.endpoints = endpoints
                self.retryDelays = retryDelays
                self.timeout = timeout
                self.maxConcurrentDeliveries = maxConcurrentDeliveries
                self.clock = clock
                self.faultSeed = faultSeed
                self.faults = faults
            }
        }
    }

    /// A webhook endpoint, with the Basic-auth credentials Chargebee sends with every delivery.
    public struct WebhookEndpoint: Sendable, Hashable {
        /// The endpoint's id (`whv2_…` in Chargebee; any label here).
        public var id: String
        /// The URL events are POSTed to.
        public var url: String
        /// The Basic-auth user name; `nil` sends no `Authorization` header.
        public var username: String?
        /// The Basic-auth password.
        public var password: String?
        /// The event types sent; `nil` sends all.
        public var eventTypes: Set<String>?

        /// - Parameters:
        ///   - id: the endpoint's id.
        ///   - url: where events go.
        ///   - username: the Basic-auth user name (`nil`: no authentication).
        ///   - password: the Basic-auth password.
        ///   - eventTypes: the event types sent (`nil`: all).
        public init(
            id: String = "whv2_weft", url: String, username: String? = nil, password: String? = nil,
            eventTypes: Set<String>? = nil
        ) {
            self.id = id
            self.url = url
            self.username = username
            self.password = password
            self.eventTypes = eventTypes
        }
    }

    /// An item price to seed, with its item (product catalog 2.0).
    public struct ItemPriceSeed: Sendable, Hashable {
        /// The item price id, e.g. `pro-USD-monthly`.
        public var id: String
        /// The item (plan/addon) id, e.g. `pro`; created when missing.
        public var itemID: String
        /// The item price's name.
        public var name: String
        /// The price in minor units.
        public var price: Int
        /// ISO currency code, e.g. `USD`.
        public var currencyCode: String
        /// The billing period length.
        public var period: Int
        /// `day`, `week`, `month` or `year`.
        public var periodUnit: String
        /// `plan`, `addon` or `charge`.
        public var itemType: String

        /// - Parameters:
        ///   - id: the item price id.
        ///   - itemID: the item id.
        ///   - name: the item price's name (default: the id).
        ///   - price: minor units.
        ///   - currencyCode: the currency.
        ///   - period: the period length (default 1).
        ///   - periodUnit: the period unit (default `month`).
        ///   - itemType: the item type (default `plan`).
        public init(
            id: String, itemID: String, name: String? = nil, price: Int, currencyCode: String = "USD", period: Int = 1,
            periodUnit: String = "month", itemType: String = "plan"
        ) {
            self.id = id
            self.itemID = itemID
            self.name = name ?? id
            self.price = price
            self.currencyCode = currencyCode
            self.period = period
            self.periodUnit = periodUnit
            self.itemType = itemType
        }
    }

    /// What a customer's payment method does when charged (the test gateway's success and decline cards).
    public enum PaymentOutcome: String, Sendable, Hashable, Codable {
        /// Charges succeed (`4111 1111 1111 1111`).
        case succeed
        /// Charges are declined (`4119 8627 6033 8320` on Chargebee's test gateway).
        case decline
    }

    /// What Chargebee does with a subscription when dunning is exhausted (a site setting).
    public enum DunningEndAction: String, Sendable, Hashable {
        /// Cancel the subscription (`cancel_reason: not_paid`).
        case cancelSubscription
        /// Leave it active; only the invoice becomes `not_paid`.
        case leaveActive
    }
}
