import Testing

@testable import WeftSimStripe

/// `/v1/credit_notes`: a note lowers what an open invoice asks for first, then refunds, credits the balance or records
/// what was credited outside Stripe, exactly as its parameters say; a refused note changes nothing.
@Suite struct CreditNoteSimulatorTests {
    /// A customer with an open one-off invoice of `amount` cents: the customer's and the invoice's ids.
    static func openInvoice(_ simulator: StripeSimulator, amount: Int = 10_000) -> (customer: String, invoice: String) {
        let customer = simulator.post("/v1/customers", [("email", "ada@example.com"), ("name", "Ada")])["id"].string ?? ""
        return (customer, nextInvoice(simulator, customer: customer, amount: amount))
    }

    static func paidInvoice(_ simulator: StripeSimulator, amount: Int = 10_000) -> (customer: String, invoice: String) {
        let (customer, invoice) = openInvoice(simulator, amount: amount)
        _ = simulator.post("/v1/invoices/\(invoice)/pay", [("payment_method", "pm_card_visa")])
        return (customer, invoice)
    }

    @Test func aNoteOnAnOpenInvoiceLowersWhatItAsksForAndThePaymentChargesTheRest() throws {
        let simulator = makeSimulator()
        let (_, invoice) = Self.openInvoice(simulator)
        let before = simulator.eventTypes().count
        let note = simulator.post(
            "/v1/credit_notes", [("invoice", invoice), ("amount", "3000"), ("reason", "order_change"), ("memo", "Late delivery")])
        #expect(note["object"] == "credit_note")
        #expect(note["type"] == "pre_payment")
        #expect(note["pre_payment_amount"] == 3000)
        #expect(note["post_payment_amount"] == 0)
        #expect(note["status"] == "issued")
        #expect(note["number"].string?.hasSuffix("-CN-01") == true)
        #expect(note["memo"] == "Late delivery")
        let adjusted = simulator.get("/v1/invoices/\(invoice)")
        #expect(adjusted["status"] == "open")
        #expect(adjusted["amount_remaining"] == 7000)
        #expect(adjusted["amount_due"] == 7000)
        #expect(adjusted["pre_payment_credit_notes_amount"] == 3000)
        #expect(Array(simulator.eventTypes().dropFirst(before)) == ["invoice.updated", "credit_note.created"])

        let paid = simulator.post("/v1/invoices/\(invoice)/pay", [("payment_method", "pm_card_visa")])
        #expect(paid["status"] == "paid")
        #expect(paid["amount_paid"] == 7000)
        let charge = simulator.get("/v1/charges")["data"][0]
        #expect(charge["amount"] == 7000)
    }

    @Test func aNoteForAllAnOpenInvoiceAsksForPaysItWithNothingCharged() throws {
        let simulator = makeSimulator()
        let (_, invoice) = Self.openInvoice(simulator, amount: 5000)
        let before = simulator.eventTypes().count
        _ = simulator.post("/v1/credit_notes", [("invoice", invoice), ("amount", "5000")])
        let paid = simulator.get("/v1/invoices/\(invoice)")
        #expect(paid["status"] == "paid")
        #expect(paid["amount_paid"] == 0)
        #expect(paid["amount_remaining"] == 0)
        #expect(paid["status_transitions"]["paid_at"].int != nil)
        #expect(Array(simulator.eventTypes().dropFirst(before)) == ["invoice.updated", "invoice.paid", "credit_note.created"])
        #expect(simulator.get("/v1/charges")["data"].array?.isEmpty == true)
    }

