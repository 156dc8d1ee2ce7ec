import Foundation
public import WeftCore

extension ChargebeeEventDecoder {
    typealias V = StripeCanonicalValues

    /// Customer: `company`, else first and last name, as the name; the billing address; `vat_number`;
    /// `preferred_currency_code`. A full snapshot: absent members clear.
    func customerChange(_ customer: ChargebeeWireCustomer, deleted: Bool, fallback: Int64) -> CanonicalChange {
        var fields: [String: JSONValue] = ["ref": values.ref(.customer, customer.id)]
        if deleted || customer.deleted == true {
            fields["deleted"] = true
        } else {
            let person = [customer.first_name, customer.last_name].compactMap { $0?.isEmpty == false ? $0 : nil }
                .joined(separator: " ")
            fields["name"] = V.string(customer.company.flatMap { $0.isEmpty ? nil : $0 } ?? (person.isEmpty ? nil : person))
            fields["email"] = V.string(customer.email)
            fields["phone"] = V.string(customer.phone)
            fields["address"] = Self.address(customer.billing_address)
            fields["taxID"] = V.string(customer.vat_number)
            fields["currency"] = V.string(V.currency(customer.preferred_currency_code)?.rawValue)
        }
        return CanonicalChange(
            ref: values.externalRef(.customer, customer.id), fields: fields,
            version: Self.version(customer.resource_version, fallback: fallback))
    }

    static func address(_ wire: ChargebeeWireAddress?) -> JSONValue {
        guard let wire else { return .null }
        let line2 = [wire.line2, wire.line3].compactMap { $0?.isEmpty == false ? $0 : nil }.joined(separator: ", ")
        let address = PostalAddress(
            line1: wire.line1, line2: line2.isEmpty ? nil : line2, city: wire.city, postalCode: wire.zip,
            state: wire.state_code ?? wire.state, country: wire.country)
        if address == PostalAddress() { return .null }
        return CanonicalCoding.jsonValue(address)
    }

    /// Item price → Product: name (`external_name`, else `name`), the item price id as SKU, active unless archived
    /// or deleted, and its price.
    func productChange(_ itemPrice: ChargebeeWireItemPrice, deleted: Bool, fallback: Int64) -> CanonicalChange {
        var fields: [String: JSONValue] = ["ref": values.ref(.product, itemPrice.id)]
        if deleted {
            fields["active"] = false
        } else {
            fields["name"] = V.string(itemPrice.external_name ?? itemPrice.name)
            fields["sku"] = .string(itemPrice.id)
            fields["active"] = .bool(itemPrice.status == nil || itemPrice.status == "active")
            if let money = V.money(itemPrice.price, V.currency(itemPrice.currency_code)) { fields["unitAmount"] = money }
        }
        return CanonicalChange(
            ref: values.externalRef(.product, itemPrice.id), fields: fields,
            version: Self.version(itemPrice.resource_version, fallback: fallback))
    }

    /// The canonical status of a Chargebee subscription status: `future` → incomplete (not started, not served),
    /// `in_trial` → trialing, `active` and `non_renewing` → active, `paused` → paused, `cancelled` and
    /// `transferred` → canceled.
    public static func subscriptionStatus(_ status: String?) -> SubscriptionStatus? {
        switch status {
        case "future": .incomplete
        case "in_trial": .trialing
        case "active", "non_renewing": .active
        case "paused": .paused
        case "cancelled", "transferred": .canceled
        default: nil
        }
    }

    /// Subscription: status, items (item price as both price and product), the current term, and `cancelled_at`
    /// as `cancelAt` while `non_renewing` (the scheduled end) or `canceledAt` once `cancelled`.
    func subscriptionChange(_ subscription: ChargebeeWireSubscription, fallback: Int64) throws(ChargebeeEventError)
        -> CanonicalChange
    {
        guard let customerID = subscription.customer_id else {
            throw ChargebeeEventError(code: .unexpectedShape, detail: "content.subscription.customer_id")
        }
        var fields: [String: JSONValue] = [
            "ref": values.ref(.subscription, subscription.id), "customerRef": values.ref(.customer, customerID),
        ]
        if let status = Self.subscriptionStatus(subscription.status) { fields["status"] = .string(status.rawValue) }
        if let wireItems = subscription.subscription_items {
            let currency = V.currency(subscription.currency_code)
            let items = wireItems.map { item in
                SubscriptionItem(
                    productRef: item.item_price_id.map { values.externalRef(.product, $0) },
                    priceRef: item.item_price_id.map { values.externalRef(.price, $0) },
                    quantity: item.quantity ?? 1,
                    unitAmount: currency.flatMap { currency in item.unit_price.map { Money(amountMinor: $0, currency: currency) } })
            }
            fields["items"] = CanonicalCoding.jsonValue(items)
        }
        fields["currentPeriodStart"] = V.date(subscription.current_term_start ?? subscription.trial_start)
        fields["currentPeriodEnd"] = V.date(subscription.current_term_end ?? subscription.trial_end)
        fields["cancelAt"] = V.date(subscription.status == "non_renewing" ? subscription.cancelled_at : nil)
        fields["canceledAt"] =
            V.date(subscription.status == "cancelled" || subscription.status == "transferred" ? subscription.cancelled_at : nil)
        return CanonicalChange(
            ref: values.externalRef(.subscription, subscription.id), fields: fields,
            version: Self.version(subscription.resource_version, fallback: fallback))
    }

