import Foundation

/// Derives a customer's payment standing from its invoices and payments. Pure and order-independent: the same records
/// give the same standing whatever order the events arrived in.
///
/// A customer is past due while at least one invoice is open (or uncollectible) and has a failed payment attempt;
/// paying that invoice (or voiding it) clears it.
public enum StandingRule {
    /// The standing for `customerRef` given the aggregate's records.
    public static func standing(of customerRef: ExternalRef, in aggregate: Aggregate) -> Standing {
        standing(
            of: customerRef, invoices: aggregate.records(of: .invoice).compactMap { $0.state.decode(Invoice.self) },
            payments: aggregate.records(of: .payment).compactMap { $0.state.decode(Payment.self) })
    }

    /// The standing for `customerRef` given the aggregate's invoices and payments already decoded, in record order.
    public static func standing(of customerRef: ExternalRef, invoices: [Invoice], payments: [Payment]) -> Standing {
        var failuresByInvoice: [ExternalRef: Date] = [:]
        for payment in payments where payment.status == .failed {
            guard let invoiceRef = payment.invoiceRef else { continue }
            failuresByInvoice[invoiceRef] = min(failuresByInvoice[invoiceRef] ?? payment.occurredAt, payment.occurredAt)
        }
        var since: Date?
        var overdue: Money?
        for invoice in invoices {
            guard invoice.status == .open || invoice.status == .uncollectible, let failedAt = failuresByInvoice[invoice.ref]
            else { continue }
            since = min(since ?? failedAt, failedAt)
            if let currency = invoice.currency {
                let remaining = invoice.amountRemainingMinor ?? invoice.amountDueMinor ?? invoice.totalMinor ?? 0
                if let current = overdue, current.currency == currency {
                    overdue = Money(amountMinor: current.amountMinor + remaining, currency: currency)
                } else if overdue == nil {
                    overdue = Money(amountMinor: remaining, currency: currency)
                }
            }
        }
        if let since {
            return Standing(customerRef: customerRef, state: .pastDue, since: since, overdue: overdue)
        }
        let lastPaid = invoices.compactMap(\.paidAt).max() ?? Date(timeIntervalSince1970: 0)
        return Standing(customerRef: customerRef, state: .good, since: lastPaid)
    }
}
