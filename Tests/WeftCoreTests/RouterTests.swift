import Foundation
import Testing
import WeftCore

@Suite("Router: level-triggered commands")
struct RouterTests {
    let flows = [Flow(name: "billing_to_erp", source: "stripe", target: "odoo")]
    let key = EntityKey("stripe/customer/cus_1")
    let customerRef = ExternalRef(system: "stripe", kind: .customer, id: "cus_1")
    let invoiceRef = ExternalRef(system: "stripe", kind: .invoice, id: "in_1")

    func apply(_ aggregate: inout Aggregate, _ ref: ExternalRef, _ fields: [String: JSONValue], at millis: Int64) {
        let governor = Governor(ownership: .init())
        let change = CanonicalChange(ref: ref, fields: fields, version: .init(millis: millis))
        aggregate.records[ref.description] = governor.govern(change, from: "stripe", onto: aggregate.record(ref)).state
    }

    func customerFields() -> [String: JSONValue] {
        ["ref": CanonicalCoding.jsonValue(customerRef), "name": "Acme", "email": "a@acme.test"]
    }

    func invoiceFields(status: String, paid: Int64) -> [String: JSONValue] {
        [
            "ref": CanonicalCoding.jsonValue(invoiceRef), "customerRef": CanonicalCoding.jsonValue(customerRef),
            "status": .string(status), "currency": "USD", "totalMinor": 1000, "amountPaidMinor": .int(paid),
            "chargeID": "ch_1",
        ]
    }

