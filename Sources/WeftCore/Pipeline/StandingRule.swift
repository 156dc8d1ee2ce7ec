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
            of: customerRef, invoices: ledgerInvoices(aggregate.records(of: .invoice)),
            payments: failedPayments(aggregate.records(of: .payment)))
    }

    /// The readable failed payments among `records`, in their order: the only ones the rule reads. A payment whose
    /// status is not the string `failed` cannot decode as failed, so it is passed over without decoding it.
    static func failedPayments(_ records: [(ref: ExternalRef, state: RecordState)]) -> [Payment] {
        let failed = JSONValue.string(PaymentStatus.failed.rawValue)
        return records.compactMap { _, state in
            state.fields["status"] == failed ? state.decode(Payment.self) : nil
        }
    }

    /// Every readable invoice among `records`, drafts too, in their order, holding only what the rule reads (status,
    /// currency, amounts, when paid): the rest of an invoice, its lines above all, is not decoded, so deriving the
    /// standing of a customer with years of invoices stays cheap.
    static func ledgerInvoices(_ records: [(ref: ExternalRef, state: RecordState)]) -> [Invoice] {
        records.compactMap { _, state in
            guard let facts = state.decode(LedgerFacts.self) else { return nil }
            var invoice = Invoice(ref: facts.ref, customerRef: facts.customerRef)
            invoice.status = facts.status
            invoice.currency = facts.currency
            invoice.totalMinor = facts.totalMinor
            invoice.amountDueMinor = facts.amountDueMinor
            invoice.amountRemainingMinor = facts.amountRemainingMinor
            invoice.paidAt = facts.paidAt
            return invoice
        }
    }

    /// The fields of an invoice the rule reads.
    private struct LedgerFacts: Decodable {
        var ref: ExternalRef
        var customerRef: ExternalRef
        var status: InvoiceStatus?
        var currency: CurrencyCode?
        var totalMinor: Int64?
        var amountDueMinor: Int64?
        var amountRemainingMinor: Int64?
        var paidAt: Date?
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