    @Test func aNoteOnAPaidInvoiceRefundsCreditsTheBalanceAndRecordsWhatWasCreditedOutside() throws {
        let simulator = makeSimulator()
        let (customer, invoice) = Self.paidInvoice(simulator)
        let note = simulator.post(
            "/v1/credit_notes",
            [
                ("invoice", invoice), ("amount", "6000"), ("refund_amount", "2000"), ("credit_amount", "3000"),
                ("out_of_band_amount", "1000"),
            ])
        #expect(note["type"] == "post_payment")
        #expect(note["post_payment_amount"] == 6000)
        #expect(note["out_of_band_amount"] == 1000)
        #expect(note["customer_balance_transaction"].string?.hasPrefix("cbtxn_") == true)
        let refundID = try #require(note["refunds"][0]["refund"].string)
        #expect(note["refunds"][0]["amount_refunded"] == 2000)
        let refund = simulator.get("/v1/refunds/\(refundID)")
        #expect(refund["amount"] == 2000)
        #expect(refund["status"] == "succeeded")
        #expect(simulator.get("/v1/customers/\(customer)")["balance"] == -3000)
        #expect(simulator.get("/v1/invoices/\(invoice)")["post_payment_credit_notes_amount"] == 6000)

        // The next invoice takes the balance credit at finalisation.
        let next = Self.nextInvoice(simulator, customer: customer, amount: 5000)
        let finalized = simulator.get("/v1/invoices/\(next)")
        #expect(finalized["starting_balance"] == -3000)
        #expect(finalized["amount_due"] == 2000)
        #expect(simulator.get("/v1/customers/\(customer)")["balance"] == 0)
    }

    @Test func aMixedNoteTakesWhatIsLeftThenSettlesTheRest() throws {
        let simulator = makeSimulator()
        // A customer with a credit of 3,000: an invoice of 10,000 asks for 7,000.
        let customer =
            simulator.post("/v1/customers", [("email", "ada@example.com"), ("name", "Ada"), ("balance", "-3000")])["id"].string ?? ""
        let invoice = Self.nextInvoice(simulator, customer: customer, amount: 10_000)
        #expect(simulator.get("/v1/invoices/\(invoice)")["amount_remaining"] == 7000)
        // 7,000 is taken off; the other 2,000 goes back to the customer's balance.
        let mixed = simulator.post("/v1/credit_notes", [("invoice", invoice), ("amount", "9000"), ("credit_amount", "2000")])
        #expect(mixed["type"] == "mixed")
        #expect(mixed["pre_payment_amount"] == 7000)
        #expect(mixed["post_payment_amount"] == 2000)
        #expect(mixed["number"].string?.hasSuffix("-CN-01") == true)
        let paid = simulator.get("/v1/invoices/\(invoice)")
        #expect(paid["status"] == "paid")
        #expect(paid["amount_paid"] == 0)
        #expect(paid["pre_payment_credit_notes_amount"] == 7000)
        #expect(paid["post_payment_credit_notes_amount"] == 2000)
        #expect(simulator.get("/v1/customers/\(customer)")["balance"] == -2000)
        // What is left to credit on the invoice: 1,000.
        let over = simulator.call(
            "POST", "/v1/credit_notes", parameters: [("invoice", invoice), ("amount", "1001"), ("credit_amount", "1001")])
        #expect(over.status == 400)
        let last = simulator.post("/v1/credit_notes", [("invoice", invoice), ("amount", "1000"), ("out_of_band_amount", "1000")])
        #expect(last["type"] == "post_payment")
        #expect(last["number"].string?.hasSuffix("-CN-02") == true)
    }

