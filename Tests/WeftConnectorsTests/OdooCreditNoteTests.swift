import Foundation
import Testing
import WeftCore
import WeftSimOdoo

@testable import WeftConnectors

/// The kinds of credit a billing credit note carries reach Odoo as an accountant books them: an adjustment settles
/// its open invoice and is never paid back, a credit settled outside billing stays open and is never spent on a later
/// invoice, and a refund that no longer stands takes back its credit note and payout.
@Suite("Odoo credit notes: adjustments, credits outside billing, withdrawals")
struct OdooCreditNoteTests {
    typealias Support = OdooPartnerTestSupport
    typealias Payments = OdooPaymentTests
    typealias Refunds = OdooRefundTests

    static func withdrawn(_ command: OutboxCommand, _ status: String, number: Int64) -> OutboxCommand {
        guard case .createRefund(var refund) = command.payload else { return command }
        refund.status = status
        var withdrawn = command
        withdrawn.id = CommandID(number)
        withdrawn.payload = .createRefund(refund)
        return withdrawn
    }

    /// `command`'s refund made a day later: its payout is alone on its day, with a wizard of its own.
    static func nextDay(_ command: OutboxCommand) -> OutboxCommand {
        guard case .createRefund(var refund) = command.payload else { return command }
        refund.createdAt += 86_400
        var moved = command
        moved.payload = .createRefund(refund)
        return moved
    }

    static func outbound(_ simulator: OdooSimulator) -> [[String: JSONValue]] {
        simulator.records(model: "account.payment").filter { $0["payment_type"] == "outbound" }
    }

    @Test func anAdjustmentAndThePaymentOfTheRestSettleTheInvoiceInEitherOrder() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            // Adjustment first, then the payment of what is left.
            let first = try await Payments.invoice(client, "in_1", partner: a)
            let adjusted = await target.deliver(
                [Refunds.command("cn_1", invoice: "in_1", cents: 3000, kind: .adjustment, number: 1)], logger: Support.logger)
            let note = try #require(Refunds.creditNoteIDs(adjusted).first ?? nil, "\(adjusted)")
            #expect(Support.record(simulator, "account.move", note)["payment_state"] == "reversed")
            #expect(Support.record(simulator, "account.move", first.id)["payment_state"] == "partial")
            let paid = await target.deliver(
                [Payments.command("py_1", invoice: "in_1", cents: first.residual - 3000, number: 2)], logger: Support.logger)
            #expect(Payments.paymentIDs(paid).allSatisfy { $0 != nil }, "\(paid)")
            #expect(Support.record(simulator, "account.move", first.id)["amount_residual"] == .double(0))

            // The payment first, then the adjustment: the same end.
            let second = try await Payments.invoice(client, "in_2", partner: a)
            let paidFirst = await target.deliver(
                [Payments.command("py_2", invoice: "in_2", cents: second.residual - 3000, number: 3)], logger: Support.logger)
            #expect(Payments.paymentIDs(paidFirst).allSatisfy { $0 != nil }, "\(paidFirst)")
            let late = await target.deliver(
                [Refunds.command("cn_2", invoice: "in_2", cents: 3000, kind: .adjustment, number: 4)], logger: Support.logger)
            #expect(Refunds.creditNoteIDs(late).allSatisfy { $0 != nil }, "\(late)")
            #expect(Support.record(simulator, "account.move", second.id)["amount_residual"] == .double(0))
            // No money went back for either.
            #expect(Self.outbound(simulator).isEmpty)

