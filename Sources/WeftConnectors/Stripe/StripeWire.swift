// The members of Stripe objects that the decoder maps, as minimal Codable structs. Every member is optional so
// that both the 2023-era shape and the current ("basil" and later) shape decode with one set of types; members
// the decoder does not map are not declared, so they cost nothing beyond the JSON scan.

/// A Stripe event whose `data.object` is decoded as `Object`.
struct StripeWireEvent<Object: Decodable>: Decodable {
    var id: String
    var type: String
    var created: Int64
    var data: Payload

    struct Payload: Decodable {
        var object: Object
    }
}

/// A Stripe list (`{"object":"list","data":[…]}`).
struct StripeWireList<Element: Decodable>: Decodable {
    var data: [Element]?
    /// Whether `data` is only the first page: an invoice embeds its first 10 lines, the rest are at its lines URL.
    var has_more: Bool?
}

struct StripeWireAddress: Decodable {
    var city: String?
    var country: String?
    var line1: String?
    var line2: String?
    var postal_code: String?
    var state: String?
}

struct StripeWireTaxID: Decodable {
    var id: String?
    var customer: StripeObjectRef?
    var type: String?
    var value: String?
}

struct StripeWireCustomer: Decodable {
    var id: String
    var deleted: Bool?
    var name: String?
    var email: String?
    var phone: String?
    var address: StripeWireAddress?
    var currency: String?
    var tax_ids: StripeWireList<StripeWireTaxID>?
}

/// A price, or a legacy plan (which has `amount` where a price has `unit_amount`).
struct StripeWirePrice: Decodable {
    var id: String?
    var deleted: Bool?
    var active: Bool?
    var currency: String?
    var unit_amount: Int64?
    var amount: Int64?
    var product: StripeObjectRef?
    var recurring: Recurring?
    var usage_type: String?

    struct Recurring: Decodable {
        var usage_type: String?
    }

    var unitAmountMinor: Int64? { unit_amount ?? amount }
    var isMetered: Bool { (recurring?.usage_type ?? usage_type) == "metered" }
}

struct StripeWireProduct: Decodable {
    var id: String
    var deleted: Bool?
    var name: String?
    var active: Bool?
    var metadata: [String: String]?
    var default_price: DefaultPrice?

    /// `default_price` is an id unless expanded; only the expanded form carries an amount.
    struct DefaultPrice: Decodable {
        var price: StripeWirePrice?

        init(from decoder: any Decoder) throws {
            price = try? decoder.singleValueContainer().decode(StripeWirePrice.self)
        }
    }
}

struct StripeWireSubscriptionItem: Decodable {
    var id: String?
    var price: StripeWirePrice?
    var plan: StripeWirePrice?
    var quantity: Int64?
    var current_period_start: Int64?
    var current_period_end: Int64?
}

struct StripeWireSubscription: Decodable {
    var id: String
    var customer: StripeObjectRef?
    var status: String?
    var items: StripeWireList<StripeWireSubscriptionItem>?
    var current_period_start: Int64?
    var current_period_end: Int64?
    var cancel_at: Int64?
    var canceled_at: Int64?
}

struct StripeWireAmount: Decodable {
    var amount: Int64?
}

struct StripeWireInvoiceLine: Decodable {
    var id: String?
    var amount: Int64?
    var amount_excluding_tax: Int64?
    var quantity: Int64?
    var description: String?
    /// What each discount (a coupon on the invoice, its subscription or the line) took off `amount`, which is before
    /// discounts.
    var discount_amounts: [StripeWireAmount]?
    /// Current shape (no `amount_excluding_tax`): each tax of the line; an `inclusive` one is inside `amount`.
    var taxes: [Tax]?
    /// 2023-era shape: each tax of the line; an `inclusive` one is inside `amount`.
    var tax_amounts: [TaxAmount]?
    /// 2023-era shape.
    var price: StripeWirePrice?
    /// Older still.
    var plan: StripeWirePrice?
    /// Current shape.
    var pricing: Pricing?

    struct Tax: Decodable {
        var amount: Int64?
        var tax_behavior: String?
    }

    struct TaxAmount: Decodable {
        var amount: Int64?
        var inclusive: Bool?
    }

    struct Pricing: Decodable {
        var price_details: PriceDetails?
        var unit_amount_decimal: String?
    }

