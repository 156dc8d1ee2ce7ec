public import Foundation

/// How plans map to tiers and tiers to support levels. Defaults fit an account with one plan: every live subscription
/// is tier `standard` with support level `standard`; overdue longer than 7 days drops support to `basic`; without a
/// subscription the level is `none`.
public struct EntitlementRules: Sendable, Hashable {
    /// A tier and the plans that give it. A subscription item matches when its product or price id is listed (ids as
    /// the billing platform names them: `prod_…`/`price_…` in Stripe, item price ids in Chargebee).
    public struct Tier: Sendable, Hashable {
        public var name: String
        /// Higher wins when an account's live subscriptions give several tiers.
        public var rank: Int
        public var products: Set<String>
        public var prices: Set<String>
        /// The support level this tier gives; `nil`: the rules' default.
        public var supportLevel: String?

        public init(name: String, rank: Int, products: Set<String> = [], prices: Set<String> = [], supportLevel: String? = nil) {
            self.name = name
            self.rank = rank
            self.products = products
            self.prices = prices
            self.supportLevel = supportLevel
        }

        func matches(_ item: SubscriptionItem) -> Bool {
            if let product = item.productRef?.id, products.contains(product) { return true }
            if let price = item.priceRef?.id, prices.contains(price) { return true }
            return false
        }
    }

    public var tiers: [Tier]
    /// The tier of a live subscription no tier rule matches.
    public var defaultTier: String
    /// The support level of a tier that names none.
    public var defaultSupportLevel: String
    /// The support level once payment has been overdue for `graceDays`.
    public var pastDueSupportLevel: String
    /// The support level without a live subscription.
    public var noSubscriptionSupportLevel: String
    /// Whole days an account may be overdue before its support level drops.
    public var graceDays: Int
    /// For the lookup, not the derivation: a billing platform Weft has not reached for longer than this makes the
    /// answer `stale`.
    public var staleAfterSeconds: Int

    public init(
        tiers: [Tier] = [], defaultTier: String = "standard", defaultSupportLevel: String = "standard",
        pastDueSupportLevel: String = "basic", noSubscriptionSupportLevel: String = "none", graceDays: Int = 7,
        staleAfterSeconds: Int = 900
    ) {
        self.tiers = tiers
        self.defaultTier = defaultTier
        self.defaultSupportLevel = defaultSupportLevel
        self.pastDueSupportLevel = pastDueSupportLevel
        self.noSubscriptionSupportLevel = noSubscriptionSupportLevel
        self.graceDays = graceDays
        self.staleAfterSeconds = staleAfterSeconds
    }

    /// Every tier an entitlement can have: the tiers' names and the default tier.
    public var tierNames: Set<String> { Set(tiers.map(\.name)).union([defaultTier]) }

    /// Every support level an entitlement can have: the tiers', the default, the past-due and the no-subscription one.
    public var supportLevels: Set<String> {
        Set(tiers.compactMap(\.supportLevel)).union([defaultSupportLevel, pastDueSupportLevel, noSubscriptionSupportLevel])
    }

    /// What is wrong with the rules, one message per problem (empty: usable).
    public func problems() -> [String] {
        var problems: [String] = []
        var names: Set<String> = []
        var owners: [String: String] = [:]
        for tier in tiers {
            if tier.name.isEmpty { problems.append("a tier has an empty name") }
            if !names.insert(tier.name).inserted { problems.append("tier '\(tier.name)' is defined twice") }
            if tier.products.isEmpty && tier.prices.isEmpty {
                problems.append("tier '\(tier.name)' lists no products or prices, so nothing can match it")
            }
            for id in tier.products.union(tier.prices).sorted() {
                if let other = owners[id], other != tier.name {
                    problems.append("'\(id)' is listed by tiers '\(other)' and '\(tier.name)'; list it in one")
                } else {
                    owners[id] = tier.name
                }
            }
        }
        if graceDays < 0 { problems.append("grace_days must be 0 or more (got \(graceDays))") }
        for (label, value) in [
            ("default_tier", defaultTier), ("default_support_level", defaultSupportLevel),
            ("past_due_support_level", pastDueSupportLevel), ("no_subscription_support_level", noSubscriptionSupportLevel),
        ] where value.isEmpty {
            problems.append("\(label) must not be empty")
        }
        return problems
    }
}

