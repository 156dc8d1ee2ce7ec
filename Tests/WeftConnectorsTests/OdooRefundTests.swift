import Foundation
import Logging
import Testing
import WeftCore
import WeftSimKit
import WeftSimOdoo

@testable import WeftConnectors

/// Refunds reach Odoo as credit notes reversing their invoices, each settled as an accountant would; the refunds of a
/// batch share their lookups, wizard creation, posting and bookkeeping, and none is ever credited twice.
@Suite("Odoo refunds: credit notes, a batch at a time")
struct OdooRefundTests {
    typealias Support = OdooPartnerTestSupport
    typealias Payments = OdooPaymentTests

    static func command(
        _ refund: String, invoice: String, cents: Int64, kind: RefundKind? = nil, number: Int64
    ) -> OutboxCommand {
        let customer = ExternalRef(system: "stripe", kind: .customer, id: "cus_\(invoice)")
        var value = Refund(
            ref: ExternalRef(system: "stripe", kind: .refund, id: refund), customerRef: customer,
            invoiceRef: Payments.invoiceRef(invoice), chargeID: nil, amount: Money(amountMinor: cents, currency: .usd),
            reason: "requested_by_customer", createdAt: Payments.day, status: "succeeded")
        value.kind = kind
        return OutboxCommand(
            id: CommandID(number), target: "odoo", entityKey: EntityKey.of(customer), idempotencyKey: IdempotencyKey("re-\(number)"),
            payload: .createRefund(value), traceID: TraceID("trace"), attempts: 0, createdAt: Payments.day)
    }

    /// A note of `total` cents of which `cents` were paid back when Weft first sees it (Chargebee).
    static func refundedInPart(_ refund: String, invoice: String, cents: Int64, of total: Int64, number: Int64) -> OutboxCommand {
        var command = Self.command(refund, invoice: invoice, cents: cents, kind: .refund, number: number)
        if case .createRefund(var value) = command.payload {
            value.creditedMinor = total
            command.payload = .createRefund(value)
        }
        return command
    }

    static func creditNotes(_ simulator: OdooSimulator) -> [[String: JSONValue]] {
        simulator.records(model: "account.move").filter { $0["move_type"] == "out_refund" }
    }

    /// The invoice a credit note (as `read` returns it) reverses.
    static func reversedInvoice(_ note: [String: JSONValue]) -> Int64? {
        note["reversed_entry_id"]?[0]?.intValue ?? note["reversed_entry_id"]?.intValue
    }

    static func creditNoteIDs(_ outcomes: [DeliveryOutcome]) -> [Int64?] {
        outcomes.map { outcome in
            guard case .delivered(let record?, _) = outcome, record.model == "account.move" else { return nil }
            return Int64(record.id)
        }
    }

    /// Posted invoices `ids` of `partner`, each paid in full through the target.
    static func paidInvoices(
        _ ids: [String], partner: Int64, target: OdooTarget
    ) async throws -> [(id: Int64, residual: Int64)] {
        var invoices: [(id: Int64, residual: Int64)] = []
        for id in ids { invoices.append(try await Payments.invoice(target.client, id, partner: partner)) }
        let outcomes = await target.deliver(
            zip(ids, invoices).enumerated().map { number, pair in
                Payments.command("py_\(pair.0)", invoice: pair.0, cents: pair.1.residual, number: Int64(100 + number))
            }, logger: Support.logger)
        #expect(Payments.paymentIDs(outcomes).allSatisfy { $0 != nil }, "\(outcomes)")
        return invoices
    }

