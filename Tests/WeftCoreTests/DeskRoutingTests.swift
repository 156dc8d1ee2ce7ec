import Foundation
import Testing
import WeftCore

@Suite("Support desks are sent each account's entitlement, once per change")
struct DeskRoutingTests {
    let account = ExternalRef(system: "stripe", kind: .customer, id: "cus_1")
    let key = EntityKey("stripe/customer/cus_1")
    let day: TimeInterval = 86_400
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    var router: CommandRouter {
        CommandRouter(
            flows: [
                Flow(name: "erp", source: "stripe", target: "odoo"), Flow(name: "desk", source: "stripe", target: "zendesk"),
            ],
            ownership: OwnershipRules(), desks: ["zendesk"],
            entitlements: EntitlementRules(
                tiers: [.init(name: "pro", rank: 2, products: ["prod_pro"], supportLevel: "priority")], graceDays: 7))
    }

    func put(_ value: some Encodable, _ ref: ExternalRef, in aggregate: inout Aggregate) {
        aggregate.records[ref.description] = RecordState(fields: CanonicalCoding.jsonValue(value).objectValue ?? [:])
    }

    func customerWithSubscription() -> Aggregate {
        var aggregate = Aggregate()
        put(Customer(ref: account, name: "Acme GmbH", email: "billing@acme.example"), account, in: &aggregate)
        let subscription = ExternalRef(system: "stripe", kind: .subscription, id: "sub_1")
        put(
            Subscription(
                ref: subscription, customerRef: account, status: .active,
                items: [SubscriptionItem(productRef: ExternalRef(system: "stripe", kind: .product, id: "prod_pro"), quantity: 1)]),
            subscription, in: &aggregate)
        return aggregate
    }

    func failPayment(at instant: Date, paid: Bool, in aggregate: inout Aggregate) {
        let ref = ExternalRef(system: "stripe", kind: .invoice, id: "in_1")
        var invoice = Invoice(ref: ref, customerRef: account)
        invoice.status = paid ? .paid : .open
        invoice.currency = .usd
        invoice.amountRemainingMinor = paid ? 0 : 2500
        put(invoice, ref, in: &aggregate)
        let payment = ExternalRef(system: "stripe", kind: .payment, id: "in_1-attempt-1")
        put(
            Payment(
                ref: payment, customerRef: account, invoiceRef: ref, amount: Money(amountMinor: 2500, currency: .usd),
                status: .failed, occurredAt: instant), payment, in: &aggregate)
    }

    func entitlements(_ commands: [NewCommand]) -> [DeskEntitlement] {
        commands.compactMap { command in
            if case .syncEntitlement(let entitlement) = command.payload { entitlement } else { nil }
        }
    }

    @Test func aDeskGetsTheEntitlementAndNothingElse() {
        var aggregate = customerWithSubscription()
        let commands = router.route(entityKey: key, aggregate: &aggregate, source: "stripe", now: t0)
        let desk = commands.filter { $0.target == "zendesk" }
        #expect(desk.count == 1)
        let sent = entitlements(desk)
        #expect(sent.first?.account == account)
        #expect(sent.first?.name == "Acme GmbH")
        #expect(sent.first?.domain == "acme.example")
        #expect(sent.first?.tier == "pro")
        #expect(sent.first?.status == .active)
        #expect(sent.first?.supportLevel == "priority")
        // Odoo still gets its own commands, never an entitlement.
        #expect(commands.contains { $0.target == "odoo" })
        #expect(entitlements(commands.filter { $0.target == "odoo" }).isEmpty)
    }

    @Test func anUnchangedEntitlementIsNotSentAgainNorAsDaysGoBy() {
        var aggregate = customerWithSubscription()
        failPayment(at: t0, paid: false, in: &aggregate)
        let first = router.route(entityKey: key, aggregate: &aggregate, source: "stripe", now: t0 + day)
        #expect(entitlements(first).first?.standing == .overdue)
        #expect(entitlements(first).first?.overdue == Money(amountMinor: 2500, currency: .usd))
        // A day later in the grace period: the day count moved, the entitlement did not.
        let again = router.route(entityKey: key, aggregate: &aggregate, source: "stripe", now: t0 + 2 * day)
        #expect(entitlements(again).isEmpty)
        // The grace period ran out: the support level drops, which is a change.
        let later = router.route(entityKey: key, aggregate: &aggregate, source: "stripe", now: t0 + 8 * day)
        #expect(entitlements(later).map(\.supportLevel) == ["basic"])
    }

    @Test func aRecoveredPaymentIsSentAsGoodStanding() {
        var aggregate = customerWithSubscription()
        failPayment(at: t0, paid: false, in: &aggregate)
        _ = router.route(entityKey: key, aggregate: &aggregate, source: "stripe", now: t0)
        failPayment(at: t0, paid: true, in: &aggregate)
        let commands = entitlements(router.route(entityKey: key, aggregate: &aggregate, source: "stripe", now: t0 + day))
        #expect(commands.count == 1)
        #expect(commands.first?.standing == .good)
        #expect(commands.first?.status == .active)
        #expect(commands.first?.overdue == nil)
    }

    @Test func aCustomerWithoutNameOrEmailIsNotSent() {
        var aggregate = Aggregate()
        put(Customer(ref: account), account, in: &aggregate)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe", now: t0).filter { $0.target == "zendesk" }.isEmpty)
    }

