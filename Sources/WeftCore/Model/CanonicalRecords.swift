public import Foundation

/// A postal address in the canonical model.
public struct PostalAddress: Hashable, Sendable, Codable {
    public var line1: String?
    public var line2: String?
    public var city: String?
    public var postalCode: String?
    public var state: String?
    /// ISO 3166-1 alpha-2 country code.
    public var country: String?

    public init(
        line1: String? = nil, line2: String? = nil, city: String? = nil, postalCode: String? = nil,
        state: String? = nil, country: String? = nil
    ) {
        self.line1 = line1
        self.line2 = line2
        self.city = city
        self.postalCode = postalCode
        self.state = state
        self.country = country
    }
}

/// A customer (company or person). Field names are also the canonical field paths used by ownership rules.
public struct Customer: Hashable, Sendable, Codable {
    public var ref: ExternalRef
    public var name: String?
    public var email: String?
    public var phone: String?
    public var address: PostalAddress?
    /// VAT or other tax id.
    public var taxID: String?
    public var currency: CurrencyCode?
    public var deleted: Bool?

    public init(
        ref: ExternalRef, name: String? = nil, email: String? = nil, phone: String? = nil,
        address: PostalAddress? = nil, taxID: String? = nil, currency: CurrencyCode? = nil, deleted: Bool? = nil
    ) {
        self.ref = ref
        self.name = name
        self.email = email
        self.phone = phone
        self.address = address
        self.taxID = taxID
        self.currency = currency
        self.deleted = deleted
    }

    /// The name to show when the source gave none: email, else the source id.
    public var displayName: String { name ?? email ?? ref.id }
}

/// A product or plan, with its price when it has one.
public struct Product: Hashable, Sendable, Codable {
    public var ref: ExternalRef
    public var name: String?
    /// The SKU; becomes Odoo `default_code`.
    public var sku: String?
    public var active: Bool?
    public var unitAmount: Money?

    public init(ref: ExternalRef, name: String? = nil, sku: String? = nil, active: Bool? = nil, unitAmount: Money? = nil) {
        self.ref = ref
        self.name = name
        self.sku = sku
        self.active = active
        self.unitAmount = unitAmount
    }
}

/// Subscription status, as billing platforms report it.
public enum SubscriptionStatus: String, Sendable, Codable, Hashable {
    case incomplete, incompleteExpired = "incomplete_expired", trialing, active, pastDue = "past_due", unpaid
    case canceled, paused
}

/// One item of a subscription.
public struct SubscriptionItem: Hashable, Sendable, Codable {
    public var productRef: ExternalRef?
    public var priceRef: ExternalRef?
    public var quantity: Int64
    public var unitAmount: Money?

    public init(productRef: ExternalRef? = nil, priceRef: ExternalRef? = nil, quantity: Int64, unitAmount: Money? = nil) {
        self.productRef = productRef
        self.priceRef = priceRef
        self.quantity = quantity
        self.unitAmount = unitAmount
    }
}

/// A subscription. Billing owns its status.
public struct Subscription: Hashable, Sendable, Codable {
    public var ref: ExternalRef
    public var customerRef: ExternalRef
    public var status: SubscriptionStatus?
    public var items: [SubscriptionItem]?
    public var currentPeriodStart: Date?
    public var currentPeriodEnd: Date?
    public var cancelAt: Date?
    public var canceledAt: Date?

    public init(
        ref: ExternalRef, customerRef: ExternalRef, status: SubscriptionStatus? = nil, items: [SubscriptionItem]? = nil,
        currentPeriodStart: Date? = nil, currentPeriodEnd: Date? = nil, cancelAt: Date? = nil, canceledAt: Date? = nil
    ) {
        self.ref = ref
        self.customerRef = customerRef
        self.status = status
        self.items = items
        self.currentPeriodStart = currentPeriodStart
        self.currentPeriodEnd = currentPeriodEnd
        self.cancelAt = cancelAt
        self.canceledAt = canceledAt
    }
}

/// Invoice status. Ranked so that a late, older status never overwrites a newer one reported in the same second.
public enum InvoiceStatus: String, Sendable, Codable, Hashable {
    case draft, open, paid, uncollectible, void

    /// Lifecycle position: draft < open < uncollectible < paid/void.
    public var rank: Int {
        switch self {
        case .draft: 0
        case .open: 1
        case .uncollectible: 2
        case .paid, .void: 3
        }
    }
}

/// One invoice line. Amounts are minor units of the invoice currency.
public struct InvoiceLine: Hashable, Sendable, Codable {
    public var description: String
    public var productRef: ExternalRef?
    public var productName: String?
    public var quantity: Int64
    /// Unit amount in minor units, before tax.
    public var unitAmountMinor: Int64
    /// Line amount in minor units (quantity × unit amount, less discounts), before tax.
    public var amountMinor: Int64
    /// What discounts (coupons) took off quantity × unit amount, when that is all that lies between them and
    /// `amountMinor`; `nil` when nothing was discounted, or the line's amount differs from quantity × unit for another
    /// reason (a proration, package pricing).
    public var discountMinor: Int64?

