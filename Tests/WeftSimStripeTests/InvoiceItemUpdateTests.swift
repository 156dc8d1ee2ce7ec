import Testing

@testable import WeftSimStripe

/// Updating an invoice item on a draft invoice changes the invoice's line and totals with it (`invoice.updated`), as
/// in Stripe; every parameter the update takes does what it says, and a refused one changes nothing.
@Suite struct InvoiceItemUpdateTests {
    @Test func anItemsNewQuantityPriceAndAmountReachItsDraftInvoice() throws {
        let simulator = makeSimulator()
        let customer = simulator.post("/v1/customers", [("email", "ada@example.com"), ("name", "Ada")])["id"].string ?? ""
        let invoice = simulator.post("/v1/invoices", [("customer", customer)])["id"].string ?? ""
        let item = simulator.post(
            "/v1/invoiceitems",
            [("customer", customer), ("invoice", invoice), ("unit_amount", "1000"), ("quantity", "2"), ("currency", "usd")])
        let id = try #require(item["id"].string)
        #expect(simulator.get("/v1/invoices/\(invoice)")["total"] == 2000)

        // More of the same unit.
        let more = simulator.post("/v1/invoiceitems/\(id)", [("quantity", "3")])
        #expect(more["amount"] == 3000 && more["quantity"] == 3)
        var shown = simulator.get("/v1/invoices/\(invoice)")
        #expect(shown["total"] == 3000 && shown["amount_due"] == 3000)
        #expect(shown["lines"]["data"][0]["amount"] == 3000 && shown["lines"]["data"][0]["quantity"] == 3)
        let updated = try #require(simulator.get("/v1/events", [("type", "invoice.updated")])["data"].array?.first)
        #expect(updated["data"]["object"]["total"] == 3000)
        #expect(updated["data"]["previous_attributes"]["total"] == 2000)

        // Another unit price; then a price of the catalog.
        _ = simulator.post("/v1/invoiceitems/\(id)", [("unit_amount", "1500")])
        #expect(simulator.get("/v1/invoices/\(invoice)")["total"] == 4500)
        let product = simulator.post("/v1/products", [("name", "Seat")])["id"].string ?? ""
        let price = simulator.post("/v1/prices", [("product", product), ("unit_amount", "700"), ("currency", "usd")])["id"].string ?? ""
        let priced = simulator.post("/v1/invoiceitems/\(id)", [("price", price)])
        #expect(priced["amount"] == 2100)
        #expect(priced["pricing"]["price_details"]["price"] == .string(price))
        shown = simulator.get("/v1/invoices/\(invoice)")
        #expect(shown["total"] == 2100)
        #expect(shown["lines"]["data"][0]["pricing"]["price_details"]["product"] == .string(product))

        // A price in another currency is refused, and nothing changes.
        let euros = simulator.post("/v1/prices", [("product", product), ("unit_amount", "700"), ("currency", "eur")])["id"].string ?? ""
        let refused = simulator.post("/v1/invoiceitems/\(id)", [("price", euros), ("description", "changed")])
        #expect(refused["error"]["param"] == "price")
        #expect(simulator.get("/v1/invoiceitems/\(id)")["description"] != "changed")
        #expect(simulator.get("/v1/invoices/\(invoice)")["total"] == 2100)

        // Once finalized, the item can no longer change.
        _ = simulator.post("/v1/invoices/\(invoice)/finalize")
        #expect(simulator.post("/v1/invoiceitems/\(id)", [("quantity", "9")])["error"]["code"] == "invoice_not_editable")
    }
}