    /// Stripe cancels a deleted customer's subscriptions with it, and the two events arrive in any order: a desk that
    /// has the customer is still told the subscription ended; a customer deleted before any desk saw it is not sent.
    @Test func aDeletedCustomersEndingStillReachesTheDeskThatHasIt() {
        var aggregate = customerWithSubscription()
        #expect(entitlements(router.route(entityKey: key, aggregate: &aggregate, source: "stripe", now: t0)).first?.status == .active)
        put(Customer(ref: account, name: "Acme GmbH", email: "billing@acme.example", deleted: true), account, in: &aggregate)
        _ = router.route(entityKey: key, aggregate: &aggregate, source: "stripe", now: t0 + day)
        let subscription = ExternalRef(system: "stripe", kind: .subscription, id: "sub_1")
        put(
            Subscription(ref: subscription, customerRef: account, status: .canceled, canceledAt: t0 + day),
            subscription, in: &aggregate)
        let ended = entitlements(router.route(entityKey: key, aggregate: &aggregate, source: "stripe", now: t0 + day))
        #expect(ended.count == 1)
        #expect(ended.first?.status == .cancelled)
        #expect(ended.first?.supportLevel == "none")

        var unseen = customerWithSubscription()
        put(Customer(ref: account, name: "Acme GmbH", email: "billing@acme.example", deleted: true), account, in: &unseen)
        #expect(entitlements(router.route(entityKey: key, aggregate: &unseen, source: "stripe", now: t0)).isEmpty)
    }

    @Test func fieldValuesClearWhatNoLongerApplies() {
        let fields = DeskFieldMap(
            account: "weft_account", tier: "weft_tier", standing: "weft_standing", overdueAmount: "weft_overdue_amount",
            overdueSince: "weft_overdue_since", contractEnd: "weft_contract_end", supportLevel: "weft_support_level")
        var entitlement = DeskEntitlement(
            account: account, name: "Acme", tier: "pro", status: .pastDue, standing: .overdue, overdueSince: t0,
            overdue: Money(amountMinor: 2500, currency: .usd), contractEnd: t0 + 30 * day, supportLevel: "priority")
        let overdue = fields.values(for: entitlement)
        #expect(overdue["weft_account"] == .string("stripe_customer_cus_1"))
        #expect(overdue["weft_overdue_amount"] == .string("25.00 USD"))
        #expect(overdue["weft_overdue_since"] == .string("2027-01-15"))
        #expect(overdue["weft_contract_end"] == .string("2027-02-14"))
        #expect(overdue["weft_standing"] == .string("overdue"))
        #expect(overdue["status"] == nil)
        entitlement.standing = .good
        let good = fields.values(for: entitlement)
        #expect(good["weft_overdue_amount"] == .null)
        #expect(good["weft_overdue_since"] == .null)
    }

    @Test func onlyCompanyDomainsAreUsedToMatch() {
        #expect(DeskEntitlement.companyDomain(ofEmail: "Ann@Acme.Example") == "acme.example")
        #expect(DeskEntitlement.companyDomain(ofEmail: "ann@gmail.com") == nil)
        #expect(DeskEntitlement.companyDomain(ofEmail: "not-an-email") == nil)
        #expect(DeskEntitlement.companyDomain(ofEmail: "a@b@c.com") == nil)
        #expect(DeskEntitlement.companyDomain(ofEmail: "ann@localhost") == nil)
    }

    /// The values Weft can write to each desk field come from the rules; a dropdown must offer each, and a field Weft
    /// writes text or a date to must not be a dropdown.
    @Test func desksDropdownsMustOfferEveryValueWeftWrites() {
        let fields = DeskFieldMap(tier: "t", status: "s", standing: "g", overdueAmount: "a", supportLevel: "l")
        let rules = EntitlementRules(
            tiers: [.init(name: "pro", rank: 2, supportLevel: "priority"), .init(name: "team", rank: 1)], defaultTier: "starter")
        let written = Dictionary(uniqueKeysWithValues: fields.writtenValues(rules: rules).map { ($0.key, $0.values) })
        #expect(written["tier"] == .some(["pro", "team", "starter"]))
        #expect(written["status"] == .some(["active", "trialing", "past_due", "cancelled", "none"]))
        #expect(written["standing"] == .some(["good", "overdue"]))
        #expect(written["support_level"] == .some(["priority", "standard", "basic", "none"]))
        #expect(written["overdue_amount"] == .some(nil))
        #expect(written["account"] == nil)  // not configured

        let everything: [String: [String]] = [
            "t": ["pro", "team", "starter", "legacy"], "s": ["active", "trialing", "past_due", "cancelled", "none"],
            "g": ["good", "overdue"], "l": ["priority", "standard", "basic", "none"],
        ]
        #expect(fields.choiceProblems(choices: everything, rules: rules, system: "zd").isEmpty)
        #expect(fields.choiceProblems(choices: [:], rules: rules, system: "zd").isEmpty)  // no dropdowns at all
        var lacking = everything
        lacking["s"] = ["active", "past_due"]
        lacking["a"] = ["x"]
        #expect(
            fields.choiceProblems(choices: lacking, rules: rules, system: "zd") == [
                "the dropdown s (systems.zd.fields.status) has no choice cancelled, none, trialing, which Weft writes there: "
                    + "add them to the field's choices, or make it a text field",
                "the field a (systems.zd.fields.overdue_amount) is a dropdown, but Weft writes text or a date there: make it "
                    + "a text or date field, or name another",
            ])
    }
}
