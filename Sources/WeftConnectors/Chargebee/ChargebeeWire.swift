// The members of Chargebee resources that the decoder maps, as minimal Codable structs. Every member is optional:
// Chargebee leaves absent attributes out, `content` carries different resources per event type, and members the
// decoder does not map are not declared.

/// A Chargebee event (`GET /api/v2/events` element or webhook body) whose `content` is decoded as `Content`.
struct ChargebeeWireEvent<Content: Decodable>: Decodable {
    var id: String
    var occurred_at: Int64
    var event_type: String?
    var content: Content
}

/// Every resource an event's `content` may carry that Weft maps.
struct ChargebeeWireContent: Decodable {
    var customer: ChargebeeWireCustomer?
    var subscription: ChargebeeWireSubscription?
    var invoice: ChargebeeWireInvoice?
    var transaction: ChargebeeWireTransaction?
    var credit_note: ChargebeeWireCreditNote?
    var item_price: ChargebeeWireItemPrice?
}

struct ChargebeeWireAddress: Decodable {
    var line1: String?
    var line2: String?
    var line3: String?
    var city: String?
    var state_code: String?
    var state: String?
    var country: String?
    var zip: String?
}

struct ChargebeeWireCustomer: Decodable {
    var id: String
    var first_name: String?
    var last_name: String?
    var email: String?
    var phone: String?
    var company: String?
    var vat_number: String?
    var preferred_currency_code: String?
    var billing_address: ChargebeeWireAddress?
    var deleted: Bool?
    var resource_version: Int64?
}

struct ChargebeeWireItemPrice: Decodable {
    var id: String
    var item_id: String?
    var name: String?
    var external_name: String?
    var status: String?
    var price: Int64?
    var currency_code: String?
    var pricing_model: String?
    var resource_version: Int64?
}

struct ChargebeeWireSubscriptionItem: Decodable {
    var item_price_id: String?
    var item_type: String?
    var quantity: Int64?
    var unit_price: Int64?
}

struct ChargebeeWireSubscription: Decodable {
    var id: String
    var customer_id: String?
    var status: String?
    var currency_code: String?
    var subscription_items: [ChargebeeWireSubscriptionItem]?
    var current_term_start: Int64?
    var current_term_end: Int64?
    var trial_start: Int64?
    var trial_end: Int64?
    var cancelled_at: Int64?
    var resource_version: Int64?
}

struct ChargebeeWireLineItem: Decodable {
    var description: String?
    var entity_type: String?
    var entity_id: String?
    var quantity: Int64?
    var unit_amount: Int64?
    var amount: Int64?
    var discount_amount: Int64?
    var item_level_discount_amount: Int64?
    /// The tax of the line: inside `amount` on an invoice whose `price_type` is `tax_inclusive`.
    var tax_amount: Int64?
}

struct ChargebeeWireInvoice: Decodable {
    var id: String
    var customer_id: String?
    var subscription_id: String?
    var status: String?
    var currency_code: String?
    var date: Int64?
    var due_date: Int64?
    var paid_at: Int64?
    /// `tax_exclusive` (default) or `tax_inclusive`: "All amounts in the document are inclusive of tax."
    var price_type: String?
    var sub_total: Int64?
    var tax: Int64?
    var total: Int64?
    var credits_applied: Int64?
    var applied_credits: [AppliedCredit]?
    var amount_paid: Int64?
    var amount_adjusted: Int64?
    var write_off_amount: Int64?
    var amount_due: Int64?
    var line_items: [ChargebeeWireLineItem]?
    var billing_address: BillingAddress?
    var resource_version: Int64?

    /// A credit note's credits taken off this invoice.
    struct AppliedCredit: Decodable {
        var cn_id: String?
        var applied_amount: Int64?
    }

    struct BillingAddress: Decodable {
        var first_name: String?
        var last_name: String?
        var company: String?
        var email: String?
    }
}

struct ChargebeeWireTransaction: Decodable {
    var id: String
    var customer_id: String?
    var type: String?
    var status: String?
    var amount: Int64?
    var currency_code: String?
    var date: Int64?
    var error_code: String?
    var id_at_gateway: String?
    var linked_invoices: [LinkedInvoice]?
    var resource_version: Int64?

    struct LinkedInvoice: Decodable {
        var invoice_id: String?
    }
}

struct ChargebeeWireCreditNote: Decodable {
    var id: String
    var customer_id: String?
    var reference_invoice_id: String?
    var type: String?
    /// Deprecated by Chargebee in favour of `create_reason_code`, and absent from notes whose reason is a site's own.
    var reason_code: String?
    var create_reason_code: String?
    var status: String?
    var currency_code: String?
    var total: Int64?
    var amount_refunded: Int64?
    var date: Int64?
    var refunded_at: Int64?
    var linked_refunds: [LinkedRefund]?
    var resource_version: Int64?

    struct LinkedRefund: Decodable {
        var txn_id: String?
    }
}
