import Foundation
import Testing
import WeftConnectors
import WeftCore

/// A Stripe credit note becomes one Refund per part no other event books: what it took off its open invoice, what it
/// credited to the customer's balance, what was credited outside Stripe. The money it paid back is its refund's.
@Suite("Stripe credit notes")
struct StripeCreditNoteDecoderTests {
    typealias S = StripeTestSupport

    /// A credit note of 10,000 of the current shape.
    static func note(
        status: String = "issued", type: String, pre: Int, post: Int, refunded: Int = 0, outOfBand: String = "null"
    ) -> String {
        let refunds = refunded > 0 ? #"[{"amount_refunded":\#(refunded),"refund":"re_9","type":"refund"}]"# : "[]"
        return #"""
            {"id":"cn_1","object":"credit_note","number":"INV-0001-CN-01","invoice":"in_1","customer":"cus_1",
             "currency":"eur","amount":10000,"total":10000,"status":"\#(status)","type":"\#(type)",
             "reason":"order_change","created":1700000100,"effective_at":null,"pre_payment_amount":\#(pre),
             "post_payment_amount":\#(post),"out_of_band_amount":\#(outOfBand),"refunds":\#(refunds),
             "customer_balance_transaction":null,"voided_at":null}
            """#
    }

    func refunds(_ decoded: DecodedEvent) throws -> [String: Refund] {
        var aggregate = Aggregate()
        S.apply([decoded], to: &aggregate)
        var result: [String: Refund] = [:]
        for change in decoded.changes { result[change.ref.id] = try #require(aggregate.record(change.ref)?.decode(Refund.self)) }
        return result
    }

    @Test func aMixedNoteIsBookedByPartAndNeverForTheMoneyItPaidBack() throws {
        let decoded = try S.decode(
            "credit_note.created", Self.note(type: "mixed", pre: 3000, post: 7000, refunded: 2500, outOfBand: "1500"))
        #expect(decoded.entityKey.rawValue == "stripe/customer/cus_1")
        let parts = try refunds(decoded)
        #expect(Set(parts.keys) == ["cn_1", "cn_1-balance", "cn_1-out_of_band"])
        let adjustment = try #require(parts["cn_1"])
        #expect(adjustment.kind == .adjustment)
        #expect(adjustment.amount == Money(amountMinor: 3000, currency: .eur))
        #expect(adjustment.invoiceRef == S.ref(.invoice, "in_1"))
        #expect(adjustment.customerRef == S.ref(.customer, "cus_1"))
        #expect(adjustment.status == "succeeded")
        #expect(adjustment.reason == "Stripe credit note INV-0001-CN-01 order_change")
        #expect(adjustment.createdAt == Date(timeIntervalSince1970: 1_700_000_100))
        // 7,000 after payment: 2,500 paid back (its refund's events book it), 1,500 outside Stripe, 3,000 to the balance.
        #expect(parts["cn_1-balance"]?.kind == .credit)
        #expect(parts["cn_1-balance"]?.amount.amountMinor == 3000)
        #expect(parts["cn_1-out_of_band"]?.kind == .outOfBand)
        #expect(parts["cn_1-out_of_band"]?.amount.amountMinor == 1500)
    }

    @Test func aNoteThatOnlyPaysBackIsIgnoredAndOneOnAnOpenInvoiceIsAnAdjustment() throws {
        let refundOnly = try S.decode("credit_note.created", Self.note(type: "post_payment", pre: 0, post: 10000, refunded: 10000))
        #expect(refundOnly.changes.isEmpty)
        #expect(refundOnly.ignoredReason?.contains("refunds") == true)
        let open = try refunds(try S.decode("credit_note.created", Self.note(type: "pre_payment", pre: 10000, post: 0)))
        #expect(open.count == 1)
        #expect(open["cn_1"]?.kind == .adjustment)
        #expect(open["cn_1"]?.amount.amountMinor == 10000)
    }

    @Test func aVoidedNoteWithdrawsItsPartsWhicheverSnapshotOfItsSecondArrivesLast() throws {
        let issued = try S.decode("credit_note.created", Self.note(type: "pre_payment", pre: 10000, post: 0), created: 1_700_000_200)
        let voided = try S.decode(
            "credit_note.voided", Self.note(status: "void", type: "pre_payment", pre: 10000, post: 0), created: 1_700_000_200,
            id: "evt_2")
        let updated = try S.decode(
            "credit_note.updated", Self.note(type: "pre_payment", pre: 10000, post: 0), created: 1_700_000_200, id: "evt_3")
        for order in [[issued, voided, updated], [voided, updated, issued], [updated, voided, issued]] {
            var aggregate = Aggregate()
            S.apply(order, to: &aggregate)
            let refund = try #require(aggregate.record(S.ref(.refund, "cn_1"))?.decode(Refund.self))
            #expect(refund.status == "canceled")
            #expect(Refund.withdrawnStatuses.contains(refund.status))
        }
    }

    /// Before `2025-03-31.basil` a note says only its `type` and its one `refund`.
    @Test func notesOfTheOlderShapeAreSplitByType() throws {
        func older(type: String, refund: String = "null", balance: String = "null", outOfBand: String = "null") -> String {
            #"""
            {"id":"cn_1","object":"credit_note","number":"INV-0001-CN-01","invoice":"in_1","customer":"cus_1",
             "currency":"usd","amount":5000,"total":5000,"status":"issued","type":"\#(type)","reason":null,
             "created":1700000100,"out_of_band_amount":\#(outOfBand),"refund":\#(refund),
             "customer_balance_transaction":\#(balance)}
            """#
        }
        let pre = try refunds(try S.decode("credit_note.created", older(type: "pre_payment")))
        #expect(pre.mapValues(\.kind) == ["cn_1": .adjustment])
        #expect(pre["cn_1"]?.reason == "Stripe credit note INV-0001-CN-01")
        let credited = try refunds(
            try S.decode("credit_note.created", older(type: "post_payment", balance: #""cbtxn_1""#, outOfBand: "1000")))
        #expect(credited.mapValues(\.amount.amountMinor) == ["cn_1-balance": 4000, "cn_1-out_of_band": 1000])
        // Paid back: the refund's events book it; the balance credit alongside cannot be told apart, so it is not booked.
        let refunded = try S.decode("credit_note.created", older(type: "post_payment", refund: #""re_1""#))
        #expect(refunded.changes.isEmpty)
        let both = try refunds(
            try S.decode("credit_note.created", older(type: "post_payment", refund: #""re_1""#, balance: #""cbtxn_1""#, outOfBand: "500")))
        #expect(both.mapValues(\.amount.amountMinor) == ["cn_1-out_of_band": 500])
    }
}