    public init(
        description: String, productRef: ExternalRef? = nil, productName: String? = nil, quantity: Int64,
        unitAmountMinor: Int64, amountMinor: Int64, discountMinor: Int64? = nil
    ) {
        self.description = description
        self.productRef = productRef
        self.productName = productName
        self.quantity = quantity
        self.unitAmountMinor = unitAmountMinor
        self.amountMinor = amountMinor
        self.discountMinor = discountMinor
    }
}

extension InvoiceLine {
    /// `lines`, and when they and `tax` (booked as a line of its own) do not add up to `total`, one more line of
    /// `description` for the rest: what a ledger must book so that its invoice asks for exactly what the customer is
    /// billed, or the payment never settles it. `nil` total: `lines` as they are.
    public static func balanced(_ lines: [InvoiceLine], total: Int64?, tax: Int64?, description: String) -> [InvoiceLine] {
        guard let total else { return lines }
        let rest = total - (tax ?? 0) - lines.reduce(0) { $0 + $1.amountMinor }
        guard rest != 0 else { return lines }
        return lines + [InvoiceLine(description: description, quantity: 1, unitAmountMinor: rest, amountMinor: rest)]
    }
}

/// An invoice issued to a customer.
public struct Invoice: Hashable, Sendable, Codable {
    public var ref: ExternalRef
    public var customerRef: ExternalRef
    public var subscriptionRef: ExternalRef?
    public var number: String?
    public var currency: CurrencyCode?
    public var status: InvoiceStatus?
    public var lines: [InvoiceLine]?
    public var subtotalMinor: Int64?
    public var taxMinor: Int64?
    public var totalMinor: Int64?
    public var amountDueMinor: Int64?
    public var amountPaidMinor: Int64?
    public var amountRemainingMinor: Int64?
    public var issuedAt: Date?
    public var dueAt: Date?
    public var paidAt: Date?
    /// The payment (intent) that paid it, when the source says.
    public var paymentRef: ExternalRef?
    /// The charge that paid it, when the source says (refunds point at charges).
    public var chargeID: String?
    /// The customer's name and email as printed on the invoice (a snapshot for targets that need a partner).
    public var customerName: String?
    public var customerEmail: String?
    /// What the customer's credit (a plan change's proration credit, a credit balance) paid of `total`: the source
    /// asked for `total - creditAppliedMinor` only. Targets settle that part with the credit notes they hold.
    public var creditAppliedMinor: Int64?
    /// The credits that paid it, when the source names them (Chargebee credit notes); otherwise any open credit of
    /// the customer (Stripe's customer balance).
    public var appliedCreditRefs: [ExternalRef]?

    public init(ref: ExternalRef, customerRef: ExternalRef) {
        self.ref = ref
        self.customerRef = customerRef
    }

    /// The total as money, when both total and currency are known.
    public var total: Money? {
        guard let totalMinor, let currency else { return nil }
        return Money(amountMinor: totalMinor, currency: currency)
    }
}

extension Invoice {
    /// The fields that say how far an invoice is settled, not what it bills: what was paid and when, by which payment
    /// and charge, with which credit. A ledger learns those from the payments and credits registered on the invoice.
    public static let settlementFields: Set<String> = [
        "amountDueMinor", "amountPaidMinor", "amountRemainingMinor", "paidAt", "paymentRef", "chargeID",
        "creditAppliedMinor", "appliedCreditRefs",
    ]

    /// What a ledger books of an invoice's fields: the document (number, dates, customer, currency, lines, totals)
    /// and whether it is a draft, issued or void. Its settlement is left out, and an open, paid or uncollectible
    /// invoice is one issued document: paying an invoice changes nothing of what was booked for it.
    public static func bookedFields(_ fields: [String: JSONValue]) -> [String: JSONValue] {
        var booked = fields
        for field in settlementFields { booked[field] = nil }
        if let status = fields["status"] { booked["status"] = bookedStatus(status) }
        return booked
    }

    /// Whether `field` is one of `settlementFields` (compared as written, without hashing it).
    static func isSettlementField(_ field: String) -> Bool {
        switch field {
        case "amountDueMinor", "amountPaidMinor", "amountRemainingMinor", "paidAt", "paymentRef", "chargeID",
            "creditAppliedMinor", "appliedCreditRefs":
            true
        default: false
        }
    }