    struct PriceDetails: Decodable {
        var price: StripeObjectRef?
        var product: StripeObjectRef?
    }
}

struct StripeWireInvoice: Decodable {
    /// The customer balance when the invoice was finalised: negative is a credit taken off `amount_due`.
    var starting_balance: Int64?
    var id: String?
    var customer: StripeObjectRef?
    var number: String?
    var currency: String?
    var status: String?
    var lines: StripeWireList<StripeWireInvoiceLine>?
    var subtotal: Int64?
    var tax: Int64?
    var total_tax_amounts: [StripeWireAmount]?
    var total_taxes: [StripeWireAmount]?
    var total: Int64?
    var total_excluding_tax: Int64?
    var amount_due: Int64?
    var amount_paid: Int64?
    var amount_remaining: Int64?
    var created: Int64?
    var due_date: Int64?
    var status_transitions: StatusTransitions?
    var customer_name: String?
    var customer_email: String?
    var attempt_count: Int64?
    /// 2023-era shape.
    var subscription: StripeObjectRef?
    /// 2023-era shape.
    var payment_intent: StripeObjectRef?
    /// 2023-era shape.
    var charge: StripeObjectRef?
    /// Current shape.
    var parent: Parent?

    struct StatusTransitions: Decodable {
        var finalized_at: Int64?
        var paid_at: Int64?
    }

    struct Parent: Decodable {
        var subscription_details: SubscriptionDetails?
    }

    struct SubscriptionDetails: Decodable {
        var subscription: StripeObjectRef?
    }
}

struct StripeWirePaymentError: Decodable {
    var code: String?
    var decline_code: String?
    var charge: String?
}

struct StripeWirePaymentIntent: Decodable {
    var id: String
    var customer: StripeObjectRef?
    /// 2023-era shape only.
    var invoice: StripeObjectRef?
    var amount: Int64?
    var amount_received: Int64?
    var currency: String?
    var latest_charge: StripeObjectRef?
    /// Before 2022-11-15.
    var charges: StripeWireList<StripeObjectRef>?
    var last_payment_error: StripeWirePaymentError?
}

struct StripeWireRefund: Decodable {
    var id: String
    var amount: Int64?
    var currency: String?
    var charge: StripeObjectRef?
    var payment_intent: StripeObjectRef?
    var customer: StripeObjectRef?
    var status: String?
    var reason: String?
    var created: Int64?
}

struct StripeWireCharge: Decodable {
    var id: String
    var customer: StripeObjectRef?
    var invoice: StripeObjectRef?
    var refunds: StripeWireList<StripeWireRefund>?
}

struct StripeWireInvoicePayment: Decodable {
    var id: String?
    var invoice: StripeObjectRef?
    var amount_paid: Int64?
    var amount_requested: Int64?
    var currency: String?
    var payment: Payment?
    var status: String?
    var status_transitions: StatusTransitions?
    var created: Int64?
    /// `true` for the payment Stripe creates when the invoice is finalized; `false` for one attached to it besides
    /// (a partial payment, 2025-05-28.basil on).
    var is_default: Bool?

    struct Payment: Decodable {
        var type: String?
        var payment_intent: StripeObjectRef?
        var charge: StripeObjectRef?
    }

    struct StatusTransitions: Decodable {
        var paid_at: Int64?
    }
}

/// A credit note. The current shape splits its total into `pre_payment_amount` (taken off what its invoice still asked
/// for) and `post_payment_amount` (its `refunds`, the credit to the customer's balance, `out_of_band_amount`); versions
/// before `2025-03-31.basil` say only `type` and the one `refund`.
struct StripeWireCreditNote: Decodable {
    var id: String
    var number: String?
    var invoice: StripeObjectRef?
    var customer: StripeObjectRef?
    var currency: String?
    var amount: Int64?
    var total: Int64?
    var status: String?
    var type: String?
    var reason: String?
    var created: Int64?
    var effective_at: Int64?
    var pre_payment_amount: Int64?
    var post_payment_amount: Int64?
    var out_of_band_amount: Int64?
    var refunds: [Refund]?
    var refund: StripeObjectRef?
    var customer_balance_transaction: StripeObjectRef?

    struct Refund: Decodable {
        var amount_refunded: Int64?
    }
}
