import Foundation
import WeftCore

extension StripeEventDecoder {
    /// `credit_note.created|updated|voided` → a Refund for each part of the note that no other event books:
    /// - what it took off its invoice before payment (`pre_payment_amount`): `refund/<note>`, kind `adjustment`;
    /// - the credit to the customer's balance (what `post_payment_amount` leaves after its refunds and
    ///   `out_of_band_amount`): `refund/<note>-balance`, kind `credit`;
    /// - `out_of_band_amount`: `refund/<note>-out_of_band`, kind `outOfBand`.
    ///
    /// The money it pays back is a Stripe refund of its own, booked from that refund's events, never from the note. A
    /// voided note withdraws its parts (status `canceled`).
    func decodeCreditNote(_ context: Context) throws(StripeEventError) -> DecodedEvent {
        typealias V = StripeCanonicalValues
        let event = try context.wire(StripeWireCreditNote.self)
        let note = event.data.object
        guard let customerID = note.customer?.id else { return context.ignored("credit note without a customer") }
        guard let invoiceID = note.invoice?.id else { return context.ignored("credit note without an invoice") }
        guard let currency = V.currency(note.currency) else { return context.ignored("credit note without a currency") }
        let void = note.status == "void"
        let version = context.version(event.created)
        // A voided snapshot is the note's last state: it wins over any other of the same second.
        let ordinal = void ? 3 : version.ordinal
        let reason = [note.number.map { "Stripe credit note \($0)" }, note.reason].compactMap { $0 }.joined(separator: " ")
        var changes: [CanonicalChange] = []
        for part in Self.parts(of: note) where part.amount > 0 {
            let id = part.suffix.map { "\(note.id)-\($0)" } ?? note.id
            let fields: [String: JSONValue] = [
                "ref": values.ref(.refund, id), "customerRef": values.ref(.customer, customerID),
                "invoiceRef": values.ref(.invoice, invoiceID),
                "amount": .object(["amountMinor": .int(part.amount), "currency": .string(currency.rawValue)]),
                "status": .string(void ? "canceled" : "succeeded"), "reason": reason.isEmpty ? .null : .string(reason),
                "createdAt": V.date(note.effective_at ?? note.created ?? event.created),
                "kind": .string(part.kind.rawValue),
            ]
            changes.append(
                CanonicalChange(
                    ref: values.externalRef(.refund, id), fields: fields,
                    version: SourceVersion(millis: version.millis, ordinal: ordinal)))
        }
        if changes.isEmpty { return context.ignored("credit note \(note.id) only pays back refunds, which are booked on their own") }
        return context.changes(changes)
    }

    /// The parts of a credit note Weft books, with the suffix of their ref.
    ///
    /// Versions before `2025-03-31.basil` do not split a note: a `pre_payment` note is all adjustment; a
    /// `post_payment` one is its `out_of_band_amount` and a credit to the balance of what is left, unless it also
    /// refunded money (`refund`), whose amount that shape does not give: then only a note with no balance transaction
    /// is known to credit nothing, and one with both is booked for its out-of-band part alone (docs/connectors/stripe.md).
    static func parts(of note: StripeWireCreditNote) -> [(suffix: String?, kind: RefundKind, amount: Int64)] {
        let outOfBand = max(0, note.out_of_band_amount ?? 0)
        let adjustment: Int64
        let balance: Int64
        if let pre = note.pre_payment_amount, let post = note.post_payment_amount {
            let refunded = (note.refunds ?? []).reduce(0) { $0 + max(0, $1.amount_refunded ?? 0) }
            (adjustment, balance) = (pre, max(0, post - refunded - outOfBand))
        } else if note.type == "pre_payment" {
            (adjustment, balance) = (note.total ?? note.amount ?? 0, 0)
        } else if note.refund == nil {
            (adjustment, balance) = (0, max(0, (note.total ?? note.amount ?? 0) - outOfBand))
        } else {
            (adjustment, balance) = (0, 0)
        }
        return [(nil, .adjustment, adjustment), ("balance", .credit, balance), ("out_of_band", .outOfBand, outOfBand)]
    }
}
