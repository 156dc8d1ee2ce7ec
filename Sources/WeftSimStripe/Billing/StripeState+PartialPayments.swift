extension StripeState {
    // MARK: PaymentIntents of their own, and partial payments of invoices (2025-05-28.basil on)

    private static let paymentIntentFields: Set<String> = [
        "amount", "automatic_payment_methods", "capture_method", "confirm", "currency", "customer", "description",
        "metadata", "off_session", "payment_method", "payment_method_types", "receipt_email", "statement_descriptor",
        "statement_descriptor_suffix",
    ]

    /// `POST /v1/payment_intents`: a PaymentIntent of its own (not an invoice's), confirmed at once with `confirm=true`.
    /// Without a payment method it waits for one (`requires_payment_method`); with one and unconfirmed, for
    /// confirmation (`requires_confirmation`). A declined confirmation answers 402 `card_error` and keeps the intent.
    mutating func createStandalonePaymentIntent(_ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(Self.paymentIntentFields)
        guard let amount = try params.int("amount") else { throw StripeError.missingParam("amount") }
        guard amount >= 1 else {
            throw StripeError.invalidRequest(
                "This value must be greater than or equal to 1.", code: "parameter_invalid_integer", param: "amount")
        }
        let currency = try params.requiredString("currency").lowercased()
        guard currency.count == 3, currency.allSatisfy(\.isLetter) else {
            throw StripeError.invalidRequest(
                "Invalid currency: \(currency). Stripe currently supports these currencies: …", param: "currency")
        }
        let customer = try params.string("customer").flatMap { $0.isEmpty ? nil : $0 }
        if let customer { _ = try require(\.customers, customer, kind: "customer", param: "customer") }
        if let method = try params.enumValue("capture_method", ["automatic", "automatic_async", "manual"]), method == "manual" {
            throw StripeError.invalidRequest(
                "The Weft Stripe simulator does not simulate manual capture: use capture_method automatic.", param: "capture_method")
        }
        let paymentMethod = try params.string("payment_method").flatMap { $0.isEmpty ? nil : $0 }
        if let paymentMethod { _ = try TestCards.outcome(for: paymentMethod, param: "payment_method") }
        let id = ids.make("pi")
        var intent: JSON = [
            "id": .string(id), "object": "payment_intent", "amount": .int(amount), "amount_capturable": 0,
            "amount_details": ["tip": [:]], "amount_received": 0, "application": nil, "application_fee_amount": nil,
            "automatic_payment_methods": nil, "canceled_at": nil, "cancellation_reason": nil, "capture_method": "automatic",
            "client_secret": .string("\(id)_secret_\(ids.token(25))"), "confirmation_method": "automatic",
            "created": .int(now), "currency": .string(currency), "customer": .from(customer), "customer_account": nil,
            "description": .from(try params.string("description")), "excluded_payment_method_types": nil,
            "last_payment_error": nil, "latest_charge": nil, "livemode": false, "metadata": [:], "next_action": nil,
            "on_behalf_of": nil, "payment_method": .from(paymentMethod), "payment_method_configuration_details": nil,
            "payment_method_options": [
                "card": ["installments": nil, "mandate_options": nil, "network": nil, "request_three_d_secure": "automatic"]
            ],
            "payment_method_types": ["card"], "processing": nil, "receipt_email": .from(try params.string("receipt_email")),
            "review": nil, "setup_future_usage": nil, "shipping": nil, "source": nil,
            "statement_descriptor": .from(try params.string("statement_descriptor")),
            "statement_descriptor_suffix": .from(try params.string("statement_descriptor_suffix")),
            "status": paymentMethod == nil ? "requires_payment_method" : "requires_confirmation", "transfer_data": nil,
            "transfer_group": nil,
        ]
        try params.applyMetadata(to: &intent)
        paymentIntents[id] = intent
        emit("payment_intent.created", intent)
        guard try params.bool("confirm") == true else { return intent }
        return try confirmPaymentIntent(id, explicitPaymentMethod: nil)
    }

    /// `POST /v1/payment_intents/:id/confirm`. An invoice's own PaymentIntent is confirmed by paying the invoice.
    mutating func confirmPaymentIntent(_ id: String, _ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(["payment_method", "off_session", "receipt_email"])
        let method = try params.string("payment_method").flatMap { $0.isEmpty ? nil : $0 }
        return try confirmPaymentIntent(id, explicitPaymentMethod: method)
    }

    private mutating func confirmPaymentIntent(_ id: String, explicitPaymentMethod: String?) throws -> JSON {
        let intent = try require(\.paymentIntents, id, kind: "payment_intent")
        if let invoiceID = invoicePaid(by: id, own: true) {
            throw StripeError.invalidRequest(
                "This PaymentIntent belongs to invoice \(invoiceID): pay the invoice (POST /v1/invoices/\(invoiceID)/pay) instead.",
                code: "payment_intent_unexpected_state")
        }
        guard ["requires_payment_method", "requires_confirmation"].contains(intent["status"].string ?? "") else {
            throw StripeError.invalidRequest(
                "This PaymentIntent's status is \(intent["status"].string ?? ""), so it cannot be confirmed.",
                code: "payment_intent_unexpected_state")
        }
        guard let paymentMethod = explicitPaymentMethod ?? intent["payment_method"].string else {
            throw StripeError.invalidRequest(
                "You cannot confirm this PaymentIntent because it's missing a payment method. Specify a payment method "
                    + "(payment_method) to confirm it with.",
                code: "payment_intent_unexpected_state", param: "payment_method")
        }
        let outcome = try TestCards.outcome(for: paymentMethod, param: "payment_method")
        let amount = intent["amount"].int ?? 0
        let charge = makeCharge(
            amount: amount, currency: intent["currency"].string ?? settings.defaultCurrency, customer: intent["customer"].string,
            paymentIntent: id, paymentMethod: paymentMethod, outcome: outcome, description: intent["description"].string)
        if let failure = recordCharge(
            charge, on: id, amount: amount, paymentMethod: paymentMethod, outcome: outcome, customer: intent["customer"])
        {
            throw failure
        }
        // Attached to an invoice before it succeeded: credited to it now.
        if let invoiceID = invoicePaid(by: id, own: false) { creditAttachedPayment(invoiceID: invoiceID, intentID: id) }
        return paymentIntents[id] ?? intent
    }

    /// The invoice whose payment `intentID` is: its own (default) payment when `own`, one attached besides it when not
    /// `own`, either when `nil`.
    func invoicePaid(by intentID: String, own: Bool? = nil) -> String? {
        invoicePayments.first { _, payments in
            payments.contains { payment in
                payment["payment"]["payment_intent"].string == intentID && (own.map { payment["is_default"].bool == $0 } ?? true)
            }
        }?.key
    }

    /// `POST /v1/invoices/:id/attach_payment`: adds a PaymentIntent of the invoice's customer and currency, for at most
    /// what is left to pay, to the invoice's payments (`is_default: false`). A succeeded one is credited at once, any
    /// other when it succeeds. Returns the invoice.
    mutating func attachPayment(_ invoiceID: String, _ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(["payment_intent", "payment_record", "payment_record_data", "amount_requested"])
        if params["payment_record"] != nil || params["payment_record_data"] != nil {
            throw StripeError.invalidRequest(
                "The Weft Stripe simulator does not simulate payment records: attach a payment_intent, or pay out of band "
                    + "(POST /v1/invoices/\(invoiceID)/pay with paid_out_of_band=true).")
        }
        if params["amount_requested"] != nil {
            throw StripeError.invalidRequest(
                "The Weft Stripe simulator does not simulate amount_requested: attach a PaymentIntent of the amount to apply.",
                param: "amount_requested")
        }
        let invoice = try require(\.invoices, invoiceID, kind: "invoice")
        let intentID = try params.requiredString("payment_intent")
        let intent = try require(\.paymentIntents, intentID, kind: "payment_intent", param: "payment_intent")
        guard invoice["status"].string == "open" else {
            throw StripeError.invalidRequest(
                "You can only attach a payment to an open invoice. This invoice is \(invoice["status"].string ?? "").",
                code: "invoice_not_editable")
        }
        if let other = invoicePaid(by: intentID) {
            throw StripeError.invalidRequest(
                "This PaymentIntent is already attached to invoice \(other).", code: "payment_intent_unexpected_state",
                param: "payment_intent")
        }
        if intent["status"].string == "canceled" {
            throw StripeError.invalidRequest(
                "This PaymentIntent is canceled and cannot be attached.", code: "payment_intent_unexpected_state",
                param: "payment_intent")
        }
        guard intent["customer"].string == invoice["customer"].string else {
            throw StripeError.invalidRequest(
                "The PaymentIntent's customer (\(intent["customer"].string ?? "none")) must be the invoice's "
                    + "(\(invoice["customer"].string ?? "none")).",
                param: "payment_intent")
        }
        guard intent["currency"].string == invoice["currency"].string else {
            throw StripeError.invalidRequest(
                "The PaymentIntent's currency (\(intent["currency"].string ?? "")) must be the invoice's "
                    + "(\(invoice["currency"].string ?? "")).",
                param: "payment_intent")
        }
        let amount = intent["amount"].int ?? 0
        let remaining = invoice["amount_remaining"].int ?? 0
        guard amount <= remaining else {
            throw StripeError.invalidRequest(
                "The PaymentIntent's amount (\(Self.formatMoney(amount, intent["currency"].string))) is more than the "
                    + "invoice's amount_remaining (\(Self.formatMoney(remaining, invoice["currency"].string))).",
                param: "payment_intent")
        }
        let payment: JSON = [
            "id": .string(ids.make("inpay")), "object": "invoice_payment", "amount_paid": nil, "amount_requested": .int(amount),
            "created": .int(now), "currency": invoice["currency"], "invoice": .string(invoiceID), "is_default": false,
            "livemode": false, "payment": ["payment_intent": .string(intentID), "type": "payment_intent"], "status": "open",
            "status_transitions": ["canceled_at": nil, "paid_at": nil],
        ]
        invoicePayments[invoiceID, default: []].append(payment)
        if intent["status"].string == "succeeded" { creditAttachedPayment(invoiceID: invoiceID, intentID: intentID) }
        return invoices[invoiceID] ?? invoice
    }

    /// Credits a succeeded attached PaymentIntent to its invoice: the payment record is paid, the invoice's
    /// `amount_paid` grows and `amount_remaining` shrinks, and the invoice's own payment (and its PaymentIntent) follows
    /// what is left, or is canceled when nothing is. The invoice is paid once nothing is left.
    mutating func creditAttachedPayment(invoiceID: String, intentID: String) {
        let now = self.now
        guard let intent = paymentIntents[intentID], intent["status"].string == "succeeded",
            var payments = invoicePayments[invoiceID], let invoice = invoices[invoiceID],
            let index = payments.firstIndex(where: {
                $0["is_default"].bool == false && $0["payment"]["payment_intent"].string == intentID && $0["status"].string == "open"
            })
        else { return }
        let amount = intent["amount_received"].int ?? 0
        let remaining = max(0, (invoice["amount_remaining"].int ?? 0) - amount)
        payments[index]["status"] = "paid"
        payments[index]["amount_paid"] = .int(amount)
        payments[index]["status_transitions"]["paid_at"] = .int(now)
        invoicePayments[invoiceID] = payments
        ownPaymentFollows(invoiceID: invoiceID, remaining: remaining)
        let credited = payments[index]
        let updated = update(\.invoices, invoiceID, event: "invoice.updated") { invoice in
            invoice["amount_paid"] = .int((invoice["amount_paid"].int ?? 0) + amount)
            invoice["amount_remaining"] = .int(remaining)
            invoice["attempted"] = true
            if remaining == 0 {
                invoice["status"] = "paid"
                invoice["status_transitions"]["paid_at"] = .int(now)
                invoice["next_payment_attempt"] = nil
                invoice["auto_advance"] = false
            }
        }
        emit("invoice_payment.paid", credited)
        guard remaining == 0 else { return }
        emit("invoice.paid", updated)
        emit("invoice.payment_succeeded", updated)
        if let subscriptionID = updated["subscription"].string { subscriptionInvoicePaid(subscriptionID, invoiceID: invoiceID) }
    }

    /// `GET /v1/invoice_payments`, filtered by `invoice`, `status` and `payment[payment_intent]`, newest first.
    func listInvoicePayments(_ params: FormParams.Node) throws -> JSON {
        let invoice = try params.string("invoice")
        let status = try params.enumValue("status", ["canceled", "open", "paid"])
        let intent = try params["payment"]?.string("payment_intent")
        let items = invoicePayments.values.joined().filter { payment in
            (invoice == nil || payment["invoice"].string == invoice) && (status == nil || payment["status"].string == status)
                && (intent == nil || payment["payment"]["payment_intent"].string == intent)
        }.sorted { ($0["created"].int ?? 0, $0["id"].string ?? "") > ($1["created"].int ?? 0, $1["id"].string ?? "") }
        return try list(Array(items), url: "/v1/invoice_payments", params: params)
    }

    /// `GET /v1/invoice_payments/:id`.
    func retrieveInvoicePayment(_ id: String) throws -> JSON {
        for payments in invoicePayments.values { if let found = payments.first(where: { $0["id"].string == id }) { return found } }
        throw StripeError.missing("invoice_payment", id)
    }
}
