public import Foundation
public import WeftCore

/// The decode stage for Chargebee (API v2, product catalog 2.0): maps one inbox event to the same canonical changes
/// Stripe's events make, so targets need no Chargebee-specific code.
///
/// A Chargebee event's `content` carries several resources (a `payment_failed` carries the transaction, the invoice,
/// the customer and the subscription); every resource present is mapped, each change versioned by that resource's
/// own `resource_version` (milliseconds, increasing with every change of the resource), so a stale or duplicated
/// delivery cannot overwrite newer state whatever order events arrive in. Resources without a `resource_version`
/// fall back to the event's `occurred_at`.
///
/// - customer → `Customer`; item price → `Product` (the canonical product is the item price: subscription items
///   and invoice lines name item prices, not items);
/// - subscription → `Subscription`; invoice → `Invoice`; payment transaction → `Payment`;
/// - credit note → `Refund` linked to its `reference_invoice_id`.
///
/// Event types Weft does not act on are returned with an `ignoredReason`; they are never errors.
public struct ChargebeeEventDecoder: Sendable {
    /// The configured name of this Chargebee system.
    public let system: SystemName
    let values: StripeCanonicalValues

    /// Creates a decoder.
    /// - Parameter system: the configured name of the Chargebee system (the `system` of every reference it makes).
    public init(system: SystemName) {
        self.system = system
        self.values = StripeCanonicalValues(system: system)
    }

    /// Decodes one inbox event.
    /// - Parameter event: a Chargebee event stored by ingress (its payload is the raw event JSON).
    /// - Returns: the changes, under the event's own entity key, or an ignored result with a reason.
    /// - Throws: ``ChargebeeEventError`` when the payload is not a Chargebee event of the shape its type promises.
    public func decode(_ event: InboxEvent) throws(ChargebeeEventError) -> DecodedEvent {
        try decode(payload: event.payload, type: event.type, entityKey: event.entityKey)
    }

    /// Decodes a raw Chargebee event.
    /// - Parameters:
    ///   - payload: the event JSON.
    ///   - type: the event type (as stored at ingress; equal to the payload's `event_type`).
    ///   - entityKey: the key the event is processed under.
    public func decode(payload: Data, type: String, entityKey: EntityKey) throws(ChargebeeEventError) -> DecodedEvent {
        func ignored(_ reason: String) -> DecodedEvent { DecodedEvent(entityKey: entityKey, changes: [], ignoredReason: reason) }
        guard Self.mappedPrefixes.contains(where: { type.hasPrefix($0) }) else {
            return ignored("event type \(type) is not mapped")
        }
        if type.hasSuffix("_reminder") || type == "invoice_deleted" || type == "credit_note_deleted"
            || type == "transaction_deleted"
        {
            return ignored("\(type) does not describe a current record")
        }
        let event: ChargebeeWireEvent<ChargebeeWireContent>
        do {
            event = try JSONDecoder().decode(ChargebeeWireEvent<ChargebeeWireContent>.self, from: payload)
        } catch {
            throw ChargebeeEventError.from(error, code: .unexpectedShape)
        }
        let content = event.content
        let fallback = event.occurred_at
        var changes: [CanonicalChange] = []
        if let itemPrice = content.item_price {
            changes.append(productChange(itemPrice, deleted: type == "item_price_deleted", fallback: fallback))
        }
        if let customer = content.customer {
            changes.append(customerChange(customer, deleted: type == "customer_deleted", fallback: fallback))
        }
        if let subscription = content.subscription {
            changes.append(try subscriptionChange(subscription, fallback: fallback))
        }
        if let invoice = content.invoice { changes.append(try invoiceChange(invoice, fallback: fallback)) }
        if let transaction = content.transaction,
            let change = paymentChange(transaction, invoiceID: content.invoice?.id, fallback: fallback)
        {
            changes.append(change)
        }
        if let creditNote = content.credit_note { changes.append(try refundChange(creditNote, fallback: fallback)) }
        guard !changes.isEmpty else { return ignored("\(type) carries no resource Weft maps") }
        return DecodedEvent(entityKey: entityKey, changes: changes)
    }

    static let mappedPrefixes = [
        "customer_", "subscription_", "invoice_", "payment_", "credit_note_", "transaction_", "item_price_",
    ]

    /// A resource's version: its `resource_version` (milliseconds), else the event's `occurred_at`.
    static func version(_ resourceVersion: Int64?, fallback occurredAt: Int64) -> SourceVersion {
        SourceVersion(millis: resourceVersion ?? occurredAt * 1000)
    }
}