    @Test func emitsEachCommandOnceUntilTheStateChanges() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = Aggregate()
        apply(&aggregate, customerRef, customerFields(), at: 1)
        let first = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        #expect(first.map(\.payload.kind) == ["upsert_customer"])
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").isEmpty)
        apply(&aggregate, customerRef, ["name": "Acme Ltd"], at: 2)
        let second = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        #expect(second.map(\.payload.kind) == ["upsert_customer"])
        #expect(second[0].idempotencyKey != first[0].idempotencyKey)
    }

    @Test func draftInvoicesAreNotMirroredAndPaymentsWaitForTheirInvoice() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = Aggregate()
        apply(&aggregate, customerRef, customerFields(), at: 1)
        let paymentRef = ExternalRef(system: "stripe", kind: .payment, id: "in_1")
        let payment = Payment(
            ref: paymentRef, customerRef: customerRef, invoiceRef: invoiceRef, amount: Money(amountMinor: 1000, currency: .usd),
            status: .succeeded, occurredAt: Date(timeIntervalSince1970: 5), chargeID: "ch_1")
        apply(&aggregate, paymentRef, (CanonicalCoding.jsonValue(payment).objectValue ?? [:]), at: 5)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").map(\.payload.kind) == ["upsert_customer"])
        apply(&aggregate, invoiceRef, invoiceFields(status: "draft", paid: 0), at: 2)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").isEmpty)
        apply(&aggregate, invoiceRef, invoiceFields(status: "paid", paid: 1000), at: 6)
        let kinds = router.route(entityKey: key, aggregate: &aggregate, source: "stripe").map(\.payload.kind)
        #expect(kinds == ["upsert_invoice", "register_payment"])
    }

    /// A paid invoice part-paid by the customer's credit gets an `applyCredit` after its payments and the credit notes
    /// it names, and not before: the target must never wait on a command queued behind it.
    @Test func creditAppliedWaitsForThePaymentsAndTheNamedCreditNotes() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = Aggregate()
        apply(&aggregate, customerRef, customerFields(), at: 1)
        let noteRef = ExternalRef(system: "stripe", kind: .refund, id: "CN-1")
        let oldInvoice = ExternalRef(system: "stripe", kind: .invoice, id: "in_0")
        var fields = invoiceFields(status: "paid", paid: 600)
        fields["creditAppliedMinor"] = 400
        fields["appliedCreditRefs"] = [CanonicalCoding.jsonValue(noteRef)]
        apply(&aggregate, invoiceRef, fields, at: 2)
        #expect(
            router.route(entityKey: key, aggregate: &aggregate, source: "stripe").map(\.payload.kind) == [
                "upsert_customer", "upsert_invoice",
            ])

        let paymentRef = ExternalRef(system: "stripe", kind: .payment, id: "pi_1")
        let payment = Payment(
            ref: paymentRef, customerRef: customerRef, invoiceRef: invoiceRef, amount: Money(amountMinor: 600, currency: .usd),
            status: .succeeded, occurredAt: Date(timeIntervalSince1970: 3))
        apply(&aggregate, paymentRef, CanonicalCoding.jsonValue(payment).objectValue ?? [:], at: 3)
        // The credit note it names is not here yet.
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").map(\.payload.kind) == ["register_payment"])

        var old = invoiceFields(status: "paid", paid: 1000)
        old["ref"] = CanonicalCoding.jsonValue(oldInvoice)
        old["chargeID"] = "ch_0"
        apply(&aggregate, oldInvoice, old, at: 0)
        let note = Refund(
            ref: noteRef, customerRef: customerRef, invoiceRef: oldInvoice, chargeID: nil,
            amount: Money(amountMinor: 400, currency: .usd), reason: "subscription_change", createdAt: Date(timeIntervalSince1970: 2),
            status: "succeeded")
        var noteFields = CanonicalCoding.jsonValue(note).objectValue ?? [:]
        noteFields["kind"] = "credit"
        apply(&aggregate, noteRef, noteFields, at: 4)
        let commands = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        #expect(commands.map(\.payload.kind) == ["upsert_invoice", "create_refund", "apply_credit"])
        guard case .applyCredit(let credit) = commands.last?.payload else {
            Issue.record("no apply_credit")
            return
        }
        #expect(credit.invoiceRef == invoiceRef)
        #expect(credit.amount == Money(amountMinor: 400, currency: .usd))
        #expect(credit.creditRefs == [noteRef])
        guard case .createRefund(let refund) = commands[1].payload else { return }
        #expect(refund.kind == .credit)
    }

    @Test func refundsResolveTheirInvoiceThroughTheCharge() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = Aggregate()
        apply(&aggregate, customerRef, customerFields(), at: 1)
        let refundRef = ExternalRef(system: "stripe", kind: .refund, id: "re_1")
        let refund = Refund(
            ref: refundRef, customerRef: customerRef, invoiceRef: nil, chargeID: "ch_1",
            amount: Money(amountMinor: 400, currency: .usd), reason: nil, createdAt: Date(timeIntervalSince1970: 9),
            status: "succeeded")
        apply(&aggregate, refundRef, CanonicalCoding.jsonValue(refund).objectValue ?? [:], at: 9)
        _ = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        apply(&aggregate, invoiceRef, invoiceFields(status: "paid", paid: 1000), at: 3)
        let commands = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        #expect(commands.map(\.payload.kind) == ["upsert_invoice", "create_refund"])
        if case .createRefund(let routed) = commands.last?.payload {
            #expect(routed.invoiceRef == invoiceRef)
        } else {
            Issue.record("expected a refund command")
        }
    }

    /// A credit note taken off an open invoice goes to the target with the invoice, before any payment; a refund that
    /// stops standing takes back what was sent for it, and one never sent has nothing to take back.
    @Test func adjustmentsGoWithTheOpenInvoiceAndWithdrawnRefundsTakeBackWhatWasSent() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = Aggregate()
        apply(&aggregate, customerRef, customerFields(), at: 1)
        apply(&aggregate, invoiceRef, invoiceFields(status: "open", paid: 0), at: 2)
        _ = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        func refund(_ id: String, kind: RefundKind?, status: String) -> (ExternalRef, [String: JSONValue]) {
            let ref = ExternalRef(system: "stripe", kind: .refund, id: id)
            var refund = Refund(
                ref: ref, customerRef: customerRef, invoiceRef: invoiceRef, chargeID: nil,
                amount: Money(amountMinor: 300, currency: .usd), reason: nil, createdAt: Date(timeIntervalSince1970: 3),
                status: status)
            refund.kind = kind
            return (ref, CanonicalCoding.jsonValue(refund).objectValue ?? [:])
        }
        let (adjustment, adjustmentFields) = refund("cn_1", kind: .adjustment, status: "succeeded")
        let (credit, creditFields) = refund("cn_1-balance", kind: .credit, status: "succeeded")
        apply(&aggregate, adjustment, adjustmentFields, at: 3)
        apply(&aggregate, credit, creditFields, at: 3)
        // The invoice is open: the adjustment goes now; a credit after payment waits for the invoice to be paid.
        let first = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        #expect(first.map(\.payload.kind) == ["create_refund"])
        guard case .createRefund(let sent) = first.first?.payload else { return }
        #expect(sent.ref == adjustment)
        // Both voided: the adjustment is taken back; the credit, never sent, has nothing to take back.
        apply(&aggregate, adjustment, ["status": "canceled"], at: 4)
        apply(&aggregate, credit, ["status": "canceled"], at: 4)
        let second = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        #expect(second.map(\.payload.kind) == ["create_refund"])
        guard case .createRefund(let withdrawn) = second.first?.payload else { return }
        #expect(withdrawn.ref == adjustment)
        #expect(withdrawn.status == "canceled")
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").isEmpty)
        // A void invoice takes no adjustment.
        let (late, lateFields) = refund("cn_2", kind: .adjustment, status: "succeeded")
        apply(&aggregate, invoiceRef, ["status": "void"], at: 5)
        apply(&aggregate, late, lateFields, at: 5)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").map(\.payload.kind) == ["upsert_invoice"])
    }

    /// An adjustment lowered an invoice that is then voided: the credit note it made no longer lowers anything, so it
    /// is taken back with the invoice; an adjustment of the invoice never sent has nothing to take back.
    @Test func anAdjustmentOfAVoidedInvoiceIsTakenBack() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = Aggregate()
        apply(&aggregate, customerRef, customerFields(), at: 1)
        apply(&aggregate, invoiceRef, invoiceFields(status: "open", paid: 0), at: 2)
        let ref = ExternalRef(system: "stripe", kind: .refund, id: "cn_1")
        var adjustment = Refund(
            ref: ref, customerRef: customerRef, invoiceRef: invoiceRef, chargeID: nil,
            amount: Money(amountMinor: 300, currency: .usd), reason: nil, createdAt: Date(timeIntervalSince1970: 3),
            status: "succeeded")
        adjustment.kind = .adjustment
        apply(&aggregate, ref, CanonicalCoding.jsonValue(adjustment).objectValue ?? [:], at: 3)
        #expect(
            router.route(entityKey: key, aggregate: &aggregate, source: "stripe").map(\.payload.kind).sorted() == [
                "create_refund", "upsert_customer", "upsert_invoice",
            ])
        apply(&aggregate, invoiceRef, ["status": "void"], at: 4)
        let voided = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        #expect(voided.map(\.payload.kind) == ["upsert_invoice", "create_refund"])
        guard case .createRefund(let withdrawn) = voided.last?.payload else { return }
        #expect(withdrawn.ref == ref)
        #expect(Refund.withdrawnStatuses.contains(withdrawn.status))
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").isEmpty)

        // Voided before anything was sent: no invoice and no adjustment to take back.
        var unsent = Aggregate()
        apply(&unsent, customerRef, customerFields(), at: 1)
        apply(&unsent, invoiceRef, invoiceFields(status: "void", paid: 0), at: 2)
        apply(&unsent, ref, CanonicalCoding.jsonValue(adjustment).objectValue ?? [:], at: 3)
        #expect(router.route(entityKey: key, aggregate: &unsent, source: "stripe").map(\.payload.kind) == ["upsert_customer"])
    }

    @Test func targetOwnedFieldsAreOnlyWrittenOnCreate() {
        let rules = OwnershipRules(owners: ["customer.address": "odoo"])
        let router = CommandRouter(flows: flows, ownership: rules)
        var aggregate = Aggregate()
        var fields = customerFields()
        fields["address"] = ["city": "Porto"]
        apply(&aggregate, customerRef, fields, at: 1)
        let create = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        guard case .upsertCustomer(let created) = create.first?.payload else {
            Issue.record("no customer command")
            return
        }
        #expect(created.address?.city == "Porto")
        apply(&aggregate, customerRef, ["name": "Acme Ltd", "address": ["city": "Braga"]], at: 2)
        let update = router.route(entityKey: key, aggregate: &aggregate, source: "stripe")
        guard case .upsertCustomer(let updated) = update.first?.payload else {
            Issue.record("no customer command")
            return
        }
        #expect(updated.address == nil)
        #expect(updated.name == "Acme Ltd")
    }

    @Test func noFlowNoCommands() {
        let router = CommandRouter(flows: [], ownership: .init())
        var aggregate = Aggregate()
        apply(&aggregate, customerRef, customerFields(), at: 1)
        #expect(router.route(entityKey: key, aggregate: &aggregate, source: "stripe").isEmpty)
    }
}