/// Derives an account's entitlement from the subscriptions, invoices and payments in its aggregate. Pure: the same
/// records, rules and instant give the same entitlement whatever order the events arrived in.
public enum EntitlementRule {
    public static func derive(
        account: ExternalRef, from aggregate: Aggregate, rules: EntitlementRules, now: Date
    ) -> Entitlement {
        let subscriptions = aggregate.records(of: .subscription)
            .compactMap { $0.state.decode(Subscription.self) }
            .filter { $0.customerRef == account }
            .sorted { $0.ref.description < $1.ref.description }
        let live = subscriptions.filter { Self.isLive($0.status) }
        let ended = subscriptions.filter { $0.status == .canceled || $0.status == .incompleteExpired }

        // Standing: overdue while an open invoice has a failed payment (the dunning rule).
        let owed = StandingRule.standing(of: account, in: aggregate)
        var standing = EntitlementStanding.good
        if owed.state == .pastDue {
            let days = max(0, Int(now.timeIntervalSince(owed.since) / 86_400))
            standing = EntitlementStanding(state: .overdue, overdueSince: owed.since, overdueDays: days, overdue: owed.overdue)
        }

        guard !live.isEmpty else {
            // The subscription that ended last says when service ended.
            let last = ended.max { ($0.canceledAt ?? $0.cancelAt ?? .distantPast) < ($1.canceledAt ?? $1.cancelAt ?? .distantPast) }
            return Entitlement(
                accountRef: account, tier: nil, status: last == nil ? .none : .cancelled, standing: standing,
                contractEnd: last.flatMap { $0.canceledAt ?? $0.cancelAt }, supportLevel: rules.noSubscriptionSupportLevel,
                subscriptionRef: last?.ref)
        }

        // Status: the best live subscription (active over trialing over past due), past due while payment is overdue.
        let best = live.min { Self.precedence($0.status) < Self.precedence($1.status) }!
        var status: EntitlementStatus =
            switch best.status {
            case .active: .active
            case .trialing: .trialing
            default: .pastDue
            }
        if standing.state == .overdue { status = .pastDue }

        // Tier: the highest-ranked tier any live subscription's items match; the default tier when none matches.
        let items = live.flatMap { $0.items ?? [] }
        let matched = rules.tiers.filter { tier in items.contains { tier.matches($0) } }.max { $0.rank < $1.rank }
        let tier = matched?.name ?? rules.defaultTier
        let base = matched?.supportLevel ?? rules.defaultSupportLevel

        // Support level: the tier's, until payment has been overdue for the grace period.
        var supportLevel = base
        var nextChangeAt: Date?
        if let since = standing.overdueSince {
            let graceEnds = since.addingTimeInterval(Double(rules.graceDays) * 86_400)
            if now >= graceEnds {
                supportLevel = rules.pastDueSupportLevel
            } else {
                nextChangeAt = graceEnds
            }
        }
        let contractEnd = live.compactMap { $0.cancelAt ?? $0.currentPeriodEnd }.max()
        return Entitlement(
            accountRef: account, tier: tier, status: status, standing: standing, contractEnd: contractEnd,
            supportLevel: supportLevel, subscriptionRef: best.ref, nextChangeAt: nextChangeAt)
    }

    /// Billing statuses under which the customer is still served.
    static func isLive(_ status: SubscriptionStatus?) -> Bool {
        switch status {
        case .active, .trialing, .pastDue, .unpaid: true
        default: false
        }
    }

    static func precedence(_ status: SubscriptionStatus?) -> Int {
        switch status {
        case .active: 0
        case .trialing: 1
        default: 2
        }
    }
}
