public import Foundation
public import WeftCore

/// The decode stage for Stripe: maps one inbox event to canonical changes.
///
/// Field names are the canonical records' property names; values are `JSONValue`s in the canonical coding (dates as
/// milliseconds since 1970, money as minor units plus upper-case currency). Every change carries the event's
/// `created` instant as its version, and an ordinal that orders the snapshots of one second (Stripe's `created` has
/// whole seconds and webhooks arrive in any order): an invoice's status rank, so that a `paid` snapshot beats an
/// `open` one; a refund's, so that `succeeded` beats `pending`; otherwise the event's action, so that a
/// `*.created` snapshot (an object's first state) never overwrites a `*.updated` one of the same second, and a
/// `*.deleted` one is last; within an update, the fields it changed (by `previous_attributes`) rank above the ones it
/// only carried. Both the 2023-era event shape and the current one (2025 "basil" and later: no
/// `invoice.subscription`/`payment_intent`/`charge`, periods on subscription items, `parent`, `invoice_payment`
/// objects) decode.
///
/// Event types Weft does not act on are returned with an `ignoredReason`; they are never errors. The payload is
/// decoded once, into a minimal struct chosen by the event type.
public struct StripeEventDecoder: Sendable {
    /// The configured name of this Stripe system.
    public let system: SystemName
    let values: StripeCanonicalValues

    /// Creates a decoder.
    /// - Parameter system: the configured name of the Stripe system (the `system` of every reference it makes).
    public init(system: SystemName) {
        self.system = system
        self.values = StripeCanonicalValues(system: system)
    }

    /// Decodes one inbox event.
    /// - Parameter event: a Stripe event stored by ingress (its payload is the raw event JSON).
    /// - Returns: the changes, under the event's own entity key, or an ignored result with a reason.
    /// - Throws: ``StripeEventError`` when the payload is not a Stripe event of the shape its type promises.
    public func decode(_ event: InboxEvent) throws(StripeEventError) -> DecodedEvent {
        try decode(payload: event.payload, type: event.type, entityKey: event.entityKey)
    }

    /// Decodes a raw Stripe event.
    /// - Parameters:
    ///   - payload: the event JSON.
    ///   - type: the event type (as stored at ingress; equal to the payload's `type`).
    ///   - entityKey: the key the event is processed under.
    public func decode(payload: Data, type: String, entityKey: EntityKey) throws(StripeEventError) -> DecodedEvent {
        let context = Context(payload: payload, type: type, entityKey: entityKey)
        switch type {
        case "customer.created", "customer.updated":
            return try decodeCustomer(context, deleted: false)
        case "customer.deleted":
            return try decodeCustomer(context, deleted: true)
        case "customer.tax_id.created", "customer.tax_id.updated":
            return try decodeTaxID(context)
        case "product.created", "product.updated":
            return try decodeProduct(context, deleted: false)
        case "product.deleted":
            return try decodeProduct(context, deleted: true)
        case "price.created", "price.updated", "plan.created", "plan.updated":
            return try decodePrice(context)
        case "invoice.upcoming", "invoice.deleted":
            return context.ignored("\(type) does not describe an issued invoice")
        case "invoice_payment.paid":
            return try decodeInvoicePayment(context)
        case "payment_intent.succeeded":
            return try decodePaymentIntent(context, succeeded: true)
        case "payment_intent.payment_failed":
            return try decodePaymentIntent(context, succeeded: false)
        case "charge.refunded":
            return try decodeChargeRefunded(context)
        case "refund.created", "refund.updated", "refund.failed", "charge.refund.updated":
            return try decodeRefund(context)
        case "credit_note.created", "credit_note.updated", "credit_note.voided":
            return try decodeCreditNote(context)
        default:
            if type.hasPrefix("customer.subscription.") { return try decodeSubscription(context) }
            if type.hasPrefix("invoice.") { return try decodeInvoice(context, type: type) }
            return context.ignored("event type \(type) is not mapped")
        }
    }

    /// What every mapping needs: the payload and the key the result is returned under.
    struct Context {
        var payload: Data
        /// The event type, e.g. `customer.updated`.
        var type: String
        var entityKey: EntityKey