@Suite("Standing is derived from invoices and payments")
struct StandingRuleTests {
    let customerRef = ExternalRef(system: "stripe", kind: .customer, id: "cus_1")
    let invoiceRef = ExternalRef(system: "stripe", kind: .invoice, id: "in_1")

    func aggregate(invoiceStatus: InvoiceStatus, failedPayment: Bool) -> Aggregate {
        var aggregate = Aggregate()
        var invoice = Invoice(ref: invoiceRef, customerRef: customerRef)
        invoice.status = invoiceStatus
        invoice.currency = .usd
        invoice.amountRemainingMinor = invoiceStatus == .paid ? 0 : 2500
        invoice.paidAt = invoiceStatus == .paid ? Date(timeIntervalSince1970: 50) : nil
        aggregate.records[invoiceRef.description] = RecordState(fields: CanonicalCoding.jsonValue(invoice).objectValue ?? [:])
        if failedPayment {
            let paymentRef = ExternalRef(system: "stripe", kind: .payment, id: "in_1-attempt-1")
            let payment = Payment(
                ref: paymentRef, customerRef: customerRef, invoiceRef: invoiceRef, amount: Money(amountMinor: 2500, currency: .usd),
                status: .failed, occurredAt: Date(timeIntervalSince1970: 40))
            aggregate.records[paymentRef.description] = RecordState(fields: CanonicalCoding.jsonValue(payment).objectValue ?? [:])
        }
        return aggregate
    }

