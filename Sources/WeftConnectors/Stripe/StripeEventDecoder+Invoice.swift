import Foundation
import WeftCore

extension StripeEventDecoder {
    /// `invoice.*` → Invoice; `invoice.paid` and `invoice.payment_succeeded` add the succeeded Payment, and
    /// `invoice.payment_failed` adds a failed Payment for the attempt.
    ///
    /// The succeeded payment of an invoice has the ref `payment/<invoice id>` whichever event reports it
    /// (`invoice.paid`, `invoice.payment_succeeded`, `payment_intent.succeeded`, `invoice_payment.paid`), so they
    /// all converge on one record and a target registers the payment once.
    func decodeInvoice(_ context: Context, type: String) throws(StripeEventError) -> DecodedEvent {
        let event = try context.wire(StripeWireInvoice.self)
        let invoice = event.data.object
        guard let invoiceID = invoice.id else { return context.ignored("\(type) carries an invoice without an id") }
        let version = Self.version(event.created)
        var changes = [invoiceChange(invoice, id: invoiceID, version: version)]
        let currency = StripeCanonicalValues.currency(invoice.currency)
        switch type {
        case "invoice.paid", "invoice.payment_succeeded":
            // The invoice's own payment is of an invoice paid in full: a partial payment (current versions) reports
            // itself, as an `invoice_payment.paid` of its own.
            if invoice.status == nil || invoice.status == "paid", let amountPaid = invoice.amount_paid, amountPaid > 0, let currency {
                var fields = paymentFields(
                    paymentID: invoiceID, invoiceID: invoiceID, customerID: invoice.customer?.id, amount: amountPaid,
                    currency: currency, status: .succeeded,
                    occurredAt: invoice.status_transitions?.paid_at ?? event.created
                )
                if let chargeID = invoice.charge?.id { fields["chargeID"] = .string(chargeID) }
                // `amount_paid` counts the invoice's partial payments too (routing takes them off).
                fields["amountIncludesPartials"] = true
                changes.append(paymentChange(id: invoiceID, fields: fields, version: version))
            }
        case "invoice.payment_failed":
            if let currency {
                let attempt = invoice.attempt_count.map { "attempt-\($0)" } ?? event.id
                let paymentID = "\(invoiceID)-\(attempt)"
                var fields = paymentFields(
                    paymentID: paymentID, invoiceID: invoiceID, customerID: invoice.customer?.id,
                    amount: invoice.amount_remaining ?? invoice.amount_due ?? invoice.total ?? 0, currency: currency,
                    status: .failed, occurredAt: event.created
                )
                if let chargeID = invoice.charge?.id { fields["chargeID"] = .string(chargeID) }
                changes.append(paymentChange(id: paymentID, fields: fields, version: version))
            }
        default:
            break
        }
        return context.changes(changes)
    }

