public import Foundation
public import WeftCore

/// The few members of a Stripe event that ingress needs, read without decoding the object: the event id (dedup
/// key), type, creation time, API version and the entity key that serialises processing.
///
/// Entity keys: every object of one customer shares the customer's key, so one customer's events are processed one
/// at a time and in order.
/// - a `customer` object: its own id (kind `customer`);
/// - a `product`: its own id (kind `product`); a `price` or `plan`: its `product` (kind `product`);
/// - any other object with a `customer` (an id or an expanded object): that customer;
/// - an `invoice_payment` whose `invoice` is expanded: that invoice's customer;
/// - an `invoice_payment` that names only its invoice: the invoice's provisional key (`stripe/invoice/in_1`), and a
///   refund with no customer: its payment intent's (`stripe/payment/pi_1`) or else its charge's (`stripe/charge/ch_1`). The customer's entity adopts these once it knows
///   that invoice or charge, and from then on the store files such events under the customer (`Aggregate.aliases`);
/// - otherwise the object's own id, under the kind that best describes it (`subscription`, `invoice`, `payment`,
///   `refund`, …), or the event id when the object has no id.
public struct StripeEventEnvelope: Hashable, Sendable {
    /// Stripe's event id (`evt_…`); the dedup key.
    public var id: SourceEventID
    /// The event type, e.g. `invoice.paid`.
    public var type: String
    /// When Stripe created the event (whole seconds).
    public var created: Date
    /// The API version the event was rendered with; `nil` for events that carry none.
    public var apiVersion: String?
    /// The type of `data.object` (`invoice`, `customer`, …), when it says.
    public var objectType: String?
    /// The id of `data.object`, when it has one.
    public var objectID: String?
    /// The key all events of this entity are serialised under.
    public var entityKey: EntityKey

    /// Creates an envelope.
    public init(
        id: SourceEventID, type: String, created: Date, apiVersion: String?, objectType: String?, objectID: String?,
        entityKey: EntityKey
    ) {
        self.id = id
        self.type = type
        self.created = created
        self.apiVersion = apiVersion
        self.objectType = objectType
        self.objectID = objectID
        self.entityKey = entityKey
    }

    /// Parses the envelope of a Stripe event body.
    /// - Parameters:
    ///   - body: the raw event JSON (a webhook body, or one element of `GET /v1/events`).
    ///   - system: the configured name of the Stripe system (the `system` of every reference).
    /// - Throws: ``StripeEventError`` with code `invalidJSON` or `notAnEvent`.
    public static func parse(_ body: Data, system: SystemName = "stripe") throws(StripeEventError) -> StripeEventEnvelope {
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: body)
        } catch {
            throw StripeEventError.from(error, code: .notAnEvent)
        }
        if let object = wire.object, object != "event" { throw StripeEventError(code: .notAnEvent, detail: "object") }
        guard let id = wire.id, !id.isEmpty else { throw StripeEventError(code: .notAnEvent, detail: "id") }
        guard let type = wire.type, !type.isEmpty else { throw StripeEventError(code: .notAnEvent, detail: "type") }
        guard let created = wire.created else { throw StripeEventError(code: .notAnEvent, detail: "created") }
        guard let object = wire.data?.object else { throw StripeEventError(code: .notAnEvent, detail: "data.object") }
        return StripeEventEnvelope(
            id: SourceEventID(id), type: type, created: Date(timeIntervalSince1970: TimeInterval(created)),
            apiVersion: wire.apiVersion, objectType: object.object, objectID: object.id,
            entityKey: entityKey(of: object, eventID: id, system: system)
        )
    }

    /// This event as an inbox append.
    /// - Parameters:
    ///   - system: the configured name of the Stripe system.
    ///   - payload: the raw bytes the envelope was parsed from.
    ///   - receivedAt: when Weft received it.
    ///   - traceID: the trace to follow it by.
    public func incomingEvent(system: SystemName, payload: Data, receivedAt: Date, traceID: TraceID) -> IncomingEvent {
        IncomingEvent(
            system: system, eventID: id, type: type, entityKey: entityKey, occurredAt: created, receivedAt: receivedAt,
            payload: payload, traceID: traceID
        )
    }

    static func entityKey(of object: ObjectHead, eventID: String, system: SystemName) -> EntityKey {
        func key(_ kind: EntityKind, _ id: String) -> EntityKey {
            EntityKey.of(ExternalRef(system: system, kind: kind, id: id))
        }
        switch object.object {
        case "customer":
            if let id = object.id { return key(.customer, id) }
        case "product":
            if let id = object.id { return key(.product, id) }
        case "price", "plan":
            if let product = object.product?.id { return key(.product, product) }
        default:
            break
        }
        if let customer = object.customer?.id ?? object.invoice?.customer { return key(.customer, customer) }
        // Provisional keys, adopted by the customer's entity once it knows the invoice or charge (see
        // `Aggregate.aliases`): an `invoice_payment` names only its invoice, a refund in older versions only its charge.
        if object.object == "invoice_payment", let invoice = object.invoice?.id { return key(.invoice, invoice) }
        if object.object == "refund" {
            if let intent = object.paymentIntent?.id { return key(.payment, intent) }
            if let charge = object.charge?.id { return EntityKey.charge(charge, system: system) }
        }
        guard let id = object.id else { return EntityKey("\(system)/event/\(eventID)") }
        guard let kind = fallbackKind(object.object) else { return EntityKey("\(system)/\(object.object ?? "object")/\(id)") }
        return key(kind, id)
    }

    static func fallbackKind(_ objectType: String?) -> EntityKind? {
        switch objectType {
        case "customer": .customer
        case "product", "price", "plan": .product
        case "subscription", "subscription_item", "subscription_schedule": .subscription
        case "invoice", "invoiceitem", "line_item", "credit_note": .invoice
        case "payment_intent", "charge", "invoice_payment": .payment
        case "refund": .refund
        default: nil
        }
    }

    private struct Wire: Decodable {
        var id: String?
        var object: String?
        var type: String?
        var created: Int64?
        var apiVersion: String?
        var data: DataMember?

        enum CodingKeys: String, CodingKey {
            case id, object, type, created, data
            case apiVersion = "api_version"
        }
    }

    private struct DataMember: Decodable {
        var object: ObjectHead?
    }

    /// The members of `data.object` that decide the entity key.
    ///
    /// Lenient: a member of an unexpected shape (in an object type Weft does not map) is treated as absent rather than
    /// rejecting the webhook, which Stripe would then retry for days.
    struct ObjectHead: Decodable {
        var id: String?
        var object: String?
        var customer: StripeObjectRef?
        var product: StripeObjectRef?
        var invoice: StripeObjectRef?
        var charge: StripeObjectRef?
        var paymentIntent: StripeObjectRef?

        private enum CodingKeys: String, CodingKey {
            case id, object, customer, product, invoice, charge
            case paymentIntent = "payment_intent"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try? container.decodeIfPresent(String.self, forKey: .id)
            object = try? container.decodeIfPresent(String.self, forKey: .object)
            customer = try? container.decodeIfPresent(StripeObjectRef.self, forKey: .customer)
            product = try? container.decodeIfPresent(StripeObjectRef.self, forKey: .product)
            invoice = try? container.decodeIfPresent(StripeObjectRef.self, forKey: .invoice)
            charge = try? container.decodeIfPresent(StripeObjectRef.self, forKey: .charge)
            paymentIntent = try? container.decodeIfPresent(StripeObjectRef.self, forKey: .paymentIntent)
        }
    }
}
