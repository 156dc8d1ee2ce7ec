import Logging
import WeftCore

extension OdooTarget {
    static let noSubscriptionAppNote = "kept in Weft (no subscription app)"

    /// Mirrors a subscription to a `sale.order` with a plan when Odoo has Enterprise subscriptions
    /// (`sale.subscription.plan` exists); otherwise the subscription stays in Weft only.
    func upsertSubscription(_ subscription: Subscription, logger: Logger) async throws(OdooError) -> DeliveryOutcome {
        guard try await hasSubscriptionApp(logger: logger) else {
            return .delivered(record: nil, note: Self.noSubscriptionAppNote)
        }
        guard let partnerID = try await partnerID(for: subscription.customerRef, logger: logger) else {
            return Self.dependencyMissing("customer \(subscription.customerRef) is not in Odoo yet")
        }
        let items = subscription.items ?? []
        let products = try await productIDs(items.compactMap(\.productRef), logger: logger)
        let taxField = try await client.saleLineTaxField(logger: logger)
        var lines: [JSONValue] = []
        for item in items {
            guard let productRef = item.productRef, let productID = products[productRef] else {
                return Self.dependencyMissing("a product of subscription \(subscription.ref) is not in Odoo yet")
            }
            var line: [String: JSONValue] = [
                "product_id": .int(productID), "product_uom_qty": .int(item.quantity),
                .init(taxField): [[6, 0, []]],
            ]
            if let amount = item.unitAmount { line["price_unit"] = .double(amount.majorUnits) }
            lines.append([0, 0, .object(line)])
        }
        let plans = try await client.searchRead(
            model: "sale.subscription.plan", domain: [], fields: ["id"], limit: 1, order: "id", logger: logger)
        guard let planID = plans.first?["id"]?.intValue else {
            return .reject(DeliveryFailure(kind: .rejected, message: "Odoo has no subscription plan: create one in Subscriptions"))
        }
        let values: [String: JSONValue] = ["partner_id": .int(partnerID), "plan_id": .int(planID), "order_line": .array(lines)]
        let result = try await client.upsert(
            model: "sale.order",
            items: [
                OdooUpsertItem(
                    ref: subscription.ref, keyField: "client_order_ref", key: subscription.ref.xmlidName, createValues: values,
                    updateValues: nil)
            ], readFields: ["state"], logger: logger)[0]
        let order = try await client.read(model: "sale.order", ids: [result.id], fields: ["state"], logger: logger).first
        let state = order?["state"]?.stringValue ?? "draft"
        switch subscription.status {
        case .active?, .trialing?, .pastDue?, .unpaid?:
            if state == "draft" || state == "sent" {
                _ = try await client.call(model: "sale.order", method: "action_confirm", ids: [result.id], logger: logger)
            }
        case .canceled?, .incompleteExpired?:
            if state == "draft" || state == "sent" {
                // Without `disable_cancel_warning`, Odoo 17+ answers a quotation that was sent with the cancel
                // wizard's action and cancels nothing.
                let answer = try await client.call(
                    model: "sale.order", method: "action_cancel", ids: [result.id],
                    context: ["disable_cancel_warning": true], logger: logger)
                // A module that shows its own wizard anyway answers with the action to open it, and cancels nothing.
                if answer["type"]?.stringValue == "ir.actions.act_window" {
                    return .reject(
                        DeliveryFailure(
                            kind: .rejected,
                            message:
                                "Odoo answered the cancellation of sale.order \(result.id) with a wizard instead of "
                                + "cancelling it: cancel the order in Odoo, then replay this command"))
                }
            } else if state == "sale" {
                _ = try await client.call(model: "sale.order", method: "set_close", ids: [result.id], logger: logger)
            }
        default:
            break
        }
        return .delivered(record: TargetRecordID(model: "sale.order", id: String(result.id)), note: nil)
    }

    private func hasSubscriptionApp(logger: Logger) async throws(OdooError) -> Bool {
        if let known = client.cache.flag("model:sale.subscription.plan") { return known }
        let count = try await client.searchCount(
            model: "ir.model", domain: [["model", "=", "sale.subscription.plan"]], logger: logger)
        client.cache.storeFlag(count > 0, for: "model:sale.subscription.plan")
        return count > 0
    }
}
