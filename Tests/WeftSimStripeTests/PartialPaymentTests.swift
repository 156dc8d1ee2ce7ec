import Testing

@testable import WeftSimStripe

/// Partial payments of invoices (2025-05-28.basil on): PaymentIntents of their own, attached to an open invoice with
/// `attach_payment`, are credited to it; the invoice's own payment follows what is left, and the invoice is paid when
/// nothing is.
@Suite struct PartialPaymentTests {
    /// A finalized (open) one-off invoice of `amount` cents for a new customer: the customer and the invoice's id.
    static func openInvoice(_ simulator: StripeSimulator, amount: Int = 10_000) throws -> (customer: String, invoice: String) {
        let (customer, _) = simulator.seedCatalog()
        _ = simulator.post("/v1/invoiceitems", [("customer", customer), ("amount", String(amount)), ("currency", "usd")])
        let invoice = try #require(
            simulator.post("/v1/invoices", [("customer", customer), ("pending_invoice_items_behavior", "include")])["id"].string)
        #expect(simulator.post("/v1/invoices/\(invoice)/finalize")["status"] == "open")
        return (customer, invoice)
    }

    /// A PaymentIntent of `amount` cents for `customer`, confirmed with a card that succeeds.
    static func paidIntent(_ simulator: StripeSimulator, customer: String, amount: Int, currency: String = "usd") -> JSON {
        simulator.post(
            "/v1/payment_intents",
            [
                ("amount", String(amount)), ("currency", currency), ("customer", customer), ("payment_method", "pm_card_visa"),
                ("confirm", "true"),
            ])
    }

    static func payments(_ simulator: StripeSimulator, _ invoice: String) -> [JSON] {
        (simulator.get("/v1/invoice_payments", [("invoice", invoice)])["data"].array ?? []).reversed()
    }

    @Test func aPartialPaymentIsCreditedAndTheInvoicesOwnPaymentPaysTheRest() throws {
        let simulator = makeSimulator()
        let (customer, invoice) = try Self.openInvoice(simulator)
        let before = simulator.eventTypes().count
        let intent = Self.paidIntent(simulator, customer: customer, amount: 4000)
        #expect(intent["status"] == "succeeded")
        #expect(intent["amount_received"] == 4000)
        #expect(intent["latest_charge"].string?.hasPrefix("ch_") == true)
        let intentID = try #require(intent["id"].string)

        let attached = simulator.post("/v1/invoices/\(invoice)/attach_payment", [("payment_intent", intentID)])
        #expect(attached["status"] == "open")
        #expect(attached["amount_paid"] == 4000)
        #expect(attached["amount_remaining"] == 6000)
        #expect(
            Array(simulator.eventTypes().dropFirst(before)) == [
                "payment_intent.created", "charge.succeeded", "payment_intent.succeeded", "invoice.updated", "invoice_payment.paid",
            ])
        let partial = simulator.get("/v1/events", [("type", "invoice_payment.paid")])["data"][0]["data"]["object"]
        #expect(partial["is_default"] == false)
        #expect(partial["amount_paid"] == 4000)
        #expect(partial["payment"]["payment_intent"] == .string(intentID))
        #expect(partial["invoice"] == .string(invoice))

        // The invoice's own payment follows what is left: its record and its PaymentIntent.
        var records = Self.payments(simulator, invoice)
        #expect(records.map(\.["is_default"]) == [true, false])
        #expect(records[0]["status"] == "open")
        #expect(records[0]["amount_requested"] == 6000)
        let ownIntent = try #require(records[0]["payment"]["payment_intent"].string)
        #expect(simulator.get("/v1/payment_intents/\(ownIntent)")["amount"] == 6000)
        #expect(simulator.get("/v1/invoice_payments/\(partial["id"].string ?? "")")["status"] == "paid")

        let paid = simulator.post("/v1/invoices/\(invoice)/pay", [("payment_method", "pm_card_visa")])
        #expect(paid["status"] == "paid")
        #expect(paid["amount_paid"] == 10_000)
        #expect(paid["amount_remaining"] == 0)
        let charges = simulator.get("/v1/charges", [("customer", customer)])["data"].array ?? []
        #expect(charges.compactMap(\.["amount"].int).sorted() == [4000, 6000])
        records = Self.payments(simulator, invoice)
        #expect(records.map(\.["status"]) == ["paid", "paid"])
        #expect(records[0]["amount_paid"] == 6000)
        let last = simulator.get("/v1/events", [("type", "invoice_payment.paid")])["data"][0]["data"]["object"]
        #expect(last["is_default"] == true)
    }

    @Test func partialPaymentsThatCoverTheInvoicePayItAndCancelItsOwnPayment() throws {
        let simulator = makeSimulator()
        let (customer, invoice) = try Self.openInvoice(simulator)
        let ownIntent = try #require(Self.payments(simulator, invoice).first?["payment"]["payment_intent"].string)
        for amount in [5000, 5000] {
            let intent = try #require(Self.paidIntent(simulator, customer: customer, amount: amount)["id"].string)
            _ = simulator.post("/v1/invoices/\(invoice)/attach_payment", [("payment_intent", intent)])
        }
        let paid = simulator.get("/v1/invoices/\(invoice)")
        #expect(paid["status"] == "paid")
        #expect(paid["amount_paid"] == 10_000)
        #expect(paid["status_transitions"]["paid_at"].int != nil)
        #expect(Self.payments(simulator, invoice).map(\.["status"]) == ["canceled", "paid", "paid"])
        let own = simulator.get("/v1/payment_intents/\(ownIntent)")
        #expect(own["status"] == "canceled")
        #expect(own["amount_received"] == 0)
        #expect(
            Array(simulator.eventTypes().suffix(4)) == [
                "invoice.updated", "invoice_payment.paid", "invoice.paid", "invoice.payment_succeeded",
            ])
        let again = simulator.call("POST", "/v1/invoices/\(invoice)/pay", parameters: [("payment_method", "pm_card_visa")])
        #expect(again.status == 400)
    }

    /// A PaymentIntent attached before it succeeded is credited when it does; a declined confirmation credits nothing.
    @Test func anIntentAttachedBeforeItSucceedsIsCreditedWhenItDoes() throws {
        let simulator = makeSimulator()
        let (customer, invoice) = try Self.openInvoice(simulator)
        let intent = simulator.post(
            "/v1/payment_intents", [("amount", "2500"), ("currency", "usd"), ("customer", customer)])
        #expect(intent["status"] == "requires_payment_method")
        let intentID = try #require(intent["id"].string)
        let attached = simulator.post("/v1/invoices/\(invoice)/attach_payment", [("payment_intent", intentID)])
        #expect(attached["amount_paid"] == 0)
        #expect(Self.payments(simulator, invoice).map(\.["status"]) == ["open", "open"])

        let declined = simulator.call(
            "POST", "/v1/payment_intents/\(intentID)/confirm", parameters: [("payment_method", "pm_card_chargeDeclined")])
        #expect(declined.status == 402)
        #expect(declined.json["error"]["payment_intent"]["status"] == "requires_payment_method")
        #expect(simulator.get("/v1/invoices/\(invoice)")["amount_paid"] == 0)

        let confirmed = simulator.post("/v1/payment_intents/\(intentID)/confirm", [("payment_method", "pm_card_visa")])
        #expect(confirmed["status"] == "succeeded")
        let credited = simulator.get("/v1/invoices/\(invoice)")
        #expect(credited["amount_paid"] == 2500)
        #expect(credited["amount_remaining"] == 7500)
        #expect(Self.payments(simulator, invoice).map(\.["status"]) == ["open", "paid"])
    }

    /// Every refusal says what is wrong and changes nothing: the invoice keeps its amounts and payments.
    @Test func attachmentsStripeWouldRefuseAreRefusedAndChangeNothing() throws {
        let simulator = makeSimulator()
        let (customer, invoice) = try Self.openInvoice(simulator)
        let (other, otherInvoice) = try Self.openInvoice(simulator)
        let ownIntent = try #require(Self.payments(simulator, invoice).first?["payment"]["payment_intent"].string)
        let attachedOnce = try #require(Self.paidIntent(simulator, customer: customer, amount: 1000)["id"].string)
        _ = simulator.post("/v1/invoices/\(invoice)/attach_payment", [("payment_intent", attachedOnce)])
        let draft = try #require(simulator.post("/v1/invoices", [("customer", customer)])["id"].string)
        let state = simulator.get("/v1/invoices/\(invoice)")
        let records = Self.payments(simulator, invoice)

        let cases: [(invoice: String, parameters: [(String, String)], status: Int, says: String)] = [
            (
                invoice,
                [("payment_intent", Self.paidIntent(simulator, customer: customer, amount: 1000, currency: "eur")["id"].string ?? "")], 400,
                "currency"
            ),
            (invoice, [("payment_intent", Self.paidIntent(simulator, customer: other, amount: 1000)["id"].string ?? "")], 400, "customer"),
            (
                invoice, [("payment_intent", Self.paidIntent(simulator, customer: customer, amount: 9500)["id"].string ?? "")], 400,
                "amount_remaining"
            ),
            (invoice, [("payment_intent", attachedOnce)], 400, "already attached to invoice \(invoice)"),
            (otherInvoice, [("payment_intent", ownIntent)], 400, "already attached to invoice \(invoice)"),
            (invoice, [("payment_intent", "pi_missing")], 404, "No such payment_intent"),
            (invoice, [], 400, "payment_intent"),
            (invoice, [("payment_record", "prec_1")], 400, "does not simulate payment records"),
            (
                draft, [("payment_intent", Self.paidIntent(simulator, customer: customer, amount: 100)["id"].string ?? "")], 400,
                "open invoice"
            ),
        ]
        for refusal in cases {
            let result = simulator.call("POST", "/v1/invoices/\(refusal.invoice)/attach_payment", parameters: refusal.parameters)
            #expect(result.status == refusal.status, "\(refusal.parameters)")
            let message = result.json["error"]["message"].string ?? ""
            #expect(message.contains(refusal.says), "\(message)")
        }
        let after = simulator.get("/v1/invoices/\(invoice)")
        #expect(after["amount_paid"] == state["amount_paid"])
        #expect(after["amount_remaining"] == state["amount_remaining"])
        #expect(Self.payments(simulator, invoice).count == records.count)
        #expect(Self.payments(simulator, otherInvoice).count == 1)

        // The invoice's own PaymentIntent is confirmed by paying the invoice, not on its own.
        let own = simulator.call("POST", "/v1/payment_intents/\(ownIntent)/confirm", parameters: [("payment_method", "pm_card_visa")])
        #expect(own.status == 400)
        #expect(own.json["error"]["message"].string?.contains("/v1/invoices/\(invoice)/pay") == true)
        let missing = simulator.call("POST", "/v1/payment_intents", parameters: [("currency", "usd")])
        #expect(missing.status == 400)
        #expect(missing.json["error"]["param"] == "amount")
    }
}
