import Foundation
import WeftCore

extension StripeEventDecoder {
    /// `charge.refunded` → one Refund per refund in `charge.refunds` (linked to the charge's invoice when the charge
    /// names one). Since API version 2022-11-15 the list is not included unless expanded; then the event is ignored
    /// and the refunds arrive through `refund.*` / `charge.refund.updated`.
    func decodeChargeRefunded(_ context: Context) throws(StripeEventError) -> DecodedEvent {
        let event = try context.wire(StripeWireCharge.self)
        let charge = event.data.object
        guard let refunds = charge.refunds?.data, !refunds.isEmpty else {
            return context.ignored("charge.refunded without the refunds list (refunds arrive as refund events)")
        }
        let version = Self.version(event.created)
        let changes = refunds.map { refund in
            refundChange(
                refund, chargeID: refund.charge?.id ?? charge.id, customerID: refund.customer?.id ?? charge.customer?.id,
                invoiceID: charge.invoice?.id, version: version
            )
        }
        return context.changes(changes)
    }

    /// `refund.created|updated|failed`, `charge.refund.updated` → Refund.
    func decodeRefund(_ context: Context) throws(StripeEventError) -> DecodedEvent {
        let event = try context.wire(StripeWireRefund.self)
        let refund = event.data.object
        let change = refundChange(
            refund, chargeID: refund.charge?.id, customerID: refund.customer?.id, invoiceID: nil,
            version: Self.version(event.created)
        )
        return context.changes([change])
    }

    func refundChange(
        _ refund: StripeWireRefund, chargeID: String?, customerID: String?, invoiceID: String?, version: SourceVersion
    ) -> CanonicalChange {
        typealias V = StripeCanonicalValues
        var fields: [String: JSONValue] = ["ref": values.ref(.refund, refund.id)]
        if let customerID { fields["customerRef"] = values.ref(.customer, customerID) }
        if let invoiceID { fields["invoiceRef"] = values.ref(.invoice, invoiceID) }
        if let chargeID { fields["chargeID"] = .string(chargeID) }
        if let paymentIntentID = refund.payment_intent?.id { fields["paymentIntentID"] = .string(paymentIntentID) }
        if let money = V.money(refund.amount, V.currency(refund.currency)) { fields["amount"] = money }
        if let status = refund.status { fields["status"] = .string(status) }
        fields["reason"] = V.string(refund.reason)
        if let created = refund.created { fields["createdAt"] = V.date(created) }
        // Within one second, a refund's later status wins whichever event arrives last: `pending` or
        // `requires_action` first, then `succeeded`, then `failed` or `canceled` (a refund that succeeded can still
        // fail later; one that failed never succeeds).
        let rank =
            switch refund.status {
            case "succeeded": 1
            case "failed", "canceled": 2
            default: 0
            }
        return CanonicalChange(
            ref: values.externalRef(.refund, refund.id), fields: fields, version: SourceVersion(millis: version.millis, ordinal: rank))
    }
}