    /// Where a field goes when routing signs an invoice in two parts (`RecordState.signatures(of:_:)`): first what
    /// `bookedFields` keeps, second the settlement fields with the status.
    static func signatureParts(_ field: String, _ value: JSONValue) -> (first: JSONValue?, second: JSONValue?) {
        if isSettlementField(field) { return (.none, value) }
        guard field == "status" else { return (value, .none) }
        return (bookedStatus(value), value)
    }

    /// What `bookedFields` books of a status: an open, paid or uncollectible invoice is one issued document.
    static func bookedStatus(_ status: JSONValue) -> JSONValue {
        switch status.stringValue.flatMap(InvoiceStatus.init(rawValue:)) {
        case .open, .paid, .uncollectible: "issued"
        case .draft, .void, nil: status
        }
    }

    /// The invoice as a ledger books it (`bookedFields`, typed): its settlement cleared, an issued invoice `open`.
    public var booked: Invoice {
        var booked = self
        (booked.amountDueMinor, booked.amountPaidMinor, booked.amountRemainingMinor) = (nil, nil, nil)
        (booked.paidAt, booked.paymentRef, booked.chargeID) = (nil, nil, nil)
        (booked.creditAppliedMinor, booked.appliedCreditRefs) = (nil, nil)
        if booked.status == .paid || booked.status == .uncollectible { booked.status = .open }
        return booked
    }
}

/// Outcome of a payment attempt.
public enum PaymentStatus: String, Sendable, Codable, Hashable {
    case succeeded, failed
}

/// A payment attempt against an invoice.
public struct Payment: Hashable, Sendable, Codable {
    public var ref: ExternalRef
    public var customerRef: ExternalRef
    public var invoiceRef: ExternalRef?
    public var amount: Money
    public var status: PaymentStatus
    public var occurredAt: Date
    public var chargeID: String?
    /// Safe, customer-facing failure reason (e.g. "card_declined").
    public var failureCode: String?
    /// One of several payments of its invoice besides the invoice's own (Stripe's partial payments: payment intents
    /// attached to the invoice). Counted on its own; routing counts the invoice's own payment net of the partial ones.
    public var partial: Bool?
    /// The payment intent behind it, when it is not the invoice's own (a partial payment): a refund may name only that.
    public var intentRef: ExternalRef?
    /// Of an invoice's own payment: whether `amount` is the invoice's whole amount paid, its partial payments included
    /// (Stripe's `invoice.paid`), which routing counts net of them; `false` when it is this payment's own amount (the
    /// invoice's default `invoice_payment`), counted as it is. `nil` counts as `true`.
    public var amountIncludesPartials: Bool?

    public init(
        ref: ExternalRef, customerRef: ExternalRef, invoiceRef: ExternalRef?, amount: Money, status: PaymentStatus,
        occurredAt: Date, chargeID: String? = nil, failureCode: String? = nil, partial: Bool? = nil
    ) {
        self.partial = partial
        self.ref = ref
        self.customerRef = customerRef
        self.invoiceRef = invoiceRef
        self.amount = amount
        self.status = status
        self.occurredAt = occurredAt
        self.chargeID = chargeID
        self.failureCode = failureCode
    }
}

extension Payment {
    /// What a ledger books of a payment's fields: who paid how much, when, for which invoice, and whether it
    /// succeeded. The charge and payment intent (which a refund is matched by) and a failure's reason are Weft's to
    /// know, not the ledger's; whether the amount counts partial payments matters only where there are some, and
    /// routing books it there.
    public static func bookedFields(_ fields: [String: JSONValue]) -> [String: JSONValue] {
        fields.filter { !unbookedFields.contains($0.key) }
    }

    /// The fields `bookedFields` leaves out.
    public static let unbookedFields: Set<String> = ["chargeID", "failureCode", "intentRef", "amountIncludesPartials"]

    /// Where a field goes when routing signs a payment in two parts (`RecordState.signatures(of:_:)`): first what
    /// `bookedFields` keeps, second the rest.
    static func signatureParts(_ field: String, _ value: JSONValue) -> (first: JSONValue?, second: JSONValue?) {
        isUnbookedField(field) ? (.none, value) : (value, .none)
    }

    /// Whether `field` is one of `unbookedFields` (compared as written, without hashing it).
    static func isUnbookedField(_ field: String) -> Bool {
        switch field {
        case "chargeID", "failureCode", "intentRef", "amountIncludesPartials": true
        default: false
        }
    }

    /// The payment as a ledger books it (`bookedFields`, typed).
    public var booked: Payment {
        var booked = self
        (booked.chargeID, booked.failureCode, booked.intentRef, booked.amountIncludesPartials) = (nil, nil, nil, nil)
        return booked
    }
}

