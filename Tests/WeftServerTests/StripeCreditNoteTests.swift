import Foundation
import Testing
import WeftCore

/// Credit notes end to end over real HTTP, issued the way a Stripe user issues them (`POST /v1/credit_notes` on the
/// Stripe simulator, which sends its signed webhooks to a Weft node whose Stripe flow goes to Odoo). Odoo's books end
/// where Stripe's are: what a note took off an open invoice settles it with the smaller payment, a balance credit pays
/// part of the next invoice, money credited outside Stripe stays open for the accountant, and a voided note is undone.
@Suite("Stripe credit notes, from the simulator to Odoo", .serialized)
struct StripeCreditNoteTests {
    typealias Harness = StripePlanChangeTests.Harness
    typealias Attached = StripeAttachedPaymentTests

    /// The Odoo credit notes of the partner of `customer`, oldest first.
    static func creditNotes(_ h: Harness, _ customer: String) async throws -> [JSONValue] {
        try await h.node.odooRead(
            "account.move",
            [["move_type", "=", "out_refund"], ["partner_id.ref", "=", .string("stripe_customer_\(customer)")]],
            fields: ["id", "state", "payment_state", "amount_total", "amount_residual", "ref"])
    }

    @Test func aNoteOnAnOpenInvoiceAndThePaymentOfTheRestSettleItInOdoo() async throws {
        try await StripePlanChangeTests.withStripe { h in
            let (customer, invoice) = try Attached.openInvoice(h, "Grace Hopper", amount: 10_000)
            let note = try h.call("POST", "/v1/credit_notes", [("invoice", invoice), ("amount", "3000"), ("reason", "order_change")])
            #expect(note["pre_payment_amount"]?.intValue == 3000)
            try await h.settle()
            var booked = try await Attached.odoo(h, invoice)
            #expect(booked.move["payment_state"]?.stringValue == "partial")
            #expect(booked.move["amount_residual"]?.doubleValue == (booked.move["amount_total"]?.doubleValue ?? 0) - 30)

            let paid = try h.call("POST", "/v1/invoices/\(invoice)/pay", [("payment_method", "pm_card_visa")])
            #expect(paid["amount_paid"]?.intValue == 7000)
            try await h.settle()
            booked = try await Attached.odoo(h, invoice)
            #expect(booked.move["payment_state"]?.stringValue == "paid")
            #expect(booked.move["amount_residual"]?.doubleValue == 0)
            #expect(booked.payments == [70])
            let notes = try await Self.creditNotes(h, customer)
            #expect(notes.map { $0["amount_total"]?.doubleValue } == [30])
            #expect(notes.first?["ref"]?.stringValue?.contains("order_change") == true)
            // No money went back.
            #expect(try await h.node.odooCount("account.payment", [["payment_type", "=", "outbound"]]) == 0)
        }
    }

    @Test func aNoteForAllOfAnOpenInvoiceSettlesItWithoutAPayment() async throws {
        try await StripePlanChangeTests.withStripe { h in
            let (customer, invoice) = try Attached.openInvoice(h, "Katherine Johnson", amount: 5000)
            _ = try h.call("POST", "/v1/credit_notes", [("invoice", invoice), ("amount", "5000")])
            #expect(try h.call("GET", "/v1/invoices/\(invoice)")["status"]?.stringValue == "paid")
            try await h.settle()
            let booked = try await Attached.odoo(h, invoice)
            #expect(booked.move["amount_residual"]?.doubleValue == 0)
            #expect(booked.move["payment_state"]?.stringValue == "reversed")
            #expect(booked.payments.isEmpty)
            #expect(try await Self.creditNotes(h, customer).count == 1)
        }
    }

    /// An invoice lowered by a credit note, then voided: Odoo cancels the invoice and takes the credit note back too,
    /// so no credit that lowered nothing is left open on the partner.
    @Test func voidingAnInvoiceTakesBackTheCreditNoteThatLoweredIt() async throws {
        try await StripePlanChangeTests.withStripe { h in
            let (customer, invoice) = try Attached.openInvoice(h, "Mary Jackson", amount: 8000)
            _ = try h.call("POST", "/v1/credit_notes", [("invoice", invoice), ("amount", "2000")])
            try await h.settle()
            #expect(try await Attached.odoo(h, invoice).move["payment_state"]?.stringValue == "partial")

            _ = try h.call("POST", "/v1/invoices/\(invoice)/void")
            try await h.settle()
            let moves = try await h.node.odooRead(
                "account.move", [["ref", "=", .string("stripe_invoice_\(invoice)")]], fields: ["state"])
            #expect(moves.map { $0["state"]?.stringValue } == ["cancel"])
            let notes = try await Self.creditNotes(h, customer)
            #expect(notes.map { $0["state"]?.stringValue } == ["cancel"])
            #expect(try await h.node.odooCount("account.payment", []) == 0)
        }
    }

