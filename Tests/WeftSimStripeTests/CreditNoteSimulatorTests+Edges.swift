import Testing

@testable import WeftSimStripe

/// Credit notes at their edges: the refund and payment objects a note touches, refusals that must change nothing,
/// idempotent replays, pagination and the shape older API versions render.
extension CreditNoteSimulatorTests {
    @Test func aRefundNoteRefundsTheInvoiceChargeAsARefundCallDoes() throws {
        let simulator = makeSimulator()
        let (_, invoice) = Self.paidInvoice(simulator)
        let charge = try #require(simulator.get("/v1/charges")["data"][0]["id"].string)
        let before = simulator.eventTypes().count
        let note = simulator.post(
            "/v1/credit_notes", [("invoice", invoice), ("amount", "2500"), ("refund_amount", "2500"), ("reason", "duplicate")])
        #expect(
            Array(simulator.eventTypes().dropFirst(before)) == [
                "refund.created", "charge.refunded", "invoice.updated", "credit_note.created",
            ])
        let refundID = try #require(note["refunds"][0]["refund"].string)
        #expect(note["refunds"].array?.count == 1)
        #expect(note["refunds"][0]["amount_refunded"] == 2500)
        #expect(note["refunds"][0]["type"] == "refund")
        #expect(note["refunds"][0].object?.keys.contains("payment_record_refund") == true)
        #expect(note["refunds"][0]["payment_record_refund"].isNull)
        #expect(note["customer_balance_transaction"].isNull)
        #expect(note["out_of_band_amount"].isNull)

