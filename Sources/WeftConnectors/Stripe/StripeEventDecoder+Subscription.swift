import Foundation
import WeftCore

extension StripeEventDecoder {
    /// `customer.subscription.*` → Subscription: status, items (product and price refs, quantity, unit amount),
    /// current period (on the subscription in 2023-era versions, on its items since "basil": the earliest item start
    /// and the latest item end), `cancelAt`, `canceledAt`.
    func decodeSubscription(_ context: Context) throws(StripeEventError) -> DecodedEvent {
        let (event, prior) = try context.wireWithPrior(StripeWireSubscription.self)
        let subscription = event.data.object
        let change = CanonicalChange(
            ref: values.externalRef(.subscription, subscription.id), fields: subscriptionFields(subscription),
            version: context.version(event.created))
        return context.changes([context.refined(change, before: prior.map(subscriptionFields))])
    }

    func subscriptionFields(_ subscription: StripeWireSubscription) -> [String: JSONValue] {
        typealias V = StripeCanonicalValues
        var fields: [String: JSONValue] = ["ref": values.ref(.subscription, subscription.id)]
        if let customerID = subscription.customer?.id { fields["customerRef"] = values.ref(.customer, customerID) }
        if let status = subscription.status.flatMap(SubscriptionStatus.init(rawValue:)) {
            fields["status"] = .string(status.rawValue)
        }
        if let wireItems = subscription.items?.data {
            fields["items"] = CanonicalCoding.jsonValue(wireItems.map(subscriptionItem))
        }
        let items = subscription.items?.data ?? []
        let start = subscription.current_period_start ?? items.compactMap(\.current_period_start).min()
        let end = subscription.current_period_end ?? items.compactMap(\.current_period_end).max()
        if let start { fields["currentPeriodStart"] = V.date(start) }
        if let end { fields["currentPeriodEnd"] = V.date(end) }
        fields["cancelAt"] = V.date(subscription.cancel_at)
        fields["canceledAt"] = V.date(subscription.canceled_at)
        return fields
    }

    func subscriptionItem(_ item: StripeWireSubscriptionItem) -> SubscriptionItem {
        typealias V = StripeCanonicalValues
        let price = item.price ?? item.plan
        let unitAmount = price.flatMap { price in
            V.currency(price.currency).flatMap { currency in
                price.unitAmountMinor.map { Money(amountMinor: $0, currency: currency) }
            }
        }
        return SubscriptionItem(
            productRef: price?.product.map { values.externalRef(.product, $0.id) },
            priceRef: price?.id.map { values.externalRef(.price, $0) },
            // Metered items have no quantity.
            quantity: item.quantity ?? (price?.isMetered == true ? 0 : 1),
            unitAmount: unitAmount
        )
    }
}