    func invoiceChange(_ invoice: StripeWireInvoice, id: String, version: SourceVersion) -> CanonicalChange {
        typealias V = StripeCanonicalValues
        var fields: [String: JSONValue] = ["ref": values.ref(.invoice, id)]
        // The whole snapshot carries the invoice's lifecycle rank: when `invoice.paid` and `invoice.finalized` share a
        // second and arrive out of order, the older snapshot's amounts must not overwrite the newer ones either.
        var rank = 0
        if let customerID = invoice.customer?.id { fields["customerRef"] = values.ref(.customer, customerID) }
        // Links are only set when the shape carries them: the current shape has no `subscription`, `payment_intent`
        // or `charge`, and a null there must not erase what `invoice_payment.paid` linked.
        if let subscriptionID = invoice.subscription?.id ?? invoice.parent?.subscription_details?.subscription?.id {
            fields["subscriptionRef"] = values.ref(.subscription, subscriptionID)
        }
        if let paymentIntentID = invoice.payment_intent?.id { fields["paymentRef"] = values.ref(.payment, paymentIntentID) }
        if let chargeID = invoice.charge?.id { fields["chargeID"] = .string(chargeID) }
        fields["number"] = V.string(invoice.number)
        let currency = V.currency(invoice.currency)
        fields["currency"] = V.string(currency?.rawValue)
        if let status = invoice.status.flatMap(InvoiceStatus.init(rawValue:)) {
            fields["status"] = .string(status.rawValue)
            rank = status.rank
        }
        let tax = Self.tax(of: invoice)
        if let lines = invoice.lines?.data {
            fields["lines"] = CanonicalCoding.jsonValue(
                Self.balanced(lines.map(invoiceLine), total: invoice.total, tax: tax, complete: invoice.lines?.has_more != true))
        }
        fields["subtotalMinor"] = V.int(invoice.subtotal)
        fields["taxMinor"] = V.int(tax)
        fields["totalMinor"] = V.int(invoice.total)
        fields["amountDueMinor"] = V.int(invoice.amount_due)
        fields["amountPaidMinor"] = V.int(invoice.amount_paid)
        fields["amountRemainingMinor"] = V.int(invoice.amount_remaining)
        // A credit balance (a negative invoice of a downgrade, a credit given by hand) pays part of the invoice.
        if let balance = invoice.starting_balance, let total = invoice.total {
            let applied = min(max(0, total), max(0, -balance))
            fields["creditAppliedMinor"] = applied > 0 ? .int(applied) : .null
        }
        fields["issuedAt"] = V.date(invoice.status_transitions?.finalized_at ?? invoice.created)
        fields["dueAt"] = V.date(invoice.due_date)
        fields["paidAt"] = V.date(invoice.status_transitions?.paid_at)
        fields["customerName"] = V.string(invoice.customer_name)
        fields["customerEmail"] = V.string(invoice.customer_email)
        return CanonicalChange(
            ref: values.externalRef(.invoice, id), fields: fields, version: SourceVersion(millis: version.millis, ordinal: rank)
        )
    }

    /// Total tax: `tax` (2023-era), else the sum of `total_taxes` (current) or `total_tax_amounts` (2023-era), else
    /// `total - total_excluding_tax`.
    static func tax(of invoice: StripeWireInvoice) -> Int64? {
        if let tax = invoice.tax { return tax }
        if let taxes = invoice.total_taxes ?? invoice.total_tax_amounts, !taxes.isEmpty {
            return taxes.reduce(0) { $0 + ($1.amount ?? 0) }
        }
        if let total = invoice.total, let excluding = invoice.total_excluding_tax { return total - excluding }
        return nil
    }

    /// An invoice's lines (each net of its discounts) and, when they and the tax do not add up to `total`, one line
    /// for the rest (`InvoiceLine.balanced`): the lines an event leaves out (`complete` false: an invoice embeds its
    /// first 10 lines, the others are only at its lines URL), or whatever else Stripe counts in its total that no
    /// line shows.
    static func balanced(_ lines: [InvoiceLine], total: Int64?, tax: Int64?, complete: Bool) -> [InvoiceLine] {
        InvoiceLine.balanced(
            lines, total: total, tax: tax,
            description: complete
                ? "Difference to the total billed in Stripe"
                : "Further lines of this invoice (Stripe's event carried its first \(lines.count); the rest are in Stripe)")
    }

