/// A CRM deal (a HubSpot deal, a Salesforce opportunity) with what the ERP needs to turn it into a sales order: the
/// account it is for, the person to address, and its lines. Field names are also the canonical field paths used by
/// ownership rules (`deal.stage`, …).
public struct Deal: Hashable, Sendable, Codable {
    public var ref: ExternalRef
    public var name: String?
    /// The CRM's stage id (`closedwon`, `Closed Won`).
    public var stage: String?
    /// Whether the stage is a won one (HubSpot: a configured stage id; Salesforce: `IsWon`).
    public var won: Bool?
    /// The deal's amount as the CRM states it.
    public var amount: Money?
    /// The close date, `YYYY-MM-DD` (a calendar date, not an instant).
    public var closeDate: String?
    /// The company the deal is for (the order's customer), as the CRM shows it.
    public var account: Customer?
    /// The deal's primary contact (the order's contact person), if any.
    public var contact: Customer?
    /// The products sold.
    public var lines: [DealLine]?
    /// Deleted (archived) in the CRM.
    public var deleted: Bool?
    /// What the ERP shows of the deal's order, invoices and payments (set from the ERP, written back to the CRM).
    public var erp: DealERPStatus?

    public init(
        ref: ExternalRef, name: String? = nil, stage: String? = nil, won: Bool? = nil, amount: Money? = nil,
        closeDate: String? = nil, account: Customer? = nil, contact: Customer? = nil, lines: [DealLine]? = nil,
        deleted: Bool? = nil, erp: DealERPStatus? = nil
    ) {
        self.erp = erp
        self.ref = ref
        self.name = name
        self.stage = stage
        self.won = won
        self.amount = amount
        self.closeDate = closeDate
        self.account = account
        self.contact = contact
        self.lines = lines
        self.deleted = deleted
    }
}

/// The ERP's side of a won deal: its order and how far invoicing and payment have come. Values are stable words a
/// CRM property (a dropdown) can hold.
public struct DealERPStatus: Hashable, Sendable, Codable {
    /// The order's number in the ERP (`S00042`).
    public var orderRef: String
    /// `quotation`, `confirmed`, `cancelled` or `locked`.
    public var orderState: String
    /// `not_invoiced`, `invoiced` (posted, open), `partially_paid`, `paid` or `overdue`.
    public var invoiceStatus: String
    /// `good`, or `past_due` when an invoice of the order is overdue.
    public var paymentStanding: String

    public init(orderRef: String, orderState: String, invoiceStatus: String, paymentStanding: String) {
        self.orderRef = orderRef
        self.orderState = orderState
        self.invoiceStatus = invoiceStatus
        self.paymentStanding = paymentStanding
    }
}

/// Tell the CRM what the ERP shows of a deal's order (`DealERPStatus`).
public struct DealStatusUpdate: Hashable, Sendable, Codable {
    public var deal: ExternalRef
    public var status: DealERPStatus

    public init(deal: ExternalRef, status: DealERPStatus) {
        self.deal = deal
        self.status = status
    }
}

/// One product line of a deal.
public struct DealLine: Hashable, Sendable, Codable {
    /// The CRM's id of the line (HubSpot line item, Salesforce OpportunityLineItem).
    public var id: String
    /// The product's SKU: how the ERP's product is found (Odoo `default_code`).
    public var sku: String?
    public var name: String?
    public var quantity: Int64
    /// Price per unit in minor units of the deal's currency, when the CRM states one.
    public var unitAmountMinor: Int64?

    public init(id: String, sku: String? = nil, name: String? = nil, quantity: Int64, unitAmountMinor: Int64? = nil) {
        self.id = id
        self.sku = sku
        self.name = name
        self.quantity = quantity
        self.unitAmountMinor = unitAmountMinor
    }
}

/// What a won deal must carry before Weft turns it into an order. Configurable per CRM; a won deal that misses one is
/// a business exception (listed, counted) until the CRM record is fixed, and creates nothing.
public struct DealRequirements: Hashable, Sendable {
    public enum Requirement: String, Hashable, Sendable, CaseIterable {
        /// A positive amount with a currency.
        case amount
        /// A close date.
        case closeDate = "close_date"
        /// At least one line, and every line has a SKU and a positive quantity.
        case lines
        /// An associated company.
        case account
        /// The company's country (billing country).
        case billingCountry = "billing_country"
        /// An associated contact with an email address.
        case contactEmail = "contact_email"
    }

    public var required: Set<Requirement>

    public init(required: Set<Requirement> = [.amount, .closeDate, .lines, .account]) {
        self.required = required
    }

    /// What `deal` misses, in a stable order, each said so a sales person knows what to fix in the CRM.
    public func problems(of deal: Deal) -> [String] {
        var problems: [String] = []
        for requirement in Requirement.allCases where required.contains(requirement) {
            switch requirement {
            case .amount:
                if (deal.amount?.amountMinor ?? 0) <= 0 { problems.append("the deal has no amount: set Amount") }
            case .closeDate:
                if deal.closeDate?.isEmpty ?? true { problems.append("the deal has no close date: set Close date") }
            case .lines:
                let lines = deal.lines ?? []
                if lines.isEmpty {
                    problems.append("the deal has no line items: add at least one product")
                } else {
                    for line in lines where line.sku?.isEmpty ?? true {
                        problems.append("line \(line.name ?? line.id) has no SKU: pick a product that has one")
                    }
                    for line in lines where line.quantity <= 0 {
                        problems.append("line \(line.name ?? line.id) has quantity \(line.quantity): set a positive quantity")
                    }
                }
            case .account:
                if deal.account == nil { problems.append("the deal has no company: associate one") }
            case .billingCountry:
                if deal.account != nil, deal.account?.address?.country?.isEmpty ?? true {
                    problems.append("the company has no country: set Country/Region on the company")
                }
            case .contactEmail:
                if deal.contact?.email?.isEmpty ?? true {
                    problems.append("the deal has no contact with an email: associate one")
                }
            }
        }
        return problems
    }
}

extension Deal {
    /// The fields a CRM decoder reports for this deal: every field stated (`null` when the CRM has no value), so a
    /// value removed in the CRM (a line deleted, the amount cleared) is removed from Weft's state too.
    public var changeFields: [String: JSONValue] {
        var fields = CanonicalCoding.jsonValue(self).objectValue ?? [:]
        for field in ["name", "stage", "won", "amount", "closeDate", "account", "contact", "lines", "deleted"]
        where fields[field] == nil {
            fields[field] = .null
        }
        return fields
    }
}
