import Testing

@testable import WeftSimStripe

@Suite struct StoryTests {
    /// Stripe refuses a bad `expand` before it changes anything: a client that retries after the 400 must not find a
    /// subscription (with its invoice, charge and events) made by the refused call.
    @Test func aBadExpandChangesNothing() throws {
        let simulator = makeSimulator()
        let (customer, price) = simulator.seedCatalog()
        let eventsBefore = simulator.eventTypes()
        let refused = simulator.call(
            "POST", "/v1/subscriptions",
            parameters: [("customer", customer), ("items[0][price]", price), ("expand[]", "latest_invoice.nothing")])
        #expect(refused.status == 400)
        #expect(refused.json["error"]["param"] == "expand")
        #expect(simulator.get("/v1/subscriptions")["data"].array?.isEmpty == true)
        #expect(simulator.get("/v1/invoices")["data"].array?.isEmpty == true)
        #expect(simulator.eventTypes() == eventsBefore)
        // The same call with a good `expand` succeeds.
        let created = simulator.post(
            "/v1/subscriptions", [("customer", customer), ("items[0][price]", price), ("expand[]", "latest_invoice")])
        #expect(created["latest_invoice"]["object"] == "invoice")
        #expect(simulator.get("/v1/subscriptions")["data"].array?.count == 1)
    }

