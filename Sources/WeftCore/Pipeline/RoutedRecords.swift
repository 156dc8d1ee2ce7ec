import Foundation

/// The invoices and payments of one aggregate for one routing: their signatures up front (cheap), each record decoded
/// only when a command has to be derived from it, and at most once.
struct RoutedRecords {
    let aggregate: Aggregate
    let invoiceRecords: [(ref: ExternalRef, state: RecordState)]
    let paymentRecords: [(ref: ExternalRef, state: RecordState)]
    /// The signature of what a ledger books of each invoice and payment (`Invoice.bookedFields`,
    /// `Payment.bookedFields`): what their commands are derived from.
    let invoiceSignatures: [ExternalRef: UInt64]
    let paymentSignatures: [ExternalRef: UInt64]
    /// Every invoice's and payment's values, all of them, in record order, with the router's derivation version: what
    /// the standing and the refunds are derived from.
    let ledgerSignature: UInt64
    /// What the succeeded partial payments (`Payment.partial`) of each invoice add up to, in minor units, and the
    /// signature of what is booked of them: what the invoice's own payment is net of.
    let partialTotals: [ExternalRef: Int64]
    let partialSignatures: [ExternalRef: UInt64]

    /// Decoded invoices by ref (`nil` inside: unreadable).
    private var invoices: [ExternalRef: Invoice?] = [:]
    private var routable: [ExternalRef: Invoice]?
    private var decodedPayments: [Payment]?

    init(_ aggregate: Aggregate) {
        self.aggregate = aggregate
        invoiceRecords = aggregate.records(of: .invoice)
        paymentRecords = aggregate.records(of: .payment)
        // Each record is signed in two parts, what is booked and the rest, so that no field is written twice.
        var ledger = CommandRouter.derivation
        var invoiceSignatures: [ExternalRef: UInt64] = [:]
        for (ref, state) in invoiceRecords {
            let (booked, rest) = RecordState.signatures(of: state.fields, Invoice.signatureParts)
            invoiceSignatures[ref] = booked
            ledger = CanonicalCoding.combine(CanonicalCoding.combine(ledger, booked), rest)
        }
        var paymentSignatures: [ExternalRef: UInt64] = [:]
        var partialTotals: [ExternalRef: Int64] = [:]
        var partialSignatures: [ExternalRef: UInt64] = [:]
        for (ref, state) in paymentRecords {
            let (booked, rest) = RecordState.signatures(of: state.fields, Payment.signatureParts)
            paymentSignatures[ref] = booked
            ledger = CanonicalCoding.combine(CanonicalCoding.combine(ledger, booked), rest)
            if state.fields["partial"] == .bool(true), state.fields["status"] == .string(PaymentStatus.succeeded.rawValue),
                let invoiceRef = Self.invoiceRef(of: state)
            {
                partialTotals[invoiceRef, default: 0] += state.fields["amount"]?["amountMinor"]?.intValue ?? 0
                partialSignatures[invoiceRef] = CanonicalCoding.combine(partialSignatures[invoiceRef] ?? 0, booked)
            }
        }
        self.invoiceSignatures = invoiceSignatures
        self.paymentSignatures = paymentSignatures
        self.partialTotals = partialTotals
        self.partialSignatures = partialSignatures
        ledgerSignature = ledger
    }

    /// What an invoice's command is derived from: what is booked of the invoice (not its settlement, not the customer
    /// snapshot it carries).
    func invoiceInput(_ ref: ExternalRef) -> UInt64 {
        CanonicalCoding.combine(CommandRouter.derivation, invoiceSignatures[ref] ?? 0)
    }

    /// What a payment's command is derived from: what is booked of the payment, and of the invoice it is registered
    /// on (and, for the invoice's own payment, of its partial payments).
    func paymentInput(_ ref: ExternalRef, _ state: RecordState) -> UInt64 {
        let input = CanonicalCoding.combine(CommandRouter.derivation, paymentSignatures[ref] ?? 0)
        guard let invoiceRef = Self.invoiceRef(of: state), let invoice = invoiceSignatures[invoiceRef] else { return input }
        let withInvoice = CanonicalCoding.combine(input, invoice)
        guard state.fields["partial"] != .bool(true), let partials = partialSignatures[invoiceRef] else { return withInvoice }
        // Whether the parts are taken off its amount is booked only where there are parts to take off.
        let own: UInt64 = state.fields["amountIncludesPartials"] == .bool(false) ? 1 : 0
        return CanonicalCoding.combine(CanonicalCoding.combine(withInvoice, partials), own)
    }

    static func invoiceRef(of state: RecordState) -> ExternalRef? {
        state.fields["invoiceRef"].flatMap { try? $0.decode(ExternalRef.self) }
    }

    /// The invoice, decoded (`nil`: no such record, or not readable).
    mutating func invoice(_ ref: ExternalRef) -> Invoice? {
        if let cached = invoices[ref] { return cached }
        let decoded = aggregate.record(ref)?.decode(Invoice.self)
        invoices[ref] = .some(decoded)
        return decoded
    }

    /// The invoice when it is one routing sends: it has a status, and is not a draft.
    mutating func routableInvoice(_ ref: ExternalRef) -> Invoice? {
        guard let invoice = invoice(ref), let status = invoice.status, status != .draft else { return nil }
        return invoice
    }

    /// Every invoice routing sends, by ref.
    mutating func routableInvoices() -> [ExternalRef: Invoice] {
        if let routable { return routable }
        var result: [ExternalRef: Invoice] = [:]
        for (ref, _) in invoiceRecords {
            if let invoice = routableInvoice(ref) { result[ref] = invoice }
        }
        routable = result
        return result
    }

    /// The payment, decoded, as it counts towards its invoice (`net`). A payment that names no customer (a partial
    /// payment whose event named only its invoice) is the invoice's customer's.
    func payment(_ ref: ExternalRef) -> Payment? {
        aggregate.record(ref).flatMap(decodedPayment)
    }

    /// Every readable payment, in record order, as each counts towards its invoice.
    mutating func payments() -> [Payment] {
        if let decodedPayments { return decodedPayments }
        let result = paymentRecords.compactMap { decodedPayment($0.state) }
        decodedPayments = result
        return result
    }

    private func decodedPayment(_ state: RecordState) -> Payment? {
        var fields = state.fields
        if fields["customerRef"] == nil, let invoiceRef = Self.invoiceRef(of: state) {
            fields["customerRef"] = aggregate.record(invoiceRef)?.fields["customerRef"]
        }
        guard let payment = try? JSONValue.object(fields).decode(Payment.self) else { return nil }
        return net(payment)
    }

    /// An invoice's own payment counts what its partial payments leave of it (Stripe's `invoice.paid` reports the
    /// invoice's whole `amount_paid`, partial payments included), unless its amount is its own already (the default
    /// `invoice_payment`, which may be the last word on it in either order); a partial payment counts itself.
    func net(_ payment: Payment) -> Payment {
        // Settled here: what is routed is what the payment itself paid, whichever event said it.
        var net = payment
        net.amountIncludesPartials = nil
        guard payment.partial != true, payment.amountIncludesPartials != false, let invoiceRef = payment.invoiceRef,
            let partials = partialTotals[invoiceRef], partials > 0
        else { return net }
        net.amount.amountMinor = max(0, payment.amount.amountMinor - partials)
        return net
    }

    /// Every readable invoice, drafts too, in record order, with what the standing rule reads of it.
    func standingInvoices() -> [Invoice] { StandingRule.ledgerInvoices(invoiceRecords) }
}