    /// A line as a ledger books it: its `amount` (before discounts, holding any inclusive tax) less the tax inside it
    /// (the invoice's tax is booked as a line of its own) and less its `discount_amounts` (which hold their share of
    /// that tax). Inclusive tax is read from the line's taxes (`taxes` now, `tax_amounts` in 2023-era shapes), else
    /// from `amount_excluding_tax`. The discount is named (`discountMinor`) only where nothing else lies between
    /// quantity × unit and the amount: no tax inside, and the listed unit price times the quantity being `amount`
    /// (a proration's amount is its share of the period, already net of its discounts).
    func invoiceLine(_ line: StripeWireInvoiceLine) -> InvoiceLine {
        let quantity = line.quantity ?? 1
        let discounts = (line.discount_amounts ?? []).reduce(0) { $0 + ($1.amount ?? 0) }
        let gross = line.amount ?? line.amount_excluding_tax ?? 0
        var inclusive = (line.taxes ?? []).filter { $0.tax_behavior == "inclusive" }.reduce(0) { $0 + ($1.amount ?? 0) }
        inclusive += (line.tax_amounts ?? []).filter { $0.inclusive == true }.reduce(0) { $0 + ($1.amount ?? 0) }
        if line.taxes == nil && line.tax_amounts == nil, let excluding = line.amount_excluding_tax, let amount = line.amount {
            inclusive = amount - excluding
        }
        let amount = gross - inclusive - discounts
        let price = line.price ?? line.plan
        let productID = price?.product?.id ?? line.pricing?.price_details?.product?.id
        let listed = price?.unitAmountMinor ?? Self.minorUnits(decimal: line.pricing?.unit_amount_decimal)
        let unitAmount: Int64
        var discountMinor: Int64?
        if inclusive == 0 {
            unitAmount = listed ?? (quantity != 0 ? gross / quantity : gross)
            if discounts > 0 && quantity * unitAmount == gross { discountMinor = discounts }
        } else {
            // A price with tax inside it: the line's own unit, without the tax.
            unitAmount = quantity != 0 ? amount / quantity : amount
        }
        return InvoiceLine(
            description: line.description ?? "", productRef: productID.map { values.externalRef(.product, $0) },
            quantity: quantity, unitAmountMinor: unitAmount, amountMinor: amount, discountMinor: discountMinor
        )
    }

    /// A Stripe `*_decimal` amount (minor units, possibly fractional, e.g. `"1999.5"`) rounded half up.
    static func minorUnits(decimal: String?) -> Int64? {
        guard let decimal, !decimal.isEmpty else { return nil }
        let parts = decimal.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = Int64(parts[0]) else { return nil }
        guard parts.count == 2, let first = parts[1].first else { return whole }
        guard first.isASCII, let digit = first.wholeNumberValue else { return nil }
        guard digit >= 5 else { return whole }
        return decimal.hasPrefix("-") ? whole - 1 : whole + 1
    }

    /// `invoice_payment.paid` (current API versions) → links the invoice to its payment intent and charge, and
    /// completes the invoice's succeeded Payment with the charge. A payment attached to the invoice besides its default
    /// one (`is_default` false: a partial payment) is a Payment of its own (`partial`, its ref the invoice payment's
    /// id), and leaves the invoice's links alone.
    func decodeInvoicePayment(_ context: Context) throws(StripeEventError) -> DecodedEvent {
        let event = try context.wire(StripeWireInvoicePayment.self)
        let invoicePayment = event.data.object
        guard let invoiceID = invoicePayment.invoice?.id else { return context.ignored("invoice payment without an invoice") }
        let customerID = invoicePayment.invoice?.customer
        let version = Self.version(event.created)
        let paymentIntentID = invoicePayment.payment?.payment_intent?.id
        let chargeID = invoicePayment.payment?.charge?.id
        var changes: [CanonicalChange] = []
        let partialID = invoicePayment.is_default == false ? invoicePayment.id : nil
        if partialID == nil && (paymentIntentID != nil || chargeID != nil) {
            var fields: [String: JSONValue] = ["ref": values.ref(.invoice, invoiceID)]
            if let customerID { fields["customerRef"] = values.ref(.customer, customerID) }
            if let paymentIntentID { fields["paymentRef"] = values.ref(.payment, paymentIntentID) }
            if let chargeID { fields["chargeID"] = .string(chargeID) }
            changes.append(CanonicalChange(ref: values.externalRef(.invoice, invoiceID), fields: fields, version: version))
        }
        var fields: [String: JSONValue] = [
            "ref": values.ref(.payment, partialID ?? invoiceID), "invoiceRef": values.ref(.invoice, invoiceID),
            "status": .string(PaymentStatus.succeeded.rawValue),
            "occurredAt": StripeCanonicalValues.date(
                invoicePayment.status_transitions?.paid_at ?? invoicePayment.created ?? event.created),
        ]
        if let customerID { fields["customerRef"] = values.ref(.customer, customerID) }
        if let money = StripeCanonicalValues.money(
            invoicePayment.amount_paid ?? invoicePayment.amount_requested,
            StripeCanonicalValues.currency(invoicePayment.currency))
        {
            fields["amount"] = money
        }
        if let chargeID { fields["chargeID"] = .string(chargeID) }
        if partialID != nil {
            fields["partial"] = true
            if let paymentIntentID { fields["intentRef"] = values.ref(.payment, paymentIntentID) }
        } else {
            // The invoice's own payment, for its own amount: what the partial payments before it left. `invoice.paid`
            // writes the same record with the whole amount paid, and whichever is newer, routing counts the same.
            fields["amountIncludesPartials"] = false
        }
        changes.append(paymentChange(id: partialID ?? invoiceID, fields: fields, version: version))
        return context.changes(changes)
    }

