extension StripeState {
    private static let subscriptionFields: Set<String> = [
        "customer", "items", "add_invoice_items", "application_fee_percent", "automatic_tax",
        "backdate_start_date", "billing_cycle_anchor", "billing_cycle_anchor_config", "billing_mode",
        "billing_thresholds", "cancel_at", "cancel_at_period_end", "collection_method", "currency",
        "days_until_due", "default_payment_method", "default_source", "default_tax_rates", "description",
        "discounts", "invoice_settings", "metadata", "off_session", "on_behalf_of", "payment_behavior",
        "payment_settings", "pending_invoice_item_interval", "proration_behavior", "transfer_data", "trial_end",
        "trial_from_plan", "trial_period_days", "trial_settings",
    ]

    /// A subscription item priced by `price`.
    private mutating func subscriptionItem(
        price: JSON, quantity: Int, subscriptionID: String, period: (start: Int, end: Int), metadata: JSON
    ) -> JSON {
        [
            "id": .string(ids.make("si")), "object": "subscription_item", "billing_thresholds": nil,
            "created": .int(now), "current_period_end": .int(period.end), "current_period_start": .int(period.start),
            "discounts": [], "metadata": metadata, "plan": Self.plan(from: price), "price": price,
            "quantity": .int(quantity), "subscription": .string(subscriptionID), "tax_rates": [],
        ]
    }

    /// Reads `items[n][price|quantity|metadata]` into prices and quantities, checking they can be combined.
    private func readItems(_ nodes: [FormParams.Node], currency: inout String?) throws -> [(
        price: JSON, quantity: Int, metadata: JSON
    )] {
        try nodes.enumerated().map { index, node in
            let priceID = try node.string("price", param: "items[\(index)][price]") ?? node.string("plan", param: "items[\(index)][plan]")
            guard let priceID, !priceID.isEmpty else { throw StripeError.missingParam("items[\(index)][price]") }
            let price = try require(\.prices, priceID, kind: "price", param: "items[\(index)][price]")
            guard !price["recurring"].isNull else {
                throw StripeError.invalidRequest(
                    "The price specified is set to `type=one_time` but this field only accepts prices with "
                        + "`type=recurring`.",
                    param: "items[\(index)][price]")
            }
            if let currency, price["currency"].string != currency {
                throw StripeError.invalidRequest(
                    "Currency of all prices must match; \(price["currency"].string ?? "") does not match \(currency).",
                    param: "items[\(index)][price]")
            }
            currency = price["currency"].string
            let quantity = try node.int("quantity", param: "items[\(index)][quantity]") ?? 1
            var metadataHolder: JSON = ["metadata": [:]]
            try node.applyMetadata(to: &metadataHolder)
            return (price, quantity, metadataHolder["metadata"])
        }
    }