    /// The canonical status of a Chargebee invoice status: `paid` → paid, `posted` and `payment_due` → open,
    /// `not_paid` (dunning exhausted) → uncollectible, `voided` → void, `pending` (not yet closed) → draft.
    public static func invoiceStatus(_ status: String?) -> InvoiceStatus? {
        switch status {
        case "paid": .paid
        case "posted", "payment_due": .open
        case "not_paid": .uncollectible
        case "voided": .void
        case "pending": .draft
        default: nil
        }
    }

    /// Invoice: status, lines (less discounts), amounts and dates. Credits applied from the customer's credit notes
    /// (proration credits of a plan change, refundable credits) are `creditAppliedMinor`, naming the notes: the total
    /// stays Chargebee's `total`, as on the invoice Chargebee shows, and targets settle that part with the credit
    /// notes (each note is a refund of kind `credit`).
    func invoiceChange(_ invoice: ChargebeeWireInvoice, fallback: Int64) throws(ChargebeeEventError) -> CanonicalChange {
        guard let customerID = invoice.customer_id else {
            throw ChargebeeEventError(code: .unexpectedShape, detail: "content.invoice.customer_id")
        }
        var fields: [String: JSONValue] = [
            "ref": values.ref(.invoice, invoice.id), "customerRef": values.ref(.customer, customerID),
        ]
        if let subscriptionID = invoice.subscription_id { fields["subscriptionRef"] = values.ref(.subscription, subscriptionID) }
        fields["number"] = .string(invoice.id)
        fields["currency"] = V.string(V.currency(invoice.currency_code)?.rawValue)
        if let status = Self.invoiceStatus(invoice.status) { fields["status"] = .string(status.rawValue) }
        let credits = invoice.credits_applied ?? 0
        if let wireLines = invoice.line_items {
            let inclusive = invoice.price_type == "tax_inclusive"
            let lines = InvoiceLine.balanced(
                wireLines.map { invoiceLine($0, taxInclusive: inclusive) }, total: invoice.total, tax: invoice.tax,
                description: "Difference to the total billed in Chargebee")
            fields["lines"] = CanonicalCoding.jsonValue(lines)
        }
        fields["subtotalMinor"] = V.int(invoice.sub_total)
        fields["taxMinor"] = V.int(invoice.tax)
        fields["totalMinor"] = V.int(invoice.total)
        fields["creditAppliedMinor"] = credits > 0 ? .int(credits) : .null
        let notes = (invoice.applied_credits ?? []).compactMap(\.cn_id)
        fields["appliedCreditRefs"] = notes.isEmpty ? .null : .array(notes.map { values.ref(.refund, $0) })
        fields["amountDueMinor"] = V.int(invoice.amount_due)
        fields["amountPaidMinor"] = V.int(invoice.amount_paid)
        fields["amountRemainingMinor"] = V.int(invoice.amount_due)
        fields["issuedAt"] = V.date(invoice.date)
        fields["dueAt"] = V.date(invoice.due_date)
        fields["paidAt"] = V.date(invoice.status == "paid" ? invoice.paid_at : nil)
        if let address = invoice.billing_address {
            let person = [address.first_name, address.last_name].compactMap { $0?.isEmpty == false ? $0 : nil }
                .joined(separator: " ")
            fields["customerName"] = V.string(address.company ?? (person.isEmpty ? nil : person))
            fields["customerEmail"] = V.string(address.email)
        }
        return CanonicalChange(
            ref: values.externalRef(.invoice, invoice.id), fields: fields,
            version: Self.version(invoice.resource_version, fallback: fallback))
    }

