public import Foundation
public import WeftCore

/// The few members of a Chargebee event that ingress needs, read without decoding the resources: the event id
/// (dedup key), type, occurred-at instant, API version and the entity key that serialises processing.
///
/// Entity keys: every resource of one customer shares the customer's key (`<system>/customer/<id>`), found in
/// `content.customer.id`, else the `customer_id` of `content.subscription`, `invoice`, `transaction` or
/// `credit_note`. An item price's events are keyed by the item price (`<system>/product/<id>`, the canonical product);
/// an event with none of these by its own id (`<system>/event/<id>`).
public struct ChargebeeEventEnvelope: Hashable, Sendable {
    /// Chargebee's event id (`ev_…`); the dedup key.
    public var id: SourceEventID
    /// The event type, e.g. `payment_succeeded`.
    public var type: String
    /// When the event occurred (whole seconds).
    public var occurredAt: Date
    /// The API version the content was rendered with (`v2`), when the body says.
    public var apiVersion: String?
    /// The Chargebee customer the event belongs to, when `content` names one.
    public var customerID: String?
    /// The key all events of this entity are serialised under.
    public var entityKey: EntityKey

    /// Creates an envelope.
    public init(
        id: SourceEventID, type: String, occurredAt: Date, apiVersion: String?, customerID: String?, entityKey: EntityKey
    ) {
        self.id = id
        self.type = type
        self.occurredAt = occurredAt
        self.apiVersion = apiVersion
        self.customerID = customerID
        self.entityKey = entityKey
    }

    /// Parses the envelope of a Chargebee event body.
    /// - Parameters:
    ///   - body: the raw event JSON (a webhook body, or the `event` of one element of `GET /api/v2/events`).
    ///   - system: the configured name of the Chargebee system (the `system` of every reference).
    /// - Throws: ``ChargebeeEventError`` with code `invalidJSON` or `notAnEvent`.
    public static func parse(_ body: Data, system: SystemName = "chargebee") throws(ChargebeeEventError)
        -> ChargebeeEventEnvelope
    {
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: body)
        } catch {
            throw ChargebeeEventError.from(error, code: .notAnEvent)
        }
        if let object = wire.object, object != "event" { throw ChargebeeEventError(code: .notAnEvent, detail: "object") }
        guard let id = wire.id, !id.isEmpty else { throw ChargebeeEventError(code: .notAnEvent, detail: "id") }
        guard let type = wire.eventType, !type.isEmpty else {
            throw ChargebeeEventError(code: .notAnEvent, detail: "event_type")
        }
        guard let occurredAt = wire.occurredAt else { throw ChargebeeEventError(code: .notAnEvent, detail: "occurred_at") }
        guard let content = wire.content else { throw ChargebeeEventError(code: .notAnEvent, detail: "content") }
        let customerID = content.customerID
        let entityKey: EntityKey
        if let customerID {
            entityKey = EntityKey.of(ExternalRef(system: system, kind: .customer, id: customerID))
        } else if let itemPrice = content.itemPrice?.id {
            entityKey = EntityKey.of(ExternalRef(system: system, kind: .product, id: itemPrice))
        } else {
            entityKey = EntityKey("\(system)/event/\(id)")
        }
        return ChargebeeEventEnvelope(
            id: SourceEventID(id), type: type, occurredAt: Date(timeIntervalSince1970: TimeInterval(occurredAt)),
            apiVersion: wire.apiVersion, customerID: customerID, entityKey: entityKey)
    }

    /// This event as an inbox append.
    /// - Parameters:
    ///   - system: the configured name of the Chargebee system.
    ///   - payload: the raw bytes the envelope was parsed from.
    ///   - receivedAt: when Weft received it.
    ///   - traceID: the trace to follow it by.
    public func incomingEvent(system: SystemName, payload: Data, receivedAt: Date, traceID: TraceID) -> IncomingEvent {
        IncomingEvent(
            system: system, eventID: id, type: type, entityKey: entityKey, occurredAt: occurredAt, receivedAt: receivedAt,
            payload: payload, traceID: traceID)
    }

    private struct Wire: Decodable {
        var id: String?
        var object: String?
        var eventType: String?
        var occurredAt: Int64?
        var apiVersion: String?
        var content: Content?

        enum CodingKeys: String, CodingKey {
            case id, object, content
            case eventType = "event_type"
            case occurredAt = "occurred_at"
            case apiVersion = "api_version"
        }
    }

    /// The members of `content` that decide the entity key. Lenient: a resource of an unexpected shape is treated as
    /// absent rather than rejecting the webhook, which Chargebee would then retry for days.
    private struct Content: Decodable {
        var customerID: String?
        var itemPrice: Head?

        struct Head: Decodable {
            var id: String?
            var customer_id: String?
        }

        private enum CodingKeys: String, CodingKey {
            case customer, subscription, invoice, transaction, credit_note, item_price
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            func head(_ key: CodingKeys) -> Head? { try? container.decodeIfPresent(Head.self, forKey: key) }
            customerID =
                head(.customer)?.id ?? head(.subscription)?.customer_id ?? head(.invoice)?.customer_id
                ?? head(.transaction)?.customer_id ?? head(.credit_note)?.customer_id
            itemPrice = head(.item_price)
        }
    }
}
