import Testing

@testable import WeftSimStripe

/// An invoice embeds its first 10 lines (`has_more` when there are more), wherever it is shown; the simulator keeps
/// every line, so totals cover them all and `GET /v1/invoices/:id/lines` pages through them.
@Suite struct InvoiceLineEmbeddingTests {
    /// A customer's draft invoice with `count` invoice items of 100, 200, … cents.
    static func draftInvoice(_ simulator: StripeSimulator, items count: Int) -> (customer: String, invoice: String) {
        let customer = simulator.post("/v1/customers", [("email", "ada@example.com"), ("name", "Ada")])["id"].string ?? ""
        let invoice = simulator.post("/v1/invoices", [("customer", customer)])["id"].string ?? ""
        for index in 1...count {
            _ = simulator.post(
                "/v1/invoiceitems",
                [("customer", customer), ("invoice", invoice), ("amount", String(index * 100)), ("currency", "usd")])
        }
        return (customer, invoice)
    }

    @Test func anInvoiceOfTwelveLinesEmbedsTenAndCountsTwelve() throws {
        let simulator = makeSimulator()
        let (customer, invoice) = Self.draftInvoice(simulator, items: 12)
        let finalized = simulator.post("/v1/invoices/\(invoice)/finalize")
        let allTwelve = (1...12).reduce(0) { $0 + $1 * 100 }
        for shown in [
            finalized, simulator.get("/v1/invoices/\(invoice)"),
            simulator.get("/v1/invoices", [("customer", customer)])["data"][0],
        ] {
            #expect(shown["lines"]["data"].array?.count == 10)
            #expect(shown["lines"]["has_more"] == true)
            #expect(shown["lines"]["total_count"] == 12)
            #expect(shown["total"] == .int(allTwelve))
            #expect(shown["amount_due"] == .int(allTwelve))
        }

        let events = simulator.get("/v1/events", [("type", "invoice.finalized")])["data"].array ?? []
        let object = try #require(events.first)["data"]["object"]
        #expect(object["lines"]["data"].array?.count == 10)
        #expect(object["lines"]["has_more"] == true)
        #expect(object["total"] == .int(allTwelve))

        var amounts: [Int] = []
        var after: String?
        repeat {
            var parameters = [("limit", "5")]
            if let after { parameters.append(("starting_after", after)) }
            let page = simulator.get("/v1/invoices/\(invoice)/lines", parameters)
            let data = page["data"].array ?? []
            amounts += data.compactMap { $0["amount"].int }
            after = page["has_more"] == true ? data.last?["id"].string : nil
        } while after != nil
        #expect(amounts == (1...12).map { $0 * 100 })
    }

    @Test func anUpdateShowsEarlierLinesAsTheyWereShown() throws {
        let simulator = makeSimulator()
        let (customer, invoice) = Self.draftInvoice(simulator, items: 11)
        _ = simulator.post(
            "/v1/invoiceitems", [("customer", customer), ("invoice", invoice), ("amount", "5000"), ("currency", "usd")])
        let updated = try #require(simulator.get("/v1/events", [("type", "invoice.updated")])["data"].array?.first)
        let object = updated["data"]["object"]
        let previous = updated["data"]["previous_attributes"]
        #expect(object["lines"]["data"].array?.count == 10)
        #expect(object["lines"]["total_count"] == 12)
        #expect(previous["lines"]["data"].array?.count == 10)
        #expect(previous["lines"]["has_more"] == true)
        #expect(previous["lines"]["total_count"] == 11)
        #expect(previous["total"] == .int((1...11).reduce(0) { $0 + $1 * 100 }))
    }

    @Test func aRenewalAndAnExpandedLatestInvoiceEmbedTenLines() throws {
        let simulator = makeSimulator()
        let (customer, price) = simulator.seedCatalog()
        let subscription = simulator.post("/v1/subscriptions", [("customer", customer), ("items[0][price]", price)])
        let id = try #require(subscription["id"].string)
        for _ in 1...11 {
            _ = simulator.post(
                "/v1/invoiceitems",
                [("customer", customer), ("subscription", id), ("amount", "100"), ("currency", "usd")])
        }
        let renewal = simulator.renewSubscription(id).json
        let expanded = simulator.get("/v1/subscriptions/\(id)", [("expand[]", "latest_invoice")])["latest_invoice"]
        for invoice in [renewal, expanded] {
            #expect(invoice["lines"]["data"].array?.count == 10)
            #expect(invoice["lines"]["has_more"] == true)
            #expect(invoice["lines"]["total_count"] == 12)
            #expect(invoice["amount_paid"] == 3100)
        }
    }
}
