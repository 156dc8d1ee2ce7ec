import Foundation
import Testing
import WeftCore

/// Partial payments end to end over real HTTP, made the way a Stripe user makes them: the Stripe simulator credits PaymentIntents attached to an open invoice
/// (`attach_payment`, 2025-05-28.basil on) and sends its signed webhooks to a Weft node whose Stripe flow goes to Odoo.
/// Odoo gets one payment per Stripe payment, for what each paid: a part, then the rest by the invoice's own payment;
/// or parts that pay it all, and nothing for the invoice's own payment, which Stripe cancels.
@Suite("Stripe payments attached to invoices, from the simulator to Odoo", .serialized)
struct StripeAttachedPaymentTests {
    typealias Harness = StripePlanChangeTests.Harness

    /// A finalized one-off invoice of `amount` cents for a new customer: the customer's and the invoice's ids.
    static func openInvoice(_ h: Harness, _ name: String, amount: Int) throws -> (customer: String, invoice: String) {
        let customer = try #require(
            try h.call("POST", "/v1/customers", [("name", name), ("email", "\(name.prefix(3).lowercased())@example.com")])["id"]?
                .stringValue)
        return (customer, try finalizedInvoice(h, customer: customer, amount: amount))
    }

    /// A finalized one-off invoice of `amount` cents for `customer`: its id.
    static func finalizedInvoice(_ h: Harness, customer: String, amount: Int) throws -> String {
        _ = try h.call("POST", "/v1/invoiceitems", [("customer", customer), ("amount", String(amount)), ("currency", "usd")])
        let invoice = try #require(
            try h.call("POST", "/v1/invoices", [("customer", customer), ("pending_invoice_items_behavior", "include")])["id"]?
                .stringValue)
        _ = try h.call("POST", "/v1/invoices/\(invoice)/finalize")
        return invoice
    }

    /// Pays `amount` cents of the invoice with a PaymentIntent of its own, attached to it.
    static func payPart(_ h: Harness, customer: String, invoice: String, amount: Int) throws {
        let intent = try h.call(
            "POST", "/v1/payment_intents",
            [
                ("amount", String(amount)), ("currency", "usd"), ("customer", customer), ("payment_method", "pm_card_visa"),
                ("confirm", "true"),
            ])
        let id = try #require(intent["id"]?.stringValue)
        _ = try h.call("POST", "/v1/invoices/\(invoice)/attach_payment", [("payment_intent", id)])
    }

    /// The Odoo invoice booked for the Stripe invoice, and the amounts of the payments reconciled with it.
    static func odoo(_ h: Harness, _ invoice: String) async throws -> (move: JSONValue, payments: [Double]) {
        let move = try #require(
            try await h.node.odooRead(
                "account.move", [["ref", "=", .string("stripe_invoice_\(invoice)")]],
                fields: ["id", "payment_state", "amount_total", "amount_residual"]
            ).first)
        let id = try #require(move["id"]?.intValue)
        let payments = try await h.node.odooRead(
            "account.payment", [["reconciled_invoice_ids", "in", [.int(id)]], ["state", "!=", "canceled"]], fields: ["amount"])
        return (move, payments.compactMap { $0["amount"]?.doubleValue }.sorted())
    }

    @Test func aPartThenTheRestAreTwoPaymentsInOdoo() async throws {
        try await StripePlanChangeTests.withStripe { h in
            let (customer, invoice) = try Self.openInvoice(h, "Mary Jackson", amount: 10_000)
            try await h.settle()
            #expect(try await Self.odoo(h, invoice).move["payment_state"]?.stringValue == "not_paid")

            try Self.payPart(h, customer: customer, invoice: invoice, amount: 4000)
            try await h.settle()
            var booked = try await Self.odoo(h, invoice)
            #expect(booked.move["payment_state"]?.stringValue == "partial")
            #expect(booked.payments == [40])
            #expect(booked.move["amount_residual"]?.doubleValue == (booked.move["amount_total"]?.doubleValue ?? 0) - 40)

            let paid = try h.call("POST", "/v1/invoices/\(invoice)/pay", [("payment_method", "pm_card_visa")])
            #expect(paid["amount_paid"]?.intValue == 10_000)
            try await h.settle()
            booked = try await Self.odoo(h, invoice)
            #expect(booked.move["payment_state"]?.stringValue == "paid")
            #expect(booked.payments == [40, 60])
        }
    }

    @Test func partsThatPayTheWholeInvoiceAreAllOdooGets() async throws {
        try await StripePlanChangeTests.withStripe { h in
            let (customer, invoice) = try Self.openInvoice(h, "Annie Easley", amount: 10_000)
            try Self.payPart(h, customer: customer, invoice: invoice, amount: 3000)
            try Self.payPart(h, customer: customer, invoice: invoice, amount: 7000)
            #expect(try h.call("GET", "/v1/invoices/\(invoice)")["status"]?.stringValue == "paid")
            try await h.settle()
            let booked = try await Self.odoo(h, invoice)
            #expect(booked.move["payment_state"]?.stringValue == "paid")
            #expect(booked.payments == [30, 70])
            let partner = "stripe_customer_\(customer)"
            #expect(try await h.node.odooCount("account.payment", [["partner_id.ref", "=", .string(partner)]]) == 2)
        }
    }
}
