/// What Weft asks a target to make true. Every case is idempotent: the target applies it as an upsert keyed by the
/// records' `ExternalRef`s, so delivering it twice has the effect of delivering it once.
public enum TargetCommand: Hashable, Sendable, Codable {
    case upsertCustomer(Customer)
    case upsertProduct(Product)
    case upsertSubscription(Subscription)
    case upsertInvoice(InvoiceCommand)
    case registerPayment(Payment)
    case createRefund(Refund)
    /// The customer's credit pays the part of a paid invoice no payment covered (see `Invoice.creditAppliedMinor`).
    case applyCredit(InvoiceCredit)
    case setStanding(Standing)
    /// A support desk's organisation or company shows the account's entitlement (created if missing).
    case syncEntitlement(DeskEntitlement)
    /// A won CRM deal becomes a confirmed sales order for its account (partner created or found first).
    case upsertOrder(Deal)
    /// A CRM deal shows its order's number, invoicing and payment standing (written to configured properties).
    case updateDealStatus(DealStatusUpdate)
    /// An account and its contacts show the fields another system owns (the ERP creates the partner if needed).
    case syncAccount(AccountSync)

    /// A short, stable name for metrics and logs (`upsert_customer`).
    public var kind: String {
        switch self {
        case .upsertCustomer: "upsert_customer"
        case .upsertProduct: "upsert_product"
        case .upsertSubscription: "upsert_subscription"
        case .upsertInvoice: "upsert_invoice"
        case .registerPayment: "register_payment"
        case .createRefund: "create_refund"
        case .applyCredit: "apply_credit"
        case .setStanding: "set_standing"
        case .syncEntitlement: "sync_entitlement"
        case .upsertOrder: "upsert_order"
        case .updateDealStatus: "update_deal_status"
        case .syncAccount: "sync_account"
        }
    }

    /// The source record the command is about.
    public var subject: ExternalRef {
        switch self {
        case .upsertCustomer(let customer): customer.ref
        case .upsertProduct(let product): product.ref
        case .upsertSubscription(let subscription): subscription.ref
        case .upsertInvoice(let command): command.invoice.ref
        case .registerPayment(let payment): payment.ref
        case .createRefund(let refund): refund.ref
        case .applyCredit(let credit): credit.invoiceRef
        case .setStanding(let standing): standing.customerRef
        case .syncEntitlement(let entitlement): entitlement.account
        case .upsertOrder(let deal): deal.ref
        case .updateDealStatus(let update): update.deal
        case .syncAccount(let sync): sync.account.ref
        }
    }
}

/// An invoice to mirror, with what the target needs to create its dependencies if they are missing.
public struct InvoiceCommand: Hashable, Sendable, Codable {
    public var invoice: Invoice
    /// A snapshot of the customer, so the partner can be created if the customer command has not landed.
    public var customer: Customer

    public init(invoice: Invoice, customer: Customer) {
        self.invoice = invoice
        self.customer = customer
    }
}

/// A paid invoice whose source took `amount` of it from the customer's credit: the target reconciles that much of
/// the invoice with the customer's open credit notes (those of `creditRefs` first), after its payments.
public struct InvoiceCredit: Hashable, Sendable, Codable {
    public var invoiceRef: ExternalRef
    public var customerRef: ExternalRef
    public var amount: Money
    /// The credit notes the source applied (refund refs), when it names them.
    public var creditRefs: [ExternalRef]

    public init(invoiceRef: ExternalRef, customerRef: ExternalRef, amount: Money, creditRefs: [ExternalRef]) {
        self.invoiceRef = invoiceRef
        self.customerRef = customerRef
        self.amount = amount
        self.creditRefs = creditRefs
    }
}
