import Foundation
import Testing
import WeftCore

/// Routing a customer with a long history: a change emits what it changes, not a command per record the customer
/// ever had, and what is skipped as unchanged is exactly what full routing would have found unchanged.
@Suite("Router: a customer's history")
struct RouterHistoryTests {
    let flows = [Flow(name: "billing_to_erp", source: "stripe", target: "odoo")]
    let key = EntityKey("stripe/customer/cus_1")
    let customerRef = ExternalRef(system: "stripe", kind: .customer, id: "cus_1")

    func apply(_ aggregate: inout Aggregate, _ ref: ExternalRef, _ fields: [String: JSONValue], at millis: Int64) {
        let governor = Governor(ownership: .init())
        let change = CanonicalChange(ref: ref, fields: fields, version: .init(millis: millis))
        aggregate.records[ref.description] = governor.govern(change, from: "stripe", onto: aggregate.record(ref)).state
    }

    func invoiceRef(_ month: Int) -> ExternalRef { ExternalRef(system: "stripe", kind: .invoice, id: "in_\(month)") }

    func invoiceFields(_ month: Int, status: String) -> [String: JSONValue] {
        [
            "ref": CanonicalCoding.jsonValue(invoiceRef(month)), "customerRef": CanonicalCoding.jsonValue(customerRef),
            "status": .string(status), "currency": "USD", "totalMinor": 1000, "amountDueMinor": 1000,
            "amountRemainingMinor": status == "paid" ? 0 : 1000, "amountPaidMinor": status == "paid" ? 1000 : 0,
            "chargeID": .string("ch_\(month)"),
            "lines": [["description": "Pro", "quantity": 1, "unitAmountMinor": 1000, "amountMinor": 1000]],
        ]
    }

    /// A record's fields as the current Stripe shape reports them before `invoice_payment.paid` links the charge.
    func withoutCharge(_ fields: [String: JSONValue]) -> [String: JSONValue] {
        var fields = fields
        fields["chargeID"] = nil
        return fields
    }

    func payment(_ month: Int, _ status: PaymentStatus, attempt: Int = 0) -> (ExternalRef, [String: JSONValue]) {
        let ref = ExternalRef(system: "stripe", kind: .payment, id: "in_\(month)-\(attempt)")
        let payment = Payment(
            ref: ref, customerRef: customerRef, invoiceRef: invoiceRef(month), amount: Money(amountMinor: 1000, currency: .usd),
            status: status, occurredAt: Date(timeIntervalSince1970: TimeInterval(1_000 + month * 10 + attempt)),
            chargeID: "ch_\(month)")
        return (ref, CanonicalCoding.jsonValue(payment).objectValue ?? [:])
    }

    /// A customer with `months` paid invoices and their payments, every command already emitted.
    func customerWithHistory(months: Int, router: CommandRouter) -> Aggregate {
        var aggregate = Aggregate()
        apply(
            &aggregate, customerRef,
            ["ref": CanonicalCoding.jsonValue(customerRef), "name": "Acme", "email": "a@acme.test"], at: 1)
        for month in 0..<months {
            apply(&aggregate, invoiceRef(month), invoiceFields(month, status: "paid"), at: Int64(10 + month))
            let (ref, fields) = payment(month, .succeeded)
            apply(&aggregate, ref, fields, at: Int64(10 + month))
        }
        _ = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        return aggregate
    }