    mutating func createSubscription(_ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(Self.subscriptionFields)
        let customerID = try params.requiredString("customer")
        let customer = try require(\.customers, customerID, kind: "customer", param: "customer")
        guard let itemNodes = try params.hashList("items"), !itemNodes.isEmpty else {
            throw StripeError.missingParam("items")
        }
        var currency: String? = nil
        let items = try readItems(itemNodes, currency: &currency)
        let coupons =
            try requestedCoupons(params, currency: currency ?? settings.defaultCurrency, on: "POST /v1/subscriptions")
            ?? []
        let behavior =
            try params.enumValue(
                "payment_behavior",
                ["allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete"])
            ?? "allow_incomplete"
        let method =
            try params.enumValue("collection_method", ["charge_automatically", "send_invoice"])
            ?? "charge_automatically"
        let daysUntilDue = try params.int("days_until_due")
        if method == "send_invoice", daysUntilDue == nil {
            throw StripeError.missingParam("days_until_due")
        }
        let defaultPaymentMethod = try params.string("default_payment_method").flatMap { $0.isEmpty ? nil : $0 }
        if let defaultPaymentMethod {
            _ = try TestCards.outcome(for: defaultPaymentMethod, param: "default_payment_method")
        }
        let trialDays = try params.int("trial_period_days")
        let trialEndParam = try params.string("trial_end")
        var trialEnd: Int? = trialDays.map { now + $0 * 86_400 }
        if let trialEndParam, trialEndParam != "now" {
            guard let value = Int(trialEndParam) else { throw StripeError.invalidInteger("trial_end", trialEndParam) }
            trialEnd = value
        }
        let first = items[0].price["recurring"]
        let interval = first["interval"].string ?? "month"
        let intervalCount = first["interval_count"].int ?? 1
        let periodStart = now
        let periodEnd = trialEnd ?? BillingPeriod.advance(now, interval: interval, count: intervalCount)
        if behavior == "error_if_incomplete", method == "charge_automatically", trialEnd == nil {
            // Stripe creates nothing when the first payment fails in this mode.
            let invoiceLike: JSON = [
                "customer": .string(customerID), "default_payment_method": .from(defaultPaymentMethod),
                "subscription": nil,
            ]
            let paymentMethod = resolvePaymentMethod(invoice: invoiceLike, explicit: nil)
            if let decline = try TestCards.outcome(for: paymentMethod, param: "default_payment_method").decline {
                throw StripeError(
                    status: 402, type: "card_error", code: decline.code, message: decline.message, param: nil,
                    declineCode: decline.declineCode, savesIdempotentResult: true)
            }
        }
        let id = ids.make("sub")
        let itemObjects = items.map {
            subscriptionItem(
                price: $0.price, quantity: $0.quantity, subscriptionID: id, period: (periodStart, periodEnd),
                metadata: $0.metadata)
        }
        var subscription: JSON = [
            "id": .string(id), "object": "subscription", "application": nil, "application_fee_percent": nil,
            "automatic_tax": ["disabled_reason": nil, "enabled": false, "liability": nil],
            "billing_cycle_anchor": .int(periodEnd == trialEnd ? periodEnd : periodStart),
            "billing_cycle_anchor_config": nil,
            "billing_mode": ["flexible": nil, "type": "classic"], "billing_schedules": [],
            "billing_thresholds": nil, "cancel_at": nil, "cancel_at_period_end": false, "canceled_at": nil,
            "cancellation_details": ["comment": nil, "feedback": nil, "reason": nil],
            "collection_method": .string(method), "created": .int(now), "currency": .from(currency),
            "customer": .string(customerID), "customer_account": nil, "days_until_due": .from(daysUntilDue),
            "default_payment_method": .from(defaultPaymentMethod), "default_source": nil, "default_tax_rates": [],
            "description": nil, "discounts": [], "ended_at": nil,
            "invoice_settings": [
                "account_tax_ids": nil, "custom_fields": nil, "description": nil, "footer": nil,
                "issuer": ["type": "self"],
            ],
            "items": [
                "object": "list", "data": .array(itemObjects), "has_more": false,
                "total_count": .int(itemObjects.count), "url": .string("/v1/subscription_items?subscription=\(id)"),
            ],
            "latest_invoice": nil, "livemode": false, "managed_payments": ["enabled": false], "metadata": [:],
            "next_pending_invoice_item_invoice": nil, "on_behalf_of": nil, "pause_collection": nil,
            "payment_settings": [
                "payment_method_options": nil, "payment_method_types": nil, "save_default_payment_method": "off",
            ],
            "pending_invoice_item_interval": nil, "pending_setup_intent": nil, "pending_update": nil,
            "schedule": nil, "start_date": .int(now), "status": trialEnd == nil ? "incomplete" : "trialing",
            "test_clock": nil, "transfer_data": nil, "trial_end": .from(trialEnd),
            "trial_settings": ["end_behavior": ["missing_payment_method": "create_invoice"]],
            "trial_start": trialEnd == nil ? nil : .int(now),
        ]
        try params.applyMetadata(to: &subscription)
        try params.copyStrings(["description"], to: &subscription)
        if let cancelAtPeriodEnd = try params.bool("cancel_at_period_end") {
            subscription["cancel_at_period_end"] = .bool(cancelAtPeriodEnd)
            if cancelAtPeriodEnd { subscription["cancel_at"] = .int(periodEnd) }
        }
        subscription["discounts"] = .array(
            coupons.map { .string(makeDiscount(coupon: $0, customerID: customerID, invoiceID: nil, subscriptionID: id)) })
        subscriptions[id] = subscription
        if customer["currency"].isNull { customers[customerID]?["currency"] = .from(currency) }
        emit("customer.subscription.created", subscription)

        let invoiceID = makeDraftInvoice(
            customer: customers[customerID] ?? customer, subscription: subscription,
            billingReason: "subscription_create", collectionMethod: method, daysUntilDue: daysUntilDue,
            currency: currency ?? settings.defaultCurrency, periodStart: now, periodEnd: now)
        let lines = itemObjects.map { item in
            let price = item["price"]
            let quantity = item["quantity"].int ?? 1
            let amount = trialEnd == nil ? (price["unit_amount"].int ?? 0) * quantity : 0
            let name = productName(for: price) ?? "item"
            let description =
                trialEnd == nil
                ? "\(quantity) × \(name) (at \(Self.formatMoney(price["unit_amount"].int ?? 0, price["currency"].string)) / \(interval))"
                : "Trial period for \(name)"
            return lineItem(
                invoiceID: invoiceID, amount: amount, currency: currency ?? settings.defaultCurrency,
                description: description, quantity: quantity, price: price, period: (periodStart, periodEnd),
                invoiceItem: nil, subscriptionID: id, subscriptionItemID: item["id"].string, proration: false,
                id: ids.make("il"))
        }
        appendLines(lines, to: invoiceID)
        attachPendingItems(customerID: customerID, subscriptionID: id, to: invoiceID)
        subscriptions[id]?["latest_invoice"] = .string(invoiceID)
        emit("invoice.created", invoices[invoiceID] ?? .null)
        try finalizeInvoice(invoiceID)
        if invoices[invoiceID]?["status"].string == "open", method == "charge_automatically",
            behavior != "default_incomplete"
        {
            do {
                try attemptPayment(invoiceID: invoiceID, explicitPaymentMethod: nil)
            } catch let error as StripeError where error.type == "card_error" {
                // allow_incomplete / pending_if_incomplete: the subscription stays `incomplete`, the call succeeds.
            }
        }
        if method == "send_invoice", subscriptions[id]?["status"].string == "incomplete" {
            let previous = subscriptions[id] ?? .null
            subscriptions[id]?["status"] = "active"
            if let now = subscriptions[id], let attributes = now.previousAttributes(from: previous) {
                emit("customer.subscription.updated", now, previous: attributes)
            }
        }
        return subscriptions[id] ?? subscription
    }

