import Foundation
import Testing
import WeftCore

@Suite("Entitlement is derived from subscriptions, invoices and payments")
struct EntitlementRuleTests {
    let account = ExternalRef(system: "stripe", kind: .customer, id: "cus_1")
    let day: TimeInterval = 86_400
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let rules = EntitlementRules(
        tiers: [
            .init(name: "enterprise", rank: 3, products: ["prod_ent"], supportLevel: "premium"),
            .init(name: "pro", rank: 2, products: ["prod_pro"], prices: ["price_pro_yearly"], supportLevel: "priority"),
        ],
        graceDays: 7)

    func put(_ value: some Encodable, _ ref: ExternalRef, in aggregate: inout Aggregate) {
        aggregate.records[ref.description] = RecordState(fields: CanonicalCoding.jsonValue(value).objectValue ?? [:])
    }

    func subscription(
        _ id: String, _ status: SubscriptionStatus, product: String? = nil, price: String? = nil, periodEnd: Date? = nil,
        cancelAt: Date? = nil, canceledAt: Date? = nil, in aggregate: inout Aggregate
    ) {
        let ref = ExternalRef(system: "stripe", kind: .subscription, id: id)
        let item = SubscriptionItem(
            productRef: product.map { ExternalRef(system: "stripe", kind: .product, id: $0) },
            priceRef: price.map { ExternalRef(system: "stripe", kind: .price, id: $0) }, quantity: 1)
        put(
            Subscription(
                ref: ref, customerRef: account, status: status, items: [item], currentPeriodEnd: periodEnd, cancelAt: cancelAt,
                canceledAt: canceledAt), ref, in: &aggregate)
    }

    /// An open invoice of 25.00 USD whose payment failed at `failedAt`; `paid` settles it.
    func failedInvoice(failedAt: Date, paid: Bool = false, in aggregate: inout Aggregate) {
        let ref = ExternalRef(system: "stripe", kind: .invoice, id: "in_1")
        var invoice = Invoice(ref: ref, customerRef: account)
        invoice.status = paid ? .paid : .open
        invoice.currency = .usd
        invoice.amountRemainingMinor = paid ? 0 : 2500
        invoice.paidAt = paid ? failedAt.addingTimeInterval(day) : nil
        put(invoice, ref, in: &aggregate)
        let paymentRef = ExternalRef(system: "stripe", kind: .payment, id: "in_1-attempt-1")
        put(
            Payment(
                ref: paymentRef, customerRef: account, invoiceRef: ref, amount: Money(amountMinor: 2500, currency: .usd),
                status: .failed, occurredAt: failedAt), paymentRef, in: &aggregate)
    }

    @Test func withoutSubscriptionsThereIsNoEntitlement() {
        let entitlement = EntitlementRule.derive(account: account, from: Aggregate(), rules: rules, now: t0)
        #expect(entitlement.status == .none)
        #expect(entitlement.tier == nil)
        #expect(entitlement.supportLevel == "none")
        #expect(entitlement.standing == .good)
        #expect(entitlement.contractEnd == nil)
    }

    @Test func anActiveSubscriptionGivesItsTierAndSupportLevel() {
        var aggregate = Aggregate()
        subscription("sub_1", .active, product: "prod_pro", periodEnd: t0 + 30 * day, in: &aggregate)
        let entitlement = EntitlementRule.derive(account: account, from: aggregate, rules: rules, now: t0)
        #expect(entitlement.status == .active)
        #expect(entitlement.tier == "pro")
        #expect(entitlement.supportLevel == "priority")
        #expect(entitlement.contractEnd == t0 + 30 * day)
        #expect(entitlement.subscriptionRef?.id == "sub_1")
        #expect(entitlement.nextChangeAt == nil)
    }

    @Test func aPriceCanNameTheTierAndAnUnknownPlanGetsTheDefault() {
        var byPrice = Aggregate()
        subscription("sub_1", .active, product: "prod_other", price: "price_pro_yearly", in: &byPrice)
        #expect(EntitlementRule.derive(account: account, from: byPrice, rules: rules, now: t0).tier == "pro")
        var unknown = Aggregate()
        subscription("sub_1", .active, product: "prod_unknown", in: &unknown)
        let entitlement = EntitlementRule.derive(account: account, from: unknown, rules: rules, now: t0)
        #expect(entitlement.tier == "standard")
        #expect(entitlement.supportLevel == "standard")
    }

    @Test func theHighestTierOfLiveSubscriptionsWinsAndActiveBeatsTrialing() {
        var aggregate = Aggregate()
        subscription("sub_a", .active, product: "prod_pro", periodEnd: t0 + 10 * day, in: &aggregate)
        subscription("sub_b", .trialing, product: "prod_ent", periodEnd: t0 + 14 * day, in: &aggregate)
        subscription("sub_c", .canceled, product: "prod_ent", canceledAt: t0 - day, in: &aggregate)
        let entitlement = EntitlementRule.derive(account: account, from: aggregate, rules: rules, now: t0)
        #expect(entitlement.status == .active)
        #expect(entitlement.subscriptionRef?.id == "sub_a")
        #expect(entitlement.tier == "enterprise")
        #expect(entitlement.supportLevel == "premium")
        #expect(entitlement.contractEnd == t0 + 14 * day)
    }

