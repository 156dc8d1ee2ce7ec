import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import WeftSimKit

@testable import WeftSimChargebee

@Suite struct ChargebeeSimulatorWireTests {
    private func app(_ simulator: ChargebeeSimulator) -> some ApplicationProtocol {
        let router = Router()
        simulator.addRoutes(to: router)
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    static let key: HTTPFields = [.authorization: "Basic " + Data("test_weft_key:".utf8).base64EncodedString()]

    @Test func basicAuthWithTheKeyAsUserName() async throws {
        try await app(makeSimulator()).test(.live) { client in
            let anonymous = try await client.execute(uri: "/api/v2/customers", method: .get)
            #expect(anonymous.status == .unauthorized)
            let body = J(bytes: anonymous.body.readableBytesView)
            #expect(body["api_error_code"].string == "api_authentication_failed")
            #expect(body["error_code"].string == "api_authentication_invalid_key")
            #expect(body["http_status_code"].int == 401)
            #expect(body["message"].string == "Sorry, authentication failed. Invalid api key")
            let wrong = try await client.execute(
                uri: "/api/v2/customers", method: .get,
                headers: [.authorization: "Basic " + Data("other_key:".utf8).base64EncodedString()])
            #expect(wrong.status == .unauthorized)
            let bearer = try await client.execute(
                uri: "/api/v2/customers", method: .get, headers: [.authorization: "Bearer test_weft_key"])
            #expect(bearer.status == .unauthorized)
            let good = try await client.execute(uri: "/api/v2/customers", method: .get, headers: Self.key)
            #expect(good.status == .ok)
            #expect(J(bytes: good.body.readableBytesView)["list"].array.isEmpty)
        }
    }

    @Test func formBodiesWithBracketsAndIdempotency() async throws {
        try await app(makeSimulator()).test(.live) { client in
            var headers = Self.key
            headers[.contentType] = "application/x-www-form-urlencoded"
            headers[HTTPField.Name("chargebee-idempotency-key")!] = "create-ada"
            let form =
                "first_name=Ada&last_name=Lovelace&email=ada%40example.com&billing_address[line1]=1+Main+St"
                + "&billing_address%5Bcity%5D=London&billing_address[country]=GB"
            let created = try await client.execute(
                uri: "/api/v2/customers", method: .post, headers: headers, body: ByteBuffer(string: form))
            #expect(created.status == .ok)
            let customer = J(bytes: created.body.readableBytesView)["customer"]
            #expect(customer["email"].string == "ada@example.com")
            #expect(customer["billing_address"]["line1"].string == "1 Main St")
            #expect(customer["billing_address"]["city"].string == "London")
            #expect(customer["object"].string == "customer")
            #expect((customer["resource_version"].int ?? 0) >= 1_750_000_000_000)
            let replay = try await client.execute(
                uri: "/api/v2/customers", method: .post, headers: headers, body: ByteBuffer(string: form))
            #expect(replay.headers[HTTPField.Name("chargebee-idempotency-replayed")!] == "true")
            #expect(J(bytes: replay.body.readableBytesView)["customer"]["id"].string == customer["id"].string)
            // The same key with another payload: the spec's 422, nothing created.
            let reused = try await client.execute(
                uri: "/api/v2/customers", method: .post, headers: headers, body: ByteBuffer(string: "first_name=Grace"))
            #expect(reused.status == .unprocessableContent)
            let refusal = J(bytes: reused.body.readableBytesView)
            #expect(refusal["api_error_code"].string == "unable_to_process_request")
            #expect(refusal["type"].string == "invalid_request")
            #expect(refusal["param"].string == "chargebee-idempotency-key")

            let id = customer["id"].string ?? ""
            headers[HTTPField.Name("chargebee-idempotency-key")!] = nil
            let items =
                "subscription_items[item_price_id][0]=pro-USD-monthly&subscription_items[quantity][0]=2"
            let subscribed = try await client.execute(
                uri: "/api/v2/customers/\(id)/subscription_for_items", method: .post, headers: headers,
                body: ByteBuffer(string: items))
            #expect(subscribed.status == .ok)
            let answer = J(bytes: subscribed.body.readableBytesView)
            #expect(answer["subscription"]["subscription_items"][0]["quantity"].int == 2)
            #expect(answer["invoice"]["total"].int == 6000)
            #expect(answer["customer"]["id"].string == id)

            let missing = try await client.execute(
                uri: "/api/v2/customers/\(id)/subscription_for_items", method: .post, headers: headers,
                body: ByteBuffer(string: "subscription_items[item_price_id][0]=nope"))
            #expect(missing.status == .notFound)
            #expect(J(bytes: missing.body.readableBytesView)["api_error_code"].string == "resource_not_found")
            let unknown = try await client.execute(uri: "/api/v2/customers/nobody", method: .get, headers: Self.key)
            #expect(unknown.status == .notFound)
        }
    }

    @Test func perMinuteRateLimitAnswers429() async throws {
        let clock = TestClock()
        try await app(makeSimulator(clock: clock, requestsPerMinute: 2)).test(.live) { client in
            for _ in 0..<2 {
                #expect(try await client.execute(uri: "/api/v2/customers", method: .get, headers: Self.key).status == .ok)
            }
            let limited = try await client.execute(uri: "/api/v2/customers", method: .get, headers: Self.key)
            #expect(limited.status == .tooManyRequests)
            let body = J(bytes: limited.body.readableBytesView)
            #expect(body["api_error_code"].string == "api_request_limit_exceeded")
            #expect(body["type"].string == "operation_failed")
            clock.advance(60)
            #expect(try await client.execute(uri: "/api/v2/customers", method: .get, headers: Self.key).status == .ok)
        }
    }

    @Test func injectedFaultsUseChargebeesErrorBody() async throws {
        let simulator = makeSimulator()
        simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 503))
        try await app(simulator).test(.live) { client in
            let response = try await client.execute(uri: "/api/v2/events", method: .get, headers: Self.key)
            #expect(response.status == .serviceUnavailable)
            #expect(J(bytes: response.body.readableBytesView)["api_error_code"].string == "internal_temporary_error")
        }
    }

    @Test func eventsPaginateWithOffsetAndFilters() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        for index in 0..<5 {
            _ = simulator.post("/api/v2/customers", [("email", "c\(index)@example.com")])
            clock.advance(1)
        }
        try await app(simulator).test(.live) { client in
            var seen: [String] = []
            var offset: String?
            var pages = 0
            repeat {
                var uri = "/api/v2/events?limit=2&sort_by%5Basc%5D=occurred_at&occurred_at%5Bafter%5D=1750000000"
                if let offset { uri += "&offset=" + (offset.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") }
                let response = try await client.execute(uri: uri, method: .get, headers: Self.key)
                #expect(response.status == .ok)
                let page = J(bytes: response.body.readableBytesView)
                seen += page["list"].array.compactMap { $0["event"]["content"]["customer"]["email"].string }
                offset = page["next_offset"].string
                pages += 1
            } while offset != nil && pages < 10
            // `after` is strict: the event at 1750000000 is left out.
            #expect(seen == ["c1@example.com", "c2@example.com", "c3@example.com", "c4@example.com"])
            #expect(pages == 2)
            let newest = try await client.execute(uri: "/api/v2/events?limit=1", method: .get, headers: Self.key)
            let event = J(bytes: newest.body.readableBytesView)["list"][0]["event"]
            #expect(event["content"]["customer"]["email"].string == "c4@example.com")
            #expect(event["id"].string?.hasPrefix("ev_") == true)
            #expect(event["api_version"].string == "v2")
            #expect(event["object"].string == "event")
        }
    }
}