    /// The wizard that pays back two whole credit notes ran, then the next request was cancelled (a graceful shutdown):
    /// the refunds are retried later and find their notes paid back, not paid out again one at a time in the same
    /// attempt (which found nothing left to pay and dead-lettered them).
    @Test func aCancellationAfterTheSharedPayoutIsRetriedNotRefused() async throws {
        let gate = Support.CancelOnceGate()
        try await Support.withOdoo(gate: gate) { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            let invoices = try await Self.paidInvoices(["in_1", "in_2"], partner: a, target: target)
            let commands = [
                Self.command("re_1", invoice: "in_1", cents: invoices[0].residual, number: 3),
                Self.command("re_2", invoice: "in_2", cents: invoices[1].residual, number: 4),
            ]
            let outbound: @Sendable () -> [[String: JSONValue]] = {
                simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }
            }
            gate.arm { outbound().count == 2 }
            let outcomes = await target.deliver(commands, logger: Support.logger)
            #expect(gate.refused == 1)
            #expect(outcomes.allSatisfy { if case .retry = $0 { true } else { false } }, "\(outcomes)")

            let again = await target.deliver(commands, logger: Support.logger)
            #expect(Self.creditNoteIDs(again).allSatisfy { $0 != nil }, "\(again)")
            #expect(Self.creditNotes(simulator).map { $0["payment_state"] } == ["paid", "paid"])
            #expect(outbound().count == 2)
        }
    }

    @Test func aBatchCreditsPaidAndOpenInvoicesEachAsAnAccountantWould() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            let open = try await Payments.invoice(client, "in_2", partner: a)
            let invoices = try await Self.paidInvoices(["in_1", "in_3"], partner: a, target: target)
            let (paid, credited) = (invoices[0], invoices[1])
            simulator.requestLog.reset()

            let commands = [
                // Part of a paid invoice paid back; all of one whose payment Odoo misses (open there); a credit kept.
                Self.command("re_1", invoice: "in_1", cents: 1000, number: 3),
                Self.command("re_2", invoice: "in_2", cents: open.residual, number: 4),
                Self.command("re_3", invoice: "in_3", cents: 500, kind: .credit, number: 5),
            ]
            let outcomes = await target.deliver(commands, logger: Support.logger)
            let ids = Self.creditNoteIDs(outcomes)
            #expect(ids.allSatisfy { $0 != nil }, "\(outcomes)")
            let notes = try ids.map { try Support.record(simulator, "account.move", #require($0)) }
            #expect(notes.map { $0["state"] } == ["posted", "posted", "posted"])
            #expect(notes.map { $0["amount_total"]?.doubleValue } == [10, Money(amountMinor: open.residual, currency: .usd).majorUnits, 5])
            #expect(notes.map(Self.reversedInvoice) == [paid.id, open.id, credited.id])
            for (note, refund) in zip(notes, ["re_1", "re_2", "re_3"]) {
                let key = ExternalRef(system: "stripe", kind: .refund, id: refund).xmlidName
                #expect(note["ref"]?.stringValue?.contains("[\(key)]") == true)
            }
            // Paid back: an outbound payment settles each credit note, the open invoice's too (it stays open, missing
            // its payment, which is not the credit note's to stand in for); kept as a credit: open.
            #expect(notes[0]["payment_state"] == "paid")
            #expect(notes[1]["payment_state"] == "paid")
            let payout = simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }
            #expect(payout.count == 2)
            // Two whole credit notes on one day: one wizard, one outbound payment each.
            let reconciled: [Int64] = payout.flatMap { $0["reconciled_invoice_ids"]?.arrayValue ?? [] }.compactMap(\.intValue)
            let paidBack: [Int64] = ids[0...1].compactMap { $0 }
            #expect(Set(reconciled) == Set(paidBack))
            #expect(Support.record(simulator, "account.move", open.id)["payment_state"] == "not_paid")
            #expect(notes[2]["payment_state"] == "not_paid")
            // Each credit note is bound to its refund.
            for (index, refund) in ["re_1", "re_2", "re_3"].enumerated() {
                #expect(Support.boundID(simulator, ExternalRef(system: "stripe", kind: .refund, id: refund).xmlidName) == ids[index])
            }
            // What the refunds share is asked once: one wizard creation and one posting for the three.
            let paths = simulator.requestLog.all.map(\.path)
            #expect(paths.filter { $0.hasSuffix("account.move.reversal/create") }.count == 1)
            #expect(paths.filter { $0.hasSuffix("account.move.reversal/refund_moves") }.count == 3)
            #expect(paths.filter { $0.hasSuffix("account.move/action_post") }.count == 1)

            // Delivered again (a retry after a lost answer): the same credit notes, nothing new.
            let again = await target.deliver(commands, logger: Support.logger)
            #expect(Self.creditNoteIDs(again) == ids)
            #expect(Self.creditNotes(simulator).count == 3)
            #expect(simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }.count == 2)

            // The missing payment lands: the invoice is paid by it alone.
            let paid2 = await target.deliver(
                [Payments.command("py_in_2", invoice: "in_2", cents: open.residual, number: 6)], logger: Support.logger)
            #expect(Payments.paymentIDs(paid2).allSatisfy { $0 != nil }, "\(paid2)")
            #expect(Support.record(simulator, "account.move", open.id)["payment_state"] == "paid")
        }
    }

    /// An invoice paid in two payments in the source, one of them dead in the outbox, then part of it paid back: more
    /// than Odoo still holds due. The money went back, so the credit note is paid out in full (not applied to the open
    /// invoice for what it can take, the rest left open); a redelivery after a lost answer books nothing more; the dead
    /// payment, replayed, settles the invoice.
    @Test func moneyPaidBackIsPaidOutEvenWhileTheInvoiceMissesAPayment() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            let invoice = try await Payments.invoice(client, "in_1", partner: a)
            let first = await target.deliver([Payments.command("py_1", invoice: "in_1", cents: 6000, number: 1)], logger: Support.logger)
            #expect(Payments.paymentIDs(first).allSatisfy { $0 != nil }, "\(first)")
            let due = invoice.residual - 6000
            // 80.00 paid back, more than the 55.00 Odoo holds due (the second payment is dead).
            let refund = Self.command("re_1", invoice: "in_1", cents: 8000, number: 3)
            let outcome = await target.deliver([refund], logger: Support.logger)
            let noteID = try #require(Self.creditNoteIDs(outcome).first ?? nil, "\(outcome)")
            let note = Support.record(simulator, "account.move", noteID)
            #expect(note["payment_state"] == "paid")
            #expect(note["amount_total"]?.doubleValue == 80)
            let settled = Support.record(simulator, "account.move", invoice.id)
            #expect(settled["payment_state"] == "partial")
            #expect(settled["amount_residual"]?.doubleValue == Money(amountMinor: due, currency: .usd).majorUnits)
            func payouts() -> [[String: JSONValue]] {
                simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" && $0["state"] != "canceled" }
            }
            #expect(payouts().compactMap { $0["amount"]?.doubleValue } == [80])

            // Redelivered (the answer was lost): the same credit note, the same payout.
            let again = await target.deliver([refund], logger: Support.logger)
            #expect(Self.creditNoteIDs(again) == [noteID], "\(again)")
            #expect(payouts().compactMap { $0["amount"]?.doubleValue } == [80])

            // The dead payment, replayed: the invoice is paid by its payments, the credit note by its payout.
            let second = await target.deliver([Payments.command("py_2", invoice: "in_1", cents: due, number: 2)], logger: Support.logger)
            #expect(Payments.paymentIDs(second).allSatisfy { $0 != nil }, "\(second)")
            #expect(Support.record(simulator, "account.move", invoice.id)["payment_state"] == "paid")
            #expect(Support.record(simulator, "account.move", noteID)["payment_state"] == "paid")
            #expect(Self.creditNotes(simulator).count == 1)
        }
    }

    /// Odoo's reversal copies each line with its discount; a partial refund's credit note is trimmed to one line of the
    /// refunded amount with no discount, so a coupon on the invoice does not shrink the money paid back.
    @Test func aPartialRefundOfADiscountedInvoiceIsCreditedAndPaidOutInFull() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            let invoice = try await client.create(
                model: "account.move",
                values: [
                    [
                        "move_type": "out_invoice", "partner_id": .int(a), "ref": .string(Payments.invoiceRef("in_1").xmlidName),
                        "invoice_line_ids": [
                            [0, 0, ["name": "Seat", "quantity": 1, "price_unit": 100.0, "discount": 20.0, "tax_ids": [[6, 0, []]]]]
                        ],
                    ]
                ], logger: Support.logger)[0]
            _ = try await client.call(model: "account.move", method: "action_post", ids: [invoice], logger: Support.logger)
            #expect(Support.record(simulator, "account.move", invoice)["amount_total"] == .double(80))
            let paid = await target.deliver([Payments.command("py_1", invoice: "in_1", cents: 8000, number: 1)], logger: Support.logger)
            #expect(Payments.paymentIDs(paid).allSatisfy { $0 != nil }, "\(paid)")

            let outcome = await target.deliver([Self.command("re_1", invoice: "in_1", cents: 1000, number: 2)], logger: Support.logger)
            let note = try #require(Self.creditNoteIDs(outcome).first ?? nil, "\(outcome)")
            #expect(Support.record(simulator, "account.move", note)["amount_total"] == .double(10))
            #expect(Support.record(simulator, "account.move", note)["payment_state"] == "paid")
            let payouts = simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }
            #expect(payouts.compactMap { $0["amount"]?.doubleValue } == [10])
        }
    }

    /// Chargebee refunds one credit note in several steps (its `amount_refunded` grows): a credit kept on the account,
    /// then 40.00 of it paid back, then 70.00 in all. Odoo's credit note pays out 40.00, then the 30.00 more under a
    /// memo of its own, and keeps the rest as credit; a redelivery pays nothing more.
    @Test func aRefundThatGrowsIsPaidOutForWhatItGrewBy() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            _ = try await Self.paidInvoices(["in_1"], partner: a, target: target)
            func outbound() -> [Double] {
                simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }.compactMap {
                    $0["amount"]?.doubleValue
                }
            }
            let kept = await target.deliver(
                [Self.command("cn_1", invoice: "in_1", cents: 10000, kind: .credit, number: 1)], logger: Support.logger)
            let note = try #require(Self.creditNoteIDs(kept).first ?? nil, "\(kept)")
            #expect(outbound().isEmpty)
            let first = await target.deliver(
                [Self.command("cn_1", invoice: "in_1", cents: 4000, kind: .refund, number: 2)], logger: Support.logger)
            #expect(Self.creditNoteIDs(first) == [note], "\(first)")
            #expect(outbound() == [40])
            let grown = Self.command("cn_1", invoice: "in_1", cents: 7000, kind: .refund, number: 3)
            let second = await target.deliver([grown], logger: Support.logger)
            #expect(Self.creditNoteIDs(second) == [note], "\(second)")
            #expect(outbound() == [40, 30])
            #expect(Support.record(simulator, "account.move", note)["amount_residual"]?.doubleValue == 30)
            _ = await target.deliver([grown], logger: Support.logger)
            #expect(outbound() == [40, 30])
        }
    }

    /// A credit note refunded in part when Weft first sees it credits its whole total; the money paid back is paid out,
    /// the rest stays the customer's credit.
    @Test func aNoteRefundedInPartCreditsItsWholeTotal() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            _ = try await Self.paidInvoices(["in_1"], partner: a, target: target)
            let command = Self.refundedInPart("cn_1", invoice: "in_1", cents: 4000, of: 10000, number: 1)
            let outcome = await target.deliver([command], logger: Support.logger)
            let note = try #require(Self.creditNoteIDs(outcome).first ?? nil, "\(outcome)")
            #expect(Support.record(simulator, "account.move", note)["amount_total"]?.doubleValue == 100)
            #expect(Support.record(simulator, "account.move", note)["amount_residual"]?.doubleValue == 60)
            let payouts = simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }
            #expect(payouts.compactMap { $0["amount"]?.doubleValue } == [40])
        }
    }

    /// An invoice of 115.00 paid 60.00 by card and the rest from the customer's credit, unnamed.
    static func creditApplied(to invoice: String, residual: Int64, number: Int64) -> OutboxCommand {
        let customer = ExternalRef(system: "stripe", kind: .customer, id: "cus_\(invoice)")
        return OutboxCommand(
            id: CommandID(number), target: "odoo", entityKey: EntityKey.of(customer), idempotencyKey: IdempotencyKey("credit-\(number)"),
            payload: .applyCredit(
                InvoiceCredit(
                    invoiceRef: Payments.invoiceRef(invoice), customerRef: customer,
                    amount: Money(amountMinor: residual - 6000, currency: .usd), creditRefs: [])),
            traceID: TraceID("trace"), attempts: 0, createdAt: Payments.day)
    }

    /// Money paid back whose payout failed leaves its credit note open: that is not credit the customer can spend. The
    /// customer's credit applied to a later invoice waits rather than take it, and the payout, once Odoo takes it,
    /// pays back the whole refund.
    @Test func moneyPaidBackIsNotSpentAsCreditBeforeItIsPaidOut() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            _ = try await Self.paidInvoices(["in_9"], partner: a, target: target)
            func outbound() -> [Double] {
                simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }.compactMap {
                    $0["amount"]?.doubleValue
                }
            }
            simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 503, pathPrefix: "/json/2/account.payment.register"))
            let refund = Self.command("re_9", invoice: "in_9", cents: 8000, number: 1)
            let failed = await target.deliver([refund], logger: Support.logger)
            guard case .retry = failed.first else {
                Issue.record("expected a retry, got \(failed)")
                return
            }
            let note = try #require(Self.creditNotes(simulator).first?["id"]?.intValue)
            #expect(Support.record(simulator, "account.move", note)["ref"]?.stringValue?.contains(OdooTarget.paidBackMark) == true)
            #expect(Support.record(simulator, "account.move", note)["payment_state"] == "not_paid")
            simulator.faults.clear()

            let invoice = try await Payments.invoice(client, "in_1", partner: a)
            let paid = await target.deliver([Payments.command("py_1", invoice: "in_1", cents: 6000, number: 2)], logger: Support.logger)
            #expect(Payments.paymentIDs(paid).allSatisfy { $0 != nil }, "\(paid)")
            let credit = Self.creditApplied(to: "in_1", residual: invoice.residual, number: 3)
            let waiting = await target.deliver([credit], logger: Support.logger)
            guard case .retry(let failure) = waiting.first, failure.kind == .dependencyMissing else {
                Issue.record("expected the credit to wait, got \(waiting)")
                return
            }
            #expect(Support.record(simulator, "account.move", note)["amount_residual"]?.doubleValue == 80)

            let outcome = await target.deliver([refund], logger: Support.logger)
            #expect(Self.creditNoteIDs(outcome) == [note], "\(outcome)")
            #expect(outbound() == [80])
            #expect(Support.record(simulator, "account.move", note)["payment_state"] == "paid")
        }
    }

    /// What a note refunded in part keeps after its payout is the customer's credit: spent where the source names it
    /// (Chargebee lists the notes it applies), never taken unnamed, since the source may still refund more of it.
    @Test func whatANoteRefundedInPartKeepsIsSpentWhereTheSourceNamesIt() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            _ = try await Self.paidInvoices(["in_9"], partner: a, target: target)
            let command = Self.refundedInPart("cn_9", invoice: "in_9", cents: 4000, of: 10000, number: 1)
            let note = try #require(Self.creditNoteIDs(await target.deliver([command], logger: Support.logger)).first ?? nil)
            #expect(Support.record(simulator, "account.move", note)["payment_state"] == "partial")

            let invoice = try await Payments.invoice(client, "in_1", partner: a)
            let paid = await target.deliver([Payments.command("py_1", invoice: "in_1", cents: 6000, number: 2)], logger: Support.logger)
            #expect(Payments.paymentIDs(paid).allSatisfy { $0 != nil }, "\(paid)")
            let unnamed = await target.deliver(
                [Self.creditApplied(to: "in_1", residual: invoice.residual, number: 3)], logger: Support.logger)
            guard case .retry(let failure) = unnamed.first, failure.kind == .dependencyMissing else {
                Issue.record("expected the unnamed credit to wait, got \(unnamed)")
                return
            }
            #expect(Support.record(simulator, "account.move", note)["amount_residual"]?.doubleValue == 60)

            var named = Self.creditApplied(to: "in_1", residual: invoice.residual, number: 4)
            if case .applyCredit(var credit) = named.payload {
                credit.creditRefs = [ExternalRef(system: "stripe", kind: .refund, id: "cn_9")]
                named.payload = .applyCredit(credit)
            }
            let applied = await target.deliver([named], logger: Support.logger)
            guard case .delivered(let record?, _) = applied.first, record.id == String(invoice.id) else {
                Issue.record("expected the credit applied to the invoice, got \(applied)")
                return
            }
            #expect(Support.record(simulator, "account.move", invoice.id)["amount_residual"]?.doubleValue == 0)
            let left = 60 - Money(amountMinor: invoice.residual - 6000, currency: .usd).majorUnits
            #expect(Support.record(simulator, "account.move", note)["amount_residual"]?.doubleValue == left)
        }
    }

    /// A credit note already paid back for less than its refund now says (an earlier Weft kept a discount when it
    /// trimmed a partial refund): refused with what to fix, not taken as done.
    @Test func aNotePaidBackForLessThanItsRefundIsRefusedNotTakenAsDone() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            _ = try await Self.paidInvoices(["in_1"], partner: a, target: target)
            let short = await target.deliver([Self.command("re_1", invoice: "in_1", cents: 800, number: 1)], logger: Support.logger)
            #expect(Self.creditNoteIDs(short).allSatisfy { $0 != nil }, "\(short)")
            let outcome = await target.deliver([Self.command("re_1", invoice: "in_1", cents: 1000, number: 2)], logger: Support.logger)
            guard case .reject(let failure) = outcome.first else {
                Issue.record("expected a rejection, got \(outcome)")
                return
            }
            #expect(failure.message.contains("less than the 10.00 USD paid back"), "\(failure.message)")
            #expect(simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }.count == 1)
        }
    }

    /// A partial refund in a currency of three decimals: Odoo rounds the trimmed unit price, so the credit note is read
    /// back and kept a draft with the fix when it would credit another amount.
    @Test func aPartialRefundOdooWouldRoundStaysADraftWithTheFix() async throws {
        try await Support.withOdoo { simulator, client in
            try await client.write(
                model: "res.currency", ids: [3], values: ["active": true], context: OdooClient.inactiveToo, logger: Support.logger)
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            let invoice = try await client.create(
                model: "account.move",
                values: [
                    [
                        "move_type": "out_invoice", "partner_id": .int(a), "currency_id": 3,
                        "ref": .string(Payments.invoiceRef("in_1").xmlidName),
                        "invoice_line_ids": [[0, 0, ["name": "Seat", "quantity": 1, "price_unit": 10.0, "tax_ids": [[6, 0, []]]]]],
                    ]
                ], logger: Support.logger)[0]
            _ = try await client.call(model: "account.move", method: "action_post", ids: [invoice], logger: Support.logger)
            var command = Self.command("re_1", invoice: "in_1", cents: 1234, number: 1)
            if case .createRefund(var refund) = command.payload {
                refund.amount = Money(amountMinor: 1234, currency: CurrencyCode(rawValue: "KWD")!)
                command.payload = .createRefund(refund)
            }
            let outcome = await target.deliver([command], logger: Support.logger)
            guard case .reject(let failure) = outcome.first else {
                Issue.record("expected a rejection, got \(outcome)")
                return
            }
            #expect(failure.message.contains("Product Price"), "\(failure.message)")
            #expect(Self.creditNotes(simulator).map { $0["state"] } == ["draft"])
            #expect(simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }.isEmpty)
        }
    }

    /// A credit note that totals less than the money paid back (edited in Odoo) is refused with what to fix, not paid
    /// out short.
    @Test func aCreditNoteTotallingLessThanTheRefundIsNotPaidOutShort() {
        let note: [String: JSONValue] = ["amount_total": 8.0, "amount_residual": 8.0, "currency_id": [1, "USD"]]
        #expect(OdooTarget.payout(of: Money(amountMinor: 1000, currency: .usd), note: note) == nil)
        let applied: [String: JSONValue] = ["amount_total": 10.0, "amount_residual": 2.5, "currency_id": [1, "USD"]]
        #expect(OdooTarget.payout(of: Money(amountMinor: 1000, currency: .usd), note: applied) == Money(amountMinor: 250, currency: .usd))
        let whole: [String: JSONValue] = ["amount_total": 10.0, "amount_residual": 10.0, "currency_id": [1, "USD"]]
        #expect(OdooTarget.payout(of: Money(amountMinor: 1000, currency: .usd), note: whole) == Money(amountMinor: 1000, currency: .usd))
    }

    /// A credit note an earlier Weft applied in part to its open invoice (the rest left open) is paid out, when its
    /// refund is delivered again, for what it still owes: never the whole refund a second time.
    @Test func aCreditNoteAppliedInPartIsPaidOutOnlyForWhatItStillOwes() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            let invoice = try await Payments.invoice(client, "in_1", partner: a)
            _ = await target.deliver([Payments.command("py_1", invoice: "in_1", cents: 6000, number: 1)], logger: Support.logger)
            let due = invoice.residual - 6000
            // What an earlier Weft left: the credit note of 80.00 applied to the open invoice for its 55.00.
            let applied = await target.deliver(
                [Self.command("re_1", invoice: "in_1", cents: 8000, kind: .adjustment, number: 2)], logger: Support.logger)
            let noteID = try #require(Self.creditNoteIDs(applied).first ?? nil, "\(applied)")
            #expect(Support.record(simulator, "account.move", invoice.id)["payment_state"] != "partial")
            let open = 80 - Money(amountMinor: due, currency: .usd).majorUnits
            #expect(Support.record(simulator, "account.move", noteID)["amount_residual"]?.doubleValue == open)

            let outcome = await target.deliver([Self.command("re_1", invoice: "in_1", cents: 8000, number: 3)], logger: Support.logger)
            #expect(Self.creditNoteIDs(outcome) == [noteID], "\(outcome)")
            let payouts = simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }
            #expect(payouts.compactMap { $0["amount"]?.doubleValue } == [open])
            #expect(Support.record(simulator, "account.move", noteID)["payment_state"] == "paid")
        }
    }

    @Test func moneyPaidBackOnOneDayIsRegisteredWithOneWizardOnePaymentPerCreditNote() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            _ = try await Self.paidInvoices(["in_1", "in_2"], partner: a, target: target)
            simulator.requestLog.reset()
            let commands = [
                Self.command("re_1", invoice: "in_1", cents: 1000, number: 3),
                Self.command("re_2", invoice: "in_2", cents: 2000, number: 4),
            ]
            let outcomes = await target.deliver(commands, logger: Support.logger)
            let ids = Self.creditNoteIDs(outcomes)
            #expect(ids.allSatisfy { $0 != nil }, "\(outcomes)")
            let payouts = simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }
            #expect(payouts.count == 2)
            for (id, amount) in zip(ids, [10.0, 20.0]) {
                let note = try Support.record(simulator, "account.move", #require(id))
                #expect(note["payment_state"] == "paid")
                let payout = payouts.first { $0["reconciled_invoice_ids"] == .array([.int(note["id"]?.intValue ?? 0)]) }
                #expect(payout?["amount"]?.doubleValue == amount)
            }
            let paths = simulator.requestLog.all.map(\.path)
            #expect(paths.filter { $0.hasSuffix("account.payment.register/create") }.count == 1)

            // Delivered again: the credit notes are paid, nothing new.
            let again = await target.deliver(commands, logger: Support.logger)
            #expect(Self.creditNoteIDs(again) == ids)
            #expect(simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }.count == 2)
        }
    }

    @Test func aRefundWhoseInvoiceIsNotInOdooWaitsWhileTheOthersAreCredited() async throws {
        try await Support.withOdoo { simulator, client in
            let a = try await Support.company(client, "A")
            let open = try await Payments.invoice(client, "in_1", partner: a)
            let outcomes = await OdooTarget(client: client).deliver(
                [
                    Self.command("re_1", invoice: "in_missing", cents: 500, number: 1),
                    Self.command("re_2", invoice: "in_1", cents: open.residual, number: 2),
                ], logger: Support.logger)
            guard case .retry(let failure) = outcomes[0] else {
                Issue.record("expected a retry, got \(outcomes[0])")
                return
            }
            #expect(failure.kind == .dependencyMissing)
            #expect(Self.creditNoteIDs([outcomes[1]]).first ?? nil != nil)
            #expect(Self.creditNotes(simulator).count == 1)
        }
    }

    /// Odoo's reversal wizard refuses its whole `create` when any of the context's moves is not posted; a cancelled
    /// invoice in a batch is then the only refund rejected, with Odoo's words, and the others are still credited.
    @Test func aRefundOfACancelledInvoiceIsRejectedAloneWhileTheOthersAreCredited() async throws {
        try await Support.withOdoo { simulator, client in
            let a = try await Support.company(client, "A")
            let open = try await Payments.invoice(client, "in_1", partner: a)
            let cancelled = try await Payments.invoice(client, "in_2", partner: a)
            for method in ["button_draft", "button_cancel"] {
                _ = try await client.call(model: "account.move", method: method, ids: [cancelled.id], logger: Support.logger)
            }
            let outcomes = await OdooTarget(client: client).deliver(
                [
                    Self.command("re_1", invoice: "in_1", cents: open.residual, number: 1),
                    Self.command("re_2", invoice: "in_2", cents: cancelled.residual, number: 2),
                ], logger: Support.logger)
            #expect(Self.creditNoteIDs([outcomes[0]]).first ?? nil != nil, "\(outcomes[0])")
            guard case .reject(let failure) = outcomes[1] else {
                Issue.record("expected a rejection, got \(outcomes[1])")
                return
            }
            #expect(failure.message.contains("To reverse a journal entry, it has to be posted first."), "\(failure.message)")
            #expect(Self.creditNotes(simulator).map(Self.reversedInvoice) == [open.id])
        }
    }

    @Test func reversalsWhoseAnswersAreLostAreFoundAgainNotMadeTwice() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            let first = try await Payments.invoice(client, "in_1", partner: a)
            _ = try await Payments.invoice(client, "in_2", partner: a)
            let commands = [
                Self.command("re_1", invoice: "in_1", cents: first.residual, number: 1),
                Self.command("re_2", invoice: "in_2", cents: 700, number: 2),
            ]
            // Odoo makes each credit note but the answers never arrive: every refund is retried.
            simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 503, pathPrefix: "/json/2/account.move/action_post"))
            let failed = await target.deliver(commands, logger: Support.logger)
            for outcome in failed {
                guard case .retry = outcome else {
                    Issue.record("expected a retry, got \(outcome)")
                    continue
                }
            }
            #expect(Self.creditNotes(simulator).count == 2)
            simulator.faults.clear()
            let outcomes = await target.deliver(commands, logger: Support.logger)
            #expect(Self.creditNoteIDs(outcomes).allSatisfy { $0 != nil }, "\(outcomes)")
            let notes = Self.creditNotes(simulator)
            #expect(notes.count == 2)
            #expect(notes.allSatisfy { $0["state"] == "posted" })
            #expect(
                Set(notes.compactMap { $0["amount_total"]?.doubleValue }) == [
                    Money(amountMinor: first.residual, currency: .usd).majorUnits, 7,
                ])
        }
    }

    /// Odoo Accounting's payments without a journal entry leave their invoice's residual whole. The customer's credit
    /// still settles what they left due, and money paid back on an invoice they cover only in part is paid out, as on
    /// an invoice paid in part: Weft does the same whichever way Odoo records payments.
    @Test func withOdooAccountingCreditSettlesWhatPaymentsWithoutAnEntryLeftDue() async throws {
        try await Support.withOdoo(accounting: true) { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            let customer = ExternalRef(system: "stripe", kind: .customer, id: "cus_in_1")
            // A credit of 55.00 kept on the account (a credit note reversing part of a paid invoice, left open).
            _ = try await Self.paidInvoices(["in_9"], partner: a, target: target)
            let kept = await target.deliver(
                [Self.command("re_9", invoice: "in_9", cents: 5500, kind: .credit, number: 1)], logger: Support.logger)
            let note = try #require(Self.creditNoteIDs(kept).first ?? nil, "\(kept)")
            #expect(Support.record(simulator, "account.move", note)["payment_state"] == "not_paid")

            // An invoice of 115.00 paid 60.00 by card, the rest by that credit.
            let invoice = try await Payments.invoice(client, "in_1", partner: a)
            let paid = await target.deliver([Payments.command("py_1", invoice: "in_1", cents: 6000, number: 2)], logger: Support.logger)
            #expect(Payments.paymentIDs(paid).allSatisfy { $0 != nil }, "\(paid)")
            let credit = OutboxCommand(
                id: CommandID(3), target: "odoo", entityKey: EntityKey.of(customer), idempotencyKey: IdempotencyKey("credit-3"),
                payload: .applyCredit(
                    InvoiceCredit(
                        invoiceRef: Payments.invoiceRef("in_1"), customerRef: customer,
                        amount: Money(amountMinor: invoice.residual - 6000, currency: .usd),
                        creditRefs: [ExternalRef(system: "stripe", kind: .refund, id: "re_9")])),
                traceID: TraceID("trace"), attempts: 0, createdAt: Payments.day)
            let applied = await target.deliver([credit], logger: Support.logger)
            guard case .delivered(let record?, _) = applied.first, record.id == String(invoice.id) else {
                Issue.record("expected the credit applied to the invoice, got \(applied)")
                return
            }
            #expect(Support.record(simulator, "account.move", note)["amount_residual"] == .double(0))
            let settled = Support.record(simulator, "account.move", invoice.id)
            #expect(settled["amount_residual"]?.doubleValue == 60)
            #expect(settled["payment_state"] == "in_payment")
            // Delivered again: nothing more is taken.
            #expect(await target.deliver([credit], logger: Support.logger).allSatisfy { if case .delivered = $0 { true } else { false } })

            // An invoice of 115.00 paid 40.00 (the rest missing in Odoo), then those 40.00 paid back: paid out.
            let partly = try await Payments.invoice(client, "in_2", partner: a)
            let part = await target.deliver([Payments.command("py_2", invoice: "in_2", cents: 4000, number: 4)], logger: Support.logger)
            #expect(Payments.paymentIDs(part).allSatisfy { $0 != nil }, "\(part)")
            let outbound = simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }.count
            let back = await target.deliver([Self.command("re_2", invoice: "in_2", cents: 4000, number: 5)], logger: Support.logger)
            let backNote = try #require(Self.creditNoteIDs(back).first ?? nil, "\(back)")
            #expect(Support.record(simulator, "account.move", backNote)["payment_state"] != "not_paid")
            #expect(Support.record(simulator, "account.move", backNote)["payment_state"] != "partial")
            #expect(Support.record(simulator, "account.move", partly.id)["amount_residual"]?.doubleValue == 115)
            #expect(simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }.count == outbound + 1)
        }
    }
}