    /// The subscription's invoice was paid: `incomplete`/`past_due`/`unpaid` become `active`.
    mutating func subscriptionInvoicePaid(_ id: String, invoiceID: String) {
        guard let subscription = subscriptions[id],
            ["incomplete", "past_due", "unpaid"].contains(subscription["status"].string ?? "")
        else { return }
        update(\.subscriptions, id, event: "customer.subscription.updated") { $0["status"] = "active" }
    }

    /// A subscription invoice's payment failed: renewals turn an active subscription `past_due`.
    mutating func subscriptionPaymentFailed(_ id: String, invoice: JSON) {
        guard invoice["billing_reason"].string != "subscription_create",
            subscriptions[id]?["status"].string == "active"
        else { return }
        update(\.subscriptions, id, event: "customer.subscription.updated") { $0["status"] = "past_due" }
    }

    private static let subscriptionUpdateFields: Set<String> = subscriptionFields.subtracting([
        "customer", "currency", "backdate_start_date", "billing_mode",
    ]).union(["cancellation_details", "pause_collection", "proration_date"])

    mutating func updateSubscription(_ id: String, _ params: FormParams.Node) throws -> JSON {
        let now = self.now
        try params.rejectUnknown(Self.subscriptionUpdateFields)
        try Self.refuseNotImplemented(["discounts"], in: params, on: "POST /v1/subscriptions/:id")
        let subscription = try require(\.subscriptions, id, kind: "subscription")
        guard !["canceled", "incomplete_expired"].contains(subscription["status"].string ?? "") else {
            throw StripeError.invalidRequest(
                "A canceled subscription can only update its cancellation_details and metadata.",
                param: params.topLevelKeys.first)
        }
        let proration =
            try params.enumValue("proration_behavior", ["always_invoice", "create_prorations", "none"])
            ?? "create_prorations"
        var currency = subscription["currency"].string
        var items = subscription["items"]["data"].array ?? []
        var prorationItems: [(amount: Int, description: String, price: JSON, quantity: Int)] = []
        let periodStart = items.first?["current_period_start"].int ?? now
        let periodEnd = items.first?["current_period_end"].int ?? now
        let span = max(1, periodEnd - periodStart)
        let remaining = max(0, min(span, periodEnd - now))
        func prorated(_ amount: Int) -> Int { Int((Double(amount) * Double(remaining) / Double(span)).rounded()) }

        if let itemNodes = try params.hashList("items") {
            for (index, node) in itemNodes.enumerated() {
                let itemID = try node.string("id", param: "items[\(index)][id]")
                let deleted = try node.bool("deleted", param: "items[\(index)][deleted]") ?? false
                var newPrice: JSON?
                if let priceID = try node.string("price", param: "items[\(index)][price]")
                    ?? node.string("plan", param: "items[\(index)][plan]"), !priceID.isEmpty
                {
                    var single = [(price: JSON, quantity: Int, metadata: JSON)]()
                    single = try readItems([.hash(["price": .value(priceID)], order: ["price"])], currency: &currency)
                    newPrice = single.first?.price
                }
                let quantity = try node.int("quantity", param: "items[\(index)][quantity]")
                if let itemID, !itemID.isEmpty {
                    guard let position = items.firstIndex(where: { $0["id"].string == itemID }) else {
                        throw StripeError.missing("subscription_item", itemID, param: "items[\(index)][id]")
                    }
                    let old = items[position]
                    let oldAmount = (old["price"]["unit_amount"].int ?? 0) * (old["quantity"].int ?? 1)
                    let oldName = productName(for: old["price"]) ?? "item"
                    if deleted {
                        items.remove(at: position)
                        prorationItems.append((-prorated(oldAmount), "Unused time on \(oldName)", old["price"], old["quantity"].int ?? 1))
                        continue
                    }
                    var item = old
                    if let newPrice {
                        item["price"] = newPrice
                        item["plan"] = Self.plan(from: newPrice)
                    }
                    if let quantity { item["quantity"] = .int(quantity) }
                    try node.applyMetadata(to: &item)
                    let newAmount = (item["price"]["unit_amount"].int ?? 0) * (item["quantity"].int ?? 1)
                    if newAmount != oldAmount || item["price"]["id"] != old["price"]["id"] {
                        prorationItems.append((-prorated(oldAmount), "Unused time on \(oldName)", old["price"], old["quantity"].int ?? 1))
                        let newName = productName(for: item["price"]) ?? "item"
                        prorationItems.append(
                            (prorated(newAmount), "Remaining time on \(newName)", item["price"], item["quantity"].int ?? 1))
                    }
                    items[position] = item
                } else {
                    guard let newPrice else { throw StripeError.missingParam("items[\(index)][price]") }
                    var metadataHolder: JSON = ["metadata": [:]]
                    try node.applyMetadata(to: &metadataHolder)
                    let item = subscriptionItem(
                        price: newPrice, quantity: quantity ?? 1, subscriptionID: id, period: (periodStart, periodEnd),
                        metadata: metadataHolder["metadata"])
                    let name = productName(for: newPrice) ?? "item"
                    prorationItems.append(
                        (
                            prorated((newPrice["unit_amount"].int ?? 0) * (quantity ?? 1)), "Remaining time on \(name)", newPrice,
                            quantity ?? 1
                        ))
                    items.append(item)
                }
            }
            guard !items.isEmpty else {
                throw StripeError.invalidRequest(
                    "A subscription must have at least one active plan. To cancel a subscription, please use the "
                        + "cancel API endpoint on /v1/subscriptions.", param: "items")
            }
        }
        if let method = try params.string("default_payment_method"), !method.isEmpty {
            _ = try TestCards.outcome(for: method, param: "default_payment_method")
        }
        let cancelAtPeriodEnd = try params.bool("cancel_at_period_end")
        let updated = try update(\.subscriptions, id, event: "customer.subscription.updated") { subscription in
            subscription["items"]["data"] = .array(items)
            subscription["items"]["total_count"] = .int(items.count)
            try params.applyMetadata(to: &subscription)
            try params.copyStrings(["description"], to: &subscription)
            if let method = try params.string("default_payment_method") {
                subscription["default_payment_method"] = .from(method.isEmpty ? nil : method)
            }
            if let cancelAtPeriodEnd {
                subscription["cancel_at_period_end"] = .bool(cancelAtPeriodEnd)
                subscription["cancel_at"] = cancelAtPeriodEnd ? .int(periodEnd) : nil
                if cancelAtPeriodEnd {
                    subscription["cancellation_details"]["reason"] = "cancellation_requested"
                } else {
                    subscription["cancellation_details"]["reason"] = nil
                }
            }
            if let details = params["cancellation_details"] {
                if let comment = try details.string("comment", param: "cancellation_details[comment]") {
                    subscription["cancellation_details"]["comment"] = .from(comment.isEmpty ? nil : comment)
                }
                if let feedback = try details.string("feedback", param: "cancellation_details[feedback]") {
                    subscription["cancellation_details"]["feedback"] = .from(feedback.isEmpty ? nil : feedback)
                }
            }
            if try params.string("trial_end") == "now", subscription["status"].string == "trialing" {
                subscription["trial_end"] = .int(now)
                subscription["status"] = "active"
            }
        }
        guard proration != "none", !prorationItems.isEmpty else { return updated }
        let customerID = updated["customer"].string ?? ""
        for entry in prorationItems where entry.amount != 0 {
            let itemID = ids.make("ii")
            let item = invoiceItemObject(
                id: itemID, customerID: customerID, amount: entry.amount,
                currency: currency ?? settings.defaultCurrency, description: entry.description,
                quantity: entry.quantity, price: entry.price, period: (now, periodEnd), subscriptionID: id,
                proration: true, invoiceID: nil)
            invoiceItems[itemID] = item
            emit("invoiceitem.created", item)
        }
        guard proration == "always_invoice" else { return subscriptions[id] ?? updated }
        let customer = customers[customerID] ?? .null
        let invoiceID = makeDraftInvoice(
            customer: customer, subscription: updated, billingReason: "subscription_update",
            collectionMethod: updated["collection_method"].string ?? "charge_automatically",
            daysUntilDue: updated["days_until_due"].int, currency: currency ?? settings.defaultCurrency,
            periodStart: now, periodEnd: now)
        attachPendingItems(customerID: customerID, subscriptionID: id, to: invoiceID)
        subscriptions[id]?["latest_invoice"] = .string(invoiceID)
        emit("invoice.created", invoices[invoiceID] ?? .null)
        try finalizeInvoice(invoiceID)
        if invoices[invoiceID]?["status"].string == "open",
            invoices[invoiceID]?["collection_method"].string == "charge_automatically"
        {
            try attemptPayment(invoiceID: invoiceID, explicitPaymentMethod: nil)
        }
        return subscriptions[id] ?? updated
    }