@Suite struct ChargebeeSimulatorBillingTests {
    @Test func subscriptionInvoicesAndPaysAtOnce() {
        let simulator = makeSimulator()
        let (customer, subscription, invoiceID) = simulator.subscribe()
        let invoice = simulator.get("/api/v2/invoices/\(invoiceID)")["invoice"]
        #expect(invoice["status"].string == "paid")
        #expect(invoice["total"].int == 3000)
        #expect(invoice["amount_paid"].int == 3000)
        #expect(invoice["amount_due"].int == 0)
        #expect(invoice["line_items"][0]["entity_id"].string == "pro-USD-monthly")
        #expect(invoice["linked_payments"][0]["txn_status"].string == "success")
        let sub = simulator.get("/api/v2/subscriptions/\(subscription)")["subscription"]
        #expect(sub["status"].string == "active")
        #expect(sub["customer_id"].string == customer)
        // 2025-06-15T15:06:40Z plus one calendar month.
        #expect(sub["current_term_end"].int == 1_750_000_000 + 30 * 86_400)
        #expect(
            simulator.eventTypes() == [
                "customer_created", "subscription_created", "invoice_generated", "payment_succeeded",
            ])
        let payment = simulator.lastEvent("payment_succeeded")["content"]
        #expect(payment.keys == ["transaction", "invoice", "customer", "subscription"])
        #expect(payment["transaction"]["linked_invoices"][0]["invoice_id"].string == invoiceID)
    }

    @Test func declinedFirstChargeCreatesNothing() {
        let simulator = makeSimulator()
        let customer = simulator.post("/api/v2/customers", [("email", "x@example.com")]).json["customer"]["id"].string ?? ""
        simulator.setPaymentOutcome(.decline, forCustomer: customer)
        let result = simulator.post(
            "/api/v2/customers/\(customer)/subscription_for_items",
            [("subscription_items[item_price_id][0]", "pro-USD-monthly")])
        #expect(result.status == 402)
        #expect(result.json["api_error_code"].string == "payment_processing_failed")
        #expect(result.json["type"].string == "payment")
        #expect(simulator.get("/api/v2/subscriptions")["list"].array.isEmpty)
        #expect(simulator.eventTypes() == ["customer_created"])
    }

    @Test func failedRenewalDunsThenRecovers() {
        let simulator = makeSimulator()
        let (customer, subscription, _) = simulator.subscribe()
        let outcome = simulator.post("/__sim/customers/\(customer)/payment_outcome", [("outcome", "decline")])
        #expect(outcome.status == 200)
        let renewed = simulator.renewSubscription(subscription)
        #expect(renewed.status == 200)
        let invoiceID = J(bytes: renewed.body)["invoice"]["id"].string ?? ""
        var invoice = simulator.get("/api/v2/invoices/\(invoiceID)")["invoice"]
        #expect(invoice["status"].string == "payment_due")
        #expect(invoice["dunning_status"].string == "in_progress")
        #expect(invoice["amount_due"].int == 3000)
        var sub = simulator.get("/api/v2/subscriptions/\(subscription)")["subscription"]
        #expect(sub["status"].string == "active")
        #expect(sub["due_invoices_count"].int == 1)
        let failed = simulator.lastEvent("payment_failed")["content"]
        #expect(failed["transaction"]["status"].string == "failure")
        #expect(failed["invoice"]["id"].string == invoiceID)
        #expect(simulator.lastEvent("subscription_renewed")["source"].string == "scheduled_job")

        // collect_payment with the card still declining: 402, and the failed attempt is recorded.
        let declined = simulator.post("/api/v2/invoices/\(invoiceID)/collect_payment")
        #expect(declined.status == 402)
        #expect(simulator.get("/api/v2/invoices/\(invoiceID)")["invoice"]["linked_payments"].array.count == 2)

        simulator.setPaymentOutcome(.succeed, forCustomer: customer)
        let collected = simulator.post("/api/v2/invoices/\(invoiceID)/collect_payment")
        #expect(collected.status == 200)
        invoice = simulator.get("/api/v2/invoices/\(invoiceID)")["invoice"]
        #expect(invoice["status"].string == "paid")
        #expect(invoice["dunning_status"].string == "success")
        sub = simulator.get("/api/v2/subscriptions/\(subscription)")["subscription"]
        #expect(sub["due_invoices_count"].int == 0)
        #expect(
            simulator.eventTypes().filter { $0.hasPrefix("payment_") } == [
                "payment_succeeded", "payment_failed", "payment_failed", "payment_succeeded",
            ])
    }

    @Test func exhaustedDunningCancelsTheSubscription() {
        let simulator = makeSimulator()
        let (customer, subscription, _) = simulator.subscribe()
        simulator.setPaymentOutcome(.decline, forCustomer: customer)
        let invoiceID = J(bytes: simulator.renewSubscription(subscription).body)["invoice"]["id"].string ?? ""
        #expect(simulator.post("/__sim/invoices/\(invoiceID)/dunning_retry").status == 200)
        #expect(simulator.post("/__sim/invoices/\(invoiceID)/exhaust_dunning").status == 200)
        #expect(simulator.get("/api/v2/invoices/\(invoiceID)")["invoice"]["status"].string == "not_paid")
        let sub = simulator.get("/api/v2/subscriptions/\(subscription)")["subscription"]
        #expect(sub["status"].string == "cancelled")
        #expect(sub["cancel_reason"].string == "not_paid")
    }

    @Test func upgradeInvoicesTheProratedDifference() {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        let (_, subscription, firstInvoice) = simulator.subscribe(plan: "basic-USD-monthly")
        let term = simulator.get("/api/v2/subscriptions/\(subscription)")["subscription"]
        let length = (term["current_term_end"].int ?? 0) - (term["current_term_start"].int ?? 0)
        clock.advance(length / 2)
        let changed = simulator.post(
            "/api/v2/subscriptions/\(subscription)/update_for_items",
            [("subscription_items[item_price_id][0]", "pro-USD-monthly")])
        #expect(changed.status == 200)
        let invoice = changed.json["invoice"]
        // Half a term of Pro (1500) less half a term of Basic credited (500).
        #expect(invoice["total"].int == 1500)
        #expect(invoice["credits_applied"].int == 500)
        #expect(invoice["amount_paid"].int == 1000)
        #expect(invoice["status"].string == "paid")
        #expect(invoice["line_items"][0]["description"].string == "Pro - Prorated Charges")
        let note = changed.json["credit_notes"][0]
        #expect(note["reason_code"].string == "subscription_change")
        #expect(note["reference_invoice_id"].string == firstInvoice)
        #expect(note["amount_allocated"].int == 500)
        #expect(changed.json["subscription"]["subscription_items"][0]["item_price_id"].string == "pro-USD-monthly")
        #expect(
            simulator.eventTypes().suffix(5) == [
                "subscription_changed", "credit_note_created", "invoice_updated", "invoice_generated", "payment_succeeded",
            ])
    }

    @Test func downgradeCreditsTheDifference() {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        let (customer, subscription, firstInvoice) = simulator.subscribe(plan: "pro-USD-monthly")
        let term = simulator.get("/api/v2/subscriptions/\(subscription)")["subscription"]
        clock.advance(((term["current_term_end"].int ?? 0) - (term["current_term_start"].int ?? 0)) / 2)
        let changed = simulator.post(
            "/api/v2/subscriptions/\(subscription)/update_for_items",
            [("subscription_items[item_price_id][0]", "basic-USD-monthly")])
        #expect(changed.status == 200)
        #expect(!changed.json["invoice"].exists)
        let note = changed.json["credit_notes"][0]
        #expect(note["total"].int == 1000)
        #expect(note["type"].string == "refundable")
        #expect(note["status"].string == "refund_due")
        #expect(note["reference_invoice_id"].string == firstInvoice)
        #expect(simulator.get("/api/v2/customers/\(customer)")["customer"]["refundable_credits"].int == 1000)
        // Chargebee sends `invoice_updated` for the invoice a new credit note references.
        #expect(simulator.eventTypes().suffix(3) == ["subscription_changed", "credit_note_created", "invoice_updated"])

        // The credit pays the next renewal first.
        let renewal = J(bytes: simulator.renewSubscription(subscription).body)["invoice"]
        #expect(renewal["total"].int == 1000)
        #expect(renewal["credits_applied"].int == 1000)
        #expect(renewal["status"].string == "paid")
        #expect(simulator.get("/api/v2/customers/\(customer)")["customer"]["refundable_credits"].int == 0)
    }

    @Test func creditNoteRefundOfAPaidInvoice() {
        let simulator = makeSimulator()
        let (customer, _, invoiceID) = simulator.subscribe()
        let tooMuch = simulator.post(
            "/api/v2/credit_notes", [("reference_invoice_id", invoiceID), ("type", "refundable"), ("total", "5000")])
        #expect(tooMuch.status == 400)
        let created = simulator.post(
            "/api/v2/credit_notes",
            [("reference_invoice_id", invoiceID), ("type", "refundable"), ("total", "1200"), ("reason_code", "waiver")])
        #expect(created.status == 200)
        let noteID = created.json["credit_note"]["id"].string ?? ""
        let refunded = simulator.post("/api/v2/credit_notes/\(noteID)/refund", [("refund_amount", "1200")])
        #expect(refunded.status == 200)
        #expect(refunded.json["credit_note"]["status"].string == "refunded")
        #expect(refunded.json["credit_note"]["amount_refunded"].int == 1200)
        #expect(refunded.json["transaction"]["type"].string == "refund")
        let event = simulator.lastEvent("payment_refunded")["content"]
        #expect(event["credit_note"]["id"].string == noteID)
        #expect(event["invoice"]["id"].string == invoiceID)
        #expect(simulator.get("/api/v2/customers/\(customer)")["customer"]["refundable_credits"].int == 0)
    }

    @Test func adjustmentCreditNotesLowerWhatAnUnpaidInvoiceAsksFor() {
        let simulator = makeSimulator()
        let (customer, subscription, _) = simulator.subscribe()
        simulator.setPaymentOutcome(.decline, forCustomer: customer)
        let renewal = J(bytes: simulator.renewSubscription(subscription).body)["invoice"]
        let invoiceID = renewal["id"].string ?? ""
        #expect(renewal["status"].string == "payment_due")
        #expect(renewal["amount_due"].int == 3000)
        let tooMuch = simulator.post(
            "/api/v2/credit_notes", [("reference_invoice_id", invoiceID), ("type", "adjustment"), ("total", "3001")])
        #expect(tooMuch.status == 400)

        let first = simulator.post(
            "/api/v2/credit_notes", [("reference_invoice_id", invoiceID), ("type", "adjustment"), ("total", "1000")])
        #expect(first.status == 200)
        #expect(first.json["credit_note"]["type"].string == "adjustment")
        #expect(first.json["credit_note"]["status"].string == "adjusted")
        #expect(first.json["invoice"]["amount_due"].int == 2000)
        #expect(first.json["invoice"]["amount_adjusted"].int == 1000)
        #expect(first.json["invoice"]["adjustment_credit_notes"][0]["cn_id"].string == first.json["credit_note"]["id"].string)
        #expect(first.json["invoice"]["status"].string == "payment_due")
        #expect(simulator.eventTypes().suffix(2) == ["credit_note_created", "invoice_updated"])
        // The subscription's dues follow the lower amount due.
        let dues = simulator.get("/api/v2/subscriptions/\(subscription)")["subscription"]
        #expect(dues["due_invoices_count"].int == 1)
        #expect(dues["total_dues"].int == 2000)
        #expect(simulator.lastEvent("invoice_updated")["content"]["invoice"]["amount_due"].int == 2000)

        // Adjusted to zero, the invoice is paid with nothing charged.
        let rest = simulator.post(
            "/api/v2/credit_notes", [("reference_invoice_id", invoiceID), ("type", "adjustment"), ("total", "2000")])
        #expect(rest.json["invoice"]["status"].string == "paid")
        #expect(rest.json["invoice"]["amount_due"].int == 0)
        #expect(rest.json["invoice"]["amount_paid"].int == 0)
        #expect(simulator.lastEvent("invoice_updated")["content"]["invoice"]["status"].string == "paid")

        // Voiding an adjustment gives its amount back to the invoice, which is open again (past its due date).
        let firstID = first.json["credit_note"]["id"].string ?? ""
        let voided = simulator.post("/api/v2/credit_notes/\(firstID)/void", [("comment", "issued by mistake")])
        #expect(voided.status == 200)
        #expect(voided.json["credit_note"]["status"].string == "voided")
        #expect(voided.json["credit_note"]["voided_at"].int != nil)
        #expect(simulator.eventTypes().suffix(2) == ["credit_note_updated", "invoice_updated"])
        let reopened = simulator.get("/api/v2/invoices/\(invoiceID)")["invoice"]
        #expect(reopened["status"].string == "not_paid")
        #expect(reopened["amount_due"].int == 1000)
        #expect(reopened["amount_adjusted"].int == 2000)
        #expect(!reopened["paid_at"].exists)
        #expect(reopened["adjustment_credit_notes"][0]["cn_status"].string == "voided")
        #expect(simulator.get("/api/v2/subscriptions/\(subscription)")["subscription"]["total_dues"].int == 1000)
        let again = simulator.post("/api/v2/credit_notes/\(firstID)/void")
        #expect(again.status == 409)
        #expect(again.json["api_error_code"].string == "invalid_state_for_request")
        #expect(simulator.post("/api/v2/credit_notes/CN-404/void").status == 404)
    }

    /// A write-off settles what an unpaid invoice asks for with an adjustment credit note; voiding that note reverses it.
    @Test func aWriteOffSettlesAnUnpaidInvoiceWithAnAdjustmentCreditNote() {
        let simulator = makeSimulator()
        let (customer, subscription, paidInvoice) = simulator.subscribe()
        #expect(simulator.post("/api/v2/invoices/\(paidInvoice)/write_off").status == 409)
        simulator.setPaymentOutcome(.decline, forCustomer: customer)
        let invoiceID = J(bytes: simulator.renewSubscription(subscription).body)["invoice"]["id"].string ?? ""
        #expect(simulator.post("/__sim/invoices/\(invoiceID)/exhaust_dunning").status == 200)
        #expect(simulator.get("/api/v2/invoices/\(invoiceID)")["invoice"]["status"].string == "not_paid")

        let written = simulator.post("/api/v2/invoices/\(invoiceID)/write_off", [("comment", "uncollectable")])
        #expect(written.status == 200)
        #expect(written.json["invoice"]["status"].string == "paid")
        #expect(written.json["invoice"]["amount_due"].int == 0)
        #expect(written.json["invoice"]["amount_paid"].int == 0)
        #expect(written.json["invoice"]["write_off_amount"].int == 3000)
        #expect(written.json["invoice"]["dunning_status"].string == "exhausted")
        let note = written.json["credit_note"]
        #expect(note["type"].string == "adjustment")
        #expect(note["create_reason_code"].string == "Write Off")
        #expect(note["reason_code"].string == "write_off")
        #expect(note["total"].int == 3000)
        #expect(note["reference_invoice_id"].string == invoiceID)
        #expect(simulator.eventTypes().suffix(2) == ["credit_note_created", "invoice_updated"])
        #expect(simulator.post("/api/v2/invoices/\(invoiceID)/write_off").status == 409)

        // Reversed by voiding its credit note: the invoice asks for the money again.
        #expect(simulator.post("/api/v2/credit_notes/\(note["id"].string ?? "")/void").status == 200)
        let reopened = simulator.get("/api/v2/invoices/\(invoiceID)")["invoice"]
        #expect(reopened["status"].string == "not_paid")
        #expect(reopened["amount_due"].int == 3000)
        #expect(reopened["write_off_amount"].int == 0)
    }

    /// Voiding an adjustment of an invoice still in dunning: the amount is due again and the invoice `not_paid`, as
    /// Chargebee's reference says, its dunning stopped.
    @Test func voidingAnAdjustmentOfAnInvoiceInDunningLeavesItNotPaid() {
        let simulator = makeSimulator()
        let (customer, subscription, _) = simulator.subscribe()
        simulator.setPaymentOutcome(.decline, forCustomer: customer)
        let invoiceID = J(bytes: simulator.renewSubscription(subscription).body)["invoice"]["id"].string ?? ""
        #expect(simulator.get("/api/v2/invoices/\(invoiceID)")["invoice"]["dunning_status"].string == "in_progress")
        let note = simulator.post(
            "/api/v2/credit_notes", [("reference_invoice_id", invoiceID), ("type", "adjustment"), ("total", "500")])
        let voided = simulator.post("/api/v2/credit_notes/\(note.json["credit_note"]["id"].string ?? "")/void")
        #expect(voided.status == 200)
        let invoice = simulator.get("/api/v2/invoices/\(invoiceID)")["invoice"]
        #expect(invoice["status"].string == "not_paid")
        #expect(invoice["amount_due"].int == 3000)
        #expect(invoice["amount_adjusted"].int == 0)
        #expect(invoice["dunning_status"].string == "stopped")
        #expect(!invoice["next_retry_at"].exists)
        #expect(simulator.get("/api/v2/subscriptions/\(subscription)")["subscription"]["total_dues"].int == 3000)
    }

    /// A refundable credit note already used on an invoice cannot be voided until that allocation is removed.
    @Test func anAllocatedRefundableCreditNoteCannotBeVoided() {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        let (customer, subscription, _) = simulator.subscribe(plan: "pro-USD-monthly")
        let term = simulator.get("/api/v2/subscriptions/\(subscription)")["subscription"]
        clock.advance(((term["current_term_end"].int ?? 0) - (term["current_term_start"].int ?? 0)) / 2)
        let changed = simulator.post(
            "/api/v2/subscriptions/\(subscription)/update_for_items",
            [("subscription_items[item_price_id][0]", "basic-USD-monthly")])
        let noteID = changed.json["credit_notes"][0]["id"].string ?? ""
        _ = simulator.renewSubscription(subscription)
        #expect(simulator.get("/api/v2/credit_notes/\(noteID)")["credit_note"]["amount_allocated"].int == 1000)
        let refused = simulator.post("/api/v2/credit_notes/\(noteID)/void")
        #expect(refused.status == 409)
        #expect(simulator.get("/api/v2/credit_notes/\(noteID)")["credit_note"]["status"].string != "voided")
        #expect(simulator.get("/api/v2/customers/\(customer)")["customer"]["refundable_credits"].int == 0)
    }

    @Test func cancelAtTermEndThenCancelled() {
        let simulator = makeSimulator()
        let (_, subscription, _) = simulator.subscribe()
        let scheduled = simulator.post("/api/v2/subscriptions/\(subscription)/cancel_for_items", [("end_of_term", "true")])
        #expect(scheduled.json["subscription"]["status"].string == "non_renewing")
        #expect(scheduled.json["subscription"]["cancelled_at"].int == scheduled.json["subscription"]["current_term_end"].int)
        let ended = J(bytes: simulator.renewSubscription(subscription).body)
        #expect(ended["subscription"]["status"].string == "cancelled")
        #expect(simulator.eventTypes().suffix(2) == ["subscription_cancellation_scheduled", "subscription_cancelled"])
    }

    /// `cancel_option` picks when (`specific_date` needs a `cancel_at` in the current term); the caller's reason is
    /// kept as `cancel_reason_code`, and `cancel_reason` (Chargebee's own: `not_paid`, …) stays unset.
    @Test func cancelOptionsAndTheCallersReasonCode() {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        let (_, subscription, _) = simulator.subscribe()
        let path = "/api/v2/subscriptions/\(subscription)/cancel_for_items"
        let past = simulator.post(path, [("cancel_option", "specific_date"), ("cancel_at", String(clock.now - 1))])
        #expect(past.status == 400)
        #expect(past.json["param"].string == "cancel_at")
        #expect(simulator.post(path, [("cancel_option", "specific_date")]).json["param"].string == "cancel_at")
        #expect(simulator.post(path, [("cancel_option", "tomorrow")]).json["param"].string == "cancel_option")
        #expect(simulator.get("/api/v2/subscriptions/\(subscription)")["subscription"]["status"].string == "active")

        let at = clock.now + 10 * 86_400
        let scheduled = simulator.post(
            path, [("cancel_option", "specific_date"), ("cancel_at", String(at)), ("cancel_reason_code", "Too expensive")])
        #expect(scheduled.status == 200)
        #expect(scheduled.json["subscription"]["status"].string == "non_renewing")
        #expect(scheduled.json["subscription"]["cancelled_at"].int == at)
        #expect(scheduled.json["subscription"]["cancel_reason_code"].string == "Too expensive")
        #expect(!scheduled.json["subscription"]["cancel_reason"].exists)

        let (_, other, _) = simulator.subscribe(email: "bob@example.com")
        let now = simulator.post("/api/v2/subscriptions/\(other)/cancel_for_items", [("cancel_option", "immediately")])
        #expect(now.json["subscription"]["status"].string == "cancelled")
        #expect(now.json["subscription"]["cancelled_at"].int == clock.now)
        #expect(!now.json["subscription"]["cancel_reason"].exists && !now.json["subscription"]["cancel_reason_code"].exists)
    }
}

