import WeftCore

/// A reference Stripe sends either as an id string or, when expanded, as the object itself.
///
/// Only the id is kept, plus the object's own `customer` when it was expanded (an expanded invoice names its
/// customer, which is how an `invoice_payment` finds its customer).
struct StripeObjectRef: Decodable, Hashable, Sendable {
    var id: String
    /// The expanded object's `customer` id, when the object was expanded and has one.
    var customer: String?

    init(id: String, customer: String? = nil) {
        self.id = id
        self.customer = customer
    }

    private enum CodingKeys: String, CodingKey {
        case id, customer
    }

    /// The reference in an already parsed value, as `init(from:)` reads it; `nil` when it has neither shape.
    init?(json: JSONValue) {
        switch json {
        case .string(let id):
            self.init(id: id)
        case .object(let members):
            guard case .string(let id) = members["id"] else { return nil }
            switch members["customer"] {
            case nil, .null: self.init(id: id)
            case let customer?:
                guard let customer = StripeObjectRef(json: customer) else { return nil }
                self.init(id: id, customer: customer.id)
            }
        default:
            return nil
        }
    }

    init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if let id = try? single.decode(String.self) {
            self.id = id
            self.customer = nil
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decode(String.self, forKey: .id)
        self.customer = try container.decodeIfPresent(StripeObjectRef.self, forKey: .customer)?.id
    }
}
