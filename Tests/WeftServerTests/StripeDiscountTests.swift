import Foundation
import Testing
import WeftCore
import WeftSimKit
import WeftSimStripe

/// Discounts and long invoices end to end over real HTTP: a coupon on a Stripe invoice of more lines than its events
/// carry (an invoice embeds its first 10), booked in Odoo for exactly what Stripe billed, so its payment settles it.
@Suite("Stripe discounts and long invoices, from the simulator to Odoo", .serialized)
struct StripeDiscountTests {
    typealias Harness = StripePlanChangeTests.Harness
    typealias Attached = StripeAttachedPaymentTests

    /// A paid invoice of twelve 10.00 items with a 20 % coupon: its id.
    static func discountedInvoice(_ h: Harness) throws -> String {
        let customer = try #require(
            try h.call("POST", "/v1/customers", [("name", "Ada Lovelace"), ("email", "ada@example.com")])["id"]?.stringValue)
        for number in 1...12 {
            _ = try h.call(
                "POST", "/v1/invoiceitems",
                [("customer", customer), ("amount", "1000"), ("currency", "usd"), ("description", "Usage \(number)")])
        }
        let coupon = try #require(try h.call("POST", "/v1/coupons", [("percent_off", "20"), ("duration", "once")])["id"]?.stringValue)
        let draft = try h.call(
            "POST", "/v1/invoices",
            [("customer", customer), ("pending_invoice_items_behavior", "include"), ("discounts[0][coupon]", coupon)])
        let invoice = try #require(draft["id"]?.stringValue)
        let finalized = try h.call("POST", "/v1/invoices/\(invoice)/finalize")
        #expect(finalized["total"]?.intValue == 9600)
        #expect(finalized["lines"]?["has_more"]?.boolValue == true)
        _ = try h.call("POST", "/v1/invoices/\(invoice)/pay", [("payment_method", "pm_card_visa")])
        return invoice
    }

    /// The Odoo lines of the invoice booked for Stripe invoice `invoice`.
    static func lines(_ h: Harness, _ booked: JSONValue) async throws -> [JSONValue] {
        let id = try #require(booked["id"]?.intValue)
        return try await h.node.odooRead(
            "account.move.line", [["move_id", "=", .int(id)], ["display_type", "=", "product"]],
            fields: ["name", "quantity", "price_unit", "discount", "price_subtotal"])
    }

    /// Weft reads the lines the events leave out from Stripe's API: Odoo gets all twelve, each with the coupon's 20 %.
    @Test func aDiscountedInvoiceOfTwelveLinesIsBookedLineByLineForWhatStripeBilled() async throws {
        try await StripePlanChangeTests.withStripe { h in
            let invoice = try Self.discountedInvoice(h)
            try await h.settle()
            let booked = try await Attached.odoo(h, invoice)
            #expect(booked.move["amount_total"]?.doubleValue == 96)
            #expect(booked.move["payment_state"]?.stringValue == "paid")
            #expect(booked.payments == [96])
            let lines = try await Self.lines(h, booked.move)
            #expect(lines.count == 12)
            #expect(lines.allSatisfy { $0["name"]?.stringValue?.hasPrefix("Usage") == true })
            #expect(lines.allSatisfy { $0["discount"]?.doubleValue == 20 && $0["price_subtotal"]?.doubleValue == 8 })
        }
    }

    /// When Stripe's API does not answer, the invoice is booked from its events alone: the ten lines they carry and one
    /// line for the rest, for the same total.
    @Test func withoutStripesAPITheLinesLeftOutAreOneLineForTheSameTotal() async throws {
        try await StripePlanChangeTests.withStripe { h in
            h.stripe.faults.set(FaultPlan(errorRate: 1, errorStatus: 500, pathPrefix: "/v1/invoices/"))
            let invoice = try Self.discountedInvoice(h)
            try await h.settle()
            let booked = try await Attached.odoo(h, invoice)
            #expect(booked.move["amount_total"]?.doubleValue == 96)
            #expect(booked.move["payment_state"]?.stringValue == "paid")
            let lines = try await Self.lines(h, booked.move)
            #expect(lines.count == 11)
            #expect(lines.filter { $0["name"]?.stringValue?.hasPrefix("Usage") == true }.count == 10)
            let rest = lines.filter { $0["name"]?.stringValue?.hasPrefix("Further lines") == true }
            #expect(rest.map { $0["price_subtotal"]?.doubleValue } == [16])
        }
    }
}
