import Foundation

extension ChargebeeState {
    /// A subscription item resolved against the catalog.
    struct ResolvedItem {
        var itemPrice: JSON
        var quantity: Int
        var unitPrice: Int
        var amount: Int { unitPrice * quantity }
        var itemType: String { itemPrice["item_type"].string ?? "plan" }

        var json: JSON {
            var item: JSON = ["item_price_id": itemPrice["id"], "item_type": .string(itemType)]
            item["quantity"] = .int(quantity)
            item["unit_price"] = .int(unitPrice)
            item["amount"] = .int(amount)
            item["free_quantity"] = 0
            item["object"] = "subscription_item"
            return item
        }
    }

    /// Reads `subscription_items[item_price_id][i]`, `[quantity][i]`, `[unit_price][i]`.
    func resolveItems(_ params: FormBody) throws(ChargebeeError) -> [ResolvedItem] {
        var resolved: [ResolvedItem] = []
        for (index, element) in try params.indexed("subscription_items").enumerated() {
            guard let priceID = element["item_price_id"], !priceID.isEmpty else {
                throw .paramRequired("subscription_items[item_price_id][\(index)]")
            }
            guard let itemPrice = itemPrices[priceID], itemPrice["status"].string == "active" else {
                throw .notFound(param: "subscription_items[item_price_id][\(index)]")
            }
            var quantity = 1
            if let raw = element["quantity"], !raw.isEmpty {
                guard let value = Int(raw), value >= 1 else {
                    throw .paramInvalid("subscription_items[quantity][\(index)]", "must be at least 1")
                }
                quantity = itemPrice["pricing_model"].string == "flat_fee" ? 1 : value
            }
            var unitPrice = itemPrice["price"].int ?? 0
            if let raw = element["unit_price"], !raw.isEmpty {
                guard let value = Int(raw), value >= 0 else {
                    throw .paramInvalid("subscription_items[unit_price][\(index)]", "invalid value")
                }
                unitPrice = value
            }
            resolved.append(ResolvedItem(itemPrice: itemPrice, quantity: quantity, unitPrice: unitPrice))
        }
        return resolved
    }

    /// Exactly one plan; every item in one currency and (for recurring items) one billing period.
    static func validate(_ items: [ResolvedItem]) throws(ChargebeeError) -> (plan: ResolvedItem, currency: String) {
        let plans = items.filter { $0.itemType == "plan" }
        guard plans.count == 1, let plan = plans.first else {
            throw .paramInvalid("subscription_items[item_price_id][0]", "exactly one plan item price is required")
        }
        let currency = plan.itemPrice["currency_code"].string ?? "USD"
        for (index, item) in items.enumerated() {
            guard item.itemPrice["currency_code"].string == currency else {
                throw .paramInvalid("subscription_items[item_price_id][\(index)]", "currency does not match the plan's")
            }
            if item.itemType == "addon",
                item.itemPrice["period"] != plan.itemPrice["period"]
                    || item.itemPrice["period_unit"] != plan.itemPrice["period_unit"]
            {
                throw .paramInvalid("subscription_items[item_price_id][\(index)]", "billing period does not match the plan's")
            }
        }
        return (plan, currency)
    }