    @Test func aRenamedCustomerIsOnePartnerUpdateNotOneInvoicePerInvoiceItEverHad() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = customerWithHistory(months: 24, router: router)
        apply(&aggregate, customerRef, ["name": "Acme Ltd"], at: 100)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").map(\.payload.kind) == ["upsert_customer"])
        // An invoice that changes afterwards is sent with the customer as it is now.
        apply(&aggregate, invoiceRef(3), ["status": "void"], at: 101)
        let commands = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        #expect(commands.map(\.payload.kind) == ["upsert_invoice"])
        guard case .upsertInvoice(let upsert) = commands.first?.payload else {
            Issue.record("expected the voided invoice: \(commands)")
            return
        }
        #expect(upsert.invoice.ref == invoiceRef(3) && upsert.invoice.status == .void && upsert.customer.name == "Acme Ltd")
    }

    /// A new month among two years of history: its invoice and payment, nothing re-sent.
    @Test func aNewInvoiceEmitsItselfAndItsPaymentOnly() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = customerWithHistory(months: 24, router: router)
        apply(&aggregate, invoiceRef(24), invoiceFields(24, status: "open"), at: 200)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").map(\.payload.kind) == ["upsert_invoice"])
        apply(&aggregate, invoiceRef(24), invoiceFields(24, status: "paid"), at: 201)
        let (ref, fields) = payment(24, .succeeded)
        apply(&aggregate, ref, fields, at: 201)
        // Paying the invoice books its payment; the invoice itself was booked when it was issued.
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").map(\.payload.kind) == ["register_payment"])
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").isEmpty)
    }

    /// The current Stripe shape reports a paid invoice three times: `invoice.finalized` (open), `invoice.paid` (paid,
    /// with its payment) and `invoice_payment.paid` (the payment intent and charge linked to both). The ledger is sent
    /// the invoice once and its payment once; a later change to what was booked sends the invoice as it is now.
    @Test func aPaidInvoiceIsSentOnceAndItsPaymentOnceWhateverLinksThemLater() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = customerWithHistory(months: 3, router: router)
        apply(&aggregate, invoiceRef(3), withoutCharge(invoiceFields(3, status: "open")), at: 600)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").map(\.payload.kind) == ["upsert_invoice"])

        var paid = withoutCharge(invoiceFields(3, status: "paid"))
        paid["paidAt"] = .int(601_000)
        apply(&aggregate, invoiceRef(3), paid, at: 601)
        let (paymentRef, payment) = payment(3, .succeeded)
        apply(&aggregate, paymentRef, withoutCharge(payment), at: 601)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").map(\.payload.kind) == ["register_payment"])

        let intent = ExternalRef(system: "stripe", kind: .payment, id: "pi_3")
        apply(&aggregate, invoiceRef(3), ["paymentRef": CanonicalCoding.jsonValue(intent), "chargeID": "ch_3"], at: 602)
        apply(&aggregate, paymentRef, ["chargeID": "ch_3"], at: 602)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").isEmpty)

        apply(&aggregate, invoiceRef(3), ["dueAt": .int(700_000)], at: 603)
        let changed = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        #expect(changed.map(\.payload.kind) == ["upsert_invoice"])
        guard case .upsertInvoice(let upsert) = changed.first?.payload else { return }
        #expect(upsert.invoice.status == .paid && upsert.invoice.paymentRef == intent && upsert.invoice.chargeID == "ch_3")
    }

    /// The standing follows every invoice and payment however old: a failed attempt on a new invoice makes the
    /// customer past due, an unrelated change leaves the standing alone, and paying clears it.
    @Test func theStandingFollowsTheWholeLedger() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = customerWithHistory(months: 12, router: router)
        apply(&aggregate, invoiceRef(12), invoiceFields(12, status: "open"), at: 300)
        let (failedRef, failed) = payment(12, .failed, attempt: 1)
        apply(&aggregate, failedRef, failed, at: 301)
        let pastDue = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        #expect(pastDue.map(\.payload.kind) == ["upsert_invoice", "set_standing"])
        if case .setStanding(let standing) = pastDue.last?.payload {
            #expect(standing.state == .pastDue && standing.overdue == Money(amountMinor: 1000, currency: .usd))
        }
        apply(&aggregate, customerRef, ["email": "billing@acme.test"], at: 302)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").map(\.payload.kind) == ["upsert_customer"])
        apply(&aggregate, invoiceRef(12), invoiceFields(12, status: "paid"), at: 303)
        let (paidRef, paid) = payment(12, .succeeded, attempt: 2)
        apply(&aggregate, paidRef, paid, at: 303)
        let cleared = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        #expect(cleared.map(\.payload.kind) == ["register_payment", "set_standing"])
        if case .setStanding(let standing) = cleared.last?.payload { #expect(standing.state == .good) }
    }

    /// An aggregate stored by a version that recorded no inputs: its next routing derives every command again, finds
    /// each one unchanged and records its input, and sends nothing that did not change.
    @Test func emissionsRecordedWithoutInputsAreNotSentAgain() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = customerWithHistory(months: 6, router: router)
        #expect(aggregate.emitted.values.contains { $0.input != nil })
        for key in aggregate.emitted.keys { aggregate.emitted[key]?.input = nil }
        apply(&aggregate, invoiceRef(2), ["number": "INV-2"], at: 400)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").map(\.payload.kind) == ["upsert_invoice"])
        #expect(aggregate.emitted["odoo|invoice|\(invoiceRef(4))"]?.input != nil)
        #expect(aggregate.emitted["odoo|payment|stripe/payment/in_4-0"]?.input != nil)
        #expect(aggregate.emitted["odoo|customer|\(customerRef)"]?.input != nil)
    }

    /// A derivation bump (every recorded input changes) derives every command again: a paid invoice emitted while it
    /// was open, and its payment emitted before the charge was linked, are not sent again for that.
    @Test func commandsDerivedAgainAreNotSentForTheirSettlementAlone() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = customerWithHistory(months: 2, router: router)
        apply(&aggregate, invoiceRef(2), withoutCharge(invoiceFields(2, status: "open")), at: 700)
        let (paymentRef, payment) = payment(2, .succeeded)
        apply(&aggregate, paymentRef, withoutCharge(payment), at: 700)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").count == 2)
        apply(&aggregate, invoiceRef(2), invoiceFields(2, status: "paid"), at: 701)
        apply(&aggregate, paymentRef, ["chargeID": "ch_2"], at: 701)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").isEmpty)
        let derived = aggregate.emitted.filter { $0.value.input != nil }.map(\.key)
        #expect(derived.count == 1 + 3 + 3)  // the customer, three invoices, three payments (never past due: no standing)
        for key in derived { aggregate.emitted[key]?.input = 42 }
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").isEmpty)
        #expect(derived.allSatisfy { aggregate.emitted[$0]?.input != 42 })
    }

    /// An emission recorded by a version that fingerprinted whole payloads matches its unchanged command, and is
    /// fingerprinted anew: an upgrade sends nothing again.
    @Test func anEmissionFingerprintedWholeByAnEarlierVersionIsNotSentAgain() throws {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = customerWithHistory(months: 3, router: router)
        var fresh = aggregate
        fresh.emitted = [:]
        let routed = router.route(entityKey: key, aggregate: &fresh, source: "stripe")
        let invoice = try #require(routed.first { $0.payload.subject == invoiceRef(1) && $0.payload.kind == "upsert_invoice" })
        let whole = CanonicalCoding.fingerprint(try CanonicalCoding.encode(invoice.payload))
        let emissionKey = "odoo|invoice|\(invoiceRef(1))"
        #expect(aggregate.emitted[emissionKey]?.fingerprint != whole)
        aggregate.emitted[emissionKey] = Aggregate.Emission(count: 1, fingerprint: whole, input: nil)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").isEmpty)
        #expect(aggregate.emitted[emissionKey]?.fingerprint == fresh.emitted[emissionKey]?.fingerprint)
        #expect(aggregate.emitted[emissionKey]?.input != nil && aggregate.emitted[emissionKey]?.count == 1)
    }

    /// A refund is routed once its invoice is paid, however many other invoices the customer has, and not again.
    @Test func aLateRefundFindsItsInvoiceAmongTheHistory() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = customerWithHistory(months: 12, router: router)
        let refundRef = ExternalRef(system: "stripe", kind: .refund, id: "re_1")
        let refund = Refund(
            ref: refundRef, customerRef: customerRef, invoiceRef: nil, chargeID: "ch_7",
            amount: Money(amountMinor: 400, currency: .usd), reason: nil, createdAt: Date(timeIntervalSince1970: 9),
            status: "succeeded")
        apply(&aggregate, refundRef, CanonicalCoding.jsonValue(refund).objectValue ?? [:], at: 500)
        let commands = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        #expect(commands.map(\.payload.kind) == ["create_refund"])
        if case .createRefund(let routed) = commands.first?.payload { #expect(routed.invoiceRef == invoiceRef(7)) }
        apply(&aggregate, invoiceRef(12), invoiceFields(12, status: "open"), at: 501)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").map(\.payload.kind) == ["upsert_invoice"])
    }

    /// What routing signs of an invoice's and a payment's fields (`bookedFields`, without decoding) and what it
    /// fingerprints of their commands (`booked`, typed) are one projection: equal for a record with every field set,
    /// and the typed one holds none of the fields the other leaves out.
    @Test func theFieldAndTypedProjectionsOfWhatIsBookedAgree() throws {
        var invoice = Invoice(ref: invoiceRef(1), customerRef: customerRef)
        invoice.subscriptionRef = ExternalRef(system: "stripe", kind: .subscription, id: "sub_1")
        (invoice.number, invoice.currency, invoice.status) = ("INV-1", .eur, .paid)
        invoice.lines = [InvoiceLine(description: "Pro", quantity: 2, unitAmountMinor: 500, amountMinor: 1000)]
        (invoice.subtotalMinor, invoice.taxMinor, invoice.totalMinor) = (1000, 200, 1200)
        (invoice.amountDueMinor, invoice.amountPaidMinor, invoice.amountRemainingMinor) = (1200, 1200, 0)
        (invoice.issuedAt, invoice.dueAt, invoice.paidAt) = (
            Date(timeIntervalSince1970: 1), Date(timeIntervalSince1970: 2), Date(timeIntervalSince1970: 3)
        )
        invoice.paymentRef = ExternalRef(system: "stripe", kind: .payment, id: "pi_1")
        (invoice.chargeID, invoice.customerName, invoice.customerEmail) = ("ch_1", "Acme", "a@acme.test")
        invoice.creditAppliedMinor = 100
        invoice.appliedCreditRefs = [ExternalRef(system: "stripe", kind: .refund, id: "cn_1")]
        let fields = try #require(CanonicalCoding.jsonValue(invoice).objectValue)
        #expect(Set(fields.keys).isSuperset(of: Invoice.settlementFields))
        let typed = try #require(CanonicalCoding.jsonValue(invoice.booked).objectValue)
        #expect(Invoice.bookedFields(fields) == Invoice.bookedFields(typed))
        #expect(Set(typed.keys).isDisjoint(with: Invoice.settlementFields))
        #expect(invoice.booked.status == .open && Invoice.bookedFields(fields)["status"] == "issued")
        for status in [InvoiceStatus.draft, .void] {
            invoice.status = status
            #expect(invoice.booked.status == status)
        }

        let (_, paymentFields) = payment(1, .failed)
        var full = paymentFields
        full["failureCode"] = "card_declined"
        let decoded = try JSONValue.object(full).decode(Payment.self)
        let bookedPayment = try #require(CanonicalCoding.jsonValue(decoded.booked).objectValue)
        #expect(Payment.bookedFields(full) == bookedPayment)
        #expect(full["chargeID"] != nil && bookedPayment["chargeID"] == nil && bookedPayment["failureCode"] == nil)
    }
}
