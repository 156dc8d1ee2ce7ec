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
            let booked = RecordState.signature(of: Invoice.bookedFields(state.fields))
            let rest = RecordState.signature(
                of: state.fields.filter { Invoice.settlementFields.contains($0.key) || $0.key == "status" })
            invoiceSignatures[ref] = booked
            ledger = CanonicalCoding.combine(CanonicalCoding.combine(ledger, booked), rest)
        }
        var paymentSignatures: [ExternalRef: UInt64] = [:]
        for (ref, state) in paymentRecords {
            let booked = RecordState.signature(of: Payment.bookedFields(state.fields))
            let rest = RecordState.signature(of: state.fields.filter { $0.key == "chargeID" || $0.key == "failureCode" })
            paymentSignatures[ref] = booked
            ledger = CanonicalCoding.combine(CanonicalCoding.combine(ledger, booked), rest)
        }
        self.invoiceSignatures = invoiceSignatures
        self.paymentSignatures = paymentSignatures
        ledgerSignature = ledger
    }

    /// What an invoice's command is derived from: what is booked of the invoice (not its settlement, not the customer
    /// snapshot it carries).
    func invoiceInput(_ ref: ExternalRef) -> UInt64 {
        CanonicalCoding.combine(CommandRouter.derivation, invoiceSignatures[ref] ?? 0)
    }

    /// What a payment's command is derived from: what is booked of the payment, and of the invoice it is registered
    /// on.
    func paymentInput(_ ref: ExternalRef, _ state: RecordState) -> UInt64 {
        let input = CanonicalCoding.combine(CommandRouter.derivation, paymentSignatures[ref] ?? 0)
        guard let invoiceRef = state.fields["invoiceRef"].flatMap({ try? $0.decode(ExternalRef.self) }),
            let invoice = invoiceSignatures[invoiceRef]
        else { return input }
        return CanonicalCoding.combine(input, invoice)
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

    /// The payment, decoded.
    func payment(_ ref: ExternalRef) -> Payment? {
        aggregate.record(ref)?.decode(Payment.self)
    }

    /// Every readable payment, in record order.
    mutating func payments() -> [Payment] {
        if let decodedPayments { return decodedPayments }
        let result = paymentRecords.compactMap { $0.state.decode(Payment.self) }
        decodedPayments = result
        return result
    }

    /// Every readable invoice, drafts too, in record order, with what the standing rule reads of it.
    func standingInvoices() -> [Invoice] { StandingRule.ledgerInvoices(invoiceRecords) }
}
