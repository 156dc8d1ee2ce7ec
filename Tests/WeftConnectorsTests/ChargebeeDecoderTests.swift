import Foundation
import Testing
import WeftConnectors
import WeftCore
import WeftSimChargebee

private typealias S = ChargebeeTestSupport

/// The decoder over events read from the Chargebee simulator (over HTTP, through the events feed): the canonical
/// changes match what Stripe's events make, and the standing rule sees a failed payment as past due.
@Suite struct ChargebeeDecoderTests {
    @Test func customerSubscriptionAndPaidInvoice() async throws {
        let clock = S.Clock()
        let simulator = S.makeSimulator(clock: clock)
        let (customerID, subscriptionID, invoiceID) = simulator.subscribe()
        let events = try await S.withServer(simulator) { try await S.events($0) }
        #expect(
            events.map(\.envelope.type) == [
                "customer_created", "subscription_created", "invoice_generated", "payment_succeeded",
            ])
        let customerKey = EntityKey.of(S.ref(.customer, customerID))
        #expect(events.allSatisfy { $0.envelope.entityKey == customerKey })
        let aggregate = try S.aggregate(events)

        let customer = try #require(aggregate.record(S.ref(.customer, customerID))?.decode(Customer.self))
        #expect(customer.name == "Ada Lovelace")
        #expect(customer.email == "ada@example.com")
        #expect(customer.address == PostalAddress(line1: "1 Main St", city: "London", country: "GB"))
        #expect(customer.currency == CurrencyCode(rawValue: "USD"))

        let subscription = try #require(aggregate.record(S.ref(.subscription, subscriptionID))?.decode(Subscription.self))
        #expect(subscription.status == .active)
        #expect(subscription.customerRef == S.ref(.customer, customerID))
        #expect(subscription.items?.first?.priceRef == S.ref(.price, "pro-USD-monthly"))
        #expect(subscription.items?.first?.productRef == S.ref(.product, "pro-USD-monthly"))
        #expect(subscription.items?.first?.unitAmount == Money(amountMinor: 3000, currency: CurrencyCode(rawValue: "USD")!))
        #expect(subscription.currentPeriodEnd == Date(timeIntervalSince1970: 1_750_000_000 + 30 * 86_400))
        #expect(subscription.cancelAt == nil)

        let invoice = try #require(aggregate.record(S.ref(.invoice, invoiceID))?.decode(Invoice.self))
        #expect(invoice.status == .paid)
        #expect(invoice.totalMinor == 3000)
        #expect(invoice.amountPaidMinor == 3000)
        #expect(invoice.amountRemainingMinor == 0)
        #expect(invoice.currency?.rawValue == "USD")
        #expect(invoice.subscriptionRef == S.ref(.subscription, subscriptionID))
        #expect(invoice.lines?.map(\.amountMinor) == [3000])
        #expect(invoice.lines?.first?.productRef == S.ref(.product, "pro-USD-monthly"))
        #expect(invoice.paidAt == Date(timeIntervalSince1970: 1_750_000_000))