            // An adjustment of an invoice Odoo already holds as paid stays open for the accountant: never paid back.
            _ = try await Refunds.paidInvoices(["in_3"], partner: a, target: target)
            let open = await target.deliver(
                [Refunds.command("cn_3", invoice: "in_3", cents: 1000, kind: .adjustment, number: 5)], logger: Support.logger)
            let openNote = try #require(Refunds.creditNoteIDs(open).first ?? nil, "\(open)")
            #expect(Support.record(simulator, "account.move", openNote)["payment_state"] == "not_paid")
            #expect(Self.outbound(simulator).isEmpty)
        }
    }

    @Test func aCreditSettledOutsideBillingStaysOpenAndIsNeverSpentOnALaterInvoice() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            _ = try await Refunds.paidInvoices(["in_1", "in_2"], partner: a, target: target)
            // Credited outside billing first (older), then a credit kept on the customer's balance.
            let outside = await target.deliver(
                [Refunds.command("cn_1-out_of_band", invoice: "in_1", cents: 2000, kind: .outOfBand, number: 1)],
                logger: Support.logger)
            let outsideNote = try #require(Refunds.creditNoteIDs(outside).first ?? nil, "\(outside)")
            let balance = await target.deliver(
                [Refunds.command("cn_2-balance", invoice: "in_2", cents: 2000, kind: .credit, number: 2)], logger: Support.logger)
            let balanceNote = try #require(Refunds.creditNoteIDs(balance).first ?? nil, "\(balance)")
            #expect(Support.record(simulator, "account.move", outsideNote)["ref"]?.stringValue?.contains(OdooTarget.outOfBandMark) == true)
            #expect(Support.record(simulator, "account.move", outsideNote)["payment_state"] == "not_paid")
            #expect(Self.outbound(simulator).isEmpty)

            // A later invoice paid partly by the customer's balance takes the balance's credit note, not the older one.
            let later = try await Payments.invoice(client, "in_3", partner: a)
            let paid = await target.deliver(
                [Payments.command("py_3", invoice: "in_3", cents: later.residual - 2000, number: 3)], logger: Support.logger)
            #expect(Payments.paymentIDs(paid).allSatisfy { $0 != nil }, "\(paid)")
            let customer = ExternalRef(system: "stripe", kind: .customer, id: "cus_in_3")
            let credit = OutboxCommand(
                id: CommandID(4), target: "odoo", entityKey: EntityKey.of(customer), idempotencyKey: IdempotencyKey("credit-4"),
                payload: .applyCredit(
                    InvoiceCredit(
                        invoiceRef: Payments.invoiceRef("in_3"), customerRef: customer,
                        amount: Money(amountMinor: 2000, currency: .usd), creditRefs: [])),
                traceID: TraceID("trace"), attempts: 0, createdAt: Payments.day)
            let applied = await target.deliver([credit], logger: Support.logger)
            guard case .delivered(let record?, _) = applied.first, record.id == String(later.id) else {
                Issue.record("expected the credit applied to the invoice, got \(applied)")
                return
            }
            #expect(Support.record(simulator, "account.move", later.id)["amount_residual"] == .double(0))
            #expect(Support.record(simulator, "account.move", balanceNote)["amount_residual"] == .double(0))
            #expect(Support.record(simulator, "account.move", outsideNote)["amount_residual"] == .double(20))
        }
    }

    @Test func aRefundThatNoLongerStandsTakesBackItsCreditNoteAndPayout() async throws {
        try await Support.withOdoo { simulator, client in
            let target = OdooTarget(client: client)
            let a = try await Support.company(client, "A")
            let paid = try await Refunds.paidInvoices(["in_1", "in_3", "in_4"], partner: a, target: target)
            let open = try await Payments.invoice(client, "in_2", partner: a)
            // Paid back alone on its day (a wizard of its own, the refund's key as memo); two on one day (one wizard,
            // Odoo's memos); an adjustment of an open invoice.
            let refunds = [
                Self.nextDay(Refunds.command("re_1", invoice: "in_1", cents: 1000, number: 1)),
                Refunds.command("re_3", invoice: "in_3", cents: paid[1].residual, number: 2),
                Refunds.command("re_4", invoice: "in_4", cents: paid[2].residual, number: 3),
                Refunds.command("cn_2", invoice: "in_2", cents: 2500, kind: .adjustment, number: 4),
            ]
            let made = await target.deliver(refunds, logger: Support.logger)
            let ids = Refunds.creditNoteIDs(made)
            #expect(ids.allSatisfy { $0 != nil }, "\(made)")
            #expect(Self.outbound(simulator).count == 3)
            let memo = ExternalRef(system: "stripe", kind: .refund, id: "re_1").xmlidName
            #expect(Self.outbound(simulator).filter { $0["memo"] == .string(memo) }.count == 1)
            #expect(Support.record(simulator, "account.move", open.id)["payment_state"] == "partial")

            // The refunds failed after they succeeded; the credit note was voided.
            let withdrawals = refunds.enumerated().map { index, command in
                Self.withdrawn(command, index == 3 ? "canceled" : "failed", number: Int64(10 + index))
            }
            let outcomes = await target.deliver(withdrawals, logger: Support.logger)
            #expect(Refunds.creditNoteIDs(outcomes) == ids, "\(outcomes)")
            for id in ids.compactMap({ $0 }) { #expect(Support.record(simulator, "account.move", id)["state"] == "cancel") }
            #expect(Self.outbound(simulator).map { $0["state"] } == ["canceled", "canceled", "canceled"])
            // The paid invoices stay paid: only the money paid back is taken back.
            for invoice in paid { #expect(Support.record(simulator, "account.move", invoice.id)["payment_state"] != "not_paid") }
            // The open invoice asks for all of it again.
            #expect(Support.record(simulator, "account.move", open.id)["payment_state"] == "not_paid")
            #expect(Support.record(simulator, "account.move", open.id)["amount_residual"]?.doubleValue == 115)

            // Delivered again (a retry after a lost answer): nothing more to do, nothing fails.
            let again = await target.deliver(withdrawals, logger: Support.logger)
            #expect(Refunds.creditNoteIDs(again) == ids, "\(again)")
            // A refund withdrawn before any credit note was made has nothing to take back.
            let never = await target.deliver(
                [Self.withdrawn(Refunds.command("re_9", invoice: "in_1", cents: 500, number: 5), "canceled", number: 6)],
                logger: Support.logger)
            guard case .delivered(nil, let note?) = never.first else {
                Issue.record("expected nothing to take back, got \(never)")
                return
            }
            #expect(note.contains("no credit note"))
            #expect(Refunds.creditNotes(simulator).count == 4)
        }
    }
}
