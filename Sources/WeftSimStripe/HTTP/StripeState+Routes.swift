extension StripeState {
    /// Serves one `/v1/…` call. `segments` are the path components after `v1`.
    mutating func route(method: String, path: String, segments: [Substring], params: FormParams) throws -> JSON {
        let p = params.root
        let expand = try p.stringList("expand") ?? []
        // Stripe checks `expand` before it changes anything; here it is applied to the result, so a change whose
        // expansion fails is undone (state, ids and events alike) and only the error is answered.
        let before = method != "GET" && !expand.isEmpty ? self : nil
        let result = try dispatch(method: method, path: path, segments: segments.map(String.init), p)
        guard !expand.isEmpty, result["object"].string != "list" else { return result }
        do {
            return try expandPaths(result, expand)
        } catch {
            if let before { self = before }
            throw error
        }
    }

    private mutating func dispatch(method: String, path: String, segments: [String], _ p: FormParams.Node) throws
        -> JSON
    {
        switch (method, segments.count, segments.first ?? "") {
        case ("POST", 1, "customers"): return try createCustomer(p)
        case ("GET", 1, "customers"): return try listCustomers(p)
        case ("GET", 2, "customers"): return try retrieveCustomer(segments[1])
        case ("POST", 2, "customers"): return try updateCustomer(segments[1], p)
        case ("DELETE", 2, "customers"): return try deleteCustomer(segments[1])

        case ("POST", 1, "products"): return try createProduct(p)
        case ("GET", 1, "products"): return try listProducts(p)
        case ("GET", 2, "products"):
            if products.deleted.contains(segments[1]) {
                return ["id": .string(segments[1]), "object": "product", "deleted": true]
            }
            return try require(\.products, segments[1], kind: "product")
        case ("POST", 2, "products"): return try updateProduct(segments[1], p)
        case ("DELETE", 2, "products"): return try deleteProduct(segments[1])

        case ("POST", 1, "prices"): return try createPrice(p)
        case ("GET", 1, "prices"): return try listPrices(p)
        case ("GET", 2, "prices"): return try require(\.prices, segments[1], kind: "price")
        case ("POST", 2, "prices"): return try updatePrice(segments[1], p)

        case ("POST", 1, "subscriptions"): return try createSubscription(p)
        case ("GET", 1, "subscriptions"): return try listSubscriptions(p)
        case ("GET", 2, "subscriptions"): return try require(\.subscriptions, segments[1], kind: "subscription")
        case ("POST", 2, "subscriptions"): return try updateSubscription(segments[1], p)
        case ("DELETE", 2, "subscriptions"): return try cancelSubscription(segments[1], p)

        case ("POST", 1, "invoices"): return try createInvoice(p)
        case ("GET", 1, "invoices"): return try listInvoices(p)
        case ("GET", 2, "invoices"):
            if invoices.deleted.contains(segments[1]) {
                return ["id": .string(segments[1]), "object": "invoice", "deleted": true]
            }
            return try require(\.invoices, segments[1], kind: "invoice")
        case ("POST", 2, "invoices"): return try updateInvoice(segments[1], p)
        case ("DELETE", 2, "invoices"): return try deleteInvoice(segments[1])
        case ("GET", 3, "invoices") where segments[2] == "lines": return try listInvoiceLines(segments[1], p)
        case ("POST", 3, "invoices"):
            let id = segments[1]
            switch segments[2] {
            case "finalize":
                try p.rejectUnknown(["auto_advance"])
                if let autoAdvance = try p.bool("auto_advance") {
                    // Written only to a draft: finalizing anything else is refused, and changes nothing.
                    if try require(\.invoices, id, kind: "invoice")["status"].string == "draft" {
                        invoices[id]?["auto_advance"] = .bool(autoAdvance)
                    }
                }
                return try finalizeInvoice(id)
            case "pay": return try payInvoice(id, p)
            case "attach_payment": return try attachPayment(id, p)
            case "void": return try voidInvoice(id)
            case "mark_uncollectible": return try markUncollectible(id)
            case "send":
                return try sendInvoice(id)
            default: break
            }

        case ("POST", 1, "invoiceitems"): return try createInvoiceItem(p)
        case ("GET", 1, "invoiceitems"): return try listInvoiceItems(p)
        case ("GET", 2, "invoiceitems"): return try require(\.invoiceItems, segments[1], kind: "invoiceitem")
        case ("POST", 2, "invoiceitems"): return try updateInvoiceItem(segments[1], p)
        case ("DELETE", 2, "invoiceitems"): return try deleteInvoiceItem(segments[1])

        case ("POST", 1, "payment_intents"): return try createStandalonePaymentIntent(p)
        case ("POST", 3, "payment_intents") where segments[2] == "confirm": return try confirmPaymentIntent(segments[1], p)
        case ("GET", 1, "invoice_payments"): return try listInvoicePayments(p)
        case ("GET", 2, "invoice_payments"): return try retrieveInvoicePayment(segments[1])
        case ("GET", 1, "payment_intents"): return try listPaymentIntents(p)
        case ("GET", 2, "payment_intents"):
            return try require(\.paymentIntents, segments[1], kind: "payment_intent")
        case ("GET", 1, "charges"): return try listCharges(p)
        case ("GET", 2, "charges"): return try require(\.charges, segments[1], kind: "charge")
        case ("GET", 3, "charges") where segments[2] == "refunds":
            _ = try require(\.charges, segments[1], kind: "charge")
            return try list(refunds(ofCharge: String(segments[1])), url: "/v1/charges/\(segments[1])/refunds", params: p)

        case ("POST", 1, "refunds"): return try createRefund(p)
        case ("GET", 1, "refunds"): return try listRefunds(p)
        case ("GET", 2, "refunds"): return try require(\.refunds, segments[1], kind: "refund")
        case ("POST", 2, "refunds"): return try updateRefund(segments[1], p)

        case ("POST", 1, "credit_notes"): return try createCreditNote(p)
        case ("GET", 1, "credit_notes"): return try listCreditNotes(p)
        case ("GET", 2, "credit_notes"): return try retrieveCreditNote(segments[1])
        case ("POST", 2, "credit_notes"): return try updateCreditNote(segments[1], p)
        case ("POST", 3, "credit_notes") where segments[2] == "void": return try voidCreditNote(segments[1])
        case ("GET", 3, "credit_notes") where segments[2] == "lines": return try listCreditNoteLines(segments[1], p)

        case ("POST", 1, "coupons"): return try createCoupon(p)
        case ("GET", 1, "coupons"): return try listCoupons(p)
        case ("GET", 2, "coupons"): return try retrieveCoupon(segments[1])
        case ("POST", 2, "coupons"): return try updateCoupon(segments[1], p)
        case ("DELETE", 2, "coupons"): return try deleteCoupon(segments[1])

        case ("GET", 1, "events"): return try listEvents(p)
        case ("GET", 2, "events"): return try retrieveEvent(segments[1])

        case ("POST", 1, "webhook_endpoints"): return try createWebhookEndpoint(p)
        case ("GET", 1, "webhook_endpoints"):
            return try list(webhookEndpoints.newestFirst, url: "/v1/webhook_endpoints", params: p)
        case ("GET", 2, "webhook_endpoints"):
            return try require(\.webhookEndpoints, segments[1], kind: "webhook endpoint")
        case ("POST", 2, "webhook_endpoints"): return try updateWebhookEndpoint(segments[1], p)
        case ("DELETE", 2, "webhook_endpoints"): return try deleteWebhookEndpoint(segments[1])
        default: break
        }
        throw StripeError.unrecognizedURL(method: method, path: path)
    }
}
