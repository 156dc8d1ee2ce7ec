public import Logging

extension StripeSimulator {
    /// How the simulator behaves: API keys, version, defaults, time, ids and the webhook sender.
    public struct Configuration: Sendable {
        /// Secret keys accepted as `Authorization: Bearer <key>` (or HTTP Basic with the key as user name).
        public var apiKeys: [String]
        /// The `api_version` stamped on events and sent as `Stripe-Version`.
        public var apiVersion: String
        /// `account_country` on invoices.
        public var accountCountry: String
        /// The currency used when neither a price nor the customer says otherwise.
        public var defaultCurrency: String
        /// The payment method charged when nothing else names one (Stripe would fail; the simulator pays).
        public var defaultPaymentMethod: String
        /// Seeds the id generator so ids repeat from run to run; `nil` picks a random seed.
        public var idSeed: UInt64?
        /// The current time in unix seconds; `nil` uses the system clock. Stamps `created`, periods and signatures.
        public var now: (@Sendable () -> Int)?
        /// How long an `Idempotency-Key` is remembered, in seconds (Stripe: at least 24 hours).
        public var idempotencyKeyLifetimeSeconds: Int
        /// The webhook sender.
        public var webhooks: Webhooks
        /// Where the simulator logs (deliveries at debug level).
        public var logger: Logger

        /// - Parameters:
        ///   - apiKeys: accepted secret keys.
        ///   - apiVersion: the API version events are rendered in.
        ///   - accountCountry: the account's country.
        ///   - defaultCurrency: the fallback currency.
        ///   - defaultPaymentMethod: the test payment method used when none is set.
        ///   - idSeed: a seed for reproducible ids (`nil`: random).
        ///   - now: the clock for timestamps, in unix seconds (`nil`: system time).
        ///   - idempotencyKeyLifetimeSeconds: how long idempotent results are kept.
        ///   - webhooks: the webhook sender's configuration.
        ///   - logger: the simulator's logger.
        public init(
            apiKeys: [String] = ["sk_test_weft"],
            apiVersion: String = "2026-07-29.dahlia",
            accountCountry: String = "US",
            defaultCurrency: String = "usd",
            defaultPaymentMethod: String = "pm_card_visa",
            idSeed: UInt64? = nil,
            now: (@Sendable () -> Int)? = nil,
            idempotencyKeyLifetimeSeconds: Int = 24 * 60 * 60,
            webhooks: Webhooks = .init(),
            logger: Logger = Logger(label: "weft.sim.stripe")
        ) {
            self.apiKeys = apiKeys
            self.apiVersion = apiVersion
            self.accountCountry = accountCountry
            self.defaultCurrency = defaultCurrency
            self.defaultPaymentMethod = defaultPaymentMethod
            self.idSeed = idSeed
            self.now = now
            self.idempotencyKeyLifetimeSeconds = idempotencyKeyLifetimeSeconds
            self.webhooks = webhooks
            self.logger = logger
        }

        /// The webhook sender: retries, timeouts, concurrency, faults and the clock it waits on.
        public struct Webhooks: Sendable {
            /// Attempts per delivery, the first included (Stripe test mode retries 3 times).
            public var maxAttempts: Int
            /// The wait before the first retry; each later one is `retryMultiplier` times longer.
            public var baseRetryDelay: Duration
            /// Growth factor of the retry delay.
            public var retryMultiplier: Int
            /// The longest wait between attempts.
            public var maxRetryDelay: Duration
            /// A receiver that has not answered within this is a failed attempt.
            public var timeout: Duration
            /// Deliveries in flight at once (1 keeps the order in which events happened).
            public var maxConcurrentDeliveries: Int
            /// How long a rolled secret keeps signing (as a second `v1`), in seconds.
            public var secretGracePeriodSeconds: Int
            /// The clock retry delays are measured on.
            public var clock: any Clock<Duration>
            /// Seeds the duplicate and reorder faults.
            public var faultSeed: UInt64
            /// Faults active from the start.
            public var faults: WebhookFaultPlan

            /// - Parameters:
            ///   - maxAttempts: attempts per delivery (default 4: the first and 3 retries).
            ///   - baseRetryDelay: the first retry's delay (default 5 minutes).
            ///   - retryMultiplier: the delay's growth factor (default 6: 5 min, 30 min, 3 h).
            ///   - maxRetryDelay: the cap on a delay (default 3 days).
            ///   - timeout: the receiver's deadline (default 10 s).
            ///   - maxConcurrentDeliveries: deliveries in flight at once (default 1).
            ///   - secretGracePeriodSeconds: how long a rolled secret still signs (default 24 h).
            ///   - clock: the clock for retry delays.
            ///   - faultSeed: the seed of the delivery faults.
            ///   - faults: the delivery faults active from the start.
            public init(
                maxAttempts: Int = 4,
                baseRetryDelay: Duration = .seconds(300),
                retryMultiplier: Int = 6,
                maxRetryDelay: Duration = .seconds(3 * 86_400),
                timeout: Duration = .seconds(10),
                maxConcurrentDeliveries: Int = 1,
                secretGracePeriodSeconds: Int = 24 * 60 * 60,
                clock: any Clock<Duration> = ContinuousClock(),
                faultSeed: UInt64 = 0x5EED,
                faults: WebhookFaultPlan = .init()
            ) {
                self.maxAttempts = maxAttempts
                self.baseRetryDelay = baseRetryDelay
                self.retryMultiplier = retryMultiplier
                self.maxRetryDelay = maxRetryDelay
                self.timeout = timeout
                self.maxConcurrentDeliveries = maxConcurrentDeliveries
                self.secretGracePeriodSeconds = secretGracePeriodSeconds
                self.clock = clock
                self.faultSeed = faultSeed
                self.faults = faults
            }

            /// The wait after failed attempt `attempt` (1-based).
            func retryDelay(afterAttempt attempt: Int) -> Duration {
                var delay = baseRetryDelay
                for _ in 1..<max(1, attempt) {
                    delay = delay * retryMultiplier
                    if delay >= maxRetryDelay { return maxRetryDelay }
                }
                return min(delay, maxRetryDelay)
            }
        }
    }
}
