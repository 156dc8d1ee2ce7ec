extension ChargebeeState {
    /// Dispatches one API call (`segments` after `/api/v2`).
    mutating func route(method: String, segments: [String], params: FormBody) throws(ChargebeeError) -> JSON {
        let path = "/api/v2/" + segments.joined(separator: "/")
        switch (method, segments.count, segments.first ?? "") {
        case ("POST", 1, "customers"): return try createCustomer(params)
        case ("GET", 1, "customers"): return try listCustomers(params)
        case ("GET", 2, "customers"): return ["customer": try customer(segments[1])]
        case ("POST", 2, "customers"): return try updateCustomer(segments[1], params, billingInfo: false)
        case ("POST", 3, "customers") where segments[2] == "update_billing_info":
            return try updateCustomer(segments[1], params, billingInfo: true)
        case ("POST", 3, "customers") where segments[2] == "subscription_for_items":
            return try createSubscription(customerID: segments[1], params)
        case ("POST", 1, "items"): return try createItem(params)
        case ("GET", 2, "items"):
            guard let item = items[segments[1]] else { throw .notFound() }
            return ["item": item]
        case ("POST", 1, "item_prices"): return try createItemPrice(params)
        case ("GET", 1, "item_prices"): return try page(itemPrices.all, key: "item_price", params: params)
        case ("GET", 2, "item_prices"):
            guard let price = itemPrices[segments[1]] else { throw .notFound() }
            return ["item_price": price]
        case ("GET", 1, "subscriptions"): return try listSubscriptions(params)
        case ("GET", 2, "subscriptions"):
            let subscription = try subscription(segments[1])
            return ["subscription": subscription, "customer": customers[subscription["customer_id"].string ?? ""] ?? .null]
        case ("POST", 3, "subscriptions") where segments[2] == "update_for_items":
            return try updateSubscription(segments[1], params)
        case ("POST", 3, "subscriptions") where segments[2] == "cancel_for_items":
            return try cancelSubscription(segments[1], params)
        case ("GET", 1, "invoices"): return try listInvoices(params)
        case ("GET", 2, "invoices"): return ["invoice": try invoice(segments[1])]
        case ("POST", 3, "invoices") where segments[2] == "collect_payment": return try collectPayment(segments[1])
        case ("POST", 3, "invoices") where segments[2] == "record_payment": return try recordPayment(segments[1], params)
        case ("POST", 3, "invoices") where segments[2] == "write_off": return try writeOffInvoice(segments[1], params)
        case ("GET", 1, "transactions"): return try listTransactions(params)
        case ("GET", 2, "transactions"):
            guard let transaction = transactions[segments[1]] else { throw .notFound() }
            return ["transaction": transaction]
        case ("POST", 1, "credit_notes"): return try createCreditNote(params)
        case ("GET", 1, "credit_notes"): return try listCreditNotes(params)
        case ("GET", 2, "credit_notes"):
            guard let note = creditNotes[segments[1]] else { throw .notFound() }
            return ["credit_note": note]
        case ("POST", 3, "credit_notes") where segments[2] == "refund": return try refundCreditNote(segments[1], params)
        case ("POST", 3, "credit_notes") where segments[2] == "void": return try voidCreditNote(segments[1], params)
        case ("GET", 1, "events"): return try listEvents(params)
        case ("GET", 2, "events"): return try retrieveEvent(segments[1])
        default:
            if Self.isKnown(segments) { throw .methodNotSupported(method, path) }
            throw .unknownURL(method, path)
        }
    }

    /// Whether `segments` name a resource or action the router serves with some method (another method on it is a
    /// 405 `http_method_not_supported`, as Chargebee answers, not a 404).
    static func isKnown(_ segments: [String]) -> Bool {
        let actions: [String: Set<String>] = [
            "customers": ["update_billing_info", "subscription_for_items"], "items": [], "item_prices": [],
            "subscriptions": ["update_for_items", "cancel_for_items"],
            "invoices": ["collect_payment", "record_payment", "write_off"], "transactions": [],
            "credit_notes": ["refund", "void"], "events": [],
        ]
        guard let first = segments.first, let allowed = actions[first] else { return false }
        switch segments.count {
        case 1, 2: return true
        case 3: return allowed.contains(segments[2])
        default: return false
        }
    }

    /// The simulator's own operations (`/__sim/…`), standing in for time passing and the admin console.
    mutating func routeAdmin(segments: [String], params: FormBody) throws(ChargebeeError) -> JSON {
        switch (segments.count, segments.first ?? "", segments.last ?? "") {
        case (3, "subscriptions", "renew"):
            source = "scheduled_job"
            return try renewSubscription(segments[1])
        case (3, "invoices", "dunning_retry"): return try retryDunning(segments[1])
        case (3, "invoices", "exhaust_dunning"): return try exhaustDunning(segments[1])
        case (3, "customers", "payment_outcome"):
            _ = try customer(segments[1])
            let raw = try params.requiredString("outcome")
            guard let outcome = ChargebeeSimulator.PaymentOutcome(rawValue: raw) else {
                throw .paramInvalid("outcome", "must be succeed or decline")
            }
            paymentOutcomes[segments[1]] = outcome
            return ["customer_id": .string(segments[1]), "outcome": .string(raw)]
        default: throw .unknownURL("POST", "/__sim/" + segments.joined(separator: "/"))
        }
    }
}