    @Test func refusedNotesChangeNothing() throws {
        let simulator = makeSimulator()
        let (customer, invoice) = Self.paidInvoice(simulator)
        let events = simulator.eventTypes()
        let invoiceBefore = simulator.get("/v1/invoices/\(invoice)")
        let customerBefore = simulator.get("/v1/customers/\(customer)")
        let refused: [[(String, String)]] = [
            // After payment the parts must add up to the note.
            [("invoice", invoice), ("amount", "3000"), ("refund_amount", "1000"), ("credit_amount", "1000")],
            // Nothing said about the part after payment.
            [("invoice", invoice), ("amount", "3000")],
            // More than the invoice's total.
            [("invoice", invoice), ("amount", "10001"), ("out_of_band_amount", "10001")],
            // More refunded than the charge has left.
            [("invoice", invoice), ("amount", "3000"), ("refund_amount", "3000")],
            // Unknown reason, negative amount, no amount at all.
            [("invoice", invoice), ("amount", "1000"), ("credit_amount", "1000"), ("reason", "because")],
            [("invoice", invoice), ("amount", "1000"), ("credit_amount", "-1000")],
            [("invoice", invoice)],
        ]
        _ = simulator.post("/v1/refunds", [("charge", simulator.get("/v1/charges")["data"][0]["id"].string ?? ""), ("amount", "8000")])
        let afterRefund = simulator.eventTypes()
        for parameters in refused {
            let result = simulator.call("POST", "/v1/credit_notes", parameters: parameters)
            #expect(result.status == 400, "\(parameters)")
            #expect(result.json["error"]["type"] == "invalid_request_error")
            #expect(result.json["error"]["message"].string?.isEmpty == false)
        }
        #expect(simulator.eventTypes() == afterRefund)
        #expect(afterRefund.count == events.count + 2)
        #expect(simulator.get("/v1/invoices/\(invoice)") == invoiceBefore)
        #expect(simulator.get("/v1/customers/\(customer)") == customerBefore)
        #expect(simulator.get("/v1/credit_notes")["data"].array?.isEmpty == true)

        // A draft invoice takes no credit note.
        let draft = simulator.post("/v1/invoices", [("customer", customer)])["id"].string ?? ""
        let result = simulator.call("POST", "/v1/credit_notes", parameters: [("invoice", draft), ("amount", "100")])
        #expect(result.status == 400)
        #expect(result.json["error"]["param"] == "invoice")
    }

    @Test func voidingTakesBackTheAdjustmentsAndRefusesWhatCannotBeUndone() throws {
        let simulator = makeSimulator()
        let (customer, invoice) = Self.openInvoice(simulator)
        let note = simulator.post("/v1/credit_notes", [("invoice", invoice), ("amount", "2500")])
        let id = try #require(note["id"].string)
        let voided = simulator.post("/v1/credit_notes/\(id)/void")
        #expect(voided["status"] == "void")
        #expect(voided["voided_at"].int != nil)
        let restored = simulator.get("/v1/invoices/\(invoice)")
        #expect(restored["amount_remaining"] == 10_000)
        #expect(restored["pre_payment_credit_notes_amount"] == 0)
        #expect(simulator.eventTypes().suffix(2) == ["invoice.updated", "credit_note.voided"])
        #expect(simulator.call("POST", "/v1/credit_notes/\(id)/void").status == 400)

        // A note whose invoice was paid since, and one that refunded money, stay.
        let kept = simulator.post("/v1/credit_notes", [("invoice", invoice), ("amount", "1000")])["id"].string ?? ""
        _ = simulator.post("/v1/invoices/\(invoice)/pay", [("payment_method", "pm_card_visa")])
        #expect(simulator.call("POST", "/v1/credit_notes/\(kept)/void").status == 400)
        let refunded =
            simulator.post(
                "/v1/credit_notes", [("invoice", invoice), ("amount", "1000"), ("refund_amount", "1000")])["id"].string ?? ""
        #expect(simulator.call("POST", "/v1/credit_notes/\(refunded)/void").status == 400)
        // A balance credit is taken back from the balance.
        let credited =
            simulator.post(
                "/v1/credit_notes", [("invoice", invoice), ("amount", "1500"), ("credit_amount", "1500")])["id"].string ?? ""
        #expect(simulator.get("/v1/customers/\(customer)")["balance"] == -1500)
        _ = simulator.post("/v1/credit_notes/\(credited)/void")
        #expect(simulator.get("/v1/customers/\(customer)")["balance"] == 0)
        #expect(simulator.get("/v1/invoices/\(invoice)")["post_payment_credit_notes_amount"] == 1000)
    }