    @Test func subscriptionCreatesPaidInvoiceWithStripeEventSequence() throws {
        let simulator = makeSimulator()
        let (customer, price) = simulator.seedCatalog()
        let subscription = simulator.post(
            "/v1/subscriptions",
            [("customer", customer), ("items[0][price]", price), ("items[0][quantity]", "2"), ("expand[]", "latest_invoice")])
        #expect(subscription["status"] == "active")
        let invoice = subscription["latest_invoice"]
        #expect(invoice["object"] == "invoice")
        #expect(invoice["status"] == "paid")
        #expect(invoice["amount_paid"] == 4000)
        #expect(invoice["billing_reason"] == "subscription_create")
        #expect(invoice["parent"]["subscription_details"]["subscription"] == subscription["id"])
        #expect(invoice["number"].string?.hasSuffix("-0001") == true)
        let types = simulator.eventTypes()
        #expect(
            types == [
                "customer.created", "product.created", "price.created", "customer.subscription.created",
                "invoice.created", "invoice.finalized", "payment_intent.created", "charge.succeeded",
                "payment_intent.succeeded", "invoice.updated", "invoice.paid", "invoice.payment_succeeded",
                "invoice_payment.paid", "customer.subscription.updated",
            ])
        let updated = simulator.get("/v1/events", [("type", "customer.subscription.updated")])["data"][0]
        #expect(updated["data"]["previous_attributes"] == ["status": "incomplete"])
        #expect(updated["data"]["object"]["status"] == "active")
        #expect(updated["request"]["id"].string?.hasPrefix("req_") == true)
        #expect(updated["api_version"] == "2026-07-29.dahlia")
        let payments = simulator.get("/v1/invoices/\(invoice["id"].string ?? "")", [("expand[]", "payments")])
        let intentID = try #require(payments["payments"]["data"][0]["payment"]["payment_intent"].string)
        let intent = simulator.get("/v1/payment_intents/\(intentID)")
        #expect(intent["status"] == "succeeded")
        #expect(intent["latest_charge"].string?.hasPrefix("ch_") == true)
    }

    @Test func declinedCardFailsWith402AndFailureEvents() throws {
        let simulator = makeSimulator()
        let (customer, _) = simulator.seedCatalog()
        _ = simulator.post("/v1/invoiceitems", [("customer", customer), ("amount", "1500"), ("currency", "usd")])
        let invoice = simulator.post("/v1/invoices", [("customer", customer), ("pending_invoice_items_behavior", "include")])
        #expect(invoice["status"] == "draft")
        #expect(invoice["amount_due"] == 1500)
        let id = try #require(invoice["id"].string)
        _ = simulator.post("/v1/invoices/\(id)/finalize")
        let failed = simulator.call(
            "POST", "/v1/invoices/\(id)/pay", parameters: [("payment_method", "pm_card_chargeDeclined")])
        #expect(failed.status == 402)
        #expect(failed.json["error"]["type"] == "card_error")
        #expect(failed.json["error"]["code"] == "card_declined")
        #expect(failed.json["error"]["decline_code"] == "generic_decline")
        let types = simulator.eventTypes()
        #expect(Array(types.suffix(4)) == ["charge.failed", "payment_intent.payment_failed", "invoice.updated", "invoice.payment_failed"])
        let after = simulator.get("/v1/invoices/\(id)")
        #expect(after["status"] == "open")
        #expect(after["attempt_count"] == 1)
        let paid = simulator.post("/v1/invoices/\(id)/pay", [("payment_method", "pm_card_visa")])
        #expect(paid["status"] == "paid")
    }

    @Test func testHelperMakesCustomerDecline() {
        let simulator = makeSimulator()
        let (customer, price) = simulator.seedCatalog()
        simulator.forcePaymentMethod("pm_card_chargeDeclinedInsufficientFunds", forCustomer: customer)
        let subscription = simulator.post("/v1/subscriptions", [("customer", customer), ("items[0][price]", price)])
        #expect(subscription["status"] == "incomplete")
        #expect(simulator.eventTypes().contains("invoice.payment_failed"))
    }

    @Test func refundUpdatesChargeAndEmitsEvents() throws {
        let simulator = makeSimulator()
        let (customer, price) = simulator.seedCatalog(amount: 5000)
        _ = simulator.post("/v1/subscriptions", [("customer", customer), ("items[0][price]", price)])
        let charge = try #require(simulator.get("/v1/charges")["data"][0]["id"].string)
        let partial = simulator.post("/v1/refunds", [("charge", charge), ("amount", "2000")])
        #expect(partial["status"] == "succeeded")
        #expect(partial["amount"] == 2000)
        var refreshed = simulator.get("/v1/charges/\(charge)")
        #expect(refreshed["amount_refunded"] == 2000)
        #expect(refreshed["refunded"] == false)
        let intent = try #require(refreshed["payment_intent"].string)
        _ = simulator.post("/v1/refunds", [("payment_intent", intent)])
        refreshed = simulator.get("/v1/charges/\(charge)")
        #expect(refreshed["refunded"] == true)
        let again = simulator.call("POST", "/v1/refunds", parameters: [("charge", charge)])
        #expect(again.status == 400)
        #expect(again.json["error"]["code"] == "charge_already_refunded")
        #expect(Array(simulator.eventTypes().suffix(4)) == ["refund.created", "charge.refunded", "refund.created", "charge.refunded"])
    }

    @Test func planChangeAlwaysInvoiceChargesProration() throws {
        let simulator = makeSimulator()
        let (customer, price) = simulator.seedCatalog(amount: 1000)
        let product = simulator.get("/v1/prices/\(price)")["product"].string ?? ""
        let bigger = simulator.post(
            "/v1/prices",
            [("product", product), ("unit_amount", "3000"), ("currency", "usd"), ("recurring[interval]", "month")])
        let subscription = simulator.post("/v1/subscriptions", [("customer", customer), ("items[0][price]", price)])
        let item = try #require(subscription["items"]["data"][0]["id"].string)
        let updated = simulator.post(
            "/v1/subscriptions/\(subscription["id"].string ?? "")",
            [("items[0][id]", item), ("items[0][price]", bigger["id"].string ?? ""), ("proration_behavior", "always_invoice")])
        #expect(updated["items"]["data"][0]["price"]["id"] == bigger["id"])
        let latest = simulator.get("/v1/invoices/\(updated["latest_invoice"].string ?? "")")
        #expect(latest["billing_reason"] == "subscription_update")
        #expect(latest["status"] == "paid")
        #expect(latest["amount_paid"] == 2000)
        let event = simulator.get("/v1/events", [("type", "customer.subscription.updated")])["data"][0]
        #expect(event["data"]["previous_attributes"]["items"]["data"][0]["price"]["id"] == .string(price))
    }

    @Test func cancelEmitsDeletedAndRenewalBillsNextPeriod() throws {
        let simulator = makeSimulator()
        let (customer, price) = simulator.seedCatalog()
        let subscription = simulator.post("/v1/subscriptions", [("customer", customer), ("items[0][price]", price)])
        let id = try #require(subscription["id"].string)
        let renewal = simulator.renewSubscription(id).json
        #expect(renewal["billing_reason"] == "subscription_cycle")
        #expect(renewal["status"] == "paid")
        // Stripe's own billing run: its events are automatic, `request.id` null; an API call's name its request.
        let created = simulator.get("/v1/events", [("type", "invoice.created")])["data"].array ?? []
        #expect(created.count == 2)
        #expect(created.first?["request"]["id"].isNull == true)
        #expect(created.last?["request"]["id"].string?.hasPrefix("req_") == true)
        let canceled = simulator.call("DELETE", "/v1/subscriptions/\(id)").json
        #expect(canceled["status"] == "canceled")
        #expect(simulator.eventTypes().last == "customer.subscription.deleted")
    }

    /// Since 2022-11-15 a charge does not list its refunds unless asked to (`expand[]=refunds`), in the API's answers
    /// and in events; before, it does.
    @Test(arguments: [("2026-07-29.dahlia", false), ("2022-08-01", true)])
    func aChargeListsItsRefundsOnlyBefore20221115(version: String, lists: Bool) throws {
        let simulator = StripeSimulator(configuration: .init(apiVersion: version, idSeed: 42, now: { 1_750_000_000 }))
        let (customer, price) = simulator.seedCatalog()
        _ = simulator.post("/v1/subscriptions", [("customer", customer), ("items[0][price]", price)])
        let chargeID = try #require(simulator.get("/v1/charges")["data"][0]["id"].string)
        let refund = simulator.post("/v1/refunds", [("charge", chargeID), ("amount", "500")])
        let charge = simulator.get("/v1/charges/\(chargeID)")
        let event = simulator.get("/v1/events", [("type", "charge.refunded")])["data"][0]["data"]["object"]
        #expect((charge.object?.keys.contains("refunds") ?? false) == lists)
        #expect((event.object?.keys.contains("refunds") ?? false) == lists)
        #expect(charge["amount_refunded"] == 500)
        let expanded = simulator.get("/v1/charges/\(chargeID)", [("expand[]", "refunds")])
        #expect(expanded["refunds"]["data"][0]["id"] == refund["id"])
        #expect(simulator.get("/v1/charges/\(chargeID)/refunds")["data"][0]["id"] == refund["id"])
    }

    /// A refused request changes nothing: no draft invoice is left behind by a bad parameter.
    @Test func aRefusedInvoiceCreationLeavesNoDraft() throws {
        let simulator = makeSimulator()
        let (customer, _) = simulator.seedCatalog()
        for bad in [("auto_advance", "maybe"), ("due_date", "soon"), ("pending_invoice_items_behavior", "sometimes")] {
            let answer = simulator.call("POST", "/v1/invoices", parameters: [("customer", customer), bad])
            #expect(answer.status == 400, "\(bad)")
        }
        #expect(simulator.get("/v1/invoices", [("customer", customer)])["data"].array?.isEmpty == true)
        #expect(!simulator.eventTypes().contains("invoice.created"))
    }

    /// Before 2025-03-31.basil an invoice names its payment itself: `paid`, the PaymentIntent finalizing created, the
    /// latest charge (a declined one too); charges and intents name their invoice; no `invoice_payment` events.
    @Test func beforeBasilInvoicesChargesAndIntentsNameEachOther() throws {
        let simulator = StripeSimulator(configuration: .init(apiVersion: "2023-08-16", idSeed: 42, now: { 1_750_000_000 }))
        let (customer, price) = simulator.seedCatalog()
        simulator.forcePaymentMethod("pm_card_chargeDeclined", forCustomer: customer)
        _ = simulator.call("POST", "/v1/subscriptions", parameters: [("customer", customer), ("items[0][price]", price)])
        let finalized = simulator.get("/v1/events", [("type", "invoice.finalized")])["data"][0]["data"]["object"]
        let intentID = try #require(finalized["payment_intent"].string)
        #expect(finalized["paid"] == false)
        #expect(simulator.get("/v1/payment_intents/\(intentID)")["invoice"] == finalized["id"])
        let failed = simulator.get("/v1/events", [("type", "invoice.payment_failed")])["data"][0]["data"]["object"]
        let chargeID = try #require(failed["charge"].string)
        #expect(simulator.get("/v1/charges/\(chargeID)")["invoice"] == finalized["id"])
        #expect(!simulator.eventTypes().contains("invoice_payment.paid"))
    }

    /// A list refuses a parameter it does not take, as Stripe does: a misspelled filter is an error, not everything.
    @Test func aListRefusesAnUnknownFilter() {
        let simulator = makeSimulator()
        _ = simulator.seedCatalog()
        let misspelled = simulator.call("GET", "/v1/events", parameters: [("created_gte", "1")])
        #expect(misspelled.status == 400)
        #expect(misspelled.json["error"]["code"] == "parameter_unknown")
        #expect(misspelled.json["error"]["param"] == "created_gte")
        #expect(simulator.call("GET", "/v1/events", parameters: [("created[gte]", "1"), ("limit", "5")]).status == 200)
        #expect(simulator.call("GET", "/v1/customers", parameters: [("email", "ada@example.com")]).status == 200)
        #expect(simulator.call("GET", "/v1/customers", parameters: [("customer", "cus_1")]).status == 400)
        // A filter Stripe takes but the simulator does not implement is refused as such, not ignored.
        let unimplemented = simulator.call("GET", "/v1/subscriptions", parameters: [("plan", "price_1")])
        #expect(unimplemented.status == 400)
        #expect(unimplemented.json["error"]["message"].string?.contains("does not filter /v1/subscriptions by `plan`") == true)
    }

    /// Stripe resolves each cursor (an unknown one is a 404), then refuses both together.
    @Test func bothCursorsAreRefused() throws {
        let simulator = makeSimulator()
        let ids = (0..<3).compactMap { simulator.post("/v1/customers", [("email", "c\($0)@example.com")])["id"].string }
        let both = simulator.call("GET", "/v1/customers", parameters: [("starting_after", ids[2]), ("ending_before", ids[0])])
        #expect(both.status == 400)
        #expect(
            both.json["error"]["message"]
                == "Received both starting_after and ending_before parameters. Please pass in only one.")
        #expect(both.json["error"]["code"].isNull)
        let unknown = simulator.call(
            "GET", "/v1/customers", parameters: [("starting_after", ids[2]), ("ending_before", "cus_missing")])
        #expect(unknown.status == 404)
        #expect(unknown.json["error"]["param"] == "ending_before")
    }

    @Test func idempotentReplayAndConflict() {
        let simulator = makeSimulator()
        let first = simulator.call("POST", "/v1/customers", parameters: [("email", "a@example.com")], idempotencyKey: "k1")
        let second = simulator.call("POST", "/v1/customers", parameters: [("email", "a@example.com")], idempotencyKey: "k1")
        #expect(first.status == 200)
        #expect(second.replayed)
        #expect(second.body == first.body)
        #expect(simulator.get("/v1/customers")["data"].array?.count == 1)
        let conflict = simulator.call("POST", "/v1/customers", parameters: [("email", "b@example.com")], idempotencyKey: "k1")
        #expect(conflict.status == 400)
        #expect(conflict.json["error"]["type"] == "idempotency_error")
        // The same parameters in another order are the same request.
        let named = simulator.call(
            "POST", "/v1/customers",
            parameters: [("name", "Ada"), ("email", "ada@example.com"), ("metadata[a]", "1"), ("metadata[b]", "2")],
            idempotencyKey: "k3")
        let reordered = simulator.call(
            "POST", "/v1/customers",
            parameters: [("metadata[b]", "2"), ("email", "ada@example.com"), ("metadata[a]", "1"), ("name", "Ada")],
            idempotencyKey: "k3")
        #expect(reordered.replayed)
        #expect(reordered.body == named.body)
        // Validation failures are not saved: the same key works once the request is valid.
        let invalid = simulator.call("POST", "/v1/subscriptions", parameters: [], idempotencyKey: "k2")
        #expect(invalid.status == 400)
        #expect(invalid.json["error"]["code"] == "parameter_missing")
        let (customer, price) = simulator.seedCatalog()
        let valid = simulator.call(
            "POST", "/v1/subscriptions", parameters: [("customer", customer), ("items[0][price]", price)],
            idempotencyKey: "k2")
        #expect(valid.status == 200)
        #expect(!valid.replayed)
        // Card errors are saved and replayed.
        simulator.forcePaymentMethod("pm_card_chargeDeclined", forCustomer: customer)
        _ = simulator.post("/v1/invoiceitems", [("customer", customer), ("amount", "100"), ("currency", "usd")])
        let draft = simulator.post("/v1/invoices", [("customer", customer), ("pending_invoice_items_behavior", "include")])
        let path = "/v1/invoices/\(draft["id"].string ?? "")/pay"
        let declined = simulator.call("POST", path, idempotencyKey: "pay-1")
        let replayed = simulator.call("POST", path, idempotencyKey: "pay-1")
        #expect(declined.status == 402)
        #expect(replayed.status == 402)
        #expect(replayed.replayed)
    }

    @Test func paginationIsNewestFirstWithCursors() throws {
        let simulator = makeSimulator()
        let ids = (0..<5).map { simulator.post("/v1/customers", [("name", "c\($0)")])["id"].string ?? "" }
        let first = simulator.get("/v1/customers", [("limit", "2")])
        #expect(first["object"] == "list")
        #expect(first["url"] == "/v1/customers")
        #expect(first["has_more"] == true)
        #expect(first["data"].array?.compactMap { $0["id"].string } == [ids[4], ids[3]])
        let second = simulator.get("/v1/customers", [("limit", "2"), ("starting_after", ids[3])])
        #expect(second["data"].array?.compactMap { $0["id"].string } == [ids[2], ids[1]])
        let last = simulator.get("/v1/customers", [("limit", "2"), ("starting_after", ids[1])])
        #expect(last["data"].array?.compactMap { $0["id"].string } == [ids[0]])
        #expect(last["has_more"] == false)
        let before = simulator.get("/v1/customers", [("limit", "2"), ("ending_before", ids[0])])
        #expect(before["data"].array?.compactMap { $0["id"].string } == [ids[2], ids[1]])
        #expect(before["has_more"] == true)
        let invalid = simulator.call("GET", "/v1/customers", parameters: [("limit", "101")])
        #expect(invalid.status == 400)
        let events = simulator.get("/v1/events", [("types[]", "customer.created"), ("limit", "3")])
        #expect(events["data"].array?.count == 3)
        let none = simulator.get("/v1/events", [("created[gt]", "1750000000")])
        #expect(none["data"].array?.isEmpty == true)
    }

    @Test func errorsUseStripeShapes() {
        let simulator = makeSimulator()
        let missing = simulator.call("GET", "/v1/customers/cus_nope")
        #expect(missing.status == 404)
        #expect(missing.json["error"]["code"] == "resource_missing")
        #expect(missing.json["error"]["param"] == "id")
        #expect(missing.json["error"]["message"] == "No such customer: 'cus_nope'")
        #expect(missing.json["error"]["doc_url"] == "https://stripe.com/docs/error-codes/resource-missing")
        let unknown = simulator.call("POST", "/v1/customers", parameters: [("colour", "red")])
        #expect(unknown.json["error"]["code"] == "parameter_unknown")
        let badInt = simulator.call("GET", "/v1/customers", parameters: [("limit", "ten")])
        #expect(badInt.json["error"]["code"] == "parameter_invalid_integer")
        let route = simulator.call("GET", "/v1/nothing")
        #expect(route.status == 404)
    }

    @Test func customerUpdateRecordsPreviousAttributes() throws {
        let simulator = makeSimulator()
        let customer = simulator.post("/v1/customers", [("email", "a@example.com"), ("metadata[tier]", "gold")])
        let id = try #require(customer["id"].string)
        _ = simulator.post("/v1/customers/\(id)", [("email", "b@example.com"), ("metadata[tier]", "platinum")])
        let event = simulator.get("/v1/events", [("type", "customer.updated")])["data"][0]
        #expect(event["data"]["previous_attributes"] == ["email": "a@example.com", "metadata": ["tier": "gold"]])
        let deleted = simulator.call("DELETE", "/v1/customers/\(id)").json
        #expect(deleted == ["id": .string(id), "object": "customer", "deleted": true])
        #expect(simulator.get("/v1/customers/\(id)")["deleted"] == true)
    }
}