        let payments = aggregate.records(of: .payment).compactMap { $0.state.decode(Payment.self) }
        #expect(payments.count == 1)
        #expect(payments.first?.status == .succeeded)
        #expect(payments.first?.invoiceRef == S.ref(.invoice, invoiceID))
        #expect(payments.first?.amount == Money(amountMinor: 3000, currency: CurrencyCode(rawValue: "USD")!))
        #expect(StandingRule.standing(of: S.ref(.customer, customerID), in: aggregate).state == .good)
    }

    @Test func failedPaymentIsPastDueUntilARetrySucceeds() async throws {
        let clock = S.Clock()
        let simulator = S.makeSimulator(clock: clock)
        let (customerID, subscriptionID, renewalInvoice) = try simulator.declinedRenewal(clock: clock)
        let customerRef = S.ref(.customer, customerID)

        let failedEvents = try await S.withServer(simulator) { try await S.events($0) }
        let pastDue = try S.aggregate(failedEvents)
        let invoice = try #require(pastDue.record(S.ref(.invoice, renewalInvoice))?.decode(Invoice.self))
        #expect(invoice.status == .open)
        #expect(invoice.amountRemainingMinor == 3000)
        let failed = pastDue.records(of: .payment).compactMap { $0.state.decode(Payment.self) }.filter { $0.status == .failed }
        #expect(failed.count == 1)
        #expect(failed.first?.failureCode == "card_declined")
        let standing = StandingRule.standing(of: customerRef, in: pastDue)
        #expect(standing.state == .pastDue)
        #expect(standing.overdue == Money(amountMinor: 3000, currency: CurrencyCode(rawValue: "USD")!))
        #expect(standing.since == Date(timeIntervalSince1970: TimeInterval(clock.now)))
        #expect(pastDue.record(S.ref(.subscription, subscriptionID))?.decode(Subscription.self)?.status == .active)

        clock.advance(3 * 86_400)
        simulator.setPaymentOutcome(.succeed, forCustomer: customerID)
        #expect(simulator.call("POST", "/__sim/invoices/\(renewalInvoice)/dunning_retry").status == 200)
        let allEvents = try await S.withServer(simulator) { try await S.events($0) }
        let recovered = try S.aggregate(allEvents)
        #expect(recovered.record(S.ref(.invoice, renewalInvoice))?.decode(Invoice.self)?.status == .paid)
        let standingAfter = StandingRule.standing(of: customerRef, in: recovered)
        #expect(standingAfter.state == .good)
        #expect(standingAfter.since == Date(timeIntervalSince1970: TimeInterval(clock.now)))

        // Delivered backwards and twice, the events give the same records: every resource is versioned by its own
        // resource_version, so the older snapshots are stale.
        var shuffled = Aggregate()
        S.apply(try S.decodeAll(allEvents.reversed() + allEvents.reversed()), to: &shuffled)
        #expect(shuffled.records.mapValues(\.fields) == recovered.records.mapValues(\.fields))
        #expect(StandingRule.standing(of: customerRef, in: shuffled).state == .good)
    }

    /// An adjustment credit note lowers what an unpaid invoice asks for: kind `adjustment` (applied to the open invoice,
    /// never paid back), and the `invoice_updated` Chargebee sends with it carries the lower amount due; adjusted to
    /// zero, the invoice is paid without any payment and the customer is no longer past due.
    @Test func adjustmentCreditNotesLowerWhatAnUnpaidInvoiceAsksFor() async throws {
        let clock = S.Clock()
        let simulator = S.makeSimulator(clock: clock)
        let (customerID, _, renewalInvoice) = try simulator.declinedRenewal(clock: clock)
        let customerRef = S.ref(.customer, customerID)
        let usd = CurrencyCode(rawValue: "USD")!

        clock.advance(60)
        let first = simulator.post(
            "/api/v2/credit_notes",
            [("reference_invoice_id", renewalInvoice), ("type", "adjustment"), ("total", "1000"), ("reason_code", "other")])
        let firstNote = try #require((first["credit_note"] as? [String: Any])?["id"] as? String)
        let adjusted = try S.aggregate(try await S.withServer(simulator) { try await S.events($0) })
        let open = try #require(adjusted.record(S.ref(.invoice, renewalInvoice))?.decode(Invoice.self))
        #expect(open.status == .open)
        #expect(open.totalMinor == 3000)
        #expect(open.amountRemainingMinor == 2000)
        let note = try #require(adjusted.record(S.ref(.refund, firstNote))?.decode(Refund.self))
        #expect(note.kind == .adjustment)
        #expect(note.status == "succeeded")
        #expect(note.invoiceRef == S.ref(.invoice, renewalInvoice))
        #expect(note.amount == Money(amountMinor: 1000, currency: usd))
        #expect(StandingRule.standing(of: customerRef, in: adjusted).overdue == Money(amountMinor: 2000, currency: usd))

        clock.advance(60)
        let rest = simulator.post(
            "/api/v2/credit_notes", [("reference_invoice_id", renewalInvoice), ("type", "adjustment"), ("total", "2000")])
        #expect((rest["invoice"] as? [String: Any])?["status"] as? String == "paid")
        let events = try await S.withServer(simulator) { try await S.events($0) }
        let settled = try S.aggregate(events)
        let paid = try #require(settled.record(S.ref(.invoice, renewalInvoice))?.decode(Invoice.self))
        #expect(paid.status == .paid)
        #expect(paid.amountRemainingMinor == 0)
        let notes = settled.records(of: .refund).compactMap { $0.state.decode(Refund.self) }
        #expect(notes.map(\.kind) == [.adjustment, .adjustment])
        #expect(notes.map(\.amount.amountMinor).sorted() == [1000, 2000])
        #expect(StandingRule.standing(of: customerRef, in: settled).state == .good)
        // The one payment of the renewal is the declined one.
        #expect(
            settled.records(of: .payment).compactMap { $0.state.decode(Payment.self) }.filter {
                $0.invoiceRef == S.ref(.invoice, renewalInvoice)
            }.map(\.status) == [.failed])
    }

    /// A write-off is an adjustment credit note for the whole amount due; its reason is `reason_code`, or, where
    /// Chargebee leaves out that deprecated member, `create_reason_code` (`Write Off`).
    @Test func aWriteOffIsAnAdjustmentWhoseReasonFallsBackToTheCreateReasonCode() async throws {
        let clock = S.Clock()
        let simulator = S.makeSimulator(clock: clock)
        let (customerID, _, invoiceID) = try simulator.declinedRenewal(clock: clock)
        clock.advance(60)
        let written = simulator.post("/api/v2/invoices/\(invoiceID)/write_off")
        let noteID = try #require((written["credit_note"] as? [String: Any])?["id"] as? String)
        let events = try await S.withServer(simulator) { try await S.events($0) }
        let created = try #require(events.last { $0.envelope.type == "credit_note_created" })
        let decoder = ChargebeeEventDecoder(system: S.system)
        func refund(_ payload: Data) throws -> Refund? {
            var event = S.inboxEvent(created)
            event.payload = payload
            let change = try decoder.decode(event).changes.first { $0.ref == S.ref(.refund, noteID) }
            return try change.map { try JSONValue.object($0.fields).decode(Refund.self) }
        }
        let note = try #require(try refund(created.payload))
        #expect(note.kind == .adjustment)
        #expect(note.amount.amountMinor == 3000)
        #expect(note.reason == "write_off")
        let text = String(decoding: created.payload, as: UTF8.self)
        #expect(text.contains(#""reason_code":"write_off","#))
        let withoutReason = Data(text.replacingOccurrences(of: #""reason_code":"write_off","#, with: "").utf8)
        #expect(try refund(withoutReason)?.reason == "Write Off")
        let settled = try S.aggregate(events)
        #expect(settled.record(S.ref(.invoice, invoiceID))?.decode(Invoice.self)?.status == .paid)
        #expect(StandingRule.standing(of: S.ref(.customer, customerID), in: settled).state == .good)
    }

    @Test func upgradeIsAnInvoicePaidPartlyByTheCreditNote() async throws {
        let clock = S.Clock()
        let simulator = S.makeSimulator(clock: clock)
        let (customerID, subscriptionID, firstInvoice) = simulator.subscribe(plan: "basic-USD-monthly")
        clock.advance(simulator.termLength(subscriptionID) / 2)
        let changed = simulator.post(
            "/api/v2/subscriptions/\(subscriptionID)/update_for_items",
            [("subscription_items[item_price_id][0]", "pro-USD-monthly")])
        let upgradeInvoice = try #require((changed["invoice"] as? [String: Any])?["id"] as? String)
        let aggregate = try S.aggregate(try await S.withServer(simulator) { try await S.events($0) })

        let invoice = try #require(aggregate.record(S.ref(.invoice, upgradeInvoice))?.decode(Invoice.self))
        #expect(invoice.status == .paid)
        // As Chargebee shows it: 15.00 for half of Pro, 5.00 of it paid by the credit note, 10.00 by the card.
        #expect(invoice.totalMinor == 1500)
        #expect(invoice.amountPaidMinor == 1000)
        #expect(invoice.creditAppliedMinor == 500)
        #expect(invoice.lines?.map(\.amountMinor) == [1500])
        #expect(invoice.lines?.first?.productRef == S.ref(.product, "pro-USD-monthly"))
        let subscription = aggregate.record(S.ref(.subscription, subscriptionID))?.decode(Subscription.self)
        #expect(subscription?.items?.map(\.priceRef) == [S.ref(.price, "pro-USD-monthly")])
        // The proration credit is a credit note on the old invoice, kept as credit (not paid back) and named by the
        // upgrade invoice that used it.
        let refunds = aggregate.records(of: .refund).compactMap { $0.state.decode(Refund.self) }
        #expect(refunds.map(\.status) == ["succeeded"])
        #expect(refunds.map(\.kind) == [.credit])
        #expect(invoice.appliedCreditRefs == refunds.map(\.ref))
        #expect(refunds.first?.invoiceRef == S.ref(.invoice, firstInvoice))
        #expect(refunds.first?.reason == "subscription_change")
        #expect(StandingRule.standing(of: S.ref(.customer, customerID), in: aggregate).state == .good)
    }

    @Test func downgradeCreditNoteBecomesARefundOnceMoneyGoesBack() async throws {
        let clock = S.Clock()
        let simulator = S.makeSimulator(clock: clock)
        let (_, subscriptionID, firstInvoice) = simulator.subscribe(plan: "pro-USD-monthly")
        clock.advance(simulator.termLength(subscriptionID) / 2)
        let changed = simulator.post(
            "/api/v2/subscriptions/\(subscriptionID)/update_for_items",
            [("subscription_items[item_price_id][0]", "basic-USD-monthly")])
        let noteID = try #require(((changed["credit_notes"] as? [[String: Any]])?.first)?["id"] as? String)
        let credited = try S.aggregate(try await S.withServer(simulator) { try await S.events($0) })
        let pending = try #require(credited.record(S.ref(.refund, noteID))?.decode(Refund.self))
        #expect(pending.status == "succeeded")
        #expect(pending.kind == .credit)
        #expect(pending.invoiceRef == S.ref(.invoice, firstInvoice))
        #expect(pending.amount == Money(amountMinor: 1000, currency: CurrencyCode(rawValue: "USD")!))

        // 4.00 of it paid back: a refund of 4.00 whose credit note still credits 10.00, the rest kept as credits.
        clock.advance(60)
        _ = simulator.post("/api/v2/credit_notes/\(noteID)/refund", [("refund_amount", "400")])
        let part = try S.aggregate(try await S.withServer(simulator) { try await S.events($0) })
        let partial = try #require(part.record(S.ref(.refund, noteID))?.decode(Refund.self))
        #expect(partial.kind == .refund && partial.amount.amountMinor == 400 && partial.creditedMinor == 1000)

        clock.advance(60)
        _ = simulator.post("/api/v2/credit_notes/\(noteID)/refund", [("refund_amount", "600")])
        let refunded = try S.aggregate(try await S.withServer(simulator) { try await S.events($0) })
        let refund = try #require(refunded.record(S.ref(.refund, noteID))?.decode(Refund.self))
        #expect(refund.status == "succeeded")
        #expect(refund.amount.amountMinor == 1000)
        #expect(refund.creditedMinor == nil)
        #expect(refund.invoiceRef == S.ref(.invoice, firstInvoice))
    }

    @Test func cancellationScheduleAndEnd() async throws {
        let clock = S.Clock()
        let simulator = S.makeSimulator(clock: clock)
        let (_, subscriptionID, _) = simulator.subscribe()
        _ = simulator.post("/api/v2/subscriptions/\(subscriptionID)/cancel_for_items", [("end_of_term", "true")])
        let scheduled = try S.aggregate(try await S.withServer(simulator) { try await S.events($0) })
        let pending = scheduled.record(S.ref(.subscription, subscriptionID))?.decode(Subscription.self)
        #expect(pending?.status == .active)
        #expect(pending?.cancelAt == pending?.currentPeriodEnd)
        #expect(pending?.canceledAt == nil)
        clock.advance(30 * 86_400)
        _ = simulator.renewSubscription(subscriptionID)
        let ended = try S.aggregate(try await S.withServer(simulator) { try await S.events($0) })
        let cancelled = ended.record(S.ref(.subscription, subscriptionID))?.decode(Subscription.self)
        #expect(cancelled?.status == .canceled)
        #expect(cancelled?.canceledAt == Date(timeIntervalSince1970: 1_750_000_000 + 30 * 86_400))
        #expect(cancelled?.cancelAt == nil)
    }

    @Test func statusMappings() {
        #expect(ChargebeeEventDecoder.subscriptionStatus("future") == .incomplete)
        #expect(ChargebeeEventDecoder.subscriptionStatus("in_trial") == .trialing)
        #expect(ChargebeeEventDecoder.subscriptionStatus("non_renewing") == .active)
        #expect(ChargebeeEventDecoder.subscriptionStatus("paused") == .paused)
        #expect(ChargebeeEventDecoder.subscriptionStatus("cancelled") == .canceled)
        #expect(ChargebeeEventDecoder.invoiceStatus("payment_due") == .open)
        #expect(ChargebeeEventDecoder.invoiceStatus("posted") == .open)
        #expect(ChargebeeEventDecoder.invoiceStatus("not_paid") == .uncollectible)
        #expect(ChargebeeEventDecoder.invoiceStatus("voided") == .void)
        #expect(ChargebeeEventDecoder.invoiceStatus("pending") == .draft)
    }

    /// A `tax_inclusive` invoice's amounts hold their tax, which the invoice's tax line already counts: each line is
    /// taken without it. A total its lines and tax do not explain (Chargebee's rounding) gets a line for the rest.
    @Test func linesAreWithoutTheirTaxAndAddUpToTheTotal() throws {
        let decoder = ChargebeeEventDecoder(system: S.system)
        let key = EntityKey("chargebee/customer/c1")
        func invoice(_ priceType: String, total: Int, tax: Int) throws -> Invoice {
            let payload = Data(
                #"""
                {"id":"ev_1","occurred_at":1700000000,"event_type":"invoice_generated","content":{"invoice":{
                 "id":"inv_1","customer_id":"c1","status":"payment_due","currency_code":"EUR","price_type":"\#(priceType)",
                 "sub_total":12000,"tax":\#(tax),"total":\#(total),"amount_due":\#(total),"amount_paid":0,
                 "line_items":[{"description":"Pro","entity_type":"plan_item_price","entity_id":"pro-EUR","quantity":2,
                   "unit_amount":6000,"amount":12000,"discount_amount":0,"tax_amount":2000}]}}}
                """#.utf8)
            var aggregate = Aggregate()
            S.apply([try decoder.decode(payload: payload, type: "invoice_generated", entityKey: key)], to: &aggregate)
            return try #require(aggregate.record(S.ref(.invoice, "inv_1"))?.decode(Invoice.self))
        }
        let inclusive = try invoice("tax_inclusive", total: 12000, tax: 2000)
        #expect(inclusive.lines?.map(\.amountMinor) == [10000])
        #expect(inclusive.lines?.first?.unitAmountMinor == 5000)
        #expect(inclusive.lines?.first?.quantity == 2)

        let exclusive = try invoice("tax_exclusive", total: 14000, tax: 2000)
        #expect(exclusive.lines?.map(\.amountMinor) == [12000])
        #expect(exclusive.lines?.first?.unitAmountMinor == 6000)
        #expect(exclusive.lines?.first?.discountMinor == nil)

        // A coupon's share is named, for the ledger's discount column.
        let discountedPayload = Data(
            #"""
            {"id":"ev_2","occurred_at":1700000000,"event_type":"invoice_generated","content":{"invoice":{
             "id":"inv_2","customer_id":"c1","status":"payment_due","currency_code":"EUR","price_type":"tax_exclusive",
             "sub_total":9600,"tax":0,"total":9600,"amount_due":9600,"amount_paid":0,
             "line_items":[{"description":"Pro","entity_type":"plan_item_price","entity_id":"pro-EUR","quantity":2,
               "unit_amount":6000,"amount":12000,"discount_amount":2400,"tax_amount":0}]}}}
            """#.utf8)
        var discounted = Aggregate()
        S.apply([try decoder.decode(payload: discountedPayload, type: "invoice_generated", entityKey: key)], to: &discounted)
        let line = try #require(discounted.record(S.ref(.invoice, "inv_2"))?.decode(Invoice.self)?.lines?.first)
        #expect(line.amountMinor == 9600 && line.unitAmountMinor == 6000 && line.discountMinor == 2400)

        let rounded = try invoice("tax_exclusive", total: 14001, tax: 2000)
        #expect(rounded.lines?.map(\.amountMinor) == [12000, 1])
        #expect(rounded.lines?.last?.description == "Difference to the total billed in Chargebee")
    }

    @Test func unknownTypesAreIgnoredAndBadShapesAreTypedErrors() throws {
        let decoder = ChargebeeEventDecoder(system: S.system)
        let key = EntityKey("chargebee/customer/c1")
        let card = Data(#"{"id":"ev_1","occurred_at":1700000000,"event_type":"card_added","content":{"card":{}}}"#.utf8)
        #expect(try decoder.decode(payload: card, type: "card_added", entityKey: key).ignoredReason != nil)
        let reminder = Data(
            #"{"id":"ev_2","occurred_at":1700000000,"event_type":"subscription_renewal_reminder","content":{}}"#.utf8)
        #expect(try decoder.decode(payload: reminder, type: "subscription_renewal_reminder", entityKey: key).ignoredReason != nil)
        let bad = Data(
            #"{"id":"ev_3","occurred_at":1700000000,"event_type":"invoice_generated","content":{"invoice":{"id":"1","customer_id":"c1","total":"secret-value"}}}"#
                .utf8)
        #expect {
            try decoder.decode(payload: bad, type: "invoice_generated", entityKey: key)
        } throws: { error in
            guard let error = error as? ChargebeeEventError else { return false }
            return error.code == .unexpectedShape && !error.description.contains("secret-value")
                && error.detail == "content.invoice.total"
        }
        #expect(throws: ChargebeeEventError.self) {
            try ChargebeeEventEnvelope.parse(Data(#"{"occurred_at":1,"event_type":"x","content":{}}"#.utf8))
        }
        #expect {
            try ChargebeeEventEnvelope.parse(Data("not json".utf8))
        } throws: { ($0 as? ChargebeeEventError)?.code == .invalidJSON }
        let unkeyed = try ChargebeeEventEnvelope.parse(
            Data(
                #"{"id":"ev_9","object":"event","occurred_at":5,"event_type":"item_price_created","api_version":"v2","content":{"item_price":{"id":"pro-USD"}}}"#
                    .utf8),
            system: "cb")
        #expect(unkeyed.entityKey == EntityKey("cb/product/pro-USD"))
        #expect(unkeyed.apiVersion == "v2")
        #expect(unkeyed.occurredAt == Date(timeIntervalSince1970: 5))
    }
}
