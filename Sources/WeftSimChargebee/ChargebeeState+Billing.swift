extension ChargebeeState {
    // MARK: Invoices

    /// Creates a posted invoice for a subscription, applies the customer's available refundable credits, and returns
    /// its id. Collection is separate (`collect`).
    mutating func makeInvoice(for subscriptionID: String, lines: [JSON], firstInvoice: Bool) -> String {
        let subscription = subscriptions[subscriptionID] ?? [:]
        let customerID = subscription["customer_id"].string ?? ""
        invoiceSequence += 1
        let id = String(invoiceSequence)
        let subTotal = lines.reduce(0) { $0 + ($1["amount"].int ?? 0) }
        var invoice: JSON = [
            "id": .string(id), "customer_id": .string(customerID), "subscription_id": .string(subscriptionID),
            "recurring": true, "status": "posted", "price_type": "tax_exclusive", "date": .int(now),
            "due_date": .int(now), "net_term_days": 0, "total": .int(subTotal), "amount_paid": 0,
            "amount_adjusted": 0, "write_off_amount": 0, "credits_applied": 0, "amount_due": .int(subTotal),
        ]
        invoice["sub_total"] = .int(subTotal)
        invoice["tax"] = 0
        invoice["first_invoice"] = .bool(firstInvoice)
        invoice["has_advance_charges"] = false
        invoice["currency_code"] = subscription["currency_code"]
        invoice["base_currency_code"] = subscription["currency_code"]
        invoice["is_gifted"] = false
        invoice["term_finalized"] = true
        invoice["channel"] = "web"
        invoice["deleted"] = false
        invoice["object"] = "invoice"
        invoice["amount_to_collect"] = .int(subTotal)
        invoice["round_off_amount"] = 0
        invoice["line_items"] = .array(lines)
        invoice["linked_payments"] = []
        invoice["applied_credits"] = []
        invoice["adjustment_credit_notes"] = []
        invoice["issued_credit_notes"] = []
        invoice["dunning_attempts"] = []
        if let address = customers[customerID]?["billing_address"], !address.isNull { invoice["billing_address"] = address }
        touch(&invoice)
        invoices[id] = invoice
        applyRefundableCredits(to: id)
        return id
    }

    /// Allocates the customer's refundable credit notes (oldest first) to an invoice's amount due.
    mutating func applyRefundableCredits(to invoiceID: String) {
        guard var invoice = invoices[invoiceID], let customerID = invoice["customer_id"].string else { return }
        for noteID in creditNotes.order {
            guard var note = creditNotes[noteID], note["customer_id"].string == customerID,
                note["type"].string == "refundable", note["status"].string == "refund_due",
                let available = note["amount_available"].int, available > 0, let due = invoice["amount_due"].int, due > 0
            else { continue }
            let amount = min(available, due)
            note["amount_available"] = .int(available - amount)
            note["amount_allocated"] = .int((note["amount_allocated"].int ?? 0) + amount)
            if available == amount { note["status"] = "refunded" }
            note["allocations"] = .array(
                (note["allocations"].array ?? []) + [
                    [
                        "invoice_id": .string(invoiceID), "allocated_amount": .int(amount), "allocated_at": .int(now),
                        "invoice_date": invoice["date"], "invoice_status": invoice["status"],
                    ]
                ])
            touch(&note)
            creditNotes[noteID] = note
            invoice["credits_applied"] = .int((invoice["credits_applied"].int ?? 0) + amount)
            invoice["amount_due"] = .int(due - amount)
            invoice["amount_to_collect"] = .int(due - amount)
            invoice["applied_credits"] = .array(
                (invoice["applied_credits"].array ?? []) + [
                    [
                        "cn_id": .string(noteID), "applied_amount": .int(amount), "applied_at": .int(now),
                        "cn_reason_code": note["reason_code"], "cn_date": note["date"], "cn_status": note["status"],
                    ]
                ])
            adjustRefundableCredits(customerID, by: -amount)
        }
        if invoice["amount_due"].int == 0 {
            invoice["status"] = "paid"
            invoice["paid_at"] = .int(now)
        }
        touch(&invoice)
        invoices[invoiceID] = invoice
    }

    mutating func adjustRefundableCredits(_ customerID: String, by amount: Int) {
        guard var customer = customers[customerID] else { return }
        customer["refundable_credits"] = .int((customer["refundable_credits"].int ?? 0) + amount)
        touch(&customer)
        customers[customerID] = customer
    }

    // MARK: Collection

    /// Charges what an invoice still owes with the customer's payment method when auto collection is on. Returns the
    /// transaction, or `nil` when nothing was charged (nothing due, or auto collection off).
    mutating func collect(_ invoiceID: String, force: Bool = false) -> String? {
        guard let invoice = invoices[invoiceID], let due = invoice["amount_due"].int, due > 0,
            let customerID = invoice["customer_id"].string, let customer = customers[customerID]
        else { return nil }
        let subscription = subscriptions[invoice["subscription_id"].string ?? ""]
        let autoCollection = subscription?["auto_collection"].string ?? customer["auto_collection"].string ?? "on"
        guard autoCollection == "on" || force else { return nil }
        let succeeded = (paymentOutcomes[customerID] ?? settings.defaultPaymentOutcome) == .succeed
        return charge(invoiceID, amount: due, succeeded: succeeded, method: "card")
    }

    /// Records a payment transaction against an invoice and settles the invoice, its subscription's dues and dunning.
    mutating func charge(_ invoiceID: String, amount: Int, succeeded: Bool, method: String) -> String {
        var invoice = invoices[invoiceID]!
        let id = makeID("txn_")
        var transaction: JSON = [
            "id": .string(id), "customer_id": invoice["customer_id"], "subscription_id": invoice["subscription_id"],
            "gateway_account_id": "gw_weft_test", "payment_method": .string(method),
            "gateway": .string(method == "card" ? "chargebee" : "not_applicable"), "type": "payment", "date": .int(now),
            "amount": .int(amount), "status": .string(succeeded ? "success" : "failure"),
        ]
        if method == "card" {
            transaction["payment_source_id"] = customers[invoice["customer_id"].string ?? ""]?["primary_payment_source_id"] ?? .null
            transaction["id_at_gateway"] = .string(makeID("cb_"))
            transaction["masked_card_number"] = .string(succeeded ? "************1111" : "************8320")
        }
        if succeeded {
            transaction["settled_at"] = .int(now)
        } else {
            transaction["error_code"] = "card_declined"
            transaction["error_text"] = "Your card was declined."
        }
        transaction["currency_code"] = invoice["currency_code"]
        transaction["base_currency_code"] = invoice["currency_code"]
        transaction["amount_unused"] = 0
        transaction["deleted"] = false
        transaction["object"] = "transaction"
        transaction["linked_invoices"] = [
            [
                "invoice_id": .string(invoiceID), "applied_amount": .int(succeeded ? amount : 0), "applied_at": .int(now),
                "invoice_date": invoice["date"], "invoice_total": invoice["total"],
                "invoice_status": succeeded ? "paid" : "payment_due",
            ]
        ]
        transaction["linked_credit_notes"] = []
        transaction["linked_refunds"] = []
        touch(&transaction)
        transactions[id] = transaction

        invoice["linked_payments"] = .array(
            (invoice["linked_payments"].array ?? []) + [
                [
                    "txn_id": .string(id), "applied_amount": .int(succeeded ? amount : 0), "applied_at": .int(now),
                    "txn_status": transaction["status"], "txn_date": .int(now), "txn_amount": .int(amount),
                ]
            ])
        let wasDunning = invoice["dunning_status"].string == "in_progress"
        if succeeded {
            let due = max(0, (invoice["amount_due"].int ?? 0) - amount)
            invoice["amount_paid"] = .int((invoice["amount_paid"].int ?? 0) + amount)
            invoice["amount_due"] = .int(due)
            invoice["amount_to_collect"] = .int(due)
            if due == 0 {
                invoice["status"] = "paid"
                invoice["paid_at"] = .int(now)
                invoice["next_retry_at"] = nil
                if wasDunning { invoice["dunning_status"] = "success" }
            }
        } else {
            invoice["status"] = "payment_due"
            invoice["dunning_status"] = "in_progress"
            invoice["next_retry_at"] = .int(now + settings.dunningRetryInterval)
        }
        if method == "card" {
            let attempts = invoice["dunning_attempts"].array ?? []
            if !succeeded || wasDunning {
                invoice["dunning_attempts"] = .array(
                    attempts + [
                        [
                            "attempt": .int(attempts.count), "transaction_id": .string(id), "dunning_type": "auto_collect",
                            "created_at": .int(now), "txn_status": transaction["status"], "txn_amount": .int(amount),
                        ]
                    ])
            }
        }
        touch(&invoice)
        invoices[invoiceID] = invoice
        updateDues(subscriptionID: invoice["subscription_id"].string)
        return id
    }

    /// Recomputes a subscription's `due_invoices_count`, `due_since` and `total_dues` from its unpaid invoices.
    mutating func updateDues(subscriptionID: String?) {
        guard let subscriptionID, var subscription = subscriptions[subscriptionID] else { return }
        let due = invoices.all.filter {
            $0["subscription_id"].string == subscriptionID && ["payment_due", "not_paid"].contains($0["status"].string ?? "")
        }
        let count = due.count
        let since = JSON.from(due.compactMap { $0["date"].int }.min())
        let total: JSON = count > 0 ? .int(due.reduce(0) { $0 + ($1["amount_due"].int ?? 0) }) : .null
        // Unchanged dues leave the subscription (and its version) alone; a lower amount due (an adjustment) is a change.
        guard
            count != subscription["due_invoices_count"].int || since != subscription["due_since"]
                || total != subscription["total_dues"]
        else { return }
        subscription["due_invoices_count"] = .int(count)
        subscription["due_since"] = since
        subscription["total_dues"] = total
        touch(&subscription)
        subscriptions[subscriptionID] = subscription
    }

    /// `invoice_generated`, then `payment_succeeded`/`payment_failed` for the charge, with the resources Chargebee
    /// puts in their content.
    mutating func emitInvoiceAndPayment(_ invoiceID: String, _ transactionID: String?) {
        emit("invoice_generated", ["invoice": invoices[invoiceID]!])
        if let transactionID { emitPayment(transactionID, invoiceID: invoiceID) }
    }

    mutating func emitPayment(_ transactionID: String, invoiceID: String) {
        guard let transaction = transactions[transactionID], let invoice = invoices[invoiceID] else { return }
        var content: JSON = ["transaction": transaction, "invoice": invoice]
        content["customer"] = customers[invoice["customer_id"].string ?? ""] ?? .null
        content["subscription"] = subscriptions[invoice["subscription_id"].string ?? ""] ?? .null
        emit(transaction["status"].string == "success" ? "payment_succeeded" : "payment_failed", content)
    }

    /// `POST /invoices/{id}/collect_payment`: charges the customer's payment method now. A decline answers 402 but
    /// keeps the failed transaction and its `payment_failed` event.
    mutating func collectPayment(_ id: String) throws(ChargebeeError) -> JSON {
        let invoice = try invoice(id)
        guard ["payment_due", "not_paid", "posted"].contains(invoice["status"].string ?? "") else {
            throw .invalidState("Invoice is not in payment due state")
        }
        guard let transactionID = collect(id, force: true) else { throw .invalidState("Invoice has no amount due") }
        emitPayment(transactionID, invoiceID: id)
        if transactions[transactionID]?["status"].string != "success" {
            var error = ChargebeeError.paymentFailed("Your card was declined.")
            error.keepsChanges = true
            throw error
        }
        return ["invoice": invoices[id]!, "transaction": transactions[transactionID]!]
    }

    /// A dunning retry (the scheduled job): charges again; success or decline, the answer is the invoice.
    mutating func retryDunning(_ id: String) throws(ChargebeeError) -> JSON {
        let invoice = try invoice(id)
        guard invoice["dunning_status"].string == "in_progress" else { throw .invalidState("Invoice is not in dunning") }
        source = "scheduled_job"
        guard let transactionID = collect(id, force: true) else { throw .invalidState("Invoice has no amount due") }
        emitPayment(transactionID, invoiceID: id)
        return ["invoice": invoices[id]!, "transaction": transactions[transactionID]!]
    }

    /// Dunning ends without payment: the invoice becomes `not_paid`, and (by site setting) the subscription is
    /// cancelled.
    mutating func exhaustDunning(_ id: String) throws(ChargebeeError) -> JSON {
        var invoice = try invoice(id)
        guard invoice["dunning_status"].string == "in_progress" else { throw .invalidState("Invoice is not in dunning") }
        source = "scheduled_job"
        invoice["status"] = "not_paid"
        invoice["dunning_status"] = "exhausted"
        invoice["next_retry_at"] = nil
        touch(&invoice)
        invoices[id] = invoice
        emit("invoice_updated", ["invoice": invoice])
        updateDues(subscriptionID: invoice["subscription_id"].string)
        var content: JSON = ["invoice": invoice]
        if settings.dunningEndAction == .cancelSubscription, let subscriptionID = invoice["subscription_id"].string,
            var subscription = subscriptions[subscriptionID], subscription["status"].string != "cancelled"
        {
            subscription["status"] = "cancelled"
            subscription["cancelled_at"] = .int(now)
            subscription["cancel_reason"] = "not_paid"
            subscription["next_billing_at"] = nil
            touch(&subscription)
            subscriptions[subscriptionID] = subscription
            emit(
                "subscription_cancelled",
                ["subscription": subscription, "customer": customers[subscription["customer_id"].string ?? ""] ?? [:]])
            content["subscription"] = subscription
        }
        return content
    }

    /// `POST /invoices/{id}/record_payment`: an offline payment (`transaction[amount]`, `transaction[payment_method]`).
    mutating func recordPayment(_ id: String, _ params: FormBody) throws(ChargebeeError) -> JSON {
        let invoice = try invoice(id)
        guard ["payment_due", "not_paid", "posted"].contains(invoice["status"].string ?? "") else {
            throw .invalidState("Invoice is not in payment due state")
        }
        let method = try params.requiredString("transaction[payment_method]")
        guard ["cash", "check", "bank_transfer", "other", "custom"].contains(method) else {
            throw .paramInvalid("transaction[payment_method]", "invalid value")
        }
        let due = invoice["amount_due"].int ?? 0
        let amount = try params.int("transaction[amount]") ?? due
        guard amount > 0, amount <= due else { throw .paramInvalid("transaction[amount]", "invalid amount") }
        let transactionID = charge(id, amount: amount, succeeded: true, method: method)
        emitPayment(transactionID, invoiceID: id)
        return ["invoice": invoices[id]!, "transaction": transactions[transactionID]!]
    }

    func listInvoices(_ params: FormBody) throws(ChargebeeError) -> JSON {
        let customerID = params.string("customer_id[is]")
        let subscriptionID = params.string("subscription_id[is]")
        let status = params.string("status[is]")
        let updated = try Self.timeFilter(params, "updated_at")
        var rows = invoices.all.filter { invoice in
            (customerID == nil || invoice["customer_id"].string == customerID)
                && (subscriptionID == nil || invoice["subscription_id"].string == subscriptionID)
                && (status == nil || invoice["status"].string == status) && updated(invoice["updated_at"].int ?? 0)
        }
        rows = Self.sorted(rows, params, fields: ["date", "updated_at"], default: "date")
        return try page(rows, key: "invoice", params: params)
    }

    func listTransactions(_ params: FormBody) throws(ChargebeeError) -> JSON {
        let customerID = params.string("customer_id[is]")
        let rows = transactions.all.filter { customerID == nil || $0["customer_id"].string == customerID }.reversed()
        return try page(Array(rows), key: "transaction", params: params)
    }

    // MARK: Credit notes

    /// The unused part of the term's items as a credit note against the term's invoice: refundable when that invoice
    /// was paid (then allocated to `applyTo`, or kept as the customer's refundable credits), an adjustment of its
    /// amount due when it was not.
    mutating func creditPreviousTerm(
        subscription: JSON, old: [ResolvedItem], amount: Int, from: Int, to: Int, applyTo: String?
    ) -> String {
        let subscriptionID = subscription["id"].string ?? ""
        let reference = invoices.all.last { $0["subscription_id"].string == subscriptionID && $0["id"].string != applyTo }
        let lines = old.map { item in
            lineItem(item, amount: 0, from: from, to: to, subscription: subscription, suffix: "Prorated Credits")
        }
        var scaled = lines
        // Spread the credit over the old items' lines in proportion to their amounts.
        let oldTotal = max(1, old.reduce(0) { $0 + $1.amount })
        var left = amount
        for index in scaled.indices {
            let share = index == scaled.count - 1 ? left : amount * old[index].amount / oldTotal
            scaled[index]["amount"] = .int(share)
            scaled[index]["unit_amount"] = .int(old[index].quantity > 0 ? share / old[index].quantity : share)
            left -= share
        }
        let paid = reference?["status"].string == "paid"
        let id = makeCreditNote(
            customerID: subscription["customer_id"].string ?? "", subscriptionID: subscriptionID,
            reference: reference?["id"].string, type: paid || reference == nil ? "refundable" : "adjustment",
            reason: "subscription_change", amount: amount, currency: subscription["currency_code"].string ?? "USD",
            lines: scaled)
        if let applyTo, creditNotes[id]?["type"].string == "refundable" { applyRefundableCredits(to: applyTo) }
        return id
    }

    mutating func makeCreditNote(
        customerID: String, subscriptionID: String?, reference: String?, type: String, reason: String, amount: Int,
        currency: String, lines: [JSON]
    ) -> String {
        creditNoteSequence += 1
        let id = "CN-\(creditNoteSequence)"
        var note: JSON = [
            "id": .string(id), "customer_id": .string(customerID), "subscription_id": .from(subscriptionID),
            "reference_invoice_id": .from(reference), "type": .string(type), "reason_code": .string(reason),
            "status": type == "adjustment" ? "adjusted" : "refund_due", "date": .int(now), "price_type": "tax_exclusive",
            "total": .int(amount), "amount_allocated": .int(type == "adjustment" ? amount : 0), "amount_refunded": 0,
            "amount_available": .int(type == "adjustment" ? 0 : amount),
        ]
        note["generated_at"] = .int(now)
        note["channel"] = "web"
        note["sub_total"] = .int(amount)
        note["round_off_amount"] = 0
        note["fractional_correction"] = 0
        note["deleted"] = false
        note["object"] = "credit_note"
        note["create_reason_code"] = .string(reason)
        note["currency_code"] = .string(currency)
        note["base_currency_code"] = .string(currency)
        note["line_items"] = .array(lines)
        note["taxes"] = []
        note["line_item_taxes"] = []
        note["linked_refunds"] = []
        note["allocations"] = []
        touch(&note)
        creditNotes[id] = note
        if type == "refundable" {
            adjustRefundableCredits(customerID, by: amount)
        } else if let reference, var invoice = invoices[reference] {
            let due = max(0, (invoice["amount_due"].int ?? 0) - amount)
            invoice["amount_adjusted"] = .int((invoice["amount_adjusted"].int ?? 0) + amount)
            invoice["amount_due"] = .int(due)
            invoice["amount_to_collect"] = .int(due)
            invoice["adjustment_credit_notes"] = .array(
                (invoice["adjustment_credit_notes"].array ?? []) + [
                    [
                        "cn_id": .string(id), "cn_reason_code": .string(reason), "cn_date": .int(now),
                        "cn_total": .int(amount), "cn_status": "adjusted",
                    ]
                ])
            if due == 0 {
                invoice["status"] = "paid"
                invoice["paid_at"] = .int(now)
                // A dunning that already ran out stays `exhausted`.
                if let dunning = invoice["dunning_status"].string, dunning != "exhausted" { invoice["dunning_status"] = "stopped" }
                invoice["next_retry_at"] = nil
            }
            touch(&invoice)
            invoices[reference] = invoice
            updateDues(subscriptionID: invoice["subscription_id"].string)
        }
        if let reference, var invoice = invoices[reference], type == "refundable" {
            invoice["issued_credit_notes"] = .array(
                (invoice["issued_credit_notes"].array ?? []) + [
                    [
                        "cn_id": .string(id), "cn_reason_code": .string(reason), "cn_date": .int(now),
                        "cn_total": .int(amount), "cn_status": "refund_due",
                    ]
                ])
            touch(&invoice)
            invoices[reference] = invoice
        }
        return id
    }

    /// `POST /credit_notes`: `reference_invoice_id`, `total`, `type` (`refundable`|`adjustment`), `reason_code`.
    mutating func createCreditNote(_ params: FormBody) throws(ChargebeeError) -> JSON {
        let reference = try params.requiredString("reference_invoice_id")
        guard let invoice = invoices[reference] else { throw .notFound(param: "reference_invoice_id") }
        let type = try params.requiredString("type")
        guard ["refundable", "adjustment"].contains(type) else { throw .paramInvalid("type", "invalid value") }
        let total = try params.int("total") ?? (invoice["total"].int ?? 0)
        let available =
            type == "refundable"
            ? (invoice["amount_paid"].int ?? 0) - issuedRefundable(reference) : (invoice["amount_due"].int ?? 0)
        guard total > 0, total <= available else {
            throw .paramInvalid("total", "cannot exceed the invoice's \(type == "refundable" ? "paid" : "due") amount")
        }
        let reason = params.string("reason_code") ?? "other"
        let id = makeCreditNote(
            customerID: invoice["customer_id"].string ?? "", subscriptionID: invoice["subscription_id"].string,
            reference: reference, type: type, reason: reason, amount: total,
            currency: invoice["currency_code"].string ?? "USD", lines: [creditLine(of: invoice, total, "Credit")])
        emitCreditNoteCreated(id)
        return ["credit_note": creditNotes[id]!, "invoice": invoices[reference]!]
    }

    /// One ad hoc line for a credit note of `total` against `invoice`.
    private mutating func creditLine(of invoice: JSON, _ total: Int, _ description: String) -> JSON {
        var line: JSON = [
            "id": .string(makeID("li_")), "date_from": .int(now), "date_to": .int(now), "unit_amount": .int(total),
            "quantity": 1, "amount": .int(total), "pricing_model": "flat_fee", "is_taxed": false, "tax_amount": 0,
            "object": "line_item", "customer_id": invoice["customer_id"], "description": .string(description),
            "entity_type": "adhoc", "discount_amount": 0, "item_level_discount_amount": 0,
        ]
        line["subscription_id"] = invoice["subscription_id"]
        return line
    }

    /// `POST /invoices/{id}/write_off` (`comment`, ≤ 300 characters): settles what an unpaid invoice (`payment_due`,
    /// `posted` or `not_paid`) still asks for with an adjustment credit note of its `amount_due` (`create_reason_code`
    /// `Write Off`, `reason_code` `write_off`); the invoice is `paid` (dunning stopped), its `write_off_amount` what
    /// was written off. Answers the invoice and the credit note; events `credit_note_created`, `invoice_updated`.
    mutating func writeOffInvoice(_ id: String, _ params: FormBody) throws(ChargebeeError) -> JSON {
        let invoice = try invoice(id)
        guard ["payment_due", "posted", "not_paid"].contains(invoice["status"].string ?? "") else {
            throw .invalidState("Invoice is not in payment due, posted or not paid state")
        }
        guard let due = invoice["amount_due"].int, due > 0 else { throw .invalidState("Invoice has no amount due") }
        try Self.checkComment(params)
        let noteID = makeCreditNote(
            customerID: invoice["customer_id"].string ?? "", subscriptionID: invoice["subscription_id"].string,
            reference: id, type: "adjustment", reason: "write_off", amount: due,
            currency: invoice["currency_code"].string ?? "USD", lines: [creditLine(of: invoice, due, "Write Off")])
        creditNotes[noteID]?["create_reason_code"] = "Write Off"
        if var written = invoices[id] {
            written["write_off_amount"] = .int((written["write_off_amount"].int ?? 0) + due)
            invoices[id] = written
        }
        emitCreditNoteCreated(noteID)
        return ["invoice": invoices[id]!, "credit_note": creditNotes[noteID]!]
    }

    /// `POST /credit_notes/{id}/void` (`comment`, ≤ 300 characters). Refused for a note `refunded` or already `voided`,
    /// and for a refundable note with allocations or refunds (Chargebee asks for those to be removed first). A voided
    /// adjustment gives its amount back to the invoice's `amount_due`, and the invoice is `not_paid` (as Chargebee's
    /// reference says; a dunning in progress stops); a voided refundable note leaves the customer's refundable credits.
    /// Events: `credit_note_updated` (Chargebee has no `credit_note_voided`), then `invoice_updated`.
    mutating func voidCreditNote(_ id: String, _ params: FormBody) throws(ChargebeeError) -> JSON {
        guard var note = creditNotes[id] else { throw .notFound() }
        let status = note["status"].string ?? ""
        guard status != "refunded", status != "voided" else { throw .invalidState("Credit note is already \(status)") }
        let refundable = note["type"].string == "refundable"
        if refundable, (note["amount_allocated"].int ?? 0) > 0 || (note["amount_refunded"].int ?? 0) > 0 {
            throw .invalidState("Remove the credit note's allocations and refunds before voiding it")
        }
        try Self.checkComment(params)
        let amount = note["total"].int ?? 0
        note["status"] = "voided"
        note["voided_at"] = .int(now)
        note["amount_allocated"] = 0
        note["amount_available"] = 0
        touch(&note)
        creditNotes[id] = note
        emit("credit_note_updated", ["credit_note": note])
        if refundable { adjustRefundableCredits(note["customer_id"].string ?? "", by: -amount) }
        if let reference = note["reference_invoice_id"].string, var invoice = invoices[reference] {
            let list = refundable ? "issued_credit_notes" : "adjustment_credit_notes"
            invoice[list] = .array(
                (invoice[list].array ?? []).map { entry in
                    var entry = entry
                    if entry["cn_id"].string == id { entry["cn_status"] = "voided" }
                    return entry
                })
            if !refundable {
                let due = (invoice["amount_due"].int ?? 0) + amount
                invoice["amount_adjusted"] = .int(max(0, (invoice["amount_adjusted"].int ?? 0) - amount))
                if note["create_reason_code"].string == "Write Off" {
                    invoice["write_off_amount"] = .int(max(0, (invoice["write_off_amount"].int ?? 0) - amount))
                }
                invoice["amount_due"] = .int(due)
                invoice["amount_to_collect"] = .int(due)
                // Chargebee: "the associated invoice status changes to not_paid".
                if invoice["status"].string == "paid" { invoice["paid_at"] = nil }
                if invoice["dunning_status"].string == "in_progress" { invoice["dunning_status"] = "stopped" }
                invoice["status"] = "not_paid"
                invoice["next_retry_at"] = nil
            }
            touch(&invoice)
            invoices[reference] = invoice
            updateDues(subscriptionID: invoice["subscription_id"].string)
            emit("invoice_updated", ["invoice": invoice])
        }
        return ["credit_note": note]
    }

    /// Refuses a `comment` longer than Chargebee's 300 characters.
    static func checkComment(_ params: FormBody) throws(ChargebeeError) {
        if let comment = params.string("comment"), comment.count > 300 {
            throw .paramInvalid("comment", "cannot be more than 300 characters")
        }
    }

    /// `credit_note_created`, then `invoice_updated` for the invoice it references: Chargebee sends `invoice_updated`
    /// for "credit note creation" among an invoice's changes (its events reference), and an adjustment note changes
    /// what the invoice asks for (an invoice adjusted to zero is `paid` with no payment).
    mutating func emitCreditNoteCreated(_ id: String) {
        guard let note = creditNotes[id] else { return }
        emit("credit_note_created", ["credit_note": note])
        if let reference = note["reference_invoice_id"].string, let invoice = invoices[reference] {
            emit("invoice_updated", ["invoice": invoice])
        }
    }

    private func issuedRefundable(_ invoiceID: String) -> Int {
        creditNotes.all.filter { $0["reference_invoice_id"].string == invoiceID && $0["type"].string == "refundable" }
            .reduce(0) { $0 + ($1["total"].int ?? 0) }
    }

    /// `POST /credit_notes/{id}/refund`: pays back (part of) what a refundable credit note still holds, to the card of
    /// the invoice's payment.
    mutating func refundCreditNote(_ id: String, _ params: FormBody) throws(ChargebeeError) -> JSON {
        guard var note = creditNotes[id] else { throw .notFound() }
        guard note["type"].string == "refundable", let available = note["amount_available"].int, available > 0 else {
            throw .invalidState("Credit note has nothing left to refund")
        }
        let amount = try params.int("refund_amount") ?? available
        guard amount > 0, amount <= available else { throw .paramInvalid("refund_amount", "invalid amount") }
        let invoiceID = note["reference_invoice_id"].string
        let original = invoiceID.flatMap { invoices[$0] }?["linked_payments"].array?.last {
            $0["txn_status"].string == "success"
        }
        let transactionID = makeID("txn_")
        var transaction: JSON = [
            "id": .string(transactionID), "customer_id": note["customer_id"], "subscription_id": note["subscription_id"],
            "payment_method": "card", "gateway": "chargebee", "type": "refund", "date": .int(now), "amount": .int(amount),
            "status": "success", "settled_at": .int(now), "currency_code": note["currency_code"],
            "base_currency_code": note["currency_code"], "deleted": false, "object": "transaction",
        ]
        transaction["reference_transaction_id"] = original?["txn_id"] ?? .null
        transaction["refunded_txn_id"] = original?["txn_id"] ?? .null
        transaction["linked_invoices"] = []
        transaction["linked_credit_notes"] = [
            [
                "cn_id": .string(id), "applied_amount": .int(amount), "applied_at": .int(now),
                "cn_reason_code": note["reason_code"], "cn_date": note["date"], "cn_total": note["total"],
                "cn_status": .string(amount == available ? "refunded" : "refund_due"),
                "cn_reference_invoice_id": .from(invoiceID),
            ]
        ]
        touch(&transaction)
        transactions[transactionID] = transaction
        note["amount_available"] = .int(available - amount)
        note["amount_refunded"] = .int((note["amount_refunded"].int ?? 0) + amount)
        note["linked_refunds"] = .array(
            (note["linked_refunds"].array ?? []) + [
                [
                    "txn_id": .string(transactionID), "applied_amount": .int(amount), "applied_at": .int(now),
                    "txn_status": "success", "txn_date": .int(now), "txn_amount": .int(amount),
                    "refund_reason_code": .from(params.string("refund_reason_code")),
                ]
            ])
        if amount == available {
            note["status"] = "refunded"
            note["refunded_at"] = .int(now)
        }
        touch(&note)
        creditNotes[id] = note
        adjustRefundableCredits(note["customer_id"].string ?? "", by: -amount)
        var content: JSON = ["transaction": transaction]
        if let invoiceID, let invoice = invoices[invoiceID] { content["invoice"] = invoice }
        content["credit_note"] = note
        content["customer"] = customers[note["customer_id"].string ?? ""] ?? .null
        content["subscription"] = subscriptions[note["subscription_id"].string ?? ""] ?? .null
        emit("payment_refunded", content)
        return ["credit_note": note, "transaction": transaction]
    }

    func listCreditNotes(_ params: FormBody) throws(ChargebeeError) -> JSON {
        let customerID = params.string("customer_id[is]")
        let rows = creditNotes.all.filter { customerID == nil || $0["customer_id"].string == customerID }.reversed()
        return try page(Array(rows), key: "credit_note", params: params)
    }
}