    @Test func aNoteOnAPaidInvoiceRefundsCreditsTheBalanceAndRecordsWhatWasCreditedOutside() async throws {
        try await StripePlanChangeTests.withStripe { h in
            let (customer, invoice) = try Attached.openInvoice(h, "Dorothy Vaughan", amount: 10_000)
            _ = try h.call("POST", "/v1/invoices/\(invoice)/pay", [("payment_method", "pm_card_visa")])
            let note = try h.call(
                "POST", "/v1/credit_notes",
                [
                    ("invoice", invoice), ("amount", "6000"), ("refund_amount", "2000"), ("credit_amount", "3000"),
                    ("out_of_band_amount", "1000"),
                ])
            #expect(note["type"]?.stringValue == "post_payment")
            try await h.settle()
            let notes = try await Self.creditNotes(h, customer)
            // The refund (from its own events), the balance credit and the part credited outside Stripe.
            #expect(notes.compactMap { $0["amount_total"]?.doubleValue }.sorted() == [10, 20, 30])
            func noteOf(_ amount: Double) -> JSONValue? { notes.first { $0["amount_total"]?.doubleValue == amount } }
            #expect(noteOf(20)?["payment_state"]?.stringValue == "paid")
            #expect(noteOf(30)?["payment_state"]?.stringValue == "not_paid")
            #expect(noteOf(10)?["payment_state"]?.stringValue == "not_paid")
            #expect(noteOf(10)?["ref"]?.stringValue?.contains("credited outside billing") == true)
            #expect(try await Attached.odoo(h, invoice).move["payment_state"]?.stringValue == "paid")

            // The next invoice takes the balance credit: Odoo settles it with the card payment and that credit note.
            let next = try Attached.finalizedInvoice(h, customer: customer, amount: 5000)
            let finalized = try h.call("GET", "/v1/invoices/\(next)")
            #expect(finalized["starting_balance"]?.intValue == -3000)
            #expect(finalized["amount_due"]?.intValue == 2000)
            _ = try h.call("POST", "/v1/invoices/\(next)/pay", [("payment_method", "pm_card_visa")])
            try await h.settle()
            let booked = try await Attached.odoo(h, next)
            #expect(booked.move["amount_residual"]?.doubleValue == 0)
            #expect(booked.payments == [20])
            let after = try await Self.creditNotes(h, customer)
            #expect(after.first { $0["amount_total"]?.doubleValue == 30 }?["amount_residual"]?.doubleValue == 0)
            // What was credited outside Stripe is still owed to the customer in Odoo.
            #expect(after.first { $0["amount_total"]?.doubleValue == 10 }?["amount_residual"]?.doubleValue == 10)
        }
    }

    @Test func aVoidedNoteIsUndoneInOdoo() async throws {
        try await StripePlanChangeTests.withStripe { h in
            let (customer, invoice) = try Attached.openInvoice(h, "Mary Winston", amount: 10_000)
            let note = try h.call("POST", "/v1/credit_notes", [("invoice", invoice), ("amount", "2500")])
            let id = try #require(note["id"]?.stringValue)
            try await h.settle()
            #expect(try await Attached.odoo(h, invoice).move["payment_state"]?.stringValue == "partial")

            let voided = try h.call("POST", "/v1/credit_notes/\(id)/void")
            #expect(voided["status"]?.stringValue == "void")
            try await h.settle()
            var booked = try await Attached.odoo(h, invoice)
            #expect(booked.move["payment_state"]?.stringValue == "not_paid")
            #expect(booked.move["amount_residual"]?.doubleValue == booked.move["amount_total"]?.doubleValue)
            #expect(try await Self.creditNotes(h, customer).map { $0["state"]?.stringValue } == ["cancel"])

            let paid = try h.call("POST", "/v1/invoices/\(invoice)/pay", [("payment_method", "pm_card_visa")])
            #expect(paid["amount_paid"]?.intValue == 10_000)
            try await h.settle()
            booked = try await Attached.odoo(h, invoice)
            #expect(booked.move["payment_state"]?.stringValue == "paid")
            #expect(booked.payments == [100])
        }
    }
}