        /// The version of a snapshot this event reports: its `created` instant, ordered within the second by the
        /// event's action (`*.created` 0, `*.deleted` 3, anything else 2; `refined` puts the fields an update only
        /// carried at 1, above a creation's and below any change).
        func version(_ created: Int64) -> SourceVersion {
            let ordinal = type.hasSuffix(".created") ? 0 : type.hasSuffix(".deleted") ? 3 : 2
            return SourceVersion(millis: created * 1000, ordinal: ordinal)
        }

        /// The event with `data.object` decoded as `Object`, straight from the bytes (`JSONValue.decode(_:fromJSON:)`):
        /// the same results as `JSONDecoder` for these types (no dates, no floating-point members); of the seventy-odd
        /// members of an invoice only the ones `Object` names are read, which is most of what decoding an event costs.
        func wire<Object: Decodable>(_ object: Object.Type) throws(StripeEventError) -> StripeWireEvent<Object> {
            do {
                return try JSONValue.decode(StripeWireEvent<Object>.self, fromJSON: payload)
            } catch is JSONParseError {
                throw StripeEventError(code: .invalidJSON)
            } catch {
                throw StripeEventError.from(error, code: .unexpectedShape)
            }
        }

        /// The event with `data.object` decoded as `Object`, and, for an `*.updated` event that says what it changed
        /// (`data.previous_attributes`), the object as it was before: `data.object` with those attributes put back
        /// (hashes merged key by key). `nil` when there is none or it does not decode.
        func wireWithPrior<Object: Decodable>(
            _ object: Object.Type
        ) throws(StripeEventError) -> (event: StripeWireEvent<Object>, prior: Object?) {
            // Only an update says what it changed; the rest need no tree.
            guard type.hasSuffix(".updated") else { return (try wire(Object.self), nil) }
            let tree = try tree()
            let event = try Self.event(Object.self, in: tree)
            guard case .object(let data)? = tree["data"],
                case .object(let previous)? = data["previous_attributes"], !previous.isEmpty, let current = data["object"]
            else { return (event, nil) }
            return (event, try? Self.overlaid(current, with: .object(previous)).decode(Object.self))
        }

        private func tree() throws(StripeEventError) -> JSONValue {
            do {
                return try JSONValue.parse(payload)
            } catch {
                throw StripeEventError(code: .invalidJSON)
            }
        }

        private static func event<Object: Decodable>(
            _ object: Object.Type, in tree: JSONValue
        ) throws(StripeEventError) -> StripeWireEvent<Object> {
            do {
                return try tree.decode(StripeWireEvent<Object>.self)
            } catch {
                throw StripeEventError.from(error, code: .unexpectedShape)
            }
        }

        /// `base` with `overlay`'s members put over it, hashes merged key by key (Stripe's `previous_attributes` names
        /// the changed keys of a hash such as `metadata`, and may give a whole old hash such as `address`).
        static func overlaid(_ base: JSONValue, with overlay: JSONValue) -> JSONValue {
            guard case .object(var merged) = base, case .object(let members) = overlay else { return overlay }
            for (key, value) in members { merged[key] = merged[key].map { overlaid($0, with: value) } ?? value }
            return .object(merged)
        }

        /// `change` with the fields that an update carried but did not change ordered below those it changed, in the
        /// same second: `before` is the record as the event's `previous_attributes` say it was. So two updates of one
        /// object in one second, each changing a different field, keep both changes in whatever order they arrive
        /// (the later snapshot's unchanged copy of the earlier one's field no longer wins by arriving last). For the
        /// fields it changed, the change keeps the values they replaced (`CanonicalChange.replaced`): of two updates
        /// of one second that both changed a field, the one that replaced the other's value wins in either order.
        func refined(_ change: CanonicalChange, before: [String: JSONValue]?) -> CanonicalChange {
            guard let before, change.version.ordinal == 2 else { return change }
            var refined = change
            for (field, value) in change.fields where field != "ref" {
                let old = before[field] ?? .null
                if old == value {
                    refined.fieldOrdinals[field] = change.version.ordinal - 1
                } else {
                    refined.replaced[field] = old
                }
            }
            return refined
        }

        func ignored(_ reason: String) -> DecodedEvent {
            DecodedEvent(entityKey: entityKey, changes: [], ignoredReason: reason)
        }

        func changes(_ changes: [CanonicalChange]) -> DecodedEvent {
            DecodedEvent(entityKey: entityKey, changes: changes)
        }
    }

    /// The version of everything an event says: its `created` instant.
    static func version(_ created: Int64) -> SourceVersion {
        SourceVersion(millis: created * 1000)
    }
}