    /// `payment_intent.succeeded|payment_failed` → a Payment, when the intent names its invoice (2023-era shape).
    func decodePaymentIntent(_ context: Context, succeeded: Bool) throws(StripeEventError) -> DecodedEvent {
        let event = try context.wire(StripeWirePaymentIntent.self)
        let intent = event.data.object
        guard let invoiceID = intent.invoice?.id else {
            return context.ignored("payment intent is not linked to an invoice (invoice payments arrive as invoice events)")
        }
        guard let currency = StripeCanonicalValues.currency(intent.currency) else {
            return context.ignored("payment intent without a currency")
        }
        let chargeID = intent.latest_charge?.id ?? intent.charges?.data?.last?.id
        let version = Self.version(event.created)
        if succeeded {
            var fields = paymentFields(
                paymentID: invoiceID, invoiceID: invoiceID, customerID: intent.customer?.id,
                amount: intent.amount_received ?? intent.amount ?? 0, currency: currency, status: .succeeded,
                occurredAt: event.created
            )
            if let chargeID { fields["chargeID"] = .string(chargeID) }
            return context.changes([paymentChange(id: invoiceID, fields: fields, version: version)])
        }
        let attemptChargeID = intent.last_payment_error?.charge ?? chargeID
        let paymentID = "\(intent.id)-\(attemptChargeID ?? event.id)"
        var fields = paymentFields(
            paymentID: paymentID, invoiceID: invoiceID, customerID: intent.customer?.id, amount: intent.amount ?? 0,
            currency: currency, status: .failed, occurredAt: event.created
        )
        if let attemptChargeID { fields["chargeID"] = .string(attemptChargeID) }
        if let failureCode = intent.last_payment_error.flatMap({ $0.decline_code ?? $0.code }) {
            fields["failureCode"] = .string(failureCode)
        }
        return context.changes([paymentChange(id: paymentID, fields: fields, version: version)])
    }

    func paymentFields(
        paymentID: String, invoiceID: String, customerID: String?, amount: Int64, currency: CurrencyCode,
        status: PaymentStatus, occurredAt: Int64
    ) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "ref": values.ref(.payment, paymentID), "invoiceRef": values.ref(.invoice, invoiceID),
            "amount": .object(["amountMinor": .int(amount), "currency": .string(currency.rawValue)]),
            "status": .string(status.rawValue), "occurredAt": StripeCanonicalValues.date(occurredAt),
        ]
        if let customerID { fields["customerRef"] = values.ref(.customer, customerID) }
        return fields
    }

    func paymentChange(id: String, fields: [String: JSONValue], version: SourceVersion) -> CanonicalChange {
        CanonicalChange(ref: values.externalRef(.payment, id), fields: fields, version: version)
    }
}
