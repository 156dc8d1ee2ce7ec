extension StripeState {
    // MARK: PaymentIntents and charges, as invoices create them

    /// Creates the invoice's PaymentIntent (`requires_payment_method`) and its `invoice_payment` record.
    mutating func createPaymentIntent(for invoice: JSON) -> JSON {
        let id = ids.make("pi")
        let invoiceID = invoice["id"].string ?? ""
        let description: JSON
        switch invoice["billing_reason"].string {
        case "subscription_create": description = "Subscription creation"
        case "subscription_update": description = "Subscription update"
        case "subscription_cycle": description = "Subscription cycle"
        default: description = nil
        }
        var intent: JSON = [
            "id": .string(id), "object": "payment_intent", "amount": invoice["amount_remaining"],
            "amount_capturable": 0, "amount_details": ["tip": [:]], "amount_received": 0, "application": nil,
            "application_fee_amount": nil, "automatic_payment_methods": nil, "canceled_at": nil,
            "cancellation_reason": nil, "capture_method": "automatic",
            "client_secret": .string("\(id)_secret_\(ids.token(25))"), "confirmation_method": "automatic",
            "created": .int(now), "currency": invoice["currency"], "customer": invoice["customer"],
            "customer_account": nil, "description": description, "excluded_payment_method_types": nil,
            "last_payment_error": nil, "latest_charge": nil, "livemode": false, "managed_payments": ["enabled": false],
            "metadata": [:], "next_action": nil, "on_behalf_of": nil, "payment_method": nil,
            "payment_method_configuration_details": nil,
            "payment_method_options": [
                "card": [
                    "installments": nil, "mandate_options": nil, "network": nil,
                    "request_three_d_secure": "automatic",
                ]
            ],
            "payment_method_types": ["card"], "processing": nil, "receipt_email": nil, "review": nil,
            "setup_future_usage": nil, "shipping": nil, "source": nil, "statement_descriptor": nil,
            "statement_descriptor_suffix": nil, "status": "requires_payment_method", "transfer_data": nil,
            "transfer_group": nil,
        ]
        if settings.usesPreBasilInvoiceShape { intent["invoice"] = .string(invoiceID) }
        paymentIntents[id] = intent
        let payment: JSON = [
            "id": .string(ids.make("inpay")), "object": "invoice_payment", "amount_paid": nil,
            "amount_requested": invoice["amount_remaining"], "created": .int(now), "currency": invoice["currency"],
            "invoice": .string(invoiceID), "is_default": true, "livemode": false,
            "payment": ["payment_intent": .string(id), "type": "payment_intent"], "status": "open",
            "status_transitions": ["canceled_at": nil, "paid_at": nil],
        ]
        invoicePayments[invoiceID, default: []].append(payment)
        return intent
    }

    /// The PaymentIntent of the invoice's own (default) payment: payments attached besides it are not.
    func currentPaymentIntentID(invoiceID: String) -> String? {
        invoicePayments[invoiceID]?.last { $0["is_default"].bool != false }?["payment"]["payment_intent"].string
    }

    /// Makes the invoice's open own payment follow what is left to pay ("keeps synchronized with the invoice's
    /// amount_remaining"): the record and its unpaid PaymentIntent ask for `remaining`, or are canceled (reason
    /// `automatic`) when nothing is left. Records no events.
    mutating func ownPaymentFollows(invoiceID: String, remaining: Int) {
        let now = self.now
        guard var payments = invoicePayments[invoiceID],
            let own = payments.lastIndex(where: { $0["is_default"].bool != false && $0["status"].string == "open" })
        else { return }
        if remaining == 0 {
            payments[own]["status"] = "canceled"
            payments[own]["status_transitions"]["canceled_at"] = .int(now)
        } else {
            payments[own]["amount_requested"] = .int(remaining)
        }
        invoicePayments[invoiceID] = payments
        guard let intentID = payments[own]["payment"]["payment_intent"].string,
            let status = paymentIntents[intentID]?["status"].string, status != "succeeded", status != "canceled"
        else { return }
        update(\.paymentIntents, intentID, event: nil) { intent in
            if remaining == 0 {
                intent["status"] = "canceled"
                intent["canceled_at"] = .int(now)
                intent["cancellation_reason"] = "automatic"
            } else {
                intent["amount"] = .int(remaining)
            }
        }
    }

    /// The payment method a payment attempt uses: explicit, then the test-helper override, then the invoice's,
    /// subscription's and customer's defaults, then the simulator's default.
    func resolvePaymentMethod(invoice: JSON, explicit: String?) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        let customerID = invoice["customer"].string ?? ""
        if let forced = forcedPaymentMethods[customerID] { return forced }
        if let method = invoice["default_payment_method"].string { return method }
        if let subscriptionID = invoice["subscription"].string,
            let method = subscriptions[subscriptionID]?["default_payment_method"].string
        {
            return method
        }
        if let method = customers[customerID]?["invoice_settings"]["default_payment_method"].string { return method }
        return settings.defaultPaymentMethod
    }

    /// Charges an open invoice once. On a decline the state changes and events are kept and a 402 `card_error`
    /// is thrown (saved for idempotent replay, like Stripe).
    mutating func attemptPayment(invoiceID: String, explicitPaymentMethod: String?) throws {
        let now = self.now
        guard var invoice = invoices[invoiceID] else { throw StripeError.missing("invoice", invoiceID) }
        let paymentMethod = resolvePaymentMethod(invoice: invoice, explicit: explicitPaymentMethod)
        let outcome = try TestCards.outcome(for: paymentMethod, param: "payment_method")
        var intentID = currentPaymentIntentID(invoiceID: invoiceID)
        if intentID == nil || paymentIntents[intentID ?? ""]?["status"].string == "canceled" {
            let intent = createPaymentIntent(for: invoice)
            if settings.usesPreBasilInvoiceShape {
                // Before basil the invoice names its current PaymentIntent.
                invoices[invoiceID]?["payment_intent"] = intent["id"]
                invoice["payment_intent"] = intent["id"]
            }
            emit("payment_intent.created", intent)
            intentID = intent["id"].string
        }
        guard let intentID else { return }
        let amount = invoice["amount_remaining"].int ?? 0
        let charge = makeCharge(
            amount: amount, currency: invoice["currency"].string ?? settings.defaultCurrency,
            customer: invoice["customer"].string, paymentIntent: intentID, paymentMethod: paymentMethod,
            outcome: outcome, description: paymentIntents[intentID]?["description"].string, invoice: invoiceID)
        if let failure = recordCharge(
            charge, on: intentID, amount: amount, paymentMethod: paymentMethod, outcome: outcome, customer: invoice["customer"])
        {
            let legacyShape = settings.usesPreBasilInvoiceShape
            invoice = update(\.invoices, invoiceID, event: "invoice.updated") { invoice in
                invoice["attempt_count"] = .int((invoice["attempt_count"].int ?? 0) + 1)
                invoice["attempted"] = true
                // Before basil `charge` is the latest charge made for the invoice, a failed one too.
                if legacyShape { invoice["charge"] = charge["id"] }
                if invoice["subscription"].isNull {
                    invoice["next_payment_attempt"] = nil
                } else {
                    invoice["next_payment_attempt"] = .int(now + 3 * 86_400)
                }
            }
            emit("invoice.payment_failed", invoice)
            if let subscriptionID = invoice["subscription"].string {
                subscriptionPaymentFailed(subscriptionID, invoice: invoice)
            }
            throw failure
        }
        update(\.invoices, invoiceID, event: nil) { invoice in
            invoice["attempt_count"] = .int((invoice["attempt_count"].int ?? 0) + 1)
        }
        markInvoicePaid(invoiceID, amountPaid: amount, paymentIntent: intentID, charge: charge["id"].string)
    }

    /// A charge's result on its PaymentIntent. Succeeded: `charge.succeeded`, the intent `succeeded` for `amount`
    /// (`payment_intent.succeeded`). Declined: `charge.failed`, the intent back to `requires_payment_method` with the
    /// error (`payment_intent.payment_failed`), and the 402 `card_error` to throw is returned (saved for idempotent
    /// replay, like Stripe).
    mutating func recordCharge(
        _ charge: JSON, on intentID: String, amount: Int, paymentMethod: String, outcome: TestCards.Outcome, customer: JSON
    ) -> StripeError? {
        let chargeID = charge["id"].string ?? ""
        guard let decline = outcome.decline else {
            emit("charge.succeeded", charge)
            let intent = update(\.paymentIntents, intentID, event: nil) { intent in
                intent["status"] = "succeeded"
                intent["amount_received"] = .int(amount)
                intent["latest_charge"] = .string(chargeID)
                intent["payment_method"] = .string(paymentMethod)
                intent["last_payment_error"] = nil
            }
            emit("payment_intent.succeeded", intent)
            return nil
        }
        emit("charge.failed", charge)
        let error: JSON = [
            "charge": .string(chargeID), "code": .string(decline.code), "decline_code": .from(decline.declineCode),
            "doc_url": .string("https://stripe.com/docs/error-codes/\(decline.code.replacingOccurrences("_", "-"))"),
            "message": .string(decline.message),
            "payment_method": paymentMethodObject(paymentMethod, outcome: outcome, customer: customer), "type": "card_error",
        ]
        let intent = update(\.paymentIntents, intentID, event: nil) { intent in
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = error
            intent["latest_charge"] = .string(chargeID)
            intent["payment_method"] = nil
        }
        emit("payment_intent.payment_failed", intent)
        var failure = StripeError(
            status: 402, type: "card_error", code: decline.code, message: decline.message, param: nil,
            declineCode: decline.declineCode)
        failure.extra = [("charge", .string(chargeID)), ("payment_intent", intent)]
        failure.savesIdempotentResult = true
        return failure
    }

    private func paymentMethodObject(_ id: String, outcome: TestCards.Outcome, customer: JSON) -> JSON {
        [
            "id": .string(id), "object": "payment_method",
            "billing_details": [
                "address": [
                    "city": nil, "country": nil, "line1": nil, "line2": nil, "postal_code": nil, "state": nil,
                ],
                "email": nil, "name": nil, "phone": nil, "tax_id": nil,
            ],
            "card": [
                "brand": .string(outcome.brand), "country": "US", "exp_month": 12, "exp_year": 2034,
                "funding": "credit", "last4": .string(outcome.last4),
            ],
            "created": .int(now), "customer": customer, "livemode": false, "metadata": [:], "type": "card",
        ]
    }

    mutating func makeCharge(
        amount: Int, currency: String, customer: String?, paymentIntent: String, paymentMethod: String,
        outcome: TestCards.Outcome, description: String?, invoice: String? = nil
    ) -> JSON {
        let id = ids.make("ch")
        let succeeded = outcome.decline == nil
        let outcomeObject: JSON =
            succeeded
            ? [
                "advice_code": nil, "network_advice_code": nil, "network_decline_code": nil,
                "network_status": "approved_by_network", "reason": nil, "risk_level": "normal", "risk_score": 20,
                "seller_message": "Payment complete.", "type": "authorized",
            ]
            : [
                "advice_code": "try_again_later", "network_advice_code": nil, "network_decline_code": nil,
                "network_status": "declined_by_network", "reason": .from(outcome.decline?.declineCode),
                "risk_level": "normal", "risk_score": 20,
                "seller_message": "The bank did not return any further details with this decline.",
                "type": "issuer_declined",
            ]
        var charge: JSON = [
            "id": .string(id), "object": "charge", "amount": .int(amount),
            "amount_captured": .int(succeeded ? amount : 0), "amount_refunded": 0, "application": nil,
            "application_fee": nil, "application_fee_amount": nil,
            "balance_transaction": succeeded ? .string(ids.make("txn")) : nil,
            "billing_details": [
                "address": [
                    "city": nil, "country": nil, "line1": nil, "line2": nil, "postal_code": nil, "state": nil,
                ],
                "email": nil, "name": nil, "phone": nil, "tax_id": nil,
            ],
            "calculated_statement_descriptor": "WEFT SIMULATOR", "captured": .bool(succeeded), "created": .int(now),
            "currency": .string(currency), "customer": .from(customer), "description": .from(description),
            "disputed": false, "failure_balance_transaction": nil, "failure_code": .from(outcome.decline?.code),
            "failure_message": .from(outcome.decline?.message), "fraud_details": [:], "livemode": false,
            "metadata": [:], "on_behalf_of": nil, "outcome": outcomeObject, "paid": .bool(succeeded),
            "payment_intent": .string(paymentIntent), "payment_method": .string(paymentMethod),
            "payment_method_details": [
                "card": [
                    "amount_authorized": succeeded ? .int(amount) : nil, "authorization_code": nil,
                    "brand": .string(outcome.brand),
                    "checks": ["address_line1_check": nil, "address_postal_code_check": nil, "cvc_check": "pass"],
                    "country": "US", "exp_month": 12, "exp_year": 2034,
                    "extended_authorization": ["status": "disabled"], "fingerprint": "WeftSimFingerprint",
                    "funding": "credit", "incremental_authorization": ["status": "unavailable"],
                    "installments": nil, "last4": .string(outcome.last4), "mandate": nil,
                    "multicapture": ["status": "unavailable"], "network": .string(outcome.brand),
                    "network_token": ["used": false], "network_transaction_id": nil,
                    "overcapture": ["maximum_amount_capturable": .int(amount), "status": "unavailable"],
                    "regulated_status": "unregulated", "three_d_secure": nil, "transaction_link_id": nil,
                    "wallet": nil,
                ],
                "type": "card",
            ],
            "receipt_email": nil, "receipt_number": nil,
            "receipt_url": .string("https://pay.stripe.com/receipts/payment/weftsim_\(id)"), "refunded": false,
            "refunds": [
                "object": "list", "data": [], "has_more": false, "total_count": 0,
                "url": .string("/v1/charges/\(id)/refunds"),
            ],
            "review": nil, "shipping": nil, "source": nil, "source_transfer": nil, "statement_descriptor": nil,
            "statement_descriptor_suffix": nil, "status": succeeded ? "succeeded" : "failed",
            "transfer_data": nil, "transfer_group": nil,
        ]
        if !settings.chargesListRefunds { charge = charge.removing("refunds") }
        // Before basil a charge names the invoice it pays.
        if settings.usesPreBasilInvoiceShape, let invoice { charge["invoice"] = .string(invoice) }
        charges[id] = charge
        return charge
    }

    /// A charge's refunds, newest first (`expand[]=refunds`, `GET /v1/charges/{id}/refunds`).
    func refunds(ofCharge id: String) -> [JSON] { refunds.newestFirst.filter { $0["charge"].string == id } }

    func listPaymentIntents(_ params: FormParams.Node) throws -> JSON {
        let created = try createdFilter(params)
        let customer = try params.string("customer")
        let items = paymentIntents.newestFirst.filter {
            created($0["created"].int ?? 0) && (customer == nil || $0["customer"].string == customer)
        }
        return try list(items, url: "/v1/payment_intents", params: params)
    }

    func listCharges(_ params: FormParams.Node) throws -> JSON {
        let created = try createdFilter(params)
        let customer = try params.string("customer")
        let intent = try params.string("payment_intent")
        let items = charges.newestFirst.filter {
            created($0["created"].int ?? 0) && (customer == nil || $0["customer"].string == customer)
                && (intent == nil || $0["payment_intent"].string == intent)
        }
        return try list(items, url: "/v1/charges", params: params)
    }

    // MARK: Refunds

    mutating func createRefund(_ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown([
            "amount", "charge", "currency", "customer", "instructions_email", "metadata", "origin", "payment_intent",
            "reason", "refund_application_fee", "reverse_transfer",
        ])
        var chargeID = try params.string("charge")
        let intentID = try params.string("payment_intent")
        if chargeID == nil || chargeID == "" {
            guard let intentID, !intentID.isEmpty else {
                throw StripeError.invalidRequest(
                    "One of the following params should be provided for this request: payment_intent or charge.",
                    code: "parameter_missing")
            }
            let intent = try require(\.paymentIntents, intentID, kind: "payment_intent", param: "payment_intent")
            guard intent["status"].string == "succeeded", let latest = intent["latest_charge"].string else {
                throw StripeError.invalidRequest(
                    "This PaymentIntent does not have a successful charge to refund.",
                    code: "charge_not_refundable",
                    param: "payment_intent")
            }
            chargeID = latest
        }
        guard let chargeID else { throw StripeError.missingParam("charge") }
        let charge = try require(\.charges, chargeID, kind: "charge", param: "charge")
        guard charge["status"].string == "succeeded" else {
            throw StripeError.invalidRequest(
                "Charge \(chargeID) has not been captured and cannot be refunded.", param: "charge")
        }
        let captured = charge["amount_captured"].int ?? 0
        let refunded = charge["amount_refunded"].int ?? 0
        if refunded >= captured {
            throw StripeError.invalidRequest(
                "Charge \(chargeID) has already been refunded.", code: "charge_already_refunded", param: "charge")
        }
        let amount = try params.int("amount") ?? (captured - refunded)
        guard amount > 0 else {
            throw StripeError.invalidRequest(
                "Invalid positive integer", code: "parameter_invalid_integer", param: "amount")
        }
        guard amount <= captured - refunded else {
            throw StripeError.invalidRequest(
                "Refund amount (\(Self.formatMoney(amount, charge["currency"].string))) is greater than unrefunded "
                    + "amount on charge (\(Self.formatMoney(captured - refunded, charge["currency"].string)))",
                param: "amount")
        }
        let reason = try params.enumValue("reason", ["duplicate", "fraudulent", "requested_by_customer"])
        var metadata: JSON = ["metadata": [:]]
        try params.applyMetadata(to: &metadata)
        return issueRefund(chargeID: chargeID, amount: amount, reason: reason, metadata: metadata["metadata"])
    }

    /// Refunds `amount` of a succeeded charge (checked by the caller): stores the refund, records `refund.created`
    /// and `charge.refunded`.
    mutating func issueRefund(chargeID: String, amount: Int, reason: String?, metadata: JSON = [:]) -> JSON {
        let charge = charges[chargeID] ?? [:]
        let captured = charge["amount_captured"].int ?? 0
        let refunded = charge["amount_refunded"].int ?? 0
        let id = ids.make("re")
        let refund: JSON = [
            "id": .string(id), "object": "refund", "amount": .int(amount),
            "balance_transaction": .string(ids.make("txn")), "charge": .string(chargeID), "created": .int(now),
            "currency": charge["currency"], "customer": charge["customer"], "customer_account": nil,
            "destination_details": [
                "card": ["reference": nil, "reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund"],
                "type": "card",
            ],
            "metadata": metadata, "payment_intent": charge["payment_intent"], "payment_method": charge["payment_method"],
            "reason": .from(reason), "receipt_number": nil, "source_transfer_reversal": nil, "status": "succeeded",
            "transfer_reversal": nil,
        ]
        refunds[id] = refund
        emit("refund.created", refund)
        let listsRefunds = settings.chargesListRefunds
        let updatedCharge = update(\.charges, chargeID, event: nil) { charge in
            charge["amount_refunded"] = .int(refunded + amount)
            charge["refunded"] = .bool(refunded + amount >= captured)
            guard listsRefunds else { return }
            var data = charge["refunds"]["data"].array ?? []
            data.insert(refund, at: 0)
            charge["refunds"]["data"] = .array(data)
            charge["refunds"]["total_count"] = .int(data.count)
        }
        emit("charge.refunded", updatedCharge)
        return refund
    }

    static func formatMoney(_ amount: Int, _ currency: String?) -> String {
        let cents = String(amount % 100)
        let symbol = currency == "usd" ? "$" : ""
        return "\(symbol)\(amount / 100).\(cents.count == 1 ? "0" + cents : cents)"
    }

    mutating func updateRefund(_ id: String, _ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(["metadata"])
        _ = try require(\.refunds, id, kind: "refund")
        return try update(\.refunds, id, event: "refund.updated") { refund in
            try params.applyMetadata(to: &refund)
        }
    }

    func listRefunds(_ params: FormParams.Node) throws -> JSON {
        let created = try createdFilter(params)
        let charge = try params.string("charge")
        let intent = try params.string("payment_intent")
        let items = refunds.newestFirst.filter {
            created($0["created"].int ?? 0) && (charge == nil || $0["charge"].string == charge)
                && (intent == nil || $0["payment_intent"].string == intent)
        }
        return try list(items, url: "/v1/refunds", params: params)
    }
}

extension String {
    fileprivate func replacingOccurrences(_ target: Character, _ replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