    /// A line less its discounts and, on a `tax_inclusive` invoice, less the tax inside it (the invoice's tax is booked
    /// as a line of its own); its unit then the line's own, as the listed one holds tax.
    func invoiceLine(_ line: ChargebeeWireLineItem, taxInclusive: Bool) -> InvoiceLine {
        let quantity = line.quantity ?? 1
        let tax = taxInclusive ? (line.tax_amount ?? 0) : 0
        let amount = (line.amount ?? 0) - (line.discount_amount ?? 0) - tax
        let productID = line.entity_type?.hasSuffix("_item_price") == true ? line.entity_id : nil
        let own = quantity != 0 ? amount / quantity : amount
        let unit = taxInclusive ? own : line.unit_amount ?? own
        let discount = line.discount_amount ?? 0
        // The discount is named only where it is all that lies between quantity × unit and the amount.
        let named = !taxInclusive && discount > 0 && quantity * unit == (line.amount ?? 0)
        return InvoiceLine(
            description: line.description ?? "", productRef: productID.map { values.externalRef(.product, $0) },
            quantity: quantity, unitAmountMinor: unit, amountMinor: amount, discountMinor: named ? discount : nil)
    }

    /// A `payment` transaction that succeeded or failed → Payment (its own id), linked to the first invoice it was
    /// applied to, else the event's invoice. Refund transactions are reported through their credit notes; other
    /// types and pending statuses make no payment.
    func paymentChange(_ transaction: ChargebeeWireTransaction, invoiceID: String?, fallback: Int64) -> CanonicalChange? {
        guard transaction.type == nil || transaction.type == "payment", let customerID = transaction.customer_id,
            let currency = V.currency(transaction.currency_code)
        else { return nil }
        let status: PaymentStatus
        switch transaction.status {
        case "success": status = .succeeded
        case "failure": status = .failed
        default: return nil
        }
        var fields: [String: JSONValue] = [
            "ref": values.ref(.payment, transaction.id), "customerRef": values.ref(.customer, customerID),
            "amount": .object(["amountMinor": .int(transaction.amount ?? 0), "currency": .string(currency.rawValue)]),
            "status": .string(status.rawValue), "occurredAt": V.date(transaction.date ?? fallback),
        ]
        if let linked = transaction.linked_invoices?.first?.invoice_id ?? invoiceID {
            fields["invoiceRef"] = values.ref(.invoice, linked)
        }
        if status == .failed { fields["failureCode"] = V.string(transaction.error_code) }
        return CanonicalChange(
            ref: values.externalRef(.payment, transaction.id), fields: fields,
            version: Self.version(transaction.resource_version, fallback: fallback))
    }

    /// Credit note → Refund of its `reference_invoice_id`:
    /// - `adjustment` (reduces what an unpaid invoice asks for; Chargebee issues them only for invoices not yet paid):
    ///   `succeeded`, kind `adjustment`, for its total — a target applies it to the open invoice as soon as it has it,
    ///   and never pays it back (an invoice adjusted to zero is `paid` in Chargebee with no payment at all);
    /// - `refundable` once money went back (`amount_refunded` > 0): `succeeded`, for the amount refunded, crediting its
    ///   total (`creditedMinor`) when that is more: the rest stays the customer's credits;
    /// - `refundable` held as the customer's credits (a plan change's proration credit): `succeeded`, kind `credit`,
    ///   for its total — a credit note in the books, money back to no one; later invoices use it up
    ///   (`Invoice.appliedCreditRefs`);
    /// - `voided`: `canceled`.
    func refundChange(_ note: ChargebeeWireCreditNote, fallback: Int64) throws(ChargebeeEventError) -> CanonicalChange {
        guard let customerID = note.customer_id else {
            throw ChargebeeEventError(code: .unexpectedShape, detail: "content.credit_note.customer_id")
        }
        let refunded = note.amount_refunded ?? 0
        let status: String
        let amount: Int64
        if note.status == "voided" {
            (status, amount) = ("canceled", note.total ?? 0)
        } else if note.type == "adjustment" {
            (status, amount) = ("succeeded", note.total ?? 0)
        } else if refunded > 0 {
            (status, amount) = ("succeeded", refunded)
        } else {
            (status, amount) = ("succeeded", note.total ?? 0)
        }
        let kind: RefundKind =
            note.type == "adjustment" ? .adjustment : note.status != "voided" && refunded == 0 ? .credit : .refund
        var fields: [String: JSONValue] = [
            "ref": values.ref(.refund, note.id), "customerRef": values.ref(.customer, customerID),
            "status": .string(status), "reason": V.string(note.reason_code ?? note.create_reason_code),
            "createdAt": V.date(note.date ?? fallback),
            "kind": .string(kind.rawValue),
        ]
        if let invoiceID = note.reference_invoice_id { fields["invoiceRef"] = values.ref(.invoice, invoiceID) }
        if let money = V.money(amount, V.currency(note.currency_code)) { fields["amount"] = money }
        // Refunded in part: the note still credits its whole total, the rest kept as the customer's credits.
        let total = note.total ?? 0
        fields["creditedMinor"] = kind == .refund && note.status != "voided" && total > refunded ? .int(total) : .null
        return CanonicalChange(
            ref: values.externalRef(.refund, note.id), fields: fields,
            version: Self.version(note.resource_version, fallback: fallback))
    }
}