    /// `start` advanced by `period` × `unit`, in UTC calendar arithmetic.
    static func advance(_ start: Int, period: Int, unit: String) -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let component: Calendar.Component =
            switch unit {
            case "day": .day
            case "week": .weekOfYear
            case "year": .year
            default: .month
            }
        let date = calendar.date(byAdding: component, value: period, to: Date(timeIntervalSince1970: TimeInterval(start)))
        return Int(date?.timeIntervalSince1970 ?? TimeInterval(start + 30 * 86_400))
    }

    static func termEnd(_ start: Int, plan: JSON) -> Int {
        advance(start, period: plan["period"].int ?? 1, unit: plan["period_unit"].string ?? "month")
    }

    func items(of subscription: JSON) -> [ResolvedItem] {
        (subscription["subscription_items"].array ?? []).compactMap { item in
            guard let id = item["item_price_id"].string, let price = itemPrices[id] else { return nil }
            return ResolvedItem(itemPrice: price, quantity: item["quantity"].int ?? 1, unitPrice: item["unit_price"].int ?? 0)
        }
    }

    // MARK: Create

    mutating func createSubscription(customerID: String, _ params: FormBody) throws(ChargebeeError) -> JSON {
        var customer = try customer(customerID)
        let id = params.string("id") ?? makeID()
        guard !subscriptions.contains(id) else { throw .duplicate("id", id) }
        let items = try resolveItems(params)
        let (plan, currency) = try Self.validate(items)
        let trialEnd = try params.int("trial_end")
        let startDate = try params.int("start_date")
        var subscription: JSON = [
            "id": .string(id), "billing_period": plan.itemPrice["period"],
            "billing_period_unit": plan.itemPrice["period_unit"], "customer_id": .string(customerID),
        ]
        subscription["auto_collection"] = .from(params.string("auto_collection"))
        subscription["created_at"] = .int(now)
        subscription["has_scheduled_changes"] = false
        subscription["channel"] = "web"
        subscription["object"] = "subscription"
        subscription["currency_code"] = .string(currency)
        subscription["subscription_items"] = .array(items.map(\.json))
        subscription["due_invoices_count"] = 0
        subscription["mrr"] = 0
        subscription["deleted"] = false
        var invoiceID: String?
        if let startDate, startDate > now {
            subscription["status"] = "future"
            subscription["start_date"] = .int(startDate)
            subscription["next_billing_at"] = .int(startDate)
        } else if let trialEnd, trialEnd > now {
            subscription["status"] = "in_trial"
            subscription["trial_start"] = .int(now)
            subscription["trial_end"] = .int(trialEnd)
            subscription["current_term_start"] = .int(now)
            subscription["current_term_end"] = .int(trialEnd)
            subscription["next_billing_at"] = .int(trialEnd)
            subscription["started_at"] = .int(now)
        } else {
            subscription["status"] = "active"
            subscription["started_at"] = .int(now)
            subscription["activated_at"] = .int(now)
            startTerm(&subscription, at: now, plan: plan.itemPrice)
        }
        touch(&subscription)
        subscriptions[id] = subscription
        var transactionID: String?
        if subscription["status"].string == "active" {
            invoiceID = makeInvoice(for: id, lines: termLines(items, subscription: subscription), firstInvoice: true)
            transactionID = collect(invoiceID!)
            if let transactionID, transactions[transactionID]?["status"].string != "success" {
                // A declined first charge fails the whole request: nothing is created.
                throw .paymentFailed(transactions[transactionID]?["error_text"].string ?? "Payment failed")
            }
        }
        customer = customers[customerID] ?? customer
        var content: JSON = ["subscription": subscriptions[id]!, "customer": customer]
        if let invoiceID { content["invoice"] = invoices[invoiceID]! }
        // `subscription_started` is only "sent when a 'future' subscription gets started at the scheduled date" (the
        // spec's event list): a subscription active at once has `subscription_created` alone.
        emit("subscription_created", content)
        if let invoiceID { emitInvoiceAndPayment(invoiceID, transactionID) }
        return content
    }

    mutating func startTerm(_ subscription: inout JSON, at start: Int, plan: JSON) {
        let end = Self.termEnd(start, plan: plan)
        subscription["current_term_start"] = .int(start)
        subscription["current_term_end"] = .int(end)
        subscription["next_billing_at"] = .int(end)
    }

    /// One line per item for the current term.
    mutating func termLines(_ items: [ResolvedItem], subscription: JSON) -> [JSON] {
        items.map { item in
            lineItem(
                item, amount: item.amount, from: subscription["current_term_start"].int ?? now,
                to: subscription["current_term_end"].int ?? now, subscription: subscription, suffix: nil)
        }
    }

    mutating func lineItem(_ item: ResolvedItem, amount: Int, from: Int, to: Int, subscription: JSON, suffix: String?) -> JSON {
        let id = makeID("li_")
        let name = item.itemPrice["external_name"].string ?? item.itemPrice["id"].string ?? ""
        let line: JSON = [
            "id": .string(id), "date_from": .int(from), "date_to": .int(to),
            "unit_amount": .int(suffix == nil ? item.unitPrice : (item.quantity > 0 ? amount / item.quantity : amount)),
            "quantity": .int(item.quantity), "amount": .int(amount),
            "pricing_model": item.itemPrice["pricing_model"], "is_taxed": false, "tax_amount": 0,
            "object": "line_item", "subscription_id": subscription["id"], "customer_id": subscription["customer_id"],
            "description": .string(suffix.map { "\(name) - \($0)" } ?? name),
            "entity_type": .string("\(item.itemType)_item_price"), "entity_id": item.itemPrice["id"],
            "discount_amount": 0, "item_level_discount_amount": 0,
        ]
        return line
    }

    // MARK: Change

    mutating func updateSubscription(_ id: String, _ params: FormBody) throws(ChargebeeError) -> JSON {
        var subscription = try subscription(id)
        guard let status = subscription["status"].string, ["active", "in_trial", "non_renewing", "future"].contains(status)
        else { throw .invalidState("Subscription is in \(subscription["status"].string ?? "") state") }
        let old = items(of: subscription)
        let given = try resolveItems(params)
        let replace = try params.bool("replace_items_list") ?? false
        var merged = replace ? [] : old
        for item in given {
            if item.itemType == "plan" { merged.removeAll { $0.itemType == "plan" } }
            merged.removeAll { $0.itemPrice["id"] == item.itemPrice["id"] }
            merged.append(item)
        }
        let (plan, currency) = try Self.validate(merged)
        guard currency == subscription["currency_code"].string else {
            throw .paramInvalid("subscription_items[item_price_id][0]", "currency cannot be changed")
        }
        let prorate = try params.bool("prorate") ?? settings.prorateByDefault
        let invoiceImmediately = try params.bool("invoice_immediately") ?? true
        subscription["subscription_items"] = .array(merged.map(\.json))
        subscription["billing_period"] = plan.itemPrice["period"]
        subscription["billing_period_unit"] = plan.itemPrice["period_unit"]
        touch(&subscription)
        subscriptions[id] = subscription

        var invoiceID: String?
        var transactionID: String?
        var creditNoteIDs: [String] = []
        if status == "active" || status == "non_renewing", prorate,
            let start = subscription["current_term_start"].int, let end = subscription["current_term_end"].int, end > start
        {
            let remaining = min(max(end - now, 0), end - start)
            func prorated(_ amount: Int) -> Int { (amount * remaining + (end - start) / 2) / (end - start) }
            let oldCredit = prorated(old.reduce(0) { $0 + $1.amount })
            let newCharge = prorated(merged.reduce(0) { $0 + $1.amount })
            if newCharge > oldCredit, invoiceImmediately {
                // Upgrade: an invoice for the new items over the rest of the term; the unused part of the old ones
                // is credited (a credit note) and applied to that invoice.
                let lines = merged.map { item in
                    lineItem(
                        item, amount: prorated(item.amount), from: now, to: end, subscription: subscription,
                        suffix: "Prorated Charges")
                }
                let newInvoice = makeInvoice(for: id, lines: lines, firstInvoice: false)
                invoiceID = newInvoice
                if oldCredit > 0 {
                    creditNoteIDs.append(
                        creditPreviousTerm(
                            subscription: subscription, old: old, amount: oldCredit, from: now, to: end,
                            applyTo: newInvoice))
                }
                transactionID = collect(newInvoice)
            } else if oldCredit > newCharge {
                // Downgrade: the difference is credited on a credit note against the term's invoice.
                creditNoteIDs.append(
                    creditPreviousTerm(
                        subscription: subscription, old: old, amount: oldCredit - newCharge, from: now, to: end,
                        applyTo: nil))
            }
        }
        let customer = customers[subscription["customer_id"].string ?? ""] ?? [:]
        var content: JSON = ["subscription": subscriptions[id]!, "customer": customer]
        if let invoiceID { content["invoice"] = invoices[invoiceID]! }
        if !creditNoteIDs.isEmpty { content["credit_notes"] = .array(creditNoteIDs.compactMap { creditNotes[$0] }) }
        emit("subscription_changed", ["subscription": subscriptions[id]!, "customer": customer])
        for creditNoteID in creditNoteIDs { emitCreditNoteCreated(creditNoteID) }
        if let invoiceID { emitInvoiceAndPayment(invoiceID, transactionID) }
        return content
    }

    // MARK: Cancel

    mutating func cancelSubscription(_ id: String, _ params: FormBody) throws(ChargebeeError) -> JSON {
        var subscription = try subscription(id)
        guard subscription["status"].string != "cancelled" else {
            throw .invalidState("Subscription is already cancelled")
        }
        // `cancel_option` (v2) or the older `end_of_term` flag; `specific_date` takes `cancel_at`, within the term.
        let endOfTerm = try params.bool("end_of_term") ?? false
        let option = params.string("cancel_option") ?? (endOfTerm ? "end_of_term" : "immediately")
        var scheduledAt: Int?
        switch option {
        case "immediately": scheduledAt = nil
        case "end_of_term", "end_of_billing_term": scheduledAt = subscription["current_term_end"].int
        case "specific_date":
            guard let at = try params.int("cancel_at") else { throw .paramRequired("cancel_at") }
            guard at > now, at <= subscription["current_term_end"].int ?? at else {
                throw .paramInvalid("cancel_at", "should be a future date within the current term")
            }
            scheduledAt = at
        default: throw .paramInvalid("cancel_option", "invalid value")
        }
        // The caller's reason is a code the site defines (`cancel_reason_code`); `cancel_reason` is Chargebee's own
        // (`not_paid` when dunning gives up, …) and an API cancellation leaves it unset.
        subscription["cancel_reason_code"] = .from(params.string("cancel_reason_code"))
        let eventType: String
        if let scheduledAt, subscription["status"].string == "active" {
            subscription["status"] = "non_renewing"
            subscription["cancelled_at"] = .int(scheduledAt)
            subscription["next_billing_at"] = nil
            subscription["cancel_schedule_created_at"] = .int(now)
            eventType = "subscription_cancellation_scheduled"
        } else {
            subscription["status"] = "cancelled"
            subscription["cancelled_at"] = .int(now)
            subscription["next_billing_at"] = nil
            eventType = "subscription_cancelled"
        }
        touch(&subscription)
        subscriptions[id] = subscription
        let content: JSON = ["subscription": subscription, "customer": customers[subscription["customer_id"].string ?? ""] ?? [:]]
        emit(eventType, content)
        return content
    }

    // MARK: Renewal (simulated time passing)

    /// Moves a subscription to its next term boundary: a trial ends, a future subscription starts, a non-renewing one
    /// is cancelled, an active one renews and is invoiced.
    mutating func renewSubscription(_ id: String) throws(ChargebeeError) -> JSON {
        var subscription = try subscription(id)
        let items = items(of: subscription)
        let (plan, _) = try Self.validate(items)
        let status = subscription["status"].string ?? ""
        let customer = { (state: ChargebeeState) in state.customers[subscription["customer_id"].string ?? ""] ?? [:] }
        switch status {
        case "non_renewing":
            subscription["status"] = "cancelled"
            touch(&subscription)
            subscriptions[id] = subscription
            let content: JSON = ["subscription": subscription, "customer": customer(self)]
            emit("subscription_cancelled", content)
            return content
        case "in_trial", "future", "active":
            let start = subscription["current_term_end"].int ?? subscription["start_date"].int ?? now
            startTerm(&subscription, at: start, plan: plan.itemPrice)
            subscription["status"] = "active"
            if status != "active" {
                subscription["activated_at"] = .int(now)
                if status == "future" { subscription["started_at"] = .int(now) }
            }
            touch(&subscription)
            subscriptions[id] = subscription
            let invoiceID = makeInvoice(for: id, lines: termLines(items, subscription: subscription), firstInvoice: status != "active")
            let transactionID = collect(invoiceID)
            var content: JSON = ["subscription": subscriptions[id]!, "customer": customer(self)]
            content["invoice"] = invoices[invoiceID]!
            let eventType =
                switch status {
                case "in_trial": "subscription_activated"
                case "future": "subscription_started"
                default: "subscription_renewed"
                }
            emit(eventType, content)
            emitInvoiceAndPayment(invoiceID, transactionID)
            return content
        default:
            throw .invalidState("Subscription is in \(status) state")
        }
    }

    func listSubscriptions(_ params: FormBody) throws(ChargebeeError) -> JSON {
        let customerID = params.string("customer_id[is]")
        let status = params.string("status[is]")
        let updated = try Self.timeFilter(params, "updated_at")
        var rows = subscriptions.all.filter { subscription in
            (customerID == nil || subscription["customer_id"].string == customerID)
                && (status == nil || subscription["status"].string == status) && updated(subscription["updated_at"].int ?? 0)
        }
        rows = Self.sorted(rows, params, fields: ["created_at", "updated_at"])
        return try page(rows, key: "subscription", params: params) { subscription in
            [("customer", customers[subscription["customer_id"].string ?? ""] ?? .null)]
        }
    }
}
