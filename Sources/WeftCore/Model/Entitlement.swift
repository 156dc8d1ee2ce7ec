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

/// What a support desk is told about one account: who it is (to find or create the organisation or company) and what
/// it is entitled to. The payload of `TargetCommand.syncEntitlement`.
///
/// It leaves out what changes with the clock alone (`overdueDays`), so a new command is emitted only when the
/// entitlement itself changes, not every day.
public struct DeskEntitlement: Hashable, Sendable, Codable {
    /// The billing customer; its `xmlidName` (`stripe_customer_cus_1`) is the external id kept in the desk.
    public var account: ExternalRef
    /// The name to show (the billing customer's name, else its email, else its id).
    public var name: String
    public var email: String?
    /// The email's domain, for matching an organisation the desk already has; `nil` for free-mail domains.
    public var domain: String?
    public var tier: String?
    public var status: EntitlementStatus
    public var standing: EntitlementStandingState
    public var overdueSince: Date?
    public var overdue: Money?
    public var contractEnd: Date?
    public var supportLevel: String

    public init(
        account: ExternalRef, name: String, email: String? = nil, domain: String? = nil, tier: String?,
        status: EntitlementStatus, standing: EntitlementStandingState, overdueSince: Date? = nil, overdue: Money? = nil,
        contractEnd: Date?, supportLevel: String
    ) {
        self.account = account
        self.name = name
        self.email = email
        self.domain = domain
        self.tier = tier
        self.status = status
        self.standing = standing
        self.overdueSince = overdueSince
        self.overdue = overdue
        self.contractEnd = contractEnd
        self.supportLevel = supportLevel
    }

    /// The desk's view of `entitlement` for `customer`.
    public init(customer: Customer, entitlement: Entitlement) {
        self.init(
            account: customer.ref, name: customer.displayName, email: customer.email,
            domain: customer.email.flatMap(Self.companyDomain(ofEmail:)), tier: entitlement.tier,
            status: entitlement.status, standing: entitlement.standing.state,
            overdueSince: entitlement.standing.overdueSince, overdue: entitlement.standing.overdue,
            contractEnd: entitlement.contractEnd, supportLevel: entitlement.supportLevel)
    }

    /// Mail providers whose domain says nothing about the company: never used to match an organisation.
    public static let freeMailDomains: Set<String> = [
        "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "icloud.com", "me.com",
        "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "web.de", "mail.com", "yandex.com", "qq.com",
    ]

    /// The lowercased domain of `email`, unless it is malformed or a free-mail provider.
    public static func companyDomain(ofEmail email: String) -> String? {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix(".")
        else { return nil }
        let domain = parts[1].lowercased()
        return freeMailDomains.contains(domain) ? nil : domain
    }
}
