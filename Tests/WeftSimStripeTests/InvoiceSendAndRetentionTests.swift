import Synchronization
import Testing

@testable import WeftSimStripe

/// `POST /v1/invoices/:id/send` and the events API's 30 days, as Stripe documents them.
@Suite struct InvoiceSendAndRetentionTests {
    /// Only an invoice the customer pays by itself is sent by hand: a draft is finalized first, one charged
    /// automatically is refused and left as it was.
    @Test func onlyAnInvoiceToSendIsSentAndADraftIsFinalizedFirst() throws {
        let simulator = makeSimulator()
        let customer = simulator.post("/v1/customers", [("email", "ada@example.com")])["id"].string ?? ""
        let charged = simulator.post("/v1/invoices", [("customer", customer)])["id"].string ?? ""
        let refused = simulator.call("POST", "/v1/invoices/\(charged)/send")
        #expect(refused.status == 400)
        #expect(refused.json["error"]["message"] == "You can only manually send an invoice if its collection method is 'send_invoice'.")
        #expect(simulator.get("/v1/invoices/\(charged)")["status"] == "draft")

        let sent = simulator.post(
            "/v1/invoices", [("customer", customer), ("collection_method", "send_invoice"), ("days_until_due", "30")])
        let id = try #require(sent["id"].string)
        _ = simulator.post(
            "/v1/invoiceitems", [("customer", customer), ("invoice", id), ("unit_amount", "1000"), ("currency", "usd")])
        let answer = simulator.post("/v1/invoices/\(id)/send")
        #expect(answer["status"] == "open")
        #expect(answer["number"].string?.isEmpty == false)
        let types = simulator.eventTypes()
        #expect(types.last == "invoice.sent", "\(types)")
        #expect(types.contains("invoice.finalized"), "\(types)")
    }

    /// Events older than 30 days are neither listed, retrieved nor usable as a cursor; newer ones are.
    @Test func eventsAreKeptThirtyDays() throws {
        let clock = Mutex(1_750_000_000)
        let simulator = StripeSimulator(configuration: .init(idSeed: 42, now: { clock.withLock { $0 } }))
        _ = simulator.post("/v1/customers", [("name", "Old")])
        let old = try #require(simulator.get("/v1/events")["data"][0]["id"].string)
        clock.withLock { $0 += 30 * 86_400 }
        _ = simulator.post("/v1/customers", [("name", "New")])
        #expect(simulator.get("/v1/events")["data"].array?.count == 2, "exactly 30 days old is still kept")
        clock.withLock { $0 += 1 }
        let listed = simulator.get("/v1/events", [("created[gte]", "0")])["data"].array ?? []
        #expect(listed.count == 1)
        #expect(listed.first?["data"]["object"]["name"] == "New")
        let gone = simulator.call("GET", "/v1/events/\(old)")
        #expect(gone.status == 404)
        #expect(gone.json["error"]["code"] == "resource_missing")
        #expect(simulator.call("GET", "/v1/events", parameters: [("starting_after", old)]).status == 404)
    }
}