/// A refund (credit) of an invoice's payment.
public struct Refund: Hashable, Sendable, Codable {
    public var ref: ExternalRef
    public var customerRef: ExternalRef
    /// The invoice it credits; resolved from the charge when the source does not say.
    public var invoiceRef: ExternalRef?
    public var chargeID: String?
    /// The payment intent refunded: how the invoice is found when the source links invoices to payment intents only.
    public var paymentIntentID: String?
    public var amount: Money
    public var reason: String?
    public var createdAt: Date
    /// `succeeded`, `pending`, `failed`, `canceled`.
    public var status: String
    /// Money paid back (`nil`, the default), a credit kept on the customer's account for later invoices, a lowering of
    /// what an unpaid invoice asks for, or a credit settled outside the source.
    public var kind: RefundKind?
    /// What the source's credit note credits in all, in `amount`'s currency, when that is more than the money paid back
    /// (`amount`): the rest stays the customer's credit (a Chargebee refundable credit note refunded in part). `nil`:
    /// the credit is `amount`.
    public var creditedMinor: Int64?

    /// What the credit note credits: `creditedMinor`, else `amount`.
    public var credited: Money {
        creditedMinor.map { Money(amountMinor: max($0, amount.amountMinor), currency: amount.currency) } ?? amount
    }

    public init(
        ref: ExternalRef, customerRef: ExternalRef, invoiceRef: ExternalRef?, chargeID: String?, amount: Money,
        reason: String?, createdAt: Date, status: String, paymentIntentID: String? = nil
    ) {
        self.ref = ref
        self.customerRef = customerRef
        self.invoiceRef = invoiceRef
        self.chargeID = chargeID
        self.paymentIntentID = paymentIntentID
        self.amount = amount
        self.reason = reason
        self.createdAt = createdAt
        self.status = status
    }
}

extension Refund {
    /// The statuses of a refund that no longer stands: a target takes back the credit it booked for it.
    public static let withdrawnStatuses: Set<String> = ["canceled", "failed"]
    /// The status routing gives an adjustment whose invoice was voided: withdrawn with it.
    public static let voidedInvoiceStatus = "canceled"
}

/// What a refund gives the customer.
public enum RefundKind: String, Sendable, Codable, Hashable {
    /// Money paid back (to the card, the bank account).
    case refund
    /// A credit kept on the customer's account and taken off later invoices (a downgrade's proration credit held as
    /// Chargebee refundable credits, a negative Stripe invoice credited to the customer balance, a Stripe credit
    /// note's `credit_amount`).
    case credit
    /// What an invoice asks for, lowered before it is paid (a Stripe credit note's `pre_payment_amount`, a Chargebee
    /// `adjustment` credit note): the credit settles part of its invoice, never money paid back. Routed as soon as the
    /// invoice is issued, paid or not; withdrawn if the invoice is voided afterwards.
    case adjustment
    /// Credited outside the source (a Stripe credit note's `out_of_band_amount`): owed to the customer and settled by
    /// whoever keeps the books, so a target neither pays it back nor spends it on a later invoice.
    case outOfBand = "out_of_band"
}

/// Payment standing of a customer.
public enum StandingState: String, Sendable, Codable, Hashable {
    case good
    case pastDue = "past_due"
}

/// A customer's payment standing. Billing owns it; it is visible on the Odoo partner.
public struct Standing: Hashable, Sendable, Codable {
    public var customerRef: ExternalRef
    public var state: StandingState
    public var since: Date
    /// What is overdue, when past due.
    public var overdue: Money?

    public init(customerRef: ExternalRef, state: StandingState, since: Date, overdue: Money? = nil) {
        self.customerRef = customerRef
        self.state = state
        self.since = since
        self.overdue = overdue
    }
}

/// A support ticket, as context for an account: which desk, its subject and status, and when it last changed.
/// Filed under the billing account whose entitlement the ticket's organisation (Zendesk) or company (Freshdesk) shows.
public struct Ticket: Hashable, Sendable, Codable {
    /// `zendesk/ticket/42`.
    public var ref: ExternalRef
    /// The billing account, when the organisation is one Weft delivered an account to.
    public var customerRef: ExternalRef?
    /// The desk's organisation or company id.
    public var organizationID: String?
    public var subject: String?
    /// The desk's status word (`open`, `pending`, `solved`…; Freshdesk's numbers as `open`, `pending`, `resolved`,
    /// `closed`).
    public var status: String?
    /// The requester's id or email.
    public var requester: String?
    public var updatedAt: Date?

    public init(
        ref: ExternalRef, customerRef: ExternalRef? = nil, organizationID: String? = nil, subject: String? = nil,
        status: String? = nil, requester: String? = nil, updatedAt: Date? = nil
    ) {
        self.ref = ref
        self.customerRef = customerRef
        self.organizationID = organizationID
        self.subject = subject
        self.status = status
        self.requester = requester
        self.updatedAt = updatedAt
    }
}
