import Testing

@testable import WeftSimStripe

/// `/v1/coupons` and the discounts they make: on invoices (`discounts[N][coupon]`) and subscriptions (applied by the
/// coupon's duration), with Stripe's amounts per line and per invoice; what the simulator does not implement is a 400
/// that says so.
@Suite struct DiscountTests {
    /// The error of a call that must fail.
    static func error(
        _ simulator: StripeSimulator, _ method: String, _ path: String, _ parameters: [(String, String)] = []
    ) -> (status: Int, error: JSON) {
        let result = simulator.call(method, path, parameters: parameters)
        return (result.status, result.json["error"])
    }

    static func customer(_ simulator: StripeSimulator) -> String {
        simulator.post("/v1/customers", [("email", "ada@example.com"), ("name", "Ada")])["id"].string ?? ""
    }

    @Test func couponsAreCreatedReadUpdatedListedAndDeleted() throws {
        let simulator = makeSimulator()
        let percent = simulator.post(
            "/v1/coupons",
            [
                ("id", "SPRING"), ("percent_off", "12.5"), ("duration", "repeating"), ("duration_in_months", "3"),
                ("name", "Spring"), ("metadata[campaign]", "s1"), ("max_redemptions", "5"),
            ])
        #expect(percent["id"] == "SPRING")
        #expect(percent["object"] == "coupon")
        #expect(percent["percent_off"] == .double(12.5))
        #expect(percent["amount_off"] == nil)
        #expect(percent["duration"] == "repeating")
        #expect(percent["duration_in_months"] == 3)
        #expect(percent["max_redemptions"] == 5)
        #expect(percent["times_redeemed"] == 0)
        #expect(percent["valid"] == true)
        #expect(percent["metadata"]["campaign"] == "s1")

        let amount = simulator.post("/v1/coupons", [("amount_off", "500"), ("currency", "USD")])
        let generated = try #require(amount["id"].string)
        #expect(generated.count == 8)
        #expect(amount["currency"] == "usd")
        #expect(amount["duration"] == "once")
        #expect(amount["percent_off"] == nil)

        #expect(simulator.get("/v1/coupons/SPRING") == percent)
        let updated = simulator.post("/v1/coupons/SPRING", [("name", "Spring sale"), ("metadata[campaign]", "")])
        #expect(updated["name"] == "Spring sale")
        #expect(updated["metadata"] == [:])
        #expect(updated["percent_off"] == .double(12.5))
        let listed = simulator.get("/v1/coupons")["data"].array?.compactMap { $0["id"].string }
        #expect(listed == [generated, "SPRING"])

        #expect(simulator.call("DELETE", "/v1/coupons/SPRING").json == ["id": "SPRING", "object": "coupon", "deleted": true])
        let gone = Self.error(simulator, "GET", "/v1/coupons/SPRING")
        #expect(gone.status == 404)
        #expect(gone.error["code"] == "resource_missing")
        #expect(gone.error["message"] == "No such coupon: 'SPRING'")
        #expect(Array(simulator.eventTypes().suffix(4)) == ["coupon.created", "coupon.created", "coupon.updated", "coupon.deleted"])
    }

    @Test func couponParametersAreCheckedAsStripeChecksThem() throws {
        let simulator = makeSimulator()
        _ = simulator.post("/v1/coupons", [("id", "TAKEN"), ("percent_off", "10")])
        let cases: [([(String, String)], String?, String)] = [
            ([("duration", "once")], "parameter_missing", "percent_off"),
            ([("percent_off", "10"), ("amount_off", "100"), ("currency", "usd")], "parameters_exclusive", "amount_off"),
            ([("percent_off", "0")], nil, "percent_off"),
            ([("percent_off", "100.5")], nil, "percent_off"),
            ([("amount_off", "100")], "parameter_missing", "currency"),
            ([("amount_off", "-1"), ("currency", "usd")], "parameter_invalid_integer", "amount_off"),
            ([("percent_off", "10"), ("duration", "repeating")], "parameter_missing", "duration_in_months"),
            ([("percent_off", "10"), ("duration_in_months", "3")], nil, "duration_in_months"),
            ([("percent_off", "10"), ("duration", "weekly")], nil, "duration"),
            ([("percent_off", "10"), ("id", "TAKEN")], "resource_already_exists", "id"),
            ([("percent_off", "10"), ("applies_to[products][0]", "prod_1")], nil, "applies_to"),
        ]
        for (parameters, code, param) in cases {
            let refused = Self.error(simulator, "POST", "/v1/coupons", parameters)
            #expect(refused.status == 400, "\(parameters)")
            #expect(refused.error["type"] == "invalid_request_error")
            #expect(refused.error["code"] == .from(code), "\(parameters)")
            #expect(refused.error["param"] == .string(param), "\(parameters)")
        }
        let terms = Self.error(simulator, "POST", "/v1/coupons/TAKEN", [("percent_off", "20")])
        #expect(terms.error["code"] == "parameter_unknown")
        #expect(simulator.get("/v1/coupons")["data"].array?.count == 1)
    }