    mutating func cancelSubscription(_ id: String, _ params: FormParams.Node) throws -> JSON {
        let now = self.now
        try params.rejectUnknown(["cancellation_details", "invoice_now", "prorate"])
        let subscription = try require(\.subscriptions, id, kind: "subscription")
        guard subscription["status"].string != "canceled" else {
            throw StripeError.invalidRequest(
                "No such subscription: '\(id)'", code: "resource_missing", param: "id", status: 404)
        }
        if subscription["status"].string == "incomplete", let invoiceID = subscription["latest_invoice"].string,
            invoices[invoiceID]?["status"].string == "open"
        {
            _ = try voidInvoice(invoiceID)
        }
        let canceled = update(\.subscriptions, id, event: nil) { subscription in
            subscription["status"] = subscription["status"].string == "incomplete" ? "incomplete_expired" : "canceled"
            subscription["canceled_at"] = .int(now)
            subscription["ended_at"] = .int(now)
            subscription["cancellation_details"]["reason"] = "cancellation_requested"
            if let details = params["cancellation_details"] {
                subscription["cancellation_details"]["comment"] = .from(try? details.string("comment"))
                subscription["cancellation_details"]["feedback"] = .from(try? details.string("feedback"))
            }
        }
        emit("customer.subscription.deleted", canceled)
        return canceled
    }