    @Test func aScheduledCancellationIsTheContractEnd() {
        var aggregate = Aggregate()
        subscription("sub_1", .active, product: "prod_pro", periodEnd: t0 + 30 * day, cancelAt: t0 + 5 * day, in: &aggregate)
        let entitlement = EntitlementRule.derive(account: account, from: aggregate, rules: rules, now: t0)
        #expect(entitlement.status == .active)
        #expect(entitlement.contractEnd == t0 + 5 * day)
    }

    @Test func anEndedSubscriptionIsCancelledWithoutTier() {
        var aggregate = Aggregate()
        subscription("sub_1", .canceled, product: "prod_ent", canceledAt: t0 - 3 * day, in: &aggregate)
        subscription("sub_2", .canceled, product: "prod_pro", canceledAt: t0 - 9 * day, in: &aggregate)
        let entitlement = EntitlementRule.derive(account: account, from: aggregate, rules: rules, now: t0)
        #expect(entitlement.status == .cancelled)
        #expect(entitlement.tier == nil)
        #expect(entitlement.supportLevel == "none")
        #expect(entitlement.contractEnd == t0 - 3 * day)
        #expect(entitlement.subscriptionRef?.id == "sub_1")
    }

    @Test func incompleteOrPausedIsNotEntitled() {
        for status in [SubscriptionStatus.incomplete, .paused] {
            var aggregate = Aggregate()
            subscription("sub_1", status, product: "prod_pro", in: &aggregate)
            let entitlement = EntitlementRule.derive(account: account, from: aggregate, rules: rules, now: t0)
            #expect(entitlement.status == .none)
            #expect(entitlement.supportLevel == "none")
        }
    }

    @Test func billingsPastDueOrUnpaidIsPastDue() {
        for status in [SubscriptionStatus.pastDue, .unpaid] {
            var aggregate = Aggregate()
            subscription("sub_1", status, product: "prod_pro", in: &aggregate)
            let entitlement = EntitlementRule.derive(account: account, from: aggregate, rules: rules, now: t0)
            #expect(entitlement.status == .pastDue)
            #expect(entitlement.tier == "pro")
        }
    }

    @Test func aFailedPaymentMakesItPastDueAndTheGracePeriodKeepsSupport() {
        var aggregate = Aggregate()
        subscription("sub_1", .active, product: "prod_pro", in: &aggregate)
        failedInvoice(failedAt: t0, in: &aggregate)
        let inGrace = EntitlementRule.derive(account: account, from: aggregate, rules: rules, now: t0 + 2.5 * day)
        #expect(inGrace.status == .pastDue)
        #expect(inGrace.standing.state == .overdue)
        #expect(inGrace.standing.overdueDays == 2)
        #expect(inGrace.standing.overdueSince == t0)
        #expect(inGrace.standing.overdue == Money(amountMinor: 2500, currency: .usd))
        #expect(inGrace.supportLevel == "priority")
        #expect(inGrace.nextChangeAt == t0 + 7 * day)

        let afterGrace = EntitlementRule.derive(account: account, from: aggregate, rules: rules, now: t0 + 7 * day)
        #expect(afterGrace.supportLevel == "basic")
        #expect(afterGrace.standing.overdueDays == 7)
        #expect(afterGrace.nextChangeAt == nil)
    }

    @Test func aRecoveredPaymentClearsItAll() {
        var aggregate = Aggregate()
        subscription("sub_1", .active, product: "prod_pro", in: &aggregate)
        failedInvoice(failedAt: t0, paid: true, in: &aggregate)
        let entitlement = EntitlementRule.derive(account: account, from: aggregate, rules: rules, now: t0 + 10 * day)
        #expect(entitlement.status == .active)
        #expect(entitlement.standing == .good)
        #expect(entitlement.supportLevel == "priority")
    }

    @Test func anotherCustomersSubscriptionIsIgnored() {
        var aggregate = Aggregate()
        let ref = ExternalRef(system: "stripe", kind: .subscription, id: "sub_x")
        put(
            Subscription(ref: ref, customerRef: ExternalRef(system: "stripe", kind: .customer, id: "cus_2"), status: .active),
            ref, in: &aggregate)
        #expect(EntitlementRule.derive(account: account, from: aggregate, rules: rules, now: t0).status == .none)
    }

    @Test func rulesAreCheckedForAmbiguity() {
        #expect(rules.problems().isEmpty)
        #expect(EntitlementRules().problems().isEmpty)
        let bad = EntitlementRules(
            tiers: [
                .init(name: "pro", rank: 1, products: ["prod_a"]), .init(name: "pro", rank: 2, products: ["prod_b"]),
                .init(name: "max", rank: 3, products: ["prod_a"]), .init(name: "empty", rank: 0),
            ],
            pastDueSupportLevel: "", graceDays: -1)
        let problems = bad.problems()
        #expect(problems.contains("tier 'pro' is defined twice"))
        #expect(problems.contains("'prod_a' is listed by tiers 'pro' and 'max'; list it in one"))
        #expect(problems.contains("tier 'empty' lists no products or prices, so nothing can match it"))
        #expect(problems.contains("grace_days must be 0 or more (got -1)"))
        #expect(problems.contains("past_due_support_level must not be empty"))
    }
}
