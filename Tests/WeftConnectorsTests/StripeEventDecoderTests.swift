import Foundation
import Testing
import WeftConnectors
import WeftCore

@Suite("Stripe event decoder")
struct StripeEventDecoderTests {
    typealias S = StripeTestSupport
    let decoder = StripeEventDecoder(system: "stripe")

    func decode(_ type: String, _ object: String, created: Int64 = 1_700_000_000, id: String = "evt_1") throws -> DecodedEvent {
        try S.decode(type, object, created: created, id: id)
    }

    static func invoice(status: String, paidAt: String = "null", amountPaid: Int = 0, extra: String = "") -> String {
        #"""
        {"id":"in_1","object":"invoice","customer":"cus_1","subscription":"sub_1","number":"INV-0001","currency":"eur",
         "status":"\#(status)","subtotal":2000,"tax":380,"total":2380,"amount_due":2380,"amount_paid":\#(amountPaid),
         "amount_remaining":\#(2380 - amountPaid),"created":1699990000,"due_date":1702592000,"attempt_count":1,
         "customer_name":"Ada Ltd","customer_email":"ada@example.com","payment_intent":"pi_1","charge":"ch_1",
         "status_transitions":{"finalized_at":1699999000,"paid_at":\#(paidAt)},
         "lines":{"object":"list","data":[{"id":"il_1","amount":2000,"amount_excluding_tax":2000,"quantity":2,
           "description":"2 × Seat","price":{"id":"price_1","object":"price","unit_amount":1000,"currency":"eur",
           "product":"prod_1"}}],"has_more":false}\#(extra)}
        """#
    }

    @Test func invoiceLifecycleFinalizedThenPaid() throws {
        let finalized = try decode("invoice.finalized", Self.invoice(status: "open"))
        let paid = try decode(
            "invoice.paid", Self.invoice(status: "paid", paidAt: "1700000000", amountPaid: 2380), id: "evt_2")
        #expect(finalized.ignoredReason == nil)
        #expect(finalized.entityKey.rawValue == "stripe/customer/cus_1")
        #expect(finalized.changes.count == 1)
        let open = finalized.changes[0]
        #expect(open.ref == S.ref(.invoice, "in_1"))
        #expect(open.version(of: "status") == SourceVersion(millis: 1_700_000_000_000, ordinal: InvoiceStatus.open.rank))
        #expect(open.version(of: "totalMinor") == SourceVersion(millis: 1_700_000_000_000, ordinal: InvoiceStatus.open.rank))
        // Paid beats open reported in the same second.
        #expect(open.version(of: "status") < paid.changes[0].version(of: "status"))

        var aggregate = Aggregate()
        S.apply([paid, finalized], to: &aggregate)  // out of order on purpose
        let invoice = try #require(aggregate.record(S.ref(.invoice, "in_1"))?.decode(Invoice.self))
        #expect(invoice.status == .paid)
        #expect(invoice.customerRef == S.ref(.customer, "cus_1"))
        #expect(invoice.subscriptionRef == S.ref(.subscription, "sub_1"))
        #expect(invoice.number == "INV-0001")
        #expect(invoice.currency == .eur)
        #expect(invoice.subtotalMinor == 2000 && invoice.taxMinor == 380 && invoice.totalMinor == 2380)
        #expect(invoice.amountPaidMinor == 2380 && invoice.amountRemainingMinor == 0 && invoice.amountDueMinor == 2380)
        #expect(invoice.issuedAt == Date(timeIntervalSince1970: 1_699_999_000))
        #expect(invoice.dueAt == Date(timeIntervalSince1970: 1_702_592_000))
        #expect(invoice.paidAt == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(invoice.paymentRef == S.ref(.payment, "pi_1"))
        #expect(invoice.chargeID == "ch_1")
        #expect(invoice.customerName == "Ada Ltd" && invoice.customerEmail == "ada@example.com")
        #expect(
            invoice.lines == [
                InvoiceLine(
                    description: "2 × Seat", productRef: S.ref(.product, "prod_1"), quantity: 2, unitAmountMinor: 1000,
                    amountMinor: 2000)
            ])

        #expect(paid.changes.count == 2)
        let payment = try #require(aggregate.record(S.ref(.payment, "in_1"))?.decode(Payment.self))
        #expect(payment.status == .succeeded)
        #expect(payment.invoiceRef == S.ref(.invoice, "in_1"))
        #expect(payment.customerRef == S.ref(.customer, "cus_1"))
        #expect(payment.amount == Money(amountMinor: 2380, currency: .eur))
        #expect(payment.chargeID == "ch_1")
        #expect(payment.occurredAt == Date(timeIntervalSince1970: 1_700_000_000))
    }

    /// A coupon's share of each line (`discount_amounts`, Stripe's line `amount` is before discounts) is taken off the
    /// line, so the lines and the tax add up to the total the customer pays.
    @Test func linesAreNetOfTheirDiscounts() throws {
        let object = #"""
            {"id":"in_1","object":"invoice","customer":"cus_1","currency":"usd","status":"open","subtotal":5000,
             "total":4000,"total_discount_amounts":[{"amount":1000,"discount":"di_1"}],"total_taxes":[],
             "lines":{"object":"list","data":[
               {"id":"il_1","amount":3000,"quantity":3,"description":"3 × Seat","discount_amounts":[{"amount":600,"discount":"di_1"}],
                "pricing":{"type":"price_details","price_details":{"price":"price_1","product":"prod_1"},"unit_amount_decimal":"1000"}},
               {"id":"il_2","amount":2000,"quantity":1,"description":"Setup","discount_amounts":[{"amount":400,"discount":"di_1"}]}],
              "has_more":false}}
            """#
        var aggregate = Aggregate()
        S.apply([try decode("invoice.finalized", object)], to: &aggregate)
        let invoice = try #require(aggregate.record(S.ref(.invoice, "in_1"))?.decode(Invoice.self))
        #expect(
            invoice.lines == [
                InvoiceLine(
                    description: "3 × Seat", productRef: S.ref(.product, "prod_1"), quantity: 3, unitAmountMinor: 1000, amountMinor: 2400,
                    discountMinor: 600),
                InvoiceLine(description: "Setup", quantity: 1, unitAmountMinor: 2000, amountMinor: 1600, discountMinor: 400),
            ])
        #expect((invoice.lines ?? []).reduce(0) { $0 + $1.amountMinor } == invoice.totalMinor)
    }

    /// Current versions carry no `amount_excluding_tax`: a line's `amount` holds its inclusive taxes, which the
    /// invoice's tax (its own line) already counts, so they are taken off the line.
    @Test func linesAreWithoutTheTaxInsideThem() throws {
        let object = #"""
            {"id":"in_1","object":"invoice","customer":"cus_1","currency":"eur","status":"open","subtotal":12000,
             "total":12000,"total_excluding_tax":10000,
             "total_taxes":[{"amount":2000,"tax_behavior":"inclusive","taxable_amount":10000,"type":"tax_rate_details"}],
             "lines":{"object":"list","data":[
               {"id":"il_1","amount":12000,"quantity":1,"description":"Plan",
                "taxes":[{"amount":2000,"tax_behavior":"inclusive","taxable_amount":10000,"type":"tax_rate_details"}]}],
              "has_more":false}}
            """#
        var aggregate = Aggregate()
        S.apply([try decode("invoice.finalized", object)], to: &aggregate)
        let invoice = try #require(aggregate.record(S.ref(.invoice, "in_1"))?.decode(Invoice.self))
        #expect(invoice.lines == [InvoiceLine(description: "Plan", quantity: 1, unitAmountMinor: 10000, amountMinor: 10000)])
        #expect(invoice.taxMinor == 2000)

        // A discount holds its share of the inclusive tax: the line is its amount less both, exactly (2023-era
        // `tax_amounts` too); a proration is its share of the period, with no discount named.
        let discounted = #"""
            {"id":"in_2","object":"invoice","customer":"cus_1","currency":"eur","status":"open","subtotal":12000,
             "total":9600,"total_taxes":[{"amount":1600,"tax_behavior":"inclusive"}],
             "lines":{"object":"list","data":[
               {"id":"il_1","amount":12000,"amount_excluding_tax":10000,"quantity":1,"description":"Plan",
                "discount_amounts":[{"amount":2400,"discount":"di_1"}],"tax_amounts":[{"amount":1600,"inclusive":true}]}],
              "has_more":false}}
            """#
        let prorated = #"""
            {"id":"in_3","object":"invoice","customer":"cus_1","currency":"eur","status":"open","subtotal":500,"total":500,
             "lines":{"object":"list","data":[
               {"id":"il_1","amount":500,"quantity":1,"description":"Remaining time","discount_amounts":[],"taxes":[],
                "pricing":{"type":"price_details","price_details":{"price":"price_1","product":"prod_1"},"unit_amount_decimal":"1000"}}],
              "has_more":false}}
            """#
        S.apply(
            [try decode("invoice.finalized", discounted, id: "evt_2"), try decode("invoice.finalized", prorated, id: "evt_3")],
            to: &aggregate)
        let inclusiveDiscounted = try #require(aggregate.record(S.ref(.invoice, "in_2"))?.decode(Invoice.self))
        #expect(inclusiveDiscounted.lines == [InvoiceLine(description: "Plan", quantity: 1, unitAmountMinor: 8000, amountMinor: 8000)])
        let proration = try #require(aggregate.record(S.ref(.invoice, "in_3"))?.decode(Invoice.self))
        #expect(proration.lines?.first?.discountMinor == nil)
        #expect(proration.lines?.first?.unitAmountMinor == 1000 && proration.lines?.first?.amountMinor == 500)
    }

    /// An invoice embeds its first 10 lines (`has_more` when it has more): one line stands for the rest, so the ledger's
    /// invoice asks for Stripe's total; a total no line explains gets a line for the difference.
    @Test func linesAnEventLeavesOutAreOneLineForTheRest() throws {
        let lines = (1...10).map { #"{"id":"il_\#($0)","amount":100,"quantity":1,"description":"Usage \#($0)"}"# }
        func object(total: Int, hasMore: Bool) -> String {
            #"""
            {"id":"in_1","object":"invoice","customer":"cus_1","currency":"usd","status":"open","subtotal":\#(total),
             "total":\#(total + 190),"total_taxes":[{"amount":190}],
             "lines":{"object":"list","data":[\#(lines.joined(separator: ","))],"has_more":\#(hasMore)}}
            """#
        }
        var aggregate = Aggregate()
        S.apply([try decode("invoice.finalized", object(total: 1500, hasMore: true))], to: &aggregate)
        let truncated = try #require(aggregate.record(S.ref(.invoice, "in_1"))?.decode(Invoice.self))
        #expect(truncated.lines?.count == 11)
        #expect(truncated.lines?.last?.amountMinor == 500)
        #expect(truncated.lines?.last?.description.contains("first 10") == true)
        #expect((truncated.lines ?? []).reduce(0) { $0 + $1.amountMinor } + (truncated.taxMinor ?? 0) == truncated.totalMinor)

        // Every line in the event, and a total no line explains.
        aggregate = Aggregate()
        S.apply([try decode("invoice.finalized", object(total: 990, hasMore: false))], to: &aggregate)
        let off = try #require(aggregate.record(S.ref(.invoice, "in_1"))?.decode(Invoice.self))
        #expect(
            off.lines?.last
                == InvoiceLine(description: "Difference to the total billed in Stripe", quantity: 1, unitAmountMinor: -10, amountMinor: -10)
        )

        // Lines that add up: nothing added.
        aggregate = Aggregate()
        S.apply([try decode("invoice.finalized", object(total: 1000, hasMore: false))], to: &aggregate)
        #expect(try #require(aggregate.record(S.ref(.invoice, "in_1"))?.decode(Invoice.self)).lines?.count == 10)
    }

    @Test func everyReportOfOnePaymentConvergesOnOneRecord() throws {
        let paidInvoice = Self.invoice(status: "paid", paidAt: "1700000000", amountPaid: 2380)
        let events = [
            try decode("invoice.payment_succeeded", paidInvoice, id: "evt_a"),
            try decode("invoice.paid", paidInvoice, id: "evt_b"),
            try decode(
                "payment_intent.succeeded",
                #"{"id":"pi_1","object":"payment_intent","customer":"cus_1","invoice":"in_1","amount":2380,"amount_received":2380,"currency":"eur","latest_charge":"ch_1"}"#,
                id: "evt_c"),
        ]
        var aggregate = Aggregate()
        S.apply(events, to: &aggregate)
        #expect(aggregate.records(of: .payment).count == 1)
        let router = CommandRouter(flows: [Flow(name: "billing", source: "stripe", target: "odoo")], ownership: OwnershipRules())
        let commands = router.route(entityKey: events[0].entityKey, aggregate: &aggregate, source: "stripe")
        let payments = commands.filter { if case .registerPayment = $0.payload { true } else { false } }
        #expect(payments.count == 1)
    }

    @Test func paymentFailedRecordsAFailedAttemptAndTheInvoice() throws {
        let decoded = try decode("invoice.payment_failed", Self.invoice(status: "open"))
        #expect(decoded.changes.map(\.ref) == [S.ref(.invoice, "in_1"), S.ref(.payment, "in_1-attempt-1")])
        var aggregate = Aggregate()
        S.apply([decoded], to: &aggregate)
        let payment = try #require(aggregate.record(S.ref(.payment, "in_1-attempt-1"))?.decode(Payment.self))
        #expect(payment.status == .failed)
        #expect(payment.amount == Money(amountMinor: 2380, currency: .eur))
        #expect(payment.invoiceRef == S.ref(.invoice, "in_1"))
        let standing = StandingRule.standing(of: S.ref(.customer, "cus_1"), in: aggregate)
        #expect(standing.state == .pastDue)
        #expect(standing.overdue == Money(amountMinor: 2380, currency: .eur))

        // The second attempt is a second record; the payment intent's failure carries the decline code.
        let second = try decode(
            "invoice.payment_failed",
            Self.invoice(status: "open").replacingOccurrences(of: #""attempt_count":1"#, with: #""attempt_count":2"#))
        #expect(second.changes.last?.ref == S.ref(.payment, "in_1-attempt-2"))
        let intent = try decode(
            "payment_intent.payment_failed",
            #"{"id":"pi_1","object":"payment_intent","customer":"cus_1","invoice":"in_1","amount":2380,"currency":"eur","last_payment_error":{"code":"card_declined","decline_code":"insufficient_funds","charge":"ch_9"}}"#
        )
        #expect(intent.changes.first?.ref == S.ref(.payment, "pi_1-ch_9"))
        #expect(intent.changes.first?.fields["failureCode"] == "insufficient_funds")
        #expect(intent.changes.first?.fields["status"] == "failed")
    }

    @Test func refundsFromChargeRefundedAndRefundEvents() throws {
        let charge = try decode(
            "charge.refunded",
            #"{"id":"ch_1","object":"charge","customer":"cus_1","invoice":"in_1","amount":2380,"amount_refunded":500,"refunds":{"object":"list","data":[{"id":"re_1","object":"refund","amount":500,"currency":"eur","charge":"ch_1","status":"succeeded","reason":"requested_by_customer","created":1700000100}],"has_more":false}}"#
        )
        var aggregate = Aggregate()
        S.apply([charge], to: &aggregate)
        let refund = try #require(aggregate.record(S.ref(.refund, "re_1"))?.decode(Refund.self))
        #expect(refund.amount == Money(amountMinor: 500, currency: .eur))
        #expect(refund.chargeID == "ch_1")
        #expect(refund.invoiceRef == S.ref(.invoice, "in_1"))
        #expect(refund.customerRef == S.ref(.customer, "cus_1"))
        #expect(refund.status == "succeeded")
        #expect(refund.reason == "requested_by_customer")
        #expect(refund.createdAt == Date(timeIntervalSince1970: 1_700_000_100))

        // Current versions: charge.refunded has no list; refund.* carries the refund.
        let bare = try decode("charge.refunded", #"{"id":"ch_2","object":"charge","customer":"cus_1","amount_refunded":100}"#)
        #expect(bare.changes.isEmpty && bare.ignoredReason != nil)
        let created = try decode(
            "refund.created",
            #"{"id":"re_2","object":"refund","amount":100,"currency":"usd","charge":"ch_2","payment_intent":"pi_2","status":"pending","reason":null,"created":1700000200}"#
        )
        // No customer on the refund: its payment intent's provisional key, which the customer's entity adopts.
        #expect(created.entityKey.rawValue == "stripe/payment/pi_2")
        #expect(created.changes.first?.fields["paymentIntentID"] == "pi_2")
        let change = try #require(created.changes.first)
        #expect(change.fields["chargeID"] == "ch_2")
        #expect(change.fields["status"] == "pending")
        #expect(change.fields["reason"] == .null)
        #expect(change.fields["customerRef"] == nil)
        let updated = try decode(
            "charge.refund.updated",
            #"{"id":"re_2","object":"refund","amount":100,"currency":"usd","charge":{"id":"ch_2","object":"charge"},"status":"succeeded","created":1700000200}"#
        )
        #expect(updated.changes.first?.fields["status"] == "succeeded")
        #expect(updated.changes.first?.fields["chargeID"] == "ch_2")
    }

    /// Stripe's `created` has whole seconds and webhooks arrive in any order: snapshots of one second apply in their
    /// lifecycle order whichever arrives last (seen with localstripe, whose webhooks race).
    @Test func snapshotsOfOneSecondApplyInLifecycleOrderWhateverArrivesLast() throws {
        let created = try decode("customer.created", #"{"id":"cus_1","object":"customer","name":"Carol Shaw"}"#, id: "evt_1")
        let renamed = try decode("customer.updated", #"{"id":"cus_1","object":"customer","name":"Carol B. Shaw"}"#, id: "evt_2")
        let deleted = try decode("customer.deleted", #"{"id":"cus_1","object":"customer","deleted":true}"#, id: "evt_3")
        let incomplete = try decode(
            "customer.subscription.created", #"{"id":"sub_1","object":"subscription","customer":"cus_1","status":"incomplete"}"#,
            id: "evt_4")
        let active = try decode(
            "customer.subscription.updated", #"{"id":"sub_1","object":"subscription","customer":"cus_1","status":"active"}"#,
            id: "evt_5")
        func refund(_ status: String, _ id: String) throws -> DecodedEvent {
            try decode(
                "refund.updated",
                #"{"id":"re_1","object":"refund","amount":100,"currency":"usd","charge":"ch_1","customer":"cus_1","status":"\#(status)","created":1700000000}"#,
                id: id)
        }
        let pending = try refund("pending", "evt_6")
        let succeeded = try refund("succeeded", "evt_7")
        let failed = try refund("failed", "evt_8")

        for order in [
            [created, renamed, incomplete, active, pending, succeeded], [active, succeeded, renamed, pending, incomplete, created],
        ] {
            var aggregate = Aggregate()
            S.apply(order, to: &aggregate)
            #expect(aggregate.record(S.ref(.customer, "cus_1"))?.decode(Customer.self)?.name == "Carol B. Shaw")
            #expect(aggregate.record(S.ref(.subscription, "sub_1"))?.decode(Subscription.self)?.status == .active)
            #expect(aggregate.record(S.ref(.refund, "re_1"))?.decode(Refund.self)?.status == "succeeded")
        }
        var aggregate = Aggregate()
        S.apply([deleted, failed, renamed, succeeded, created, pending], to: &aggregate)
        #expect(aggregate.record(S.ref(.customer, "cus_1"))?.decode(Customer.self)?.deleted == true)
        #expect(aggregate.record(S.ref(.refund, "re_1"))?.decode(Refund.self)?.status == "failed")
        // A later second still wins over any ordinal.
        let reopened = try decode(
            "customer.created", #"{"id":"cus_1","object":"customer","name":"Carol Again"}"#, created: 1_700_000_001, id: "evt_9")
        S.apply([reopened], to: &aggregate)
        #expect(aggregate.record(S.ref(.customer, "cus_1"))?.decode(Customer.self)?.name == "Carol Again")
    }

    @Test func subscriptionUpdateInBothShapes() throws {
        let old = try decode(
            "customer.subscription.updated",
            #"{"id":"sub_1","object":"subscription","customer":"cus_1","status":"past_due","current_period_start":1700000000,"current_period_end":1702592000,"cancel_at":null,"canceled_at":null,"items":{"object":"list","data":[{"id":"si_1","quantity":3,"price":{"id":"price_1","product":"prod_1","unit_amount":1000,"currency":"eur"}}]}}"#
        )
        var aggregate = Aggregate()
        S.apply([old], to: &aggregate)
        let subscription = try #require(aggregate.record(S.ref(.subscription, "sub_1"))?.decode(Subscription.self))
        #expect(subscription.status == .pastDue)
        #expect(subscription.customerRef == S.ref(.customer, "cus_1"))
        #expect(subscription.currentPeriodStart == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(subscription.currentPeriodEnd == Date(timeIntervalSince1970: 1_702_592_000))
        #expect(
            subscription.items == [
                SubscriptionItem(
                    productRef: S.ref(.product, "prod_1"), priceRef: S.ref(.price, "price_1"), quantity: 3,
                    unitAmount: Money(amountMinor: 1000, currency: .eur))
            ])
        #expect(subscription.cancelAt == nil)

        // Current shape: periods live on the items.
        let current = try decode(
            "customer.subscription.updated",
            #"{"id":"sub_1","object":"subscription","customer":"cus_1","status":"active","cancel_at":1705000000,"canceled_at":1700000500,"items":{"object":"list","data":[{"id":"si_1","quantity":1,"current_period_start":1700000000,"current_period_end":1702592000,"price":{"id":"price_1","product":{"id":"prod_1","object":"product"},"unit_amount":1000,"currency":"eur"}},{"id":"si_2","current_period_start":1700000100,"current_period_end":1702600000,"price":{"id":"price_2","product":"prod_2","currency":"eur","recurring":{"usage_type":"metered"}}}]}}"#,
            created: 1_700_000_600, id: "evt_2")
        S.apply([current], to: &aggregate)
        let updated = try #require(aggregate.record(S.ref(.subscription, "sub_1"))?.decode(Subscription.self))
        #expect(updated.status == .active)
        #expect(updated.currentPeriodStart == Date(timeIntervalSince1970: 1_700_000_000))
        #expect(updated.currentPeriodEnd == Date(timeIntervalSince1970: 1_702_600_000))
        #expect(updated.cancelAt == Date(timeIntervalSince1970: 1_705_000_000))
        #expect(updated.canceledAt == Date(timeIntervalSince1970: 1_700_000_500))
        #expect(updated.items?.map(\.quantity) == [1, 0])
        #expect(updated.items?.last?.unitAmount == nil)
    }

    @Test func customerUpdateAndDeletion() throws {
        let updated = try decode(
            "customer.updated",
            #"{"id":"cus_1","object":"customer","name":"Ada Ltd","email":"ada@example.com","phone":null,"currency":"eur","address":{"line1":"1 Main St","line2":null,"city":"Berlin","postal_code":"10115","state":null,"country":"DE"},"tax_ids":{"object":"list","data":[{"id":"txi_1","type":"us_ein","value":"12-3456789"},{"id":"txi_2","type":"eu_vat","value":"DE123456789"}]}}"#
        )
        var aggregate = Aggregate()
        S.apply([updated], to: &aggregate)
        let customer = try #require(aggregate.record(S.ref(.customer, "cus_1"))?.decode(Customer.self))
        #expect(customer.name == "Ada Ltd" && customer.email == "ada@example.com" && customer.phone == nil)
        #expect(customer.currency == .eur)
        #expect(customer.taxID == "DE123456789")
        #expect(customer.address == PostalAddress(line1: "1 Main St", city: "Berlin", postalCode: "10115", country: "DE"))
        #expect(customer.deleted == nil)
        // Without the expanded tax ids, the tax id is left alone.
        let plain = try decode("customer.updated", #"{"id":"cus_1","object":"customer","name":"Ada","address":null}"#)
        #expect(plain.changes[0].fields["taxID"] == nil)
        #expect(plain.changes[0].fields["address"] == .null)

        let deleted = try decode("customer.deleted", #"{"id":"cus_1","object":"customer","deleted":true}"#, id: "evt_3")
        #expect(deleted.changes[0].fields == ["ref": CanonicalCoding.jsonValue(S.ref(.customer, "cus_1")), "deleted": true])

        let taxID = try decode(
            "customer.tax_id.created", #"{"id":"txi_3","object":"tax_id","customer":"cus_1","type":"eu_vat","value":"FR1"}"#)
        #expect(taxID.entityKey.rawValue == "stripe/customer/cus_1")
        #expect(taxID.changes[0].fields["taxID"] == "FR1")
    }

    @Test func productsAndPrices() throws {
        let product = try decode(
            "product.updated", #"{"id":"prod_1","object":"product","name":"Seat","active":true,"metadata":{"sku":"SEAT-1"}}"#)
        #expect(product.changes[0].fields["sku"] == "SEAT-1")
        #expect(product.changes[0].fields["name"] == "Seat")
        let noSKU = try decode("product.created", #"{"id":"prod_2","object":"product","name":"X","active":true,"metadata":{}}"#)
        #expect(noSKU.changes[0].fields["sku"] == "prod_2")
        let price = try decode(
            "price.updated", #"{"id":"price_1","object":"price","active":true,"product":"prod_1","unit_amount":1500,"currency":"usd"}"#)
        #expect(price.entityKey.rawValue == "stripe/product/prod_1")
        #expect(price.changes[0].fields["unitAmount"] == CanonicalCoding.jsonValue(Money(amountMinor: 1500, currency: .usd)))
        let tiered = try decode(
            "price.created", #"{"id":"price_2","object":"price","active":true,"product":"prod_1","unit_amount":null,"currency":"usd"}"#)
        #expect(tiered.ignoredReason != nil)
        let deleted = try decode("product.deleted", #"{"id":"prod_1","object":"product","deleted":true}"#)
        #expect(deleted.changes[0].fields["active"] == false)
    }

    @Test func invoicePaymentLinksInvoiceAndCharge() throws {
        let decoded = try decode(
            "invoice_payment.paid",
            #"{"id":"inpay_1","object":"invoice_payment","invoice":{"id":"in_1","object":"invoice","customer":"cus_1"},"amount_paid":2380,"amount_requested":2380,"currency":"eur","payment":{"type":"charge","charge":"ch_7"},"status":"paid","status_transitions":{"paid_at":1700000050},"created":1700000000}"#
        )
        #expect(decoded.entityKey.rawValue == "stripe/customer/cus_1")
        var aggregate = Aggregate()
        S.apply([decoded], to: &aggregate)
        let payment = try #require(aggregate.record(S.ref(.payment, "in_1"))?.decode(Payment.self))
        #expect(payment.chargeID == "ch_7")
        #expect(payment.amount == Money(amountMinor: 2380, currency: .eur))
        #expect(payment.occurredAt == Date(timeIntervalSince1970: 1_700_000_050))
        #expect(aggregate.record(S.ref(.invoice, "in_1"))?.fields["chargeID"] == "ch_7")

        // A later invoice.paid in the current shape (no charge) keeps the link.
        let paid = try decode(
            "invoice.paid",
            #"{"id":"in_1","object":"invoice","customer":"cus_1","currency":"eur","status":"paid","total":2380,"amount_paid":2380,"amount_due":2380,"amount_remaining":0,"status_transitions":{"finalized_at":1699999000,"paid_at":1700000050},"parent":{"type":"subscription_details","subscription_details":{"subscription":"sub_1"}},"lines":{"data":[{"id":"il_1","amount":2380,"quantity":1,"description":"Plan","pricing":{"type":"price_details","price_details":{"price":"price_1","product":"prod_1"},"unit_amount_decimal":"2380"}}]}}"#,
            created: 1_700_000_060, id: "evt_2")
        S.apply([paid], to: &aggregate)
        let invoice = try #require(aggregate.record(S.ref(.invoice, "in_1"))?.decode(Invoice.self))
        #expect(invoice.chargeID == "ch_7")
        #expect(invoice.subscriptionRef == S.ref(.subscription, "sub_1"))
        #expect(invoice.lines?.first?.productRef == S.ref(.product, "prod_1"))
        #expect(invoice.lines?.first?.unitAmountMinor == 2380)
        #expect(aggregate.record(S.ref(.payment, "in_1"))?.decode(Payment.self)?.chargeID == "ch_7")
    }

    /// A payment attached to an invoice besides its default one (a partial payment) is a payment of its own, marked
    /// partial, and leaves the invoice's payment intent and charge alone; the invoice's own payment is made only by
    /// an `invoice.paid` of the invoice paid in full.
    @Test func aPartialInvoicePaymentIsAPaymentOfItsOwn() throws {
        let partial = try decode(
            "invoice_payment.paid",
            #"{"id":"inpay_2","object":"invoice_payment","invoice":{"id":"in_1","object":"invoice","customer":"cus_1"},"amount_paid":400,"amount_requested":400,"currency":"eur","is_default":false,"payment":{"type":"payment_intent","payment_intent":"pi_2"},"status":"paid","status_transitions":{"paid_at":1700000050},"created":1700000000}"#
        )
        #expect(partial.changes.map(\.ref) == [S.ref(.payment, "inpay_2")])
        var aggregate = Aggregate()
        S.apply([partial], to: &aggregate)
        let payment = try #require(aggregate.record(S.ref(.payment, "inpay_2"))?.decode(Payment.self))
        #expect(payment.partial == true && payment.invoiceRef == S.ref(.invoice, "in_1"))
        #expect(payment.amount == Money(amountMinor: 400, currency: .eur))
        #expect(aggregate.record(S.ref(.invoice, "in_1")) == nil)

        let partlyPaid = try decode(
            "invoice.payment_succeeded",
            #"{"id":"in_1","object":"invoice","customer":"cus_1","currency":"eur","status":"open","total":1000,"amount_paid":400,"amount_due":1000,"amount_remaining":600}"#,
            created: 1_700_000_060, id: "evt_2")
        #expect(partlyPaid.changes.map(\.ref) == [S.ref(.invoice, "in_1")])
    }

    /// An invoice of 10.00 paid 4.00 by an attached payment, then the rest by its own: `invoice.paid` says the whole
    /// 10.00 was paid, the default `invoice_payment` that its own payment was 6.00. Both write the invoice's own
    /// payment; in whichever order, and whichever of them is newer, Odoo is asked to register 6.00 for it. (The own
    /// payment's 6.00 counted net of the part again was 2.00, a race the end-to-end test met under load.)
    @Test func theInvoicesOwnPaymentCountsTheSameFromEitherEvent() throws {
        let part = try decode(
            "invoice_payment.paid",
            #"{"id":"inpay_2","object":"invoice_payment","invoice":{"id":"in_1","object":"invoice","customer":"cus_1"},"amount_paid":400,"amount_requested":400,"currency":"eur","is_default":false,"payment":{"type":"payment_intent","payment_intent":"pi_2"},"status":"paid","status_transitions":{"paid_at":1700000050},"created":1700000000}"#,
            created: 1_700_000_050, id: "evt_part")
        func paid(at created: Int64) throws -> DecodedEvent {
            try decode(
                "invoice.paid",
                #"{"id":"in_1","object":"invoice","customer":"cus_1","currency":"eur","status":"paid","total":1000,"amount_paid":1000,"amount_due":1000,"amount_remaining":0,"status_transitions":{"finalized_at":1700000000,"paid_at":1700000100}}"#,
                created: created, id: "evt_paid")
        }
        func own(at created: Int64) throws -> DecodedEvent {
            try decode(
                "invoice_payment.paid",
                #"{"id":"inpay_1","object":"invoice_payment","invoice":{"id":"in_1","object":"invoice","customer":"cus_1"},"amount_paid":600,"amount_requested":600,"currency":"eur","is_default":true,"payment":{"type":"payment_intent","payment_intent":"pi_1"},"status":"paid","status_transitions":{"paid_at":1700000100},"created":1700000000}"#,
                created: created, id: "evt_own")
        }
        let router = CommandRouter(flows: [Flow(name: "billing", source: "stripe", target: "odoo")], ownership: OwnershipRules())
        let seconds: [(Int64, Int64)] = [(1_700_000_100, 1_700_000_100), (1_700_000_100, 1_700_000_101), (1_700_000_101, 1_700_000_100)]
        for (paidAt, ownAt) in seconds {
            for ownFirst in [false, true] {
                let order = ownFirst ? [part, try own(at: ownAt), try paid(at: paidAt)] : [part, try paid(at: paidAt), try own(at: ownAt)]
                var aggregate = Aggregate()
                S.apply(order, to: &aggregate)
                let commands = router.route(entityKey: part.entityKey, aggregate: &aggregate, source: "stripe")
                let registered = commands.compactMap { command -> Payment? in
                    if case .registerPayment(let payment) = command.payload, payment.ref == S.ref(.payment, "in_1") {
                        return payment
                    }
                    return nil
                }
                #expect(registered.map(\.amount.amountMinor) == [600], "paid at \(paidAt), own at \(ownAt), own first: \(ownFirst)")
            }
        }
    }

    /// A raw event with `data.previous_attributes`, as Stripe sends an `*.updated` event.
    func updated(_ type: String, _ object: String, previous: String, created: Int64, id: String) throws -> DecodedEvent {
        let payload =
            #"{"id":"\#(id)","object":"event","api_version":"2026-07-29.dahlia","created":\#(created),"livemode":false,"pending_webhooks":1,"type":"\#(type)","data":{"object":\#(object),"previous_attributes":\#(previous)}}"#
        return try decoder.decode(try S.inboxEvent(payload: Data(payload.utf8)))
    }

    /// Two updates of one customer in one second, each changing another field (the email, then the address, a hash
    /// whose old value `previous_attributes` gives whole), keep both changes in either arrival order: each update's
    /// unchanged copy of the other's field ranks below that field's change. Without `previous_attributes` every field
    /// of an update ranks the same, and the update processed last wins, as before.
    @Test func twoUpdatesOfOneSecondKeepBothChangesInEitherOrder() throws {
        let created = try decode(
            "customer.created", #"{"id":"cus_1","object":"customer","name":"Ada","email":"a@example.com","address":null}"#,
            created: 1_700_000_000, id: "evt_0")
        let address = #"{"line1":"1 Loom Road","line2":null,"city":"London","postal_code":"N1","state":null,"country":"GB"}"#
        let email = try updated(
            "customer.updated", #"{"id":"cus_1","object":"customer","name":"Ada","email":"b@example.com","address":null}"#,
            previous: #"{"email":"a@example.com"}"#, created: 1_700_000_005, id: "evt_1")
        let moved = try updated(
            "customer.updated",
            #"{"id":"cus_1","object":"customer","name":"Ada","email":"b@example.com","address":\#(address)}"#,
            previous: #"{"address":null}"#, created: 1_700_000_005, id: "evt_2")
        #expect(email.changes[0].version(of: "email") > email.changes[0].version(of: "address"))
        #expect(moved.changes[0].version(of: "address") > moved.changes[0].version(of: "email"))
        // A carried field still ranks above the creation of the same second.
        #expect(moved.changes[0].version(of: "email") > SourceVersion(millis: 1_700_000_005_000, ordinal: 0))
        for order in [[created, email, moved], [created, moved, email], [moved, email, created]] {
            var aggregate = Aggregate()
            S.apply(order, to: &aggregate)
            let customer = try #require(aggregate.record(S.ref(.customer, "cus_1"))?.decode(Customer.self))
            #expect(customer.email == "b@example.com")
            #expect(customer.address?.city == "London")
            #expect(customer.name == "Ada")
        }

        // A second change of the email in that second: the update that replaced the other's value wins in any order.
        let again = try updated(
            "customer.updated",
            #"{"id":"cus_1","object":"customer","name":"Ada","email":"c@example.com","address":\#(address)}"#,
            previous: #"{"email":"b@example.com"}"#, created: 1_700_000_005, id: "evt_3")
        #expect(again.changes[0].replaced == ["email": "b@example.com"])
        for order in [[created, email, moved, again], [created, again, moved, email], [again, moved, email, created]] {
            var aggregate = Aggregate()
            S.apply(order, to: &aggregate)
            let customer = try #require(aggregate.record(S.ref(.customer, "cus_1"))?.decode(Customer.self))
            #expect(customer.email == "c@example.com")
            #expect(customer.address?.city == "London")
        }

        // No `previous_attributes`: the whole snapshot at one rank, as before.
        let plain = try decode(
            "customer.updated", #"{"id":"cus_1","object":"customer","name":"Ada","email":"b@example.com"}"#, created: 1_700_000_005)
        #expect(plain.changes[0].fieldOrdinals.isEmpty)
    }

    @Test func paymentIntentWithoutInvoiceAndUnknownTypesAreIgnored() throws {
        let intent = try decode(
            "payment_intent.succeeded", #"{"id":"pi_1","object":"payment_intent","customer":"cus_1","amount":100,"currency":"usd"}"#)
        #expect(intent.changes.isEmpty && intent.ignoredReason != nil)
        for type in ["payout.paid", "invoice.upcoming", "charge.dispute.created", "price.deleted"] {
            let decoded = try decode(type, #"{"id":"x_1","object":"thing"}"#)
            #expect(decoded.changes.isEmpty)
            #expect(decoded.ignoredReason != nil)
        }
    }

    @Test func rejectsObjectsOfTheWrongShapeWithoutEchoingValues() throws {
        let event = try S.inboxEvent(
            type: "invoice.paid", object: #"{"id":"in_1","object":"invoice","customer":"cus_1","total":"secret-total"}"#)
        do {
            _ = try decoder.decode(event)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unexpectedShape)
            #expect(error.description.contains("total"))
            #expect(!error.description.contains("secret-total"))
        }
    }

    @Test func aStoredPayloadThatIsNotJSONIsInvalidJSON() throws {
        var event = try S.inboxEvent(type: "invoice.paid", object: Self.invoice(status: "paid", paidAt: "1700000000", amountPaid: 2380))
        event.payload = event.payload.prefix(event.payload.count - 3)
        do {
            _ = try decoder.decode(event)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .invalidJSON)
        }
    }

    @Test func fieldValuesMatchTheCanonicalCoding() throws {
        let decoded = try decode("invoice.paid", Self.invoice(status: "paid", paidAt: "1700000000", amountPaid: 2380))
        let invoice = decoded.changes[0].fields
        #expect(invoice["ref"] == CanonicalCoding.jsonValue(S.ref(.invoice, "in_1")))
        #expect(invoice["paidAt"] == CanonicalCoding.jsonValue(Date(timeIntervalSince1970: 1_700_000_000)))
        #expect(invoice["currency"] == CanonicalCoding.jsonValue(CurrencyCode.eur))
        #expect(invoice["status"] == CanonicalCoding.jsonValue(InvoiceStatus.paid))
        let payment = decoded.changes[1].fields
        #expect(payment["amount"] == CanonicalCoding.jsonValue(Money(amountMinor: 2380, currency: .eur)))
        #expect(payment["status"] == CanonicalCoding.jsonValue(PaymentStatus.succeeded))
    }
}
