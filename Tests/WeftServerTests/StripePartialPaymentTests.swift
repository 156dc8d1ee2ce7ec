import Foundation
import Testing
import WeftCore
import WeftTools

/// Partial payments (Stripe 2025-05-28.basil on): payment intents attached to an invoice besides its default payment,
/// each reported by an `invoice_payment.paid` of its own, and the invoice's `invoice.paid` reporting the whole amount
/// paid. Odoo must end with the invoice paid exactly once over: never one payment of the last part's amount, never
/// the parts and the whole.
@Suite("Stripe partial payments to Odoo end to end", .serialized)
struct StripePartialPaymentTests {
    @Test(arguments: [false, true])
    func anInvoicePaidInPartsIsPaidInOdooOnceOver(paidBeforeLastPart: Bool) async throws {
        try await TestNode.with { node in
            let factory = StripeEventFactory(prefix: "Q")
            let (customer, invoice, start): (String, String, Int64) = ("cus_Q1", "in_Q1", 1_760_000_000)
            let first = [
                factory.customerCreated(
                    customer, name: "Customer Q1", email: "q1@example.com", at: start, apiVersion: StripeEventFactory.currentAPIVersion),
                factory.invoice(
                    invoice, customer: customer, status: "open", amount: 1000, type: "invoice.finalized", at: start + 1, current: true),
                factory.invoicePaymentPaid(invoice: invoice, customer: customer, amount: 400, at: start + 2, attached: "a"),
            ]
            // Days later, the rest.
            let later = start + 3 * 86_400
            let lastPart = factory.invoicePaymentPaid(invoice: invoice, customer: customer, amount: 600, at: later, attached: "b")
            let paid = factory.invoice(
                invoice, customer: customer, status: "paid", amount: 1000, type: "invoice.paid", at: later, current: true,
                issuedAt: start + 1)
            let rest = paidBeforeLastPart ? [paid, lastPart] : [lastPart, paid]
            // One at a time, so this is the arrival order.
            #expect(await node.send(first, concurrency: 1).abandoned.isEmpty)
            _ = try await node.drain()
            let partly = try await node.odooRead(
                "account.move", [["move_type", "=", "out_invoice"]], fields: ["payment_state", "amount_residual"])
            #expect(partly.first?["payment_state"]?.stringValue == "partial")
            #expect(partly.first?["amount_residual"]?.doubleValue == 6)
            #expect(await node.send(rest, concurrency: 1).abandoned.isEmpty)
            let stats = try await node.drain()
            #expect(stats.deadCommandsByKind.isEmpty && stats.events["done"] == first.count + rest.count)

            let paidInvoices = try await node.odooRead(
                "account.move", [["move_type", "=", "out_invoice"]], fields: ["payment_state", "amount_residual", "amount_total"])
            #expect(paidInvoices.count == 1)
            #expect(paidInvoices.first?["payment_state"]?.stringValue == "paid")
            #expect(paidInvoices.first?["amount_residual"]?.doubleValue == 0)
            let payments = try await node.odooRead("account.payment", [["payment_type", "=", "inbound"]], fields: ["amount"])
            // The first part, then the second; or (`invoice.paid` first) the invoice's own payment net of the first
            // part, after which the second part finds the invoice paid.
            let amounts = payments.compactMap { $0["amount"]?.doubleValue }
            #expect(amounts.sorted() == [4, 6], "\(amounts)")

            // The second part refunded: the refund names only its payment intent and charge (current shape), which the
            // partial payment's `invoice_payment` named; it becomes a credit note of 6.00 on the invoice.
            let refund = factory.refundCreated(
                "re_Q1b", charge: "ch_in_Q1_b", customer: customer, amount: 600, at: later + 60, current: true)
            #expect(await node.send([refund], concurrency: 1).abandoned.isEmpty)
            #expect(try await node.drain().deadCommandsByKind.isEmpty)
            let creditNotes = try await node.odooRead(
                "account.move", [["move_type", "=", "out_refund"], ["state", "=", "posted"]], fields: ["amount_total"])
            #expect(creditNotes.compactMap { $0["amount_total"]?.doubleValue } == [6])
        }
    }
}