@Suite struct ChargebeeSimulatorWebhookTests {
    @Test func deliversWithBasicAuthAndRetries() async throws {
        let receiver = WebhookReceiver { call in call == 1 ? 500 : 200 }
        try await withWebhookSender(receiver: receiver) { url in
            makeSimulator(
                webhooks: .init(
                    endpoints: [.init(url: url, username: "weft", password: "s3cret")],
                    retryDelays: [.milliseconds(5), .milliseconds(5)], timeout: .seconds(5)))
        } _: { simulator in
            _ = simulator.post("/api/v2/customers", [("email", "ada@example.com")])
            await simulator.waitUntilDeliveriesSettled()
            let received = receiver.received
            #expect(received.count == 1)
            #expect(received.first?.authorization == "Basic " + Data("weft:s3cret".utf8).base64EncodedString())
            #expect(received.first?.json["event_type"].string == "customer_created")
            #expect(received.first?.json["content"]["customer"]["email"].string == "ada@example.com")
            #expect(simulator.deliveryAttempts.map(\.attempt) == [1, 2])
            #expect(simulator.deliveryAttempts.map(\.status) == [500, 200])
            let event = simulator.lastEvent("customer_created")
            #expect(event["webhook_status"].string == "succeeded")
        }
    }

    @Test func duplicateFaultSendsTheSameEventTwice() async throws {
        let receiver = WebhookReceiver()
        try await withWebhookSender(receiver: receiver) { url in
            makeSimulator(
                webhooks: .init(
                    endpoints: [.init(url: url, username: "weft", password: "s3cret")], retryDelays: [],
                    faults: WebhookFaultPlan(duplicateRate: 1)))
        } _: { simulator in
            _ = simulator.post("/api/v2/customers", [("email", "ada@example.com")])
            await simulator.waitUntilDeliveriesSettled()
            let ids = receiver.received.compactMap { $0.json["id"].string }
            #expect(ids.count == 2)
            #expect(Set(ids).count == 1)
        }
    }
}
