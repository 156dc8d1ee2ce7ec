extension StripeState {
    // MARK: Building invoices

    /// Creates a draft invoice (not stored as an event yet; `emit("invoice.created")` follows once lines are in).
    mutating func makeDraftInvoice(
        customer: JSON, subscription: JSON?, billingReason: String, collectionMethod: String, daysUntilDue: Int?,
        currency: String, periodStart: Int, periodEnd: Int
    ) -> String {
        let id = ids.make("in")
        var parent: JSON = nil
        if let subscription {
            parent = [
                "quote_details": nil,
                "subscription_details": ["metadata": subscription["metadata"], "subscription": subscription["id"]],
                "type": "subscription_details",
            ]
        }
        var invoice: JSON = [
            "id": .string(id), "object": "invoice", "account_country": .string(settings.accountCountry),
            "account_name": "Weft Simulator", "account_tax_ids": nil, "amount_due": 0, "amount_overpaid": 0,
            "amount_paid": 0, "amount_remaining": 0, "amount_shipping": 0, "application": nil, "attempt_count": 0,
            "attempted": false, "auto_advance": .bool(subscription != nil),
            "automatic_tax": [
                "disabled_reason": nil, "enabled": false, "liability": nil, "provider": nil, "status": nil,
            ],
            "automatically_finalizes_at": nil, "billing_reason": .string(billingReason),
            "collection_method": .string(collectionMethod), "created": .int(now), "currency": .string(currency),
            "custom_fields": nil, "customer": customer["id"], "customer_account": nil,
            "customer_address": customer["address"], "customer_email": customer["email"],
            "customer_name": customer["name"], "customer_phone": customer["phone"],
            "customer_shipping": customer["shipping"], "customer_tax_exempt": customer["tax_exempt"],
            "customer_tax_ids": [], "default_payment_method": nil, "default_source": nil, "default_tax_rates": [],
            "description": nil, "discounts": [],
            "due_date": daysUntilDue.map { .int(now + $0 * 86_400) } ?? nil,
            "effective_at": nil, "ending_balance": nil, "footer": nil, "from_invoice": nil,
            "hosted_invoice_url": nil, "invoice_pdf": nil, "issuer": ["type": "self"],
            "last_finalization_error": nil, "latest_revision": nil,
            "lines": [
                "object": "list", "data": [], "has_more": false, "total_count": 0,
                "url": .string("/v1/invoices/\(id)/lines"),
            ],
            "livemode": false, "metadata": [:], "next_payment_attempt": nil, "number": nil, "on_behalf_of": nil,
            "parent": parent,
            "payment_settings": ["default_mandate": nil, "payment_method_options": nil, "payment_method_types": nil],
            "period_end": .int(periodEnd), "period_start": .int(periodStart),
            "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0, "receipt_number": nil,
            "rendering": [
                "amount_tax_display": nil, "pdf": ["page_size": "auto"], "template": nil, "template_version": nil,
            ],
            "shipping_cost": nil, "shipping_details": nil, "starting_balance": 0, "statement_descriptor": nil,
            "status": "draft",
            "status_transitions": [
                "finalized_at": nil, "marked_uncollectible_at": nil, "paid_at": nil, "voided_at": nil,
            ],
            "subscription": subscription?["id"] ?? nil, "subtotal": 0, "subtotal_excluding_tax": 0,
            "test_clock": nil, "total": 0, "total_discount_amounts": [], "total_excluding_tax": 0,
            "total_pretax_credit_amounts": [], "total_taxes": [], "webhooks_delivered_at": nil,
        ]
        if let subscription, billingReason.hasPrefix("subscription_") {
            invoice["discounts"] = .array(subscriptionDiscounts(subscription, billedAt: periodStart).map(JSON.string))
        }
        if settings.usesPreBasilInvoiceShape {
            // Before 2025-03-31.basil an invoice names its payment from the start: unpaid, no charge, and the
            // PaymentIntent once finalizing creates it.
            invoice["paid"] = false
            invoice["charge"] = nil
            invoice["payment_intent"] = nil
        }
        invoices[id] = invoice
        return id
    }

    /// Builds an invoice line.
    func lineItem(
        invoiceID: String, amount: Int, currency: String, description: String?, quantity: Int, price: JSON?,
        period: (start: Int, end: Int), invoiceItem: JSON?, subscriptionID: String?, subscriptionItemID: String?,
        proration: Bool, id: String
    ) -> JSON {
        var parent: JSON
        if let subscriptionItemID {
            parent = [
                "invoice_item_details": nil,
                "subscription_item_details": [
                    "invoice_item": nil, "proration": .bool(proration), "proration_details": ["credited_items": nil],
                    "subscription": .from(subscriptionID), "subscription_item": .string(subscriptionItemID),
                ],
                "type": "subscription_item_details",
            ]
        } else {
            parent = [
                "invoice_item_details": [
                    "invoice_item": invoiceItem?["id"] ?? nil, "proration": .bool(proration),
                    "proration_details": ["credited_items": nil], "subscription": .from(subscriptionID),
                ],
                "subscription_item_details": nil,
                "type": "invoice_item_details",
            ]
        }
        let unitAmount = quantity == 0 ? amount : amount / max(quantity, 1)
        return [
            "id": .string(id), "object": "line_item", "amount": .int(amount), "currency": .string(currency),
            "description": .from(description), "discount_amounts": [], "discountable": true, "discounts": [],
            "invoice": .string(invoiceID), "livemode": false, "metadata": [:],
            "parent": parent,
            "period": ["end": .int(period.end), "start": .int(period.start)],
            "pretax_credit_amounts": [],
            "pricing": [
                "price_details": price.map { ["price": $0["id"], "product": $0["product"]] } ?? nil,
                "type": "price_details", "unit_amount_decimal": .string(String(unitAmount)),
            ],
            "quantity": .int(quantity), "quantity_decimal": .string(String(quantity)),
            "subscription": .from(subscriptionID), "subtotal": .int(amount), "taxes": [],
        ]
    }

    /// Appends lines to a draft invoice and recomputes its totals.
    mutating func appendLines(_ lines: [JSON], to invoiceID: String) {
        guard var invoice = invoices[invoiceID] else { return }
        var data = invoice["lines"]["data"].array ?? []
        data.append(contentsOf: lines)
        invoice["lines"]["data"] = .array(data)
        invoice["lines"]["total_count"] = .int(data.count)
        Self.recomputeTotals(&invoice, discounts: discountTerms(of: invoice))
        invoices[invoiceID] = invoice
    }

    /// Recomputes a stored invoice's discounts and totals (after its lines or discounts changed).
    mutating func recomputeTotals(ofInvoice invoiceID: String) {
        guard var invoice = invoices[invoiceID] else { return }
        Self.recomputeTotals(&invoice, discounts: discountTerms(of: invoice))
        invoices[invoiceID] = invoice
    }

    /// Sets the lines' `discount_amounts` and the invoice's totals from its lines and `discounts`: `subtotal` is the
    /// lines' amounts (before discounts), `total` what the discounts leave (no taxes), `amount_due` that with the
    /// starting balance.
    static func recomputeTotals(_ invoice: inout JSON, discounts: [InvoiceDiscount]) {
        var lines = invoice["lines"]["data"].array ?? []
        let discountAmounts = applyDiscounts(discounts, to: &lines)
        invoice["lines"]["data"] = .array(lines)
        let subtotal = lines.reduce(0) { $0 + ($1["amount"].int ?? 0) }
        let total = subtotal - discountAmounts.reduce(0) { $0 + ($1["amount"].int ?? 0) }
        let paid = invoice["amount_paid"].int ?? 0
        let due = max(0, total + (invoice["starting_balance"].int ?? 0))
        invoice["subtotal"] = .int(subtotal)
        invoice["subtotal_excluding_tax"] = .int(subtotal)
        invoice["total"] = .int(total)
        invoice["total_excluding_tax"] = .int(total)
        invoice["total_discount_amounts"] = .array(discountAmounts)
        invoice["amount_due"] = .int(due)
        invoice["amount_remaining"] = .int(max(0, due - paid))
    }

    /// Moves the customer's pending invoice items (optionally only one subscription's) onto a draft invoice.
    mutating func attachPendingItems(customerID: String, subscriptionID: String?, to invoiceID: String) {
        var lines: [JSON] = []
        for itemID in invoiceItems.order {
            guard var item = invoiceItems[itemID], item["customer"].string == customerID, item["invoice"].isNull
            else { continue }
            let itemSubscription = item["parent"]["subscription_details"]["subscription"].string
            if let subscriptionID, itemSubscription != subscriptionID { continue }
            item["invoice"] = .string(invoiceID)
            invoiceItems[itemID] = item
            lines.append(lineItem(forInvoiceItem: item, invoiceID: invoiceID))
        }
        appendLines(lines, to: invoiceID)
    }

    func lineItem(forInvoiceItem item: JSON, invoiceID: String) -> JSON {
        let priceID = item["pricing"]["price_details"]["price"].string
        var line = lineItem(
            invoiceID: invoiceID, amount: item["amount"].int ?? 0, currency: item["currency"].string ?? "usd",
            description: item["description"].string, quantity: item["quantity"].int ?? 1,
            price: priceID.flatMap { prices[$0] },
            period: (item["period"]["start"].int ?? now, item["period"]["end"].int ?? now), invoiceItem: item,
            subscriptionID: item["parent"]["subscription_details"]["subscription"].string, subscriptionItemID: nil,
            proration: item["proration"].bool ?? false, id: "il_" + String((item["id"].string ?? "").dropFirst(3)))
        line["discountable"] = item["discountable"]
        return line
    }

    // MARK: Invoice endpoints

    private static let invoiceCreateFields: Set<String> = [
        "customer", "auto_advance", "collection_method", "currency", "days_until_due", "default_payment_method",
        "description", "due_date", "footer", "metadata", "pending_invoice_items_behavior", "subscription",
        "account_tax_ids", "application_fee_amount", "automatic_tax", "custom_fields", "default_source",
        "default_tax_rates", "discounts", "effective_at", "from_invoice", "issuer", "number", "on_behalf_of",
        "payment_settings", "rendering", "shipping_cost", "shipping_details", "statement_descriptor",
        "transfer_data",
    ]

    mutating func createInvoice(_ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(Self.invoiceCreateFields)
        let customerID = try params.requiredString("customer")
        let customer = try require(\.customers, customerID, kind: "customer", param: "customer")
        var subscription: JSON?
        if let subscriptionID = try params.string("subscription"), !subscriptionID.isEmpty {
            subscription = try require(\.subscriptions, subscriptionID, kind: "subscription", param: "subscription")
        }
        let method =
            try params.enumValue("collection_method", ["charge_automatically", "send_invoice"])
            ?? "charge_automatically"
        let daysUntilDue = try params.int("days_until_due")
        if method == "send_invoice", daysUntilDue == nil, try params.int("due_date") == nil {
            throw StripeError.invalidRequest(
                "Missing required param: days_until_due.", code: "parameter_missing", param: "days_until_due")
        }
        let currency =
            try params.string("currency")?.lowercased() ?? customer["currency"].string ?? settings.defaultCurrency
        // Every parameter is checked before anything is stored: a refused request leaves no draft behind.
        let autoAdvance = try params.bool("auto_advance")
        let dueDate = try params.int("due_date")
        let behavior = try params.enumValue("pending_invoice_items_behavior", ["exclude", "include"]) ?? "exclude"
        var checked: JSON = [:]
        try Self.applyInvoiceParams(params, to: &checked)
        let coupons = try requestedCoupons(params, currency: currency, on: "POST /v1/invoices") ?? []
        let id = makeDraftInvoice(
            customer: customer, subscription: subscription,
            billingReason: subscription == nil ? "manual" : "manual", collectionMethod: method,
            daysUntilDue: method == "send_invoice" ? daysUntilDue : nil, currency: currency, periodStart: now,
            periodEnd: now)
        var invoice = invoices[id] ?? .null
        try Self.applyInvoiceParams(params, to: &invoice)
        if let autoAdvance { invoice["auto_advance"] = .bool(autoAdvance) }
        if let dueDate { invoice["due_date"] = .int(dueDate) }
        if !coupons.isEmpty {
            invoice["discounts"] = .array(
                coupons.map { .string(makeDiscount(coupon: $0, customerID: customerID, invoiceID: id, subscriptionID: nil)) })
        }
        invoices[id] = invoice
        recomputeTotals(ofInvoice: id)
        if behavior == "include" || subscription != nil {
            attachPendingItems(
                customerID: customerID, subscriptionID: subscription?["id"].string, to: id)
        }
        let created = invoices[id] ?? .null
        emit("invoice.created", created)
        return created
    }

    private static func applyInvoiceParams(_ params: FormParams.Node, to invoice: inout JSON) throws {
        try params.copyStrings(["description", "footer", "statement_descriptor"], to: &invoice)
        try params.applyMetadata(to: &invoice)
        if let method = try params.string("default_payment_method") {
            if !method.isEmpty { _ = try TestCards.outcome(for: method, param: "default_payment_method") }
            invoice["default_payment_method"] = .from(method.isEmpty ? nil : method)
        }
    }

    mutating func updateInvoice(_ id: String, _ params: FormParams.Node) throws -> JSON {
        let now = self.now
        let invoice = try require(\.invoices, id, kind: "invoice")
        let draftOnly: Set<String> = [
            "collection_method", "days_until_due", "discounts", "due_date", "default_payment_method",
        ]
        try params.rejectUnknown(
            Self.invoiceCreateFields.subtracting(["customer", "subscription", "pending_invoice_items_behavior", "currency"]))
        if invoice["status"].string != "draft" {
            for key in params.topLevelKeysIn(draftOnly) {
                throw StripeError.invalidRequest(
                    "You can only update `\(key)` on a draft invoice.", code: "invoice_not_editable", param: key)
            }
        }
        func apply(_ invoice: inout JSON) throws {
            try Self.applyInvoiceParams(params, to: &invoice)
            if let autoAdvance = try params.bool("auto_advance") { invoice["auto_advance"] = .bool(autoAdvance) }
            if let method = try params.enumValue("collection_method", ["charge_automatically", "send_invoice"]) {
                invoice["collection_method"] = .string(method)
            }
            if let days = try params.int("days_until_due") { invoice["due_date"] = .int(now + days * 86_400) }
            if let dueDate = try params.int("due_date") { invoice["due_date"] = .int(dueDate) }
        }
        // Everything is checked before the discounts are made (which redeems their coupons).
        var checked = invoice
        try apply(&checked)
        let coupons = try requestedCoupons(
            params, currency: invoice["currency"].string ?? settings.defaultCurrency, on: "POST /v1/invoices/:id")
        // `discounts` replaces the invoice's discounts (`discounts=` removes them).
        let discountIDs = coupons.map { coupons in
            coupons.map {
                JSON.string(
                    makeDiscount(
                        coupon: $0, customerID: invoice["customer"].string ?? "", invoiceID: id, subscriptionID: nil))
            }
        }
        var discounts: [InvoiceDiscount] = []
        if let discountIDs { discounts = discountTerms(of: ["discounts": .array(discountIDs)]) }
        return try update(\.invoices, id, event: "invoice.updated") { invoice in
            try apply(&invoice)
            if let discountIDs {
                invoice["discounts"] = .array(discountIDs)
                Self.recomputeTotals(&invoice, discounts: discounts)
            }
        }
    }

    mutating func deleteInvoice(_ id: String) throws -> JSON {
        let invoice = try require(\.invoices, id, kind: "invoice")
        guard invoice["status"].string == "draft" else {
            throw StripeError.invalidRequest(
                "You can only delete draft invoices. To make this invoice unpayable, void it.",
                code: "invoice_not_editable")
        }
        for itemID in invoiceItems.order where invoiceItems[itemID]?["invoice"].string == id {
            invoiceItems[itemID]?["invoice"] = nil
        }
        invoices.markDeleted(id)
        emit("invoice.deleted", invoice)
        return ["id": .string(id), "object": "invoice", "deleted": true]
    }

    /// `POST /v1/invoices/:id/send`: only an invoice the customer pays by itself (`send_invoice`) is sent by hand; a
    /// draft is finalized first, as Stripe finalizes drafts before sending them.
    mutating func sendInvoice(_ id: String) throws -> JSON {
        var invoice = try require(\.invoices, id, kind: "invoice")
        guard invoice["collection_method"].string == "send_invoice" else {
            throw StripeError.invalidRequest(
                "You can only manually send an invoice if its collection method is 'send_invoice'.")
        }
        if invoice["status"].string == "draft" { invoice = try finalizeInvoice(id) }
        emit("invoice.sent", invoice)
        return invoice
    }

    /// Finalizes a draft: number, `open` status, a PaymentIntent when Stripe will charge it.
    @discardableResult
    mutating func finalizeInvoice(_ id: String) throws -> JSON {
        let now = self.now
        let invoice = try require(\.invoices, id, kind: "invoice")
        guard invoice["status"].string == "draft" else {
            throw StripeError.invalidRequest(
                "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                code: "invoice_not_editable")
        }
        let customerID = invoice["customer"].string ?? ""
        var number = ""
        update(\.customers, customerID, event: nil) { customer in
            let sequence = customer["next_invoice_sequence"].int ?? 1
            number =
                "\(customer["invoice_prefix"].string ?? "WEFT")-\(String(repeating: "0", count: max(0, 4 - String(sequence).count)))\(sequence)"
            customer["next_invoice_sequence"] = .int(sequence + 1)
            if customer["currency"].isNull { customer["currency"] = invoice["currency"] }
        }
        // The customer's balance is applied at finalisation: a credit (negative) reduces what is due, a debt adds to
        // it, and what is left — with a negative invoice's total — becomes the new balance (`ending_balance`).
        let startingBalance = customers[customerID]?["balance"].int ?? 0
        let discounts = discountTerms(of: invoice)
        var endingBalance = 0
        var finalized = update(\.invoices, id, event: nil) { invoice in
            invoice["starting_balance"] = .int(startingBalance)
            Self.recomputeTotals(&invoice, discounts: discounts)
            endingBalance = startingBalance + (invoice["total"].int ?? 0) - (invoice["amount_due"].int ?? 0)
            invoice["number"] = .string(number)
            invoice["status"] = "open"
            invoice["status_transitions"]["finalized_at"] = .int(now)
            invoice["effective_at"] = .int(now)
            invoice["ending_balance"] = .int(endingBalance)
            invoice["hosted_invoice_url"] = .string("https://invoice.stripe.com/i/acct_weftsim/test_\(id)")
            invoice["invoice_pdf"] = .string("https://pay.stripe.com/invoice/acct_weftsim/test_\(id)/pdf")
            if invoice["collection_method"].string == "charge_automatically", invoice["auto_advance"].bool == true {
                invoice["next_payment_attempt"] = .int(now + 3600)
            }
        }
        if endingBalance != startingBalance {
            update(\.customers, customerID, event: "customer.updated") { $0["balance"] = .int(endingBalance) }
        }
        let amountDue = finalized["amount_due"].int ?? 0
        if amountDue == 0 {
            emit("invoice.finalized", finalized)
            markInvoicePaid(id, amountPaid: 0)
            return invoices[id] ?? finalized
        }
        if finalized["collection_method"].string == "charge_automatically" {
            let paymentIntent = createPaymentIntent(for: finalized)
            if settings.usesPreBasilInvoiceShape { invoices[id]?["payment_intent"] = paymentIntent["id"] }
            finalized = invoices[id] ?? finalized
            emit("invoice.finalized", finalized)
            emit("payment_intent.created", paymentIntent)
        } else {
            emit("invoice.finalized", finalized)
        }
        return finalized
    }

    /// Marks an invoice paid (after a charge succeeded, out of band, or for zero amounts) and records the events.
    mutating func markInvoicePaid(
        _ id: String, amountPaid: Int, outOfBand: Bool = false, paymentIntent: String? = nil, charge: String? = nil
    ) {
        let now = self.now
        let legacyShape = settings.usesPreBasilInvoiceShape
        let invoice = update(\.invoices, id, event: "invoice.updated") { invoice in
            if legacyShape {
                // API versions before 2025-03-31.basil name the paying charge and intent on the invoice.
                invoice["paid"] = true
                invoice["charge"] = charge.map(JSON.string) ?? invoice["charge"]
                invoice["payment_intent"] = paymentIntent.map(JSON.string) ?? invoice["payment_intent"]
            }
            invoice["status"] = "paid"
            invoice["amount_paid"] = .int((invoice["amount_paid"].int ?? 0) + amountPaid)
            invoice["amount_remaining"] = 0
            invoice["status_transitions"]["paid_at"] = .int(now)
            invoice["next_payment_attempt"] = nil
            if !outOfBand, amountPaid > 0 {
                invoice["attempted"] = true
            }
            invoice["auto_advance"] = false
        }
        emit("invoice.paid", invoice)
        if !outOfBand { emit("invoice.payment_succeeded", invoice) }
        // The invoice's own payment (payments attached besides it are credited on their own).
        if var payments = invoicePayments[id], let own = payments.lastIndex(where: { $0["is_default"].bool != false }) {
            payments[own]["status"] = "paid"
            payments[own]["amount_paid"] = .int(amountPaid)
            payments[own]["status_transitions"]["paid_at"] = .int(now)
            // Stripe surfaces `payment.charge` only for a charge without a payment intent; otherwise the payment
            // intent stands for it (see docs/simulators/stripe.md).
            if let charge, payments[own]["payment"]["payment_intent"].string == nil {
                payments[own]["payment"]["charge"] = .string(charge)
                payments[own]["payment"]["type"] = "charge"
            }
            invoicePayments[id] = payments
            // Current API versions announce the payment record itself; before basil the type does not exist (it is
            // not among the 2023-08-16 spec's `enabled_events`), and the invoice names its charge instead.
            if !settings.usesPreBasilInvoiceShape { emit("invoice_payment.paid", payments[own]) }
        }
        if let subscriptionID = invoice["subscription"].string {
            subscriptionInvoicePaid(subscriptionID, invoiceID: id)
        }
    }

    private static let payFields: Set<String> = [
        "forgive", "mandate", "off_session", "paid_out_of_band", "payment_method", "source",
    ]

    /// `POST /v1/invoices/:id/pay`: finalizes a draft, then charges it (or records an out-of-band payment).
    mutating func payInvoice(_ id: String, _ params: FormParams.Node) throws -> JSON {
        let now = self.now
        try params.rejectUnknown(Self.payFields)
        var invoice = try require(\.invoices, id, kind: "invoice")
        switch invoice["status"].string {
        case "paid":
            throw StripeError.invalidRequest("Invoice is already paid")
        case "void":
            throw StripeError.invalidRequest("This invoice has been voided and can no longer be paid.")
        case "draft":
            invoice = try finalizeInvoice(id)
            if invoice["status"].string == "paid" { return invoice }
        default: break
        }
        if try params.bool("paid_out_of_band") == true {
            if let intentID = currentPaymentIntentID(invoiceID: id) {
                update(\.paymentIntents, intentID, event: nil) { intent in
                    intent["status"] = "canceled"
                    intent["canceled_at"] = .int(now)
                    intent["cancellation_reason"] = "void_invoice"
                }
            }
            markInvoicePaid(id, amountPaid: invoice["amount_remaining"].int ?? 0, outOfBand: true)
            return invoices[id] ?? invoice
        }
        var paymentMethod = try params.string("payment_method")
        if let source = try params.string("source"), paymentMethod == nil { paymentMethod = source }
        if let paymentMethod, !paymentMethod.isEmpty {
            _ = try TestCards.outcome(for: paymentMethod, param: "payment_method")
        }
        try attemptPayment(invoiceID: id, explicitPaymentMethod: paymentMethod)
        return invoices[id] ?? invoice
    }

    mutating func voidInvoice(_ id: String) throws -> JSON {
        let now = self.now
        let invoice = try require(\.invoices, id, kind: "invoice")
        guard ["open", "uncollectible"].contains(invoice["status"].string ?? "") else {
            throw StripeError.invalidRequest(
                "You can only pass in open or uncollectible invoices. This invoice is \(invoice["status"].string ?? "").")
        }
        if let intentID = currentPaymentIntentID(invoiceID: id),
            paymentIntents[intentID]?["status"].string != "succeeded"
        {
            let intent = update(\.paymentIntents, intentID, event: nil) { intent in
                intent["status"] = "canceled"
                intent["canceled_at"] = .int(now)
                intent["cancellation_reason"] = "void_invoice"
            }
            emit("payment_intent.canceled", intent)
        }
        let voided = update(\.invoices, id, event: "invoice.updated") { invoice in
            invoice["status"] = "void"
            invoice["status_transitions"]["voided_at"] = .int(now)
            invoice["amount_remaining"] = 0
            invoice["next_payment_attempt"] = nil
            invoice["auto_advance"] = false
        }
        emit("invoice.voided", voided)
        return voided
    }

    mutating func markUncollectible(_ id: String) throws -> JSON {
        let now = self.now
        let invoice = try require(\.invoices, id, kind: "invoice")
        guard invoice["status"].string == "open" else {
            throw StripeError.invalidRequest(
                "You can only mark open invoices as uncollectible. This invoice is \(invoice["status"].string ?? "").")
        }
        let marked = update(\.invoices, id, event: "invoice.updated") { invoice in
            invoice["status"] = "uncollectible"
            invoice["status_transitions"]["marked_uncollectible_at"] = .int(now)
            invoice["next_payment_attempt"] = nil
            invoice["auto_advance"] = false
        }
        emit("invoice.marked_uncollectible", marked)
        return marked
    }

    func listInvoices(_ params: FormParams.Node) throws -> JSON {
        let created = try createdFilter(params)
        let customer = try params.string("customer")
        let subscription = try params.string("subscription")
        let status = try params.enumValue("status", ["draft", "open", "paid", "uncollectible", "void"])
        let method = try params.string("collection_method")
        let items = invoices.newestFirst.filter { invoice in
            created(invoice["created"].int ?? 0) && (customer == nil || invoice["customer"].string == customer)
                && (subscription == nil || invoice["subscription"].string == subscription)
                && (status == nil || invoice["status"].string == status)
                && (method == nil || invoice["collection_method"].string == method)
        }
        return try list(items, url: "/v1/invoices", params: params)
    }

    func listInvoiceLines(_ id: String, _ params: FormParams.Node) throws -> JSON {
        let invoice = try require(\.invoices, id, kind: "invoice")
        // Lines are listed in invoice order, not newest first.
        return try list(invoice["lines"]["data"].array ?? [], url: "/v1/invoices/\(id)/lines", params: params)
    }

    // MARK: Invoice items

    private static let invoiceItemFields: Set<String> = [
        "customer", "amount", "currency", "description", "discountable", "discounts", "invoice", "metadata",
        "period", "price", "pricing", "quantity", "subscription", "tax_behavior", "tax_code", "tax_rates",
        "unit_amount", "unit_amount_decimal", "price_data",
    ]

    mutating func createInvoiceItem(_ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(Self.invoiceItemFields)
        try Self.refuseNotImplemented(["discounts"], in: params, on: "POST /v1/invoiceitems")
        let customerID = try params.requiredString("customer")
        let customer = try require(\.customers, customerID, kind: "customer", param: "customer")
        let quantity = try params.int("quantity") ?? 1
        var price: JSON?
        var priceID = try params.string("price")
        if priceID == nil, let pricing = params["pricing"] { priceID = try pricing.string("price", param: "pricing[price]") }
        if let priceID, !priceID.isEmpty {
            price = try require(\.prices, priceID, kind: "price", param: "price")
        }
        let amount: Int
        let currency: String
        if let price {
            amount = (price["unit_amount"].int ?? 0) * quantity
            currency = price["currency"].string ?? settings.defaultCurrency
        } else if let explicit = try params.int("amount") {
            amount = explicit
            currency =
                try params.string("currency")?.lowercased() ?? customer["currency"].string ?? settings.defaultCurrency
        } else if let unit = try params.int("unit_amount") {
            amount = unit * quantity
            currency =
                try params.string("currency")?.lowercased() ?? customer["currency"].string ?? settings.defaultCurrency
        } else {
            throw StripeError.missingParam("amount")
        }
        var invoice: JSON?
        if let invoiceID = try params.string("invoice"), !invoiceID.isEmpty {
            let found = try require(\.invoices, invoiceID, kind: "invoice", param: "invoice")
            guard found["status"].string == "draft" else {
                throw StripeError.invalidRequest(
                    "Invoice \(invoiceID) is no longer editable.", code: "invoice_not_editable", param: "invoice")
            }
            invoice = found
        }
        var subscriptionID: String?
        if let id = try params.string("subscription"), !id.isEmpty {
            _ = try require(\.subscriptions, id, kind: "subscription", param: "subscription")
            subscriptionID = id
        }
        let id = ids.make("ii")
        var period = (start: now, end: now)
        if let periodNode = params["period"] {
            period = (
                try periodNode.int("start", param: "period[start]") ?? now,
                try periodNode.int("end", param: "period[end]") ?? now
            )
        }
        var item = invoiceItemObject(
            id: id, customerID: customerID, amount: amount, currency: currency,
            description: try params.string("description") ?? price.flatMap { productName(for: $0) },
            quantity: quantity, price: price, period: period, subscriptionID: subscriptionID, proration: false,
            invoiceID: invoice?["id"].string)
        try params.applyMetadata(to: &item)
        if let discountable = try params.bool("discountable") { item["discountable"] = .bool(discountable) }
        invoiceItems[id] = item
        emit("invoiceitem.created", item)
        if let invoiceID = invoice?["id"].string {
            let before = invoices[invoiceID] ?? .null
            appendLines([lineItem(forInvoiceItem: item, invoiceID: invoiceID)], to: invoiceID)
            if let after = invoices[invoiceID], let previous = after.previousAttributes(from: before) {
                emit("invoice.updated", after, previous: previous)
            }
        }
        return item
    }

    func invoiceItemObject(
        id: String, customerID: String, amount: Int, currency: String, description: String?, quantity: Int,
        price: JSON?, period: (start: Int, end: Int), subscriptionID: String?, proration: Bool, invoiceID: String?
    ) -> JSON {
        let unit = quantity == 0 ? amount : amount / max(quantity, 1)
        return [
            "id": .string(id), "object": "invoiceitem", "amount": .int(amount), "currency": .string(currency),
            "customer": .string(customerID), "customer_account": nil, "date": .int(now),
            // "Defaults to false for prorations or negative invoice items, and true for all other invoice items."
            "description": .from(description), "discountable": .bool(!proration && amount >= 0), "discounts": [],
            "invoice": .from(invoiceID),
            "livemode": false, "metadata": [:], "net_amount": .int(amount),
            "parent": subscriptionID.map {
                ["subscription_details": ["subscription": .string($0)], "type": "subscription_details"]
            } ?? nil,
            "period": ["end": .int(period.end), "start": .int(period.start)],
            "pricing": [
                "price_details": price.map { ["price": $0["id"], "product": $0["product"]] } ?? nil,
                "type": "price_details", "unit_amount_decimal": .string(String(unit)),
            ],
            "proration": .bool(proration), "quantity": .int(quantity), "quantity_decimal": .string(String(quantity)),
            "tax_rates": [], "test_clock": nil,
        ]
    }

    func productName(for price: JSON) -> String? {
        price["product"].string.flatMap { products[$0]?["name"].string }
    }

    /// Updates an invoice item; one on a draft invoice changes the invoice's line and totals with it
    /// (`invoice.updated`), as Stripe does. Every parameter is checked before anything changes.
    mutating func updateInvoiceItem(_ id: String, _ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(["amount", "description", "discountable", "metadata", "period", "quantity", "price", "unit_amount"])
        let item = try require(\.invoiceItems, id, kind: "invoiceitem")
        let invoiceID = item["invoice"].string
        if let invoiceID, invoices[invoiceID]?["status"].string != "draft" {
            throw StripeError.invalidRequest(
                "The invoice item \(id) is attached to an invoice that is no longer editable.",
                code: "invoice_not_editable")
        }
        let quantity = try params.int("quantity") ?? item["quantity"].int ?? 1
        let oldQuantity = item["quantity"].int ?? 1
        var amount = item["amount"].int ?? 0
        var unit = oldQuantity == 0 ? amount : amount / max(oldQuantity, 1)
        var price: JSON? = item["pricing"]["price_details"]["price"].string.flatMap { prices[$0] }
        if let priceID = try params.string("price"), !priceID.isEmpty {
            let found = try require(\.prices, priceID, kind: "price", param: "price")
            guard found["currency"].string == item["currency"].string else {
                throw StripeError.invalidRequest(
                    "The price's currency (\(found["currency"].string ?? "")) must match the invoice item's "
                        + "(\(item["currency"].string ?? "")).", param: "price")
            }
            price = found
            unit = found["unit_amount"].int ?? 0
            amount = unit * quantity
        } else if let explicit = try params.int("amount") {
            amount = explicit
            unit = quantity == 0 ? amount : amount / max(quantity, 1)
        } else if let given = try params.int("unit_amount") {
            unit = given
            amount = unit * quantity
        } else if try params.int("quantity") != nil {
            amount = unit * quantity
        }
        let proration = item["proration"].bool ?? false
        let discountable = try params.bool("discountable")
        if discountable == true && proration {
            throw StripeError.invalidRequest(
                "Prorations cannot be discountable.", code: "parameter_invalid", param: "discountable")
        }
        var period: (start: Int, end: Int)?
        if let node = params["period"] {
            period = (
                try node.int("start", param: "period[start]") ?? item["period"]["start"].int ?? now,
                try node.int("end", param: "period[end]") ?? item["period"]["end"].int ?? now
            )
        }
        let updated = try update(\.invoiceItems, id, event: "invoiceitem.updated") { item in
            try params.copyStrings(["description"], to: &item)
            try params.applyMetadata(to: &item)
            item["amount"] = .int(amount)
            item["net_amount"] = .int(amount)
            item["quantity"] = .int(quantity)
            item["quantity_decimal"] = .string(String(quantity))
            item["pricing"]["unit_amount_decimal"] = .string(String(unit))
            item["pricing"]["price_details"] = price.map { ["price": $0["id"], "product": $0["product"]] } ?? nil
            if let discountable { item["discountable"] = .bool(discountable) }
            if let period { item["period"] = ["end": .int(period.end), "start": .int(period.start)] }
        }
        if let invoiceID {
            let line = lineItem(forInvoiceItem: updated, invoiceID: invoiceID)
            let discounts = discountTerms(of: invoices[invoiceID] ?? .null)
            update(\.invoices, invoiceID, event: "invoice.updated") { invoice in
                let lines = (invoice["lines"]["data"].array ?? []).map {
                    $0["parent"]["invoice_item_details"]["invoice_item"].string == id ? line : $0
                }
                invoice["lines"]["data"] = .array(lines)
                Self.recomputeTotals(&invoice, discounts: discounts)
            }
        }
        return updated
    }

    mutating func deleteInvoiceItem(_ id: String) throws -> JSON {
        let item = try require(\.invoiceItems, id, kind: "invoiceitem")
        if let invoiceID = item["invoice"].string {
            guard invoices[invoiceID]?["status"].string == "draft" else {
                throw StripeError.invalidRequest(
                    "The invoice item \(id) is attached to an invoice that is no longer editable.",
                    code: "invoice_not_editable")
            }
            let discounts = discountTerms(of: invoices[invoiceID] ?? .null)
            update(\.invoices, invoiceID, event: "invoice.updated") { invoice in
                let lines = (invoice["lines"]["data"].array ?? []).filter {
                    $0["parent"]["invoice_item_details"]["invoice_item"].string != id
                }
                invoice["lines"]["data"] = .array(lines)
                invoice["lines"]["total_count"] = .int(lines.count)
                Self.recomputeTotals(&invoice, discounts: discounts)
            }
        }
        invoiceItems.markDeleted(id)
        emit("invoiceitem.deleted", item)
        return ["id": .string(id), "object": "invoiceitem", "deleted": true]
    }

    func listInvoiceItems(_ params: FormParams.Node) throws -> JSON {
        let created = try createdFilter(params)
        let customer = try params.string("customer")
        let invoice = try params.string("invoice")
        let pending = try params.bool("pending")
        let items = invoiceItems.newestFirst.filter { item in
            created(item["created"].int ?? item["date"].int ?? 0)
                && (customer == nil || item["customer"].string == customer)
                && (invoice == nil || item["invoice"].string == invoice)
                && (pending == nil || item["invoice"].isNull == pending)
        }
        return try list(items, url: "/v1/invoiceitems", params: params)
    }
}

extension FormParams.Node {
    /// The top-level keys present among `keys`.
    func topLevelKeysIn(_ keys: Set<String>) -> [String] {
        (members ?? []).map(\.0).filter { keys.contains($0) }
    }
}
