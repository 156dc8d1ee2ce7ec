public import Foundation

/// Whether an account is entitled to service. Derived from its subscriptions and payment standing, never typed by hand.
public enum EntitlementStatus: String, Sendable, Codable, Hashable, CaseIterable {
    /// A subscription is active and paid up.
    case active
    /// A subscription is in its trial.
    case trialing
    /// A subscription is live but payment is overdue (billing says so, or an open invoice has a failed payment).
    case pastDue = "past_due"
    /// Every subscription has ended.
    case cancelled
    /// No subscription was ever live (none at all, incomplete or paused).
    case none
}

/// Whether an account's invoices are paid.
public enum EntitlementStandingState: String, Sendable, Codable, Hashable {
    case good
    case overdue
}

/// Payment standing as a support agent needs it: overdue since when, for how many days, and how much.
public struct EntitlementStanding: Hashable, Sendable, Codable {
    public var state: EntitlementStandingState
    /// The first failed payment of the oldest invoice still unpaid.
    public var overdueSince: Date?
    /// Whole days from `overdueSince` to the instant the entitlement was derived for.
    public var overdueDays: Int?
    /// What is owed on the overdue invoices (in the currency of the first one; others are not summed into it).
    public var overdue: Money?

    public init(state: EntitlementStandingState, overdueSince: Date? = nil, overdueDays: Int? = nil, overdue: Money? = nil) {
        self.state = state
        self.overdueSince = overdueSince
        self.overdueDays = overdueDays
        self.overdue = overdue
    }

    public static let good = EntitlementStanding(state: .good)
}

/// What an account is entitled to right now: plan tier, status, standing, contract end and support level. One per
/// billing customer; support desks, the CRM and `GET /v1/entitlements/…` show it. See docs/entitlements.md.
public struct Entitlement: Hashable, Sendable, Codable {
    /// The billing customer it belongs to.
    public var accountRef: ExternalRef
    /// The plan tier (from the configured tier rules); `nil` without a live subscription.
    public var tier: String?
    public var status: EntitlementStatus
    public var standing: EntitlementStanding
    /// Until when service is paid for or contracted: the scheduled cancellation, else the current period's end; for an
    /// ended subscription, when it ended.
    public var contractEnd: Date?
    /// The support level the configured rules give the tier, lowered while payment is overdue past the grace period.
    public var supportLevel: String
    /// The subscription the status comes from.
    public var subscriptionRef: ExternalRef?
    /// When the entitlement changes next with no new event (a grace period running out): derive it again then.
    public var nextChangeAt: Date?

    public init(
        accountRef: ExternalRef, tier: String?, status: EntitlementStatus, standing: EntitlementStanding,
        contractEnd: Date?, supportLevel: String, subscriptionRef: ExternalRef? = nil, nextChangeAt: Date? = nil
    ) {
        self.accountRef = accountRef
        self.tier = tier
        self.status = status
        self.standing = standing
        self.contractEnd = contractEnd
        self.supportLevel = supportLevel
        self.subscriptionRef = subscriptionRef
        self.nextChangeAt = nextChangeAt
    }
}
