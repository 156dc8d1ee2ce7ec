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
        // Only the members below are built; the rest of the body (the object's lines, metadata, …) is checked as JSON
        // and skipped. This runs on every webhook before it is acknowledged.
        let tree: JSONValue
        do {
            tree = try JSONValue.parse(body, keeping: headProjection)
        } catch {
            throw StripeEventError(code: .invalidJSON, detail: "\(error)")
        }
        guard case .object(let top) = tree else { throw StripeEventError(code: .notAnEvent) }
        func string(_ name: String) throws(StripeEventError) -> String? {
            switch top[name] {
            case nil, .null: return nil
            case .string(let text): return text
            default: throw StripeEventError(code: .notAnEvent, detail: name)
            }
        }
        if let object = try string("object"), object != "event" { throw StripeEventError(code: .notAnEvent, detail: "object") }
        guard let id = try string("id"), !id.isEmpty else { throw StripeEventError(code: .notAnEvent, detail: "id") }
        guard let type = try string("type"), !type.isEmpty else { throw StripeEventError(code: .notAnEvent, detail: "type") }
        guard case .int(let created) = top["created"] else { throw StripeEventError(code: .notAnEvent, detail: "created") }
        let apiVersion = try string("api_version")
        guard case .object(let data) = top["data"] else { throw StripeEventError(code: .notAnEvent, detail: "data.object") }
        guard case .object(let members) = data["object"] else {
            throw StripeEventError(code: .notAnEvent, detail: "data.object")
        }
        let object = ObjectHead(members)
        return StripeEventEnvelope(
            id: SourceEventID(id), type: type, created: Date(timeIntervalSince1970: TimeInterval(created)),
            apiVersion: apiVersion, objectType: object.object, objectID: object.id,
            entityKey: entityKey(of: object, eventID: id, system: system)
        )
    }

    /// What `parse` reads of an event: its head and the members of `data.object` that decide the entity key.
    static let headProjection: JSONProjection = {
        let reference = JSONProjection.members(["id": .all, "customer": .members(["id": .all])])
        let object = JSONProjection.members([
            "id": .all, "object": .all, "customer": reference, "product": reference, "invoice": reference,
            "charge": reference, "payment_intent": reference,
        ])
        return .members([
            "id": .all, "object": .all, "type": .all, "created": .all, "api_version": .all,
            "data": .members(["object": object]),
        ])
    }()

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

    /// The members of `data.object` that decide the entity key.
    ///
    /// Lenient: a member of an unexpected shape (in an object type Weft does not map) is treated as absent rather than
    /// rejecting the webhook, which Stripe would then retry for days.
    struct ObjectHead {
        var id: String?
        var object: String?
        var customer: StripeObjectRef?
        var product: StripeObjectRef?
        var invoice: StripeObjectRef?
        var charge: StripeObjectRef?
        var paymentIntent: StripeObjectRef?

        init(_ members: [String: JSONValue]) {
            id = members["id"]?.stringValue
            object = members["object"]?.stringValue
            customer = members["customer"].flatMap(StripeObjectRef.init(json:))
            product = members["product"].flatMap(StripeObjectRef.init(json:))
            invoice = members["invoice"].flatMap(StripeObjectRef.init(json:))
            charge = members["charge"].flatMap(StripeObjectRef.init(json:))
            paymentIntent = members["payment_intent"].flatMap(StripeObjectRef.init(json:))
        }
    }
}