    @Test func linesListsAndUpdates() throws {
        let simulator = makeSimulator()
        let (customer, invoice) = Self.openInvoice(simulator)
        let lineID = try #require(simulator.get("/v1/invoices/\(invoice)")["lines"]["data"][0]["id"].string)
        let note = simulator.post(
            "/v1/credit_notes",
            [
                ("invoice", invoice), ("lines[0][type]", "invoice_line_item"), ("lines[0][invoice_line_item]", lineID),
                ("lines[0][amount]", "1000"), ("lines[1][type]", "custom_line_item"), ("lines[1][unit_amount]", "250"),
                ("lines[1][quantity]", "2"), ("lines[1][description]", "Goodwill"),
            ])
        #expect(note["amount"] == 1500)
        #expect(note["lines"]["data"].array?.map { $0["amount"] } == [1000, 500])
        #expect(note["lines"]["data"][0]["invoice_line_item"] == .string(lineID))
        let id = try #require(note["id"].string)
        #expect(simulator.get("/v1/credit_notes/\(id)/lines")["data"].array?.count == 2)
        let mismatch = simulator.call(
            "POST", "/v1/credit_notes",
            parameters: [
                ("invoice", invoice), ("amount", "999"), ("lines[0][type]", "custom_line_item"), ("lines[0][unit_amount]", "100"),
                ("lines[0][description]", "x"),
            ])
        #expect(mismatch.status == 400)

        _ = simulator.post("/v1/credit_notes", [("invoice", invoice), ("amount", "100")])
        let (_, other) = Self.openInvoice(simulator, amount: 2000)
        _ = simulator.post("/v1/credit_notes", [("invoice", other), ("amount", "100")])
        #expect(simulator.get("/v1/credit_notes", [("invoice", invoice)])["data"].array?.count == 2)
        #expect(simulator.get("/v1/credit_notes", [("customer", customer)])["data"].array?.count == 2)
        let page = simulator.get("/v1/credit_notes", [("limit", "2")])
        #expect(page["data"].array?.count == 2)
        #expect(page["has_more"] == true)

        let updated = simulator.post("/v1/credit_notes/\(id)", [("memo", "Goodwill gesture"), ("metadata[case]", "42")])
        #expect(updated["memo"] == "Goodwill gesture")
        #expect(updated["metadata"]["case"] == "42")
        let event = simulator.get("/v1/events", [("type", "credit_note.updated")])["data"][0]
        #expect(event["data"]["previous_attributes"]["memo"] == nil)
        #expect(simulator.call("POST", "/v1/credit_notes/\(id)", parameters: [("amount", "5")]).status == 400)
    }

    @Test func olderAPIVersionsRenderTheOlderShape() throws {
        let simulator = StripeSimulator(configuration: .init(apiVersion: "2024-06-20", idSeed: 42, now: { 1_750_000_000 }))
        let (_, invoice) = Self.paidInvoice(simulator)
        let note = simulator.post("/v1/credit_notes", [("invoice", invoice), ("amount", "1000"), ("refund_amount", "1000")])
        #expect(note["type"] == "post_payment")
        #expect(note["refund"].string?.hasPrefix("re_") == true)
        #expect(note["tax_amounts"] == [])
        #expect(note["pre_payment_amount"] == nil)
        #expect(note["refunds"] == nil)
        let event = simulator.get("/v1/events", [("type", "credit_note.created")])["data"][0]
        #expect(event["data"]["object"]["refund"] == note["refund"])
        // No mixed notes at these versions.
        let (_, open) = Self.openInvoice(simulator, amount: 2000)
        let mixed = simulator.call(
            "POST", "/v1/credit_notes", parameters: [("invoice", open), ("amount", "3000"), ("credit_amount", "1000")])
        #expect(mixed.status == 400)
    }

    /// A finalized one-off invoice of `amount` cents for `customer`.
    static func nextInvoice(_ simulator: StripeSimulator, customer: String, amount: Int) -> String {
        _ = simulator.post("/v1/invoiceitems", [("customer", customer), ("amount", String(amount)), ("currency", "usd")])
        let invoice =
            simulator.post("/v1/invoices", [("customer", customer), ("pending_invoice_items_behavior", "include")])["id"].string ?? ""
        _ = simulator.post("/v1/invoices/\(invoice)/finalize")
        return invoice
    }
}