        let refund = simulator.get("/v1/refunds/\(refundID)")
        #expect(refund["charge"] == .string(charge))
        #expect(refund["amount"] == 2500)
        #expect(refund["reason"] == "duplicate")
        let refunded = simulator.get("/v1/charges/\(charge)")
        #expect(refunded["amount_refunded"] == 2500)
        #expect(refunded["refunded"] == false)
        #expect(simulator.get("/v1/charges/\(charge)/refunds")["data"][0]["id"] == .string(refundID))
        // Nothing was owed any more: the invoice keeps what it was paid.
        let credited = simulator.get("/v1/invoices/\(invoice)")
        #expect(credited["status"] == "paid")
        #expect(credited["amount_paid"] == 10_000)
        #expect(credited["amount_remaining"] == 0)
        #expect(credited["post_payment_credit_notes_amount"] == 2500)
        #expect(credited["pre_payment_credit_notes_amount"] == 0)
    }

    @Test func aBalanceCreditIsACustomerUpdateWithThePreviousBalance() throws {
        let simulator = makeSimulator()
        let (customer, invoice) = Self.paidInvoice(simulator)
        _ = simulator.post("/v1/credit_notes", [("invoice", invoice), ("amount", "1200"), ("credit_amount", "1200")])
        let event = simulator.get("/v1/events", [("type", "customer.updated")])["data"][0]
        #expect(event["data"]["object"]["id"] == .string(customer))
        #expect(event["data"]["object"]["balance"] == -1200)
        #expect(event["data"]["previous_attributes"]["balance"] == 0)
    }

    @Test func aNoteThatPaysAnInvoiceCancelsItsOwnPayment() throws {
        let simulator = makeSimulator()
        let (_, invoice) = Self.openInvoice(simulator, amount: 5000)
        let intentID = try #require(
            simulator.get("/v1/invoice_payments", [("invoice", invoice)])["data"][0]["payment"]["payment_intent"].string)
        _ = simulator.post("/v1/credit_notes", [("invoice", invoice), ("amount", "5000")])
        let payment = simulator.get("/v1/invoice_payments", [("invoice", invoice)])["data"][0]
        #expect(payment["status"] == "canceled")
        #expect(payment["status_transitions"]["canceled_at"].int != nil)
        #expect(payment["amount_paid"].isNull)
        #expect(simulator.get("/v1/invoice_payments", [("invoice", invoice), ("status", "open")])["data"] == [])
        let intent = simulator.get("/v1/payment_intents/\(intentID)")
        #expect(intent["status"] == "canceled")
        #expect(intent["amount_received"] == 0)
        #expect(!simulator.eventTypes().contains("invoice.payment_succeeded"))
        #expect(simulator.call("POST", "/v1/invoices/\(invoice)/pay").status == 400)
    }

    @Test func voidingAsksForTheFullAmountAgain() throws {
        let simulator = makeSimulator()
        let (_, invoice) = Self.openInvoice(simulator)
        let intentID = try #require(
            simulator.get("/v1/invoice_payments", [("invoice", invoice)])["data"][0]["payment"]["payment_intent"].string)
        let note = try #require(
            simulator.post("/v1/credit_notes", [("invoice", invoice), ("amount", "4000")])["id"].string)
        #expect(simulator.get("/v1/payment_intents/\(intentID)")["amount"] == 6000)
        #expect(simulator.get("/v1/invoice_payments", [("invoice", invoice)])["data"][0]["amount_requested"] == 6000)

        let before = simulator.eventTypes().count
        let voided = simulator.post("/v1/credit_notes/\(note)/void")
        #expect(voided["status"] == "void")
        #expect(voided["pre_payment_amount"] == 4000)
        #expect(Array(simulator.eventTypes().dropFirst(before)) == ["invoice.updated", "credit_note.voided"])
        let updated = simulator.get("/v1/events", [("type", "invoice.updated")])["data"][0]
        #expect(updated["data"]["previous_attributes"]["amount_remaining"] == 6000)
        #expect(updated["data"]["previous_attributes"]["pre_payment_credit_notes_amount"] == 4000)
        let voidedEvent = simulator.get("/v1/events", [("type", "credit_note.voided")])["data"][0]["data"]["object"]
        #expect(voidedEvent["status"] == "void")
        #expect(voidedEvent["voided_at"] == voided["voided_at"])
        #expect(simulator.get("/v1/payment_intents/\(intentID)")["amount"] == 10_000)
        #expect(simulator.get("/v1/invoice_payments", [("invoice", invoice)])["data"][0]["amount_requested"] == 10_000)
        #expect(simulator.get("/v1/credit_notes/\(note)")["status"] == "void")

        // A void note no longer counts against the invoice's total, and paying charges the whole amount.
        let again = simulator.call("POST", "/v1/credit_notes", parameters: [("invoice", invoice), ("amount", "7000")])
        #expect(again.status == 200)
        #expect(again.json["number"].string?.hasSuffix("-CN-02") == true)
        _ = simulator.post("/v1/credit_notes/\(again.json["id"].string ?? "")/void")
        let paid = simulator.post("/v1/invoices/\(invoice)/pay", [("payment_method", "pm_card_visa")])
        #expect(paid["status"] == "paid")
        #expect(paid["amount_paid"] == 10_000)
        #expect(simulator.get("/v1/charges")["data"][0]["amount"] == 10_000)
    }

    @Test func aRefusalFoundLateStillChangesNothing() throws {
        let simulator = makeSimulator()
        let (customer, invoice) = Self.paidInvoice(simulator)
        let events = simulator.eventTypes()
        let invoiceBefore = simulator.get("/v1/invoices/\(invoice)")
        let customerBefore = simulator.get("/v1/customers/\(customer)")
        let chargeBefore = simulator.get("/v1/charges")["data"][0]
        let settled = [("invoice", invoice), ("amount", "2000"), ("refund_amount", "1000"), ("credit_amount", "1000")]
        for bad in [[("metadata", "oops")], [("metadata[order][id]", "42")], [("lines", "oops")]] {
            let result = simulator.call("POST", "/v1/credit_notes", parameters: settled + bad)
            #expect(result.status == 400, "\(bad)")
        }
        #expect(simulator.eventTypes() == events)
        #expect(simulator.get("/v1/invoices/\(invoice)") == invoiceBefore)
        #expect(simulator.get("/v1/customers/\(customer)") == customerBefore)
        #expect(simulator.get("/v1/charges")["data"][0] == chargeBefore)
        #expect(simulator.get("/v1/refunds")["data"] == [])
        #expect(simulator.get("/v1/credit_notes")["data"] == [])
    }

    @Test func invoicesThatAreNotFinalizedOrNoLongerOwedAndUnknownsAreRefused() throws {
        let simulator = makeSimulator()
        let (_, voided) = Self.openInvoice(simulator)
        _ = simulator.post("/v1/invoices/\(voided)/void")
        let (_, uncollectible) = Self.openInvoice(simulator)
        _ = simulator.post("/v1/invoices/\(uncollectible)/mark_uncollectible")
        for invoice in [voided, uncollectible] {
            let result = simulator.call("POST", "/v1/credit_notes", parameters: [("invoice", invoice), ("amount", "100")])
            #expect(result.status == 400)
            #expect(result.json["error"]["type"] == "invalid_request_error")
            #expect(result.json["error"]["param"] == "invoice")
        }
        let missing = simulator.call("POST", "/v1/credit_notes", parameters: [("invoice", "in_nope"), ("amount", "100")])
        #expect(missing.status == 404)
        #expect(missing.json["error"]["code"] == "resource_missing")
        #expect(missing.json["error"]["param"] == "invoice")
        let (_, open) = Self.openInvoice(simulator)
        let unknown = simulator.call(
            "POST", "/v1/credit_notes", parameters: [("invoice", open), ("amount", "100"), ("colour", "red")])
        #expect(unknown.status == 400)
        #expect(unknown.json["error"]["code"] == "parameter_unknown")
        #expect(unknown.json["error"]["param"] == "colour")
        let noInvoice = simulator.call("POST", "/v1/credit_notes", parameters: [("amount", "100")])
        #expect(noInvoice.json["error"]["code"] == "parameter_missing")
        #expect(simulator.call("GET", "/v1/credit_notes/cn_nope").status == 404)
        #expect(simulator.call("POST", "/v1/credit_notes/cn_nope/void").status == 404)
        #expect(simulator.get("/v1/credit_notes")["data"] == [])
    }

    @Test func anIdempotencyKeyIssuesOneNoteAndOneRefund() throws {
        let simulator = makeSimulator()
        let (_, invoice) = Self.paidInvoice(simulator)
        let parameters = [("invoice", invoice), ("amount", "1500"), ("refund_amount", "1500")]
        let first = simulator.call("POST", "/v1/credit_notes", parameters: parameters, idempotencyKey: "note-1")
        let events = simulator.eventTypes()
        let replay = simulator.call("POST", "/v1/credit_notes", parameters: parameters, idempotencyKey: "note-1")
        #expect(first.status == 200)
        #expect(replay.replayed)
        #expect(replay.json["id"] == first.json["id"])
        #expect(simulator.eventTypes() == events)
        #expect(simulator.get("/v1/credit_notes")["data"].array?.count == 1)
        #expect(simulator.get("/v1/refunds")["data"].array?.count == 1)
        let other = simulator.call(
            "POST", "/v1/credit_notes", parameters: [("invoice", invoice), ("amount", "1")], idempotencyKey: "note-1")
        #expect(other.status == 400)
        #expect(other.json["error"]["type"] == "idempotency_error")
    }

    @Test func listsPageNewestFirstAndFilter() throws {
        let simulator = makeSimulator()
        let (_, invoice) = Self.openInvoice(simulator)
        let ids = (1...3).map { _ in
            simulator.post("/v1/credit_notes", [("invoice", invoice), ("amount", "100")])["id"].string ?? ""
        }
        let ids2 = Array(ids.reversed())
        func page(_ parameters: [(String, String)]) -> (ids: [String], hasMore: Bool) {
            let list = simulator.get("/v1/credit_notes", parameters)
            return (list["data"].array?.compactMap { $0["id"].string } ?? [], list["has_more"] == true)
        }
        #expect(page([]).ids == ids2)
        #expect(page([("limit", "1")]) == ([ids2[0]], true))
        #expect(page([("limit", "1"), ("starting_after", ids2[0])]) == ([ids2[1]], true))
        #expect(page([("starting_after", ids2[1])]) == ([ids2[2]], false))
        #expect(page([("limit", "1"), ("ending_before", ids2[2])]) == ([ids2[1]], true))
        #expect(page([("ending_before", ids2[1])]) == ([ids2[0]], false))
        #expect(simulator.get("/v1/credit_notes")["url"] == "/v1/credit_notes")
        #expect(simulator.call("GET", "/v1/credit_notes", parameters: [("limit", "0")]).status == 400)
        let (otherCustomer, _) = Self.openInvoice(simulator)
        #expect(page([("customer", otherCustomer)]).ids == [])
        #expect(page([("invoice", "in_unknown")]).ids == [])

        let note = simulator.post(
            "/v1/credit_notes",
            [
                ("invoice", invoice), ("lines[0][type]", "custom_line_item"), ("lines[0][unit_amount]", "100"),
                ("lines[0][description]", "One"), ("lines[1][type]", "custom_line_item"), ("lines[1][unit_amount]", "200"),
                ("lines[1][description]", "Two"), ("lines[2][type]", "custom_line_item"), ("lines[2][unit_amount]", "300"),
                ("lines[2][quantity]", "2"), ("lines[2][description]", "Three"),
            ])
        #expect(note["amount"] == 900)
        let lineIDs = note["lines"]["data"].array?.compactMap { $0["id"].string } ?? []
        #expect(lineIDs.count == 3)
        #expect(lineIDs.allSatisfy { $0.hasPrefix("cnli_") })
        let noteID = note["id"].string ?? ""
        let first = simulator.get("/v1/credit_notes/\(noteID)/lines", [("limit", "2")])
        #expect(first["data"].array?.compactMap { $0["id"].string } == Array(lineIDs.prefix(2)))
        #expect(first["has_more"] == true)
        let rest = simulator.get("/v1/credit_notes/\(noteID)/lines", [("starting_after", lineIDs[1])])
        #expect(rest["data"].array?.compactMap { $0["id"].string } == [lineIDs[2]])
        #expect(rest["data"][0]["amount"] == 600)
        #expect(rest["data"][0]["unit_amount_decimal"] == "300")
        #expect(rest["url"] == .string("/v1/credit_notes/\(noteID)/lines"))
    }

    @Test func olderAPIVersionsRenderOlderLinesAndRefuseMixedNotesUnchanged() throws {
        let simulator = StripeSimulator(configuration: .init(apiVersion: "2024-06-20", idSeed: 42, now: { 1_750_000_000 }))
        let (customer, invoice) = Self.openInvoice(simulator, amount: 2000)
        let invoiceBefore = simulator.get("/v1/invoices/\(invoice)")
        let events = simulator.eventTypes()
        let mixed = simulator.call(
            "POST", "/v1/credit_notes", parameters: [("invoice", invoice), ("amount", "2500"), ("credit_amount", "500")])
        #expect(mixed.status == 400)
        #expect(simulator.get("/v1/invoices/\(invoice)") == invoiceBefore)
        #expect(simulator.get("/v1/customers/\(customer)")["balance"] == 0)
        #expect(simulator.eventTypes() == events)

        let note = simulator.post(
            "/v1/credit_notes",
            [
                ("invoice", invoice), ("lines[0][type]", "custom_line_item"), ("lines[0][unit_amount]", "250"),
                ("lines[0][quantity]", "2"), ("lines[0][description]", "Goodwill"),
            ])
        #expect(note["type"] == "pre_payment")
        let line = note["lines"]["data"][0]
        #expect(line["amount_excluding_tax"] == 500)
        #expect(line["unit_amount_excluding_tax"] == "250")
        #expect(line["tax_amounts"] == [])
        #expect(line.object?.keys.contains("taxes") == false)
        #expect(line.object?.keys.contains("pretax_credit_amounts") == false)
        let id = note["id"].string ?? ""
        #expect(simulator.get("/v1/credit_notes/\(id)/lines")["data"][0] == line)
        #expect(simulator.get("/v1/credit_notes/\(id)") == note)
        let voided = simulator.post("/v1/credit_notes/\(id)/void")
        let event = simulator.get("/v1/events", [("type", "credit_note.voided")])["data"][0]
        #expect(event["api_version"] == "2024-06-20")
        #expect(event["data"]["object"] == voided)
        #expect(voided["refund"].isNull)
        #expect(voided.object?.keys.contains("refunds") == false)
        #expect(voided["lines"]["data"][0]["tax_amounts"] == [])
        #expect(simulator.get("/v1/invoices/\(invoice)")["amount_remaining"] == 2000)
    }
}