    @Test func percentAndAmountOffDiscountEveryLineAndTheInvoice() throws {
        let simulator = makeSimulator()
        let customer = Self.customer(simulator)
        _ = simulator.post("/v1/coupons", [("id", "TWENTY"), ("percent_off", "20")])
        _ = simulator.post("/v1/coupons", [("id", "FIVE"), ("amount_off", "500"), ("currency", "usd")])
        for amount in ["1000", "2500", "3333"] {
            _ = simulator.post("/v1/invoiceitems", [("customer", customer), ("amount", amount), ("currency", "usd")])
        }
        let draft = simulator.post(
            "/v1/invoices",
            [
                ("customer", customer), ("pending_invoice_items_behavior", "include"),
                ("discounts[0][coupon]", "TWENTY"), ("discounts[1][coupon]", "FIVE"),
            ])
        let invoiceID = try #require(draft["id"].string)
        let discountIDs = try #require(draft["discounts"].array?.compactMap { $0.string })
        #expect(discountIDs.count == 2)
        #expect(discountIDs.allSatisfy { $0.hasPrefix("di_") })
        let (twenty, five) = (discountIDs[0], discountIDs[1])

        // 20 %: 200, 500, 666.6 → 667; 5.00 off the 800, 2000, 2666 left: 73.2 → 73, 182.9 → 183, rest 244.
        let lines = try #require(draft["lines"]["data"].array)
        let expected = [[200, 73], [500, 183], [667, 244]]
        for (line, amounts) in zip(lines, expected) {
            #expect(
                line["discount_amounts"]
                    == [
                        ["amount": .int(amounts[0]), "discount": .string(twenty)], ["amount": .int(amounts[1]), "discount": .string(five)],
                    ])
        }
        #expect(
            draft["total_discount_amounts"]
                == [["amount": 1367, "discount": .string(twenty)], ["amount": 500, "discount": .string(five)]])
        #expect(draft["subtotal"] == 6833)
        #expect(draft["total_excluding_tax"] == 4966)
        #expect(draft["total"] == 4966)
        #expect(draft["amount_due"] == 4966)

        let discount = simulator.get("/v1/invoices/\(invoiceID)", [("expand[]", "discounts")])["discounts"][0]
        #expect(discount["object"] == "discount")
        #expect(discount["id"] == .string(twenty))
        #expect(discount["source"] == ["coupon": "TWENTY", "type": "coupon"])
        #expect(discount["invoice"] == .string(invoiceID))
        #expect(discount["customer"] == .string(customer))
        #expect(simulator.get("/v1/coupons/TWENTY")["times_redeemed"] == 1)

        let paid = simulator.post("/v1/invoices/\(invoiceID)/pay", [("payment_method", "pm_card_visa")])
        #expect(paid["status"] == "paid")
        #expect(paid["amount_paid"] == 4966)
        #expect(paid["amount_remaining"] == 0)
        #expect(simulator.get("/v1/charges")["data"][0]["amount"] == 4966)
    }

    @Test func aDraftsDiscountsAreReplacedByAnUpdateAndFixedOnceFinalized() throws {
        let simulator = makeSimulator()
        let customer = Self.customer(simulator)
        _ = simulator.post("/v1/coupons", [("id", "HALF"), ("percent_off", "50")])
        let draft = simulator.post("/v1/invoices", [("customer", customer)])
        let invoiceID = try #require(draft["id"].string)
        _ = simulator.post(
            "/v1/invoiceitems", [("customer", customer), ("invoice", invoiceID), ("amount", "3001"), ("currency", "usd")])
        let discounted = simulator.post("/v1/invoices/\(invoiceID)", [("discounts[0][coupon]", "HALF")])
        #expect(discounted["total"] == 1500)
        #expect(discounted["lines"]["data"][0]["discount_amounts"][0]["amount"] == 1501)
        let cleared = simulator.post("/v1/invoices/\(invoiceID)", [("discounts", "")])
        #expect(cleared["discounts"] == [])
        #expect(cleared["total"] == 3001)
        #expect(cleared["lines"]["data"][0]["discount_amounts"] == [])
        _ = simulator.post("/v1/invoices/\(invoiceID)", [("discounts[0][coupon]", "HALF")])
        _ = simulator.post("/v1/invoices/\(invoiceID)/finalize")
        let refused = Self.error(simulator, "POST", "/v1/invoices/\(invoiceID)", [("discounts", "")])
        #expect(refused.error["code"] == "invoice_not_editable")
        #expect(refused.error["param"] == "discounts")

        // A note can credit at most the discounted total; a line-based note on a discounted line is not simulated.
        let tooMuch = Self.error(simulator, "POST", "/v1/credit_notes", [("invoice", invoiceID), ("amount", "1501")])
        #expect(tooMuch.status == 400)
        #expect(tooMuch.error["param"] == "amount")
        let lineID = try #require(simulator.get("/v1/invoices/\(invoiceID)")["lines"]["data"][0]["id"].string)
        let byLine = Self.error(
            simulator, "POST", "/v1/credit_notes",
            [
                ("invoice", invoiceID), ("lines[0][type]", "invoice_line_item"), ("lines[0][invoice_line_item]", lineID),
                ("lines[0][amount]", "100"),
            ])
        #expect(byLine.status == 400)
        #expect(byLine.error["message"].string?.contains("does not implement") == true)
        let note = simulator.post("/v1/credit_notes", [("invoice", invoiceID), ("amount", "1500")])
        #expect(note["total"] == 1500)
        #expect(simulator.get("/v1/invoices/\(invoiceID)")["status"] == "paid")
    }

    @Test func aOnceCouponDiscountsASubscriptionsFirstInvoiceOnly() throws {
        let simulator = makeSimulator()
        let (customer, price) = simulator.seedCatalog(amount: 2000)
        _ = simulator.post("/v1/coupons", [("id", "WELCOME"), ("percent_off", "25")])
        let subscription = simulator.post(
            "/v1/subscriptions",
            [
                ("customer", customer), ("items[0][price]", price), ("discounts[0][coupon]", "WELCOME"),
                ("expand[]", "latest_invoice"),
            ])
        let id = try #require(subscription["id"].string)
        let discountID = try #require(subscription["discounts"][0].string)
        let first = subscription["latest_invoice"]
        #expect(first["discounts"] == [.string(discountID)])
        #expect(first["total"] == 1500)
        #expect(first["amount_paid"] == 1500)
        #expect(first["status"] == "paid")
        let discount = simulator.get("/v1/subscriptions/\(id)", [("expand[]", "discounts")])["discounts"][0]
        #expect(discount["subscription"] == .string(id))
        #expect(discount["invoice"] == nil)

        let renewal = simulator.renewSubscription(id).json
        #expect(renewal["discounts"] == [])
        #expect(renewal["total_discount_amounts"] == [])
        #expect(renewal["total"] == 2000)
        #expect(renewal["amount_paid"] == 2000)
    }

    @Test func aRepeatingCouponDiscountsTheInvoicesWithinItsMonths() throws {
        let simulator = makeSimulator()
        let (customer, price) = simulator.seedCatalog(amount: 2000)
        _ = simulator.post(
            "/v1/coupons",
            [
                ("id", "TWOMONTHS"), ("amount_off", "300"), ("currency", "usd"), ("duration", "repeating"),
                ("duration_in_months", "2"),
            ])
        let subscription = simulator.post(
            "/v1/subscriptions",
            [("customer", customer), ("items[0][price]", price), ("discounts[0][coupon]", "TWOMONTHS")])
        let id = try #require(subscription["id"].string)
        let second = simulator.renewSubscription(id).json
        let third = simulator.renewSubscription(id).json
        #expect(simulator.get("/v1/invoices/\(subscription["latest_invoice"].string ?? "")")["total"] == 1700)
        #expect(second["total"] == 1700)
        #expect(third["total"] == 2000)
    }

    @Test func discountsTheSimulatorDoesNotImplementAreRefusedAndSayWhy() throws {
        let simulator = makeSimulator()
        let customer = Self.customer(simulator)
        _ = simulator.post("/v1/coupons", [("id", "EUROS"), ("amount_off", "500"), ("currency", "eur")])
        let refusals: [(String, [(String, String)], String)] = [
            (
                "/v1/invoices", [("customer", customer), ("discounts[0][promotion_code]", "promo_1")],
                "discounts[0][promotion_code]"
            ),
            ("/v1/invoices", [("customer", customer), ("discounts[0][discount]", "di_1")], "discounts[0][discount]"),
            (
                "/v1/invoiceitems",
                [("customer", customer), ("amount", "100"), ("currency", "usd"), ("discounts[0][coupon]", "EUROS")],
                "discounts"
            ),
            ("/v1/customers", [("coupon", "EUROS")], "coupon"),
            ("/v1/customers/\(customer)", [("promotion_code", "promo_1")], "promotion_code"),
        ]
        for (path, parameters, param) in refusals {
            let refused = Self.error(simulator, "POST", path, parameters)
            #expect(refused.status == 400, "\(path) \(param)")
            #expect(refused.error["type"] == "invalid_request_error")
            #expect(refused.error["param"] == .string(param))
            #expect(refused.error["message"].string?.contains("simulator does not implement `\(param)`") == true)
        }
        let missing = Self.error(simulator, "POST", "/v1/invoices", [("customer", customer), ("discounts[0][coupon]", "NOPE")])
        #expect(missing.status == 400)
        #expect(missing.error["code"] == "resource_missing")
        #expect(missing.error["param"] == "discounts[0][coupon]")
        #expect(missing.error["message"] == "No such coupon: 'NOPE'")
        let currency = Self.error(simulator, "POST", "/v1/invoices", [("customer", customer), ("discounts[0][coupon]", "EUROS")])
        #expect(currency.status == 400)
        #expect(currency.error["param"] == "discounts[0][coupon]")
        // Nothing was left behind: no draft, no redemption.
        #expect(simulator.get("/v1/invoices")["data"] == [])
        #expect(simulator.get("/v1/coupons/EUROS")["times_redeemed"] == 0)
    }
}