    func listSubscriptions(_ params: FormParams.Node) throws -> JSON {
        let created = try createdFilter(params)
        let customer = try params.string("customer")
        let price = try params.string("price")
        let status = try params.enumValue(
            "status",
            ["active", "all", "canceled", "ended", "incomplete", "incomplete_expired", "past_due", "paused", "trialing", "unpaid"])
        let items = subscriptions.newestFirst.filter { subscription in
            let current = subscription["status"].string ?? ""
            let statusMatches: Bool
            switch status {
            case nil: statusMatches = !["canceled", "incomplete_expired"].contains(current)
            case "all": statusMatches = true
            case "ended": statusMatches = ["canceled", "incomplete_expired"].contains(current)
            case let wanted?: statusMatches = current == wanted
            }
            let prices = (subscription["items"]["data"].array ?? []).compactMap { $0["price"]["id"].string }
            return statusMatches && created(subscription["created"].int ?? 0)
                && (customer == nil || subscription["customer"].string == customer)
                && (price == nil || prices.contains(price ?? ""))
        }
        return try list(items, url: "/v1/subscriptions", params: params)
    }

    /// Ends the current period and bills the next one (`billing_reason: subscription_cycle`), like a test clock
    /// advancing past the period end. Period timestamps move by one interval; `created` stamps use the clock.
    mutating func renewSubscription(_ id: String) throws -> JSON {
        let subscription = try require(\.subscriptions, id, kind: "subscription")
        guard ["active", "past_due", "trialing"].contains(subscription["status"].string ?? "") else {
            throw StripeError.invalidRequest(
                "Only active, past_due or trialing subscriptions renew; this one is \(subscription["status"].string ?? "").")
        }
        if subscription["cancel_at_period_end"].bool == true {
            return try cancelSubscription(id, .hash([:], order: []))
        }
        var items = subscription["items"]["data"].array ?? []
        let oldEnd = items.first?["current_period_end"].int ?? now
        let recurring = items.first?["price"]["recurring"] ?? .null
        let newEnd = BillingPeriod.advance(
            oldEnd, interval: recurring["interval"].string ?? "month", count: recurring["interval_count"].int ?? 1)
        for index in items.indices {
            items[index]["current_period_start"] = .int(oldEnd)
            items[index]["current_period_end"] = .int(newEnd)
        }
        let renewed = update(\.subscriptions, id, event: "customer.subscription.updated") { subscription in
            subscription["items"]["data"] = .array(items)
            if subscription["status"].string == "trialing" { subscription["status"] = "active" }
        }
        let customerID = renewed["customer"].string ?? ""
        let currency = renewed["currency"].string ?? settings.defaultCurrency
        let invoiceID = makeDraftInvoice(
            customer: customers[customerID] ?? .null, subscription: renewed, billingReason: "subscription_cycle",
            collectionMethod: renewed["collection_method"].string ?? "charge_automatically",
            daysUntilDue: renewed["days_until_due"].int, currency: currency, periodStart: oldEnd, periodEnd: oldEnd)
        let lines = items.map { item in
            let price = item["price"]
            let quantity = item["quantity"].int ?? 1
            let name = productName(for: price) ?? "item"
            return lineItem(
                invoiceID: invoiceID, amount: (price["unit_amount"].int ?? 0) * quantity, currency: currency,
                description:
                    "\(quantity) × \(name) (at \(Self.formatMoney(price["unit_amount"].int ?? 0, currency)) / \(recurring["interval"].string ?? "month"))",
                quantity: quantity, price: price, period: (oldEnd, newEnd), invoiceItem: nil, subscriptionID: id,
                subscriptionItemID: item["id"].string, proration: false, id: ids.make("il"))
        }
        appendLines(lines, to: invoiceID)
        attachPendingItems(customerID: customerID, subscriptionID: id, to: invoiceID)
        subscriptions[id]?["latest_invoice"] = .string(invoiceID)
        emit("invoice.created", invoices[invoiceID] ?? .null)
        try finalizeInvoice(invoiceID)
        if invoices[invoiceID]?["status"].string == "open",
            invoices[invoiceID]?["collection_method"].string == "charge_automatically"
        {
            do {
                try attemptPayment(invoiceID: invoiceID, explicitPaymentMethod: nil)
            } catch let error as StripeError where error.type == "card_error" {
                // A failed renewal leaves the subscription past_due; the renewal itself succeeded.
            }
        }
        return invoices[invoiceID] ?? .null
    }
}