    @Test func failedPaymentOnOpenInvoiceIsPastDue() {
        let standing = StandingRule.standing(of: customerRef, in: aggregate(invoiceStatus: .open, failedPayment: true))
        #expect(standing.state == .pastDue)
        #expect(standing.overdue == Money(amountMinor: 2500, currency: .usd))
        #expect(standing.since == Date(timeIntervalSince1970: 40))
    }

    @Test func payingTheInvoiceClearsIt() {
        let standing = StandingRule.standing(of: customerRef, in: aggregate(invoiceStatus: .paid, failedPayment: true))
        #expect(standing.state == .good)
    }

    @Test func openInvoiceWithoutFailureIsGood() {
        #expect(StandingRule.standing(of: customerRef, in: aggregate(invoiceStatus: .open, failedPayment: false)).state == .good)
    }
}

@Suite("Aggregate: adopted aliases")
struct AggregateAliasTests {
    let router = RouterTests()

    @Test func adoptsTheKeysOfItsInvoicesAndChargesOnce() throws {
        var aggregate = Aggregate()
        router.apply(&aggregate, router.customerRef, router.customerFields(), at: 1)
        #expect(aggregate.adoptAliases(excluding: router.key).isEmpty)
        router.apply(&aggregate, router.invoiceRef, router.invoiceFields(status: "open", paid: 0), at: 2)
        let paymentRef = ExternalRef(system: "stripe", kind: .payment, id: "pi_1")
        router.apply(&aggregate, paymentRef, ["ref": CanonicalCoding.jsonValue(paymentRef), "chargeID": "ch_2"], at: 3)
        let first = aggregate.adoptAliases(excluding: router.key)
        #expect(first.map(\.rawValue) == ["stripe/charge/ch_1", "stripe/charge/ch_2", "stripe/invoice/in_1"])
        #expect(aggregate.aliases == first)
        // Already adopted: nothing new.
        #expect(aggregate.adoptAliases(excluding: router.key).isEmpty)

        // The aliases survive a round trip; an aggregate stored before aliases existed decodes with none.
        let bytes = try CanonicalCoding.encoder.encode(aggregate)
        #expect(try CanonicalCoding.decoder.decode(Aggregate.self, from: bytes) == aggregate)
        let old = try CanonicalCoding.decoder.decode(Aggregate.self, from: Data(#"{"records":{},"emitted":{}}"#.utf8))
        #expect(old.aliases.isEmpty)
        #expect(EntityKey("stripe/customer/cus_1").isCustomer && !EntityKey("stripe/invoice/in_1").isCustomer)
    }

    /// A customer's key is never provisional, even where a record names one where a payment belongs: adopting it
    /// would take another customer's events, and the stores move only events under provisional keys.
    @Test func neverAdoptsACustomersKey() {
        var aggregate = Aggregate()
        router.apply(&aggregate, router.customerRef, router.customerFields(), at: 1)
        let other = ExternalRef(system: "stripe", kind: .customer, id: "cus_2")
        var invoice = router.invoiceFields(status: "open", paid: 0)
        invoice["paymentRef"] = CanonicalCoding.jsonValue(other)
        router.apply(&aggregate, router.invoiceRef, invoice, at: 2)
        #expect(aggregate.aliasKeys.contains(EntityKey.of(other)))
        #expect(aggregate.adoptAliases(excluding: router.key).map(\.rawValue) == ["stripe/charge/ch_1", "stripe/invoice/in_1"])
    }

    /// The pipeline passes the records an event changed: only theirs are looked at, once the aggregate has adopted
    /// any; one that never did (stored before aliases existed) looks at all of its records.
    @Test func adoptingForChangedRecordsLooksOnlyAtThemOnceAnyWereAdopted() {
        var aggregate = Aggregate()
        router.apply(&aggregate, router.customerRef, router.customerFields(), at: 1)
        router.apply(&aggregate, router.invoiceRef, router.invoiceFields(status: "open", paid: 0), at: 2)
        // None adopted yet: the invoice is found although this event changed only the customer.
        let first = aggregate.adoptAliases(excluding: router.key, changed: [router.customerRef])
        #expect(first.map(\.rawValue) == ["stripe/charge/ch_1", "stripe/invoice/in_1"])

        let paymentRef = ExternalRef(system: "stripe", kind: .payment, id: "pi_1")
        router.apply(&aggregate, paymentRef, ["ref": CanonicalCoding.jsonValue(paymentRef), "chargeID": "ch_2"], at: 3)
        #expect(aggregate.adoptAliases(excluding: router.key, changed: [router.customerRef]).isEmpty)
        #expect(aggregate.adoptAliases(excluding: router.key, changed: [paymentRef]).map(\.rawValue) == ["stripe/charge/ch_2"])
        #expect(aggregate.aliases.map(\.rawValue) == ["stripe/charge/ch_1", "stripe/charge/ch_2", "stripe/invoice/in_1"])
        #expect(aggregate.adoptAliases(excluding: router.key).isEmpty)
    }
}
