public import Foundation

/// Which custom field of a support desk's organisation (Zendesk `organization_fields` key) or company (Freshdesk
/// `custom_fields` key, `cf_…`) shows which part of an entitlement. A part without a field is not written.
///
/// Values are written as text and dates, the field types both desks have: `tier`, `status` (`active`, `past_due`…),
/// `standing` (`good`, `overdue`), `overdue_amount` (`25.00 USD`), `overdue_since` and `contract_end` (`2026-12-31`),
/// `support_level`. A value that no longer applies (the amount once paid) is written as `null`, which clears the field.
public struct DeskFieldMap: Sendable, Hashable {
    /// The field that holds Weft's account id (`stripe_customer_cus_1`). Freshdesk needs it (companies have no external
    /// id); Zendesk uses the organisation's own `external_id` and may name one as well.
    public var account: String?
    public var tier: String?
    public var status: String?
    public var standing: String?
    public var overdueAmount: String?
    public var overdueSince: String?
    public var contractEnd: String?
    public var supportLevel: String?

    public init(
        account: String? = nil, tier: String? = nil, status: String? = nil, standing: String? = nil,
        overdueAmount: String? = nil, overdueSince: String? = nil, contractEnd: String? = nil, supportLevel: String? = nil
    ) {
        self.account = account
        self.tier = tier
        self.status = status
        self.standing = standing
        self.overdueAmount = overdueAmount
        self.overdueSince = overdueSince
        self.contractEnd = contractEnd
        self.supportLevel = supportLevel
    }

    /// The configuration keys, in the order `values(for:)` writes them, for `weft check` and docs.
    public static let keys = [
        "account", "tier", "status", "standing", "overdue_amount", "overdue_since", "contract_end", "support_level",
    ]

    /// Every named field, for checking that the desk has them.
    public var fieldNames: [String] {
        [account, tier, status, standing, overdueAmount, overdueSince, contractEnd, supportLevel].compactMap { $0 }
    }

    /// The field values for `entitlement`, keyed by desk field name. `.null` clears a field.
    public func values(for entitlement: DeskEntitlement) -> [String: JSONValue] {
        var values: [String: JSONValue] = [:]
        func put(_ field: String?, _ value: String?) {
            guard let field else { return }
            values[field] = value.map(JSONValue.string) ?? .null
        }
        put(account, entitlement.account.xmlidName)
        put(tier, entitlement.tier)
        put(status, entitlement.status.rawValue)
        put(standing, entitlement.standing.rawValue)
        put(overdueAmount, entitlement.standing == .overdue ? entitlement.overdue.map(Self.text(of:)) : nil)
        put(overdueSince, entitlement.standing == .overdue ? entitlement.overdueSince.map(Self.day(of:)) : nil)
        put(contractEnd, entitlement.contractEnd.map(Self.day(of:)))
        put(supportLevel, entitlement.supportLevel)
        return values
    }

    /// The values Weft can write to each named field under `rules`, by desk field name with its configuration key:
    /// the whole set for a part with a fixed set (tier, status, standing, support level), `nil` for text and dates
    /// (the account id, the amount, the days). A value that no longer applies is cleared, not written, so it is not
    /// among them.
    public func writtenValues(rules: EntitlementRules) -> [(field: String, key: String, values: Set<String>?)] {
        let parts: [(String?, String, Set<String>?)] = [
            (account, "account", nil), (tier, "tier", rules.tierNames),
            (status, "status", Set(EntitlementStatus.allCases.map(\.rawValue))),
            (standing, "standing", [EntitlementStandingState.good.rawValue, EntitlementStandingState.overdue.rawValue]),
            (overdueAmount, "overdue_amount", nil), (overdueSince, "overdue_since", nil), (contractEnd, "contract_end", nil),
            (supportLevel, "support_level", rules.supportLevels),
        ]
        return parts.compactMap { field, key, values in field.map { ($0, key, values) } }
    }

    /// What keeps the desk's list-of-choices fields (Zendesk dropdowns, Freshdesk dropdowns) from showing what Weft
    /// writes: a choice missing for a value Weft can write (Zendesk keeps the old value without a word, Freshdesk refuses
    /// the update), or a dropdown where Weft writes text or a date. `choices` holds the desk's dropdown fields only, by
    /// name, with the values they take. Each problem is a sentence naming the setting of `system` to fix.
    public func choiceProblems(choices: [String: [String]], rules: EntitlementRules, system: String) -> [String] {
        var problems: [String] = []
        for (field, key, values) in writtenValues(rules: rules) {
            guard let taken = choices[field] else { continue }
            guard let values else {
                problems.append(
                    "the field \(field) (systems.\(system).fields.\(key)) is a dropdown, but Weft writes text or a date "
                        + "there: make it a text or date field, or name another")
                continue
            }
            let missing = values.subtracting(taken).sorted()
            if !missing.isEmpty {
                problems.append(
                    "the dropdown \(field) (systems.\(system).fields.\(key)) has no choice \(missing.joined(separator: ", ")), "
                        + "which Weft writes there: add \(missing.count == 1 ? "it" : "them") to the field's choices, or make it a "
                        + "text field")
            }
        }
        return problems
    }

    /// `2500 USD` minor units → `25.00 USD` (using the currency's exponent).
    public static func text(of money: Money) -> String {
        money.decimalString + " " + money.currency.rawValue
    }

    /// The UTC calendar day of `date`, `2026-12-31`, as date fields take it.
    public static func day(of date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.year ?? 0, 4))-\(pad(parts.month ?? 0, 2))-\(pad(parts.day ?? 0, 2))"
    }
}
