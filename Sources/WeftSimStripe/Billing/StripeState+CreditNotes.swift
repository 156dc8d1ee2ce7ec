extension StripeState {
    // MARK: Credit notes

    private static let creditNoteFields: Set<String> = [
        "amount", "credit_amount", "effective_at", "email_type", "expand", "invoice", "lines", "memo", "metadata",
        "out_of_band_amount", "reason", "refund", "refund_amount", "refunds",
    ]
    static let creditNoteReasons = ["duplicate", "fraudulent", "order_change", "product_unsatisfactory"]

    /// `POST /v1/credit_notes`: credits a finalized invoice, as Stripe documents it. The note first lowers what the
    /// open invoice still asks for (`amount_remaining` and `amount_due`, not below zero: `pre_payment_amount`); the
    /// rest (`post_payment_amount`) must be exactly what it refunds (`refund_amount`, a new refund of the invoice's
    /// charge, or linked `refunds`), credits to the customer's balance (`credit_amount`) and records as credited outside
    /// Stripe (`out_of_band_amount`). An open invoice brought to zero is paid with nothing charged. All checks run
    /// before anything changes, so a refused note leaves every object and the event log as they were.
    mutating func createCreditNote(_ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(Self.creditNoteFields)
        let invoiceID = try params.requiredString("invoice")
        let invoice = try require(\.invoices, invoiceID, kind: "invoice", param: "invoice")
        let status = invoice["status"].string ?? ""
        guard status == "open" || status == "paid" else {
            throw StripeError.invalidRequest(
                "Credit notes can only be issued for open or paid invoices; invoice \(invoiceID) is \(status).", param: "invoice")
        }
        let currency = invoice["currency"].string ?? settings.defaultCurrency
        let lines = try creditNoteLines(params, invoice: invoice)
        let amount = try params.int("amount")
        let linesTotal = lines.reduce(0) { $0 + ($1["amount"].int ?? 0) }
        if let amount, !lines.isEmpty, amount != linesTotal {
            throw StripeError.invalidRequest(
                "The amount (\(amount)) does not match the sum of the lines (\(linesTotal)); give one or make them agree.",
                param: "amount")
        }
        guard let total = amount ?? (lines.isEmpty ? nil : linesTotal) else {
            throw StripeError.invalidRequest(
                "One of amount or lines must be provided to create a credit note.", code: "parameter_missing", param: "amount")
        }
        guard total > 0 else {
            throw StripeError.invalidRequest("The credit note's amount must be a positive integer.", param: "amount")
        }
        let credited = creditNotes.newestFirst.filter { $0["invoice"].string == invoiceID && $0["status"].string == "issued" }
            .reduce(0) { $0 + ($1["total"].int ?? 0) }
        let invoiceTotal = invoice["total"].int ?? 0
        guard credited + total <= invoiceTotal else {
            throw StripeError.invalidRequest(
                "The credit notes of an invoice cannot exceed its total: \(Self.formatMoney(invoiceTotal - credited, currency)) "
                    + "is left to credit on invoice \(invoiceID).", param: "amount")
        }
        let remaining = status == "open" ? invoice["amount_remaining"].int ?? 0 : 0
        let pre = min(total, remaining)
        let post = total - pre
        if settings.usesPreBasilInvoiceShape, pre > 0, post > 0 {
            throw StripeError.invalidRequest(
                "The credit note (\(total)) exceeds the open invoice's amount remaining (\(remaining)).", param: "amount")
        }
        let refundAmount = try nonNegative(params, "refund_amount")
        let creditAmount = try nonNegative(params, "credit_amount")
        let outOfBand = try params.int("out_of_band_amount")
        if let outOfBand, outOfBand < 0 { throw StripeError.invalidInteger("out_of_band_amount", String(outOfBand)) }
        let linked = try linkedRefunds(params, invoiceID: invoiceID)
        let refunded = refundAmount + linked.reduce(0) { $0 + $1.amount }
        let settled = refunded + creditAmount + (outOfBand ?? 0)
        if post == 0, settled > 0 {
            throw StripeError.invalidRequest(
                "This credit note is all taken off the open invoice's amount remaining, so refund_amount, refunds, "
                    + "credit_amount and out_of_band_amount must not be given.", param: "refund_amount")
        }
        if post > 0, settled != post {
            throw StripeError.invalidRequest(
                "The sum of refund_amount, refunds, credit_amount and out_of_band_amount (\(settled)) must equal the "
                    + "amount of the credit note after payment (\(post)).", param: "refund_amount")
        }
        let chargeID = refundAmount > 0 ? refundableCharge(invoiceID: invoiceID, amount: refundAmount) : nil
        if refundAmount > 0, chargeID == nil {
            throw StripeError.invalidRequest(
                "Invoice \(invoiceID) has no charge with \(Self.formatMoney(refundAmount, currency)) left to refund.",
                param: "refund_amount")
        }
        let reason = try params.enumValue("reason", Self.creditNoteReasons)
        let effectiveAt = try params.int("effective_at")
        let memo = try params.string("memo")
        var metadata: JSON = ["metadata": [:]]
        try params.applyMetadata(to: &metadata)

        // Checked: from here on nothing fails.
        let id = ids.make("cn")
        var refunds = linked.map { refund -> JSON in
            ["amount_refunded": .int(refund.amount), "payment_record_refund": nil, "refund": .string(refund.id), "type": "refund"]
        }
        if let chargeID {
            let refund = issueRefund(
                chargeID: chargeID, amount: refundAmount, reason: reason == "duplicate" || reason == "fraudulent" ? reason : nil)
            refunds.append(
                ["amount_refunded": .int(refundAmount), "payment_record_refund": nil, "refund": refund["id"], "type": "refund"])
        }
        var balanceTransaction: JSON = nil
        if creditAmount > 0, let customerID = invoice["customer"].string {
            balanceTransaction = .string(ids.make("cbtxn"))
            update(\.customers, customerID, event: "customer.updated") { customer in
                customer["balance"] = .int((customer["balance"].int ?? 0) - creditAmount)
            }
        }
        adjustInvoice(invoiceID, pre: pre, post: post)
        let sequence = creditNotes.newestFirst.filter { $0["invoice"].string == invoiceID }.count + 1
        let number = "\(invoice["number"].string ?? invoiceID)-CN-\(sequence < 10 ? "0" : "")\(sequence)"
        let note: JSON = [
            "id": .string(id), "object": "credit_note", "amount": .int(total), "amount_shipping": 0, "created": .int(now),
            "currency": .string(currency), "customer": invoice["customer"], "customer_account": nil,
            "customer_balance_transaction": balanceTransaction, "discount_amount": 0, "discount_amounts": [],
            "effective_at": .int(effectiveAt ?? now), "invoice": .string(invoiceID),
            "lines": [
                "object": "list",
                "data": .array(
                    lines.map { line in
                        var line = line
                        line["id"] = .string(ids.make("cnli"))
                        return line
                    }), "has_more": false, "total_count": .int(lines.count), "url": .string("/v1/credit_notes/\(id)/lines"),
            ],
            "livemode": false, "memo": .from(memo), "metadata": metadata["metadata"], "number": .string(number),
            "out_of_band_amount": .from(outOfBand), "pdf": .string("https://pay.stripe.com/credit_notes/acct_weftsim/test_\(id)/pdf"),
            "post_payment_amount": .int(post), "pre_payment_amount": .int(pre), "pretax_credit_amounts": [],
            "reason": .from(reason), "refunds": .array(refunds), "shipping_cost": nil, "status": "issued",
            "subtotal": .int(total), "subtotal_excluding_tax": .int(total), "total": .int(total),
            "total_excluding_tax": .int(total), "total_taxes": [],
            "type": .string(pre == 0 ? "post_payment" : post == 0 ? "pre_payment" : "mixed"), "voided_at": nil,
        ]
        creditNotes[id] = note
        emit("credit_note.created", rendered(creditNote: note))
        return rendered(creditNote: note)
    }

    /// `POST /v1/credit_notes/:id/void`: reverses the note's adjustments — the invoice asks again for what the note
    /// took off it, and the customer's balance loses the credit. The simulator's reading of Stripe (not confirmed
    /// there): a note whose money went back (refunds) cannot be voided, nor one that took part of an invoice that is no
    /// longer open.
    mutating func voidCreditNote(_ id: String) throws -> JSON {
        let note = try require(\.creditNotes, id, kind: "credit_note")
        guard note["status"].string == "issued" else {
            throw StripeError.invalidRequest("Credit note \(id) is already void.")
        }
        let refunded = (note["refunds"].array ?? []).reduce(0) { $0 + ($1["amount_refunded"].int ?? 0) }
        guard refunded == 0 else {
            throw StripeError.invalidRequest("Credit note \(id) refunded money, so it cannot be voided.")
        }
        let invoiceID = note["invoice"].string ?? ""
        let pre = note["pre_payment_amount"].int ?? 0
        let post = note["post_payment_amount"].int ?? 0
        if pre > 0, invoices[invoiceID]?["status"].string != "open" {
            throw StripeError.invalidRequest(
                "Credit note \(id) lowered invoice \(invoiceID), which is no longer open, so it cannot be voided.")
        }
        let credit = post - (note["out_of_band_amount"].int ?? 0)
        if credit > 0, let customerID = note["customer"].string {
            update(\.customers, customerID, event: "customer.updated") { customer in
                customer["balance"] = .int((customer["balance"].int ?? 0) + credit)
            }
        }
        adjustInvoice(invoiceID, pre: -pre, post: -post)
        let now = self.now
        let voided = update(\.creditNotes, id, event: nil) { note in
            note["status"] = "void"
            note["voided_at"] = .int(now)
        }
        emit("credit_note.voided", rendered(creditNote: voided))
        return rendered(creditNote: voided)
    }

    /// `POST /v1/credit_notes/:id`: only `memo` and `metadata` change.
    mutating func updateCreditNote(_ id: String, _ params: FormParams.Node) throws -> JSON {
        try params.rejectUnknown(["expand", "memo", "metadata"])
        let before = try require(\.creditNotes, id, kind: "credit_note")
        let memo = try params.string("memo")
        let updated = try update(\.creditNotes, id, event: nil) { note in
            if let memo { note["memo"] = .string(memo) }
            try params.applyMetadata(to: &note)
        }
        if let previous = updated.previousAttributes(from: before) {
            emit("credit_note.updated", rendered(creditNote: updated), previous: previous)
        }
        return rendered(creditNote: updated)
    }

    func retrieveCreditNote(_ id: String) throws -> JSON {
        rendered(creditNote: try require(\.creditNotes, id, kind: "credit_note"))
    }

    func listCreditNotes(_ params: FormParams.Node) throws -> JSON {
        let invoice = try params.string("invoice")
        let customer = try params.string("customer")
        let items = creditNotes.newestFirst.filter {
            (invoice == nil || $0["invoice"].string == invoice) && (customer == nil || $0["customer"].string == customer)
        }
        return try list(items.map(rendered(creditNote:)), url: "/v1/credit_notes", params: params)
    }

    func listCreditNoteLines(_ id: String, _ params: FormParams.Node) throws -> JSON {
        let note = try require(\.creditNotes, id, kind: "credit_note")
        let lines = (note["lines"]["data"].array ?? []).map(rendered(creditNoteLine:))
        return try list(lines, url: "/v1/credit_notes/\(id)/lines", params: params)
    }

    /// A stored note (kept in the current shape) as the configured API version renders it: before `2025-03-31.basil`
    /// there is no split into pre- and post-payment amounts, one `refund` instead of `refunds`, and `tax_amounts`
    /// (the 2023-08-16 reference's shape).
    func rendered(creditNote note: JSON) -> JSON {
        guard settings.usesPreBasilInvoiceShape, case .object(var members) = note else { return note }
        for key in ["pre_payment_amount", "post_payment_amount", "refunds", "total_taxes", "pretax_credit_amounts", "customer_account"] {
            members[key] = nil
        }
        members["refund"] = note["refunds"][0]["refund"]
        members["tax_amounts"] = []
        var rendered = JSON.object(members)
        rendered["lines"]["data"] = .array((note["lines"]["data"].array ?? []).map(rendered(creditNoteLine:)))
        return rendered
    }

    /// A stored note line as the configured API version renders it: before `2025-03-31.basil` a line has
    /// `tax_amounts` and the amounts excluding tax instead of `taxes`, `pretax_credit_amounts` and `metadata`.
    func rendered(creditNoteLine line: JSON) -> JSON {
        guard settings.usesPreBasilInvoiceShape, case .object(var members) = line else { return line }
        for key in ["taxes", "pretax_credit_amounts", "metadata"] { members[key] = nil }
        members["amount_excluding_tax"] = line["amount"]
        members["tax_amounts"] = []
        let unitAmount = line["unit_amount_decimal"].string ?? String((line["amount"].int ?? 0) / max(1, line["quantity"].int ?? 1))
        members["unit_amount_excluding_tax"] = .string(unitAmount)
        return .object(members)
    }

    // MARK: Helpers

    private func nonNegative(_ params: FormParams.Node, _ key: String) throws -> Int {
        let value = try params.int(key) ?? 0
        if value < 0 { throw StripeError.invalidInteger(key, String(value)) }
        return value
    }

    /// The note's lines from `lines[N]`: `custom_line_item` (`unit_amount` × `quantity`, `description`) or
    /// `invoice_line_item` (one of the invoice's lines, for `amount` or `quantity` of its unit amount).
    private func creditNoteLines(_ params: FormParams.Node, invoice: JSON) throws -> [JSON] {
        guard let nodes = try params.hashList("lines") else { return [] }
        let invoiceLines = invoice["lines"]["data"].array ?? []
        return try nodes.enumerated().map { index, node in
            let param = "lines[\(index)]"
            let type = try node.enumValue("type", ["custom_line_item", "invoice_line_item"], param: "\(param)[type]")
            let quantity = try node.int("quantity", param: "\(param)[quantity]")
            if let quantity, quantity <= 0 { throw StripeError.invalidInteger("\(param)[quantity]", String(quantity)) }
            var line: JSON = [
                "object": "credit_note_line_item", "amount": 0, "description": nil, "discount_amount": 0, "discount_amounts": [],
                "livemode": false, "metadata": [:], "pretax_credit_amounts": [], "quantity": .from(quantity),
                "tax_rates": [], "taxes": [], "type": .from(type), "unit_amount": nil, "unit_amount_decimal": nil,
            ]
            switch type {
            case "custom_line_item":
                guard let unitAmount = try node.int("unit_amount", param: "\(param)[unit_amount]") else {
                    throw StripeError.missingParam("\(param)[unit_amount]")
                }
                guard let description = try node.string("description", param: "\(param)[description]"), !description.isEmpty else {
                    throw StripeError.missingParam("\(param)[description]")
                }
                line["amount"] = .int(unitAmount * (quantity ?? 1))
                line["quantity"] = .int(quantity ?? 1)
                line["unit_amount"] = .int(unitAmount)
                line["unit_amount_decimal"] = .string(String(unitAmount))
                line["description"] = .string(description)
            case "invoice_line_item":
                let lineID = try node.requiredString("invoice_line_item", param: "\(param)[invoice_line_item]")
                guard let source = invoiceLines.first(where: { $0["id"].string == lineID }) else {
                    throw StripeError.missing("invoice line item", lineID, param: "\(param)[invoice_line_item]")
                }
                // Stripe credits a discounted line net of its discounts (the note line's `discount_amounts`); the
                // simulator does not work that out, so it refuses rather than credit a wrong amount.
                if (source["discount_amounts"].array ?? []).contains(where: { ($0["amount"].int ?? 0) != 0 }) {
                    throw Self.notImplemented("\(param)[invoice_line_item]", on: "POST /v1/credit_notes for a discounted line")
                }
                let sourceQuantity = max(1, source["quantity"].int ?? 1)
                let sourceAmount = source["amount"].int ?? 0
                let amount = try node.int("amount", param: "\(param)[amount]") ?? quantity.map { sourceAmount / sourceQuantity * $0 }
                guard let amount, amount > 0, amount <= sourceAmount else {
                    throw StripeError.invalidRequest(
                        "Give \(param)[amount] or \(param)[quantity], at most the invoice line's own (\(sourceAmount)).",
                        param: "\(param)[amount]")
                }
                line["amount"] = .int(amount)
                line["quantity"] = .int(quantity ?? 1)
                line["description"] = source["description"]
                line["invoice_line_item"] = .string(lineID)
            default:
                throw StripeError.missingParam("\(param)[type]")
            }
            return line
        }
    }

    /// Existing refunds a note links (`refunds[N][refund]`, `refunds[N][amount_refunded]`; `refund` before basil): each a
    /// succeeded refund of one of the invoice's charges that no other note links yet.
    private func linkedRefunds(_ params: FormParams.Node, invoiceID: String) throws -> [(id: String, amount: Int)] {
        var requested: [(id: String, amount: Int?, param: String)] = []
        if let id = try params.string("refund"), !id.isEmpty { requested.append((id, nil, "refund")) }
        for (index, node) in (try params.hashList("refunds") ?? []).enumerated() {
            let param = "refunds[\(index)]"
            requested.append(
                (
                    try node.requiredString("refund", param: "\(param)[refund]"),
                    try node.int("amount_refunded", param: "\(param)[amount_refunded]"), param
                ))
        }
        let charges = Set(invoiceCharges(invoiceID))
        let taken = Set(creditNotes.newestFirst.flatMap { ($0["refunds"].array ?? []).compactMap { $0["refund"].string } })
        return try requested.map { entry in
            let refund = try require(\.refunds, entry.id, kind: "refund", param: entry.param)
            guard refund["status"].string == "succeeded", let charge = refund["charge"].string, charges.contains(charge) else {
                throw StripeError.invalidRequest(
                    "Refund \(entry.id) is not a succeeded refund of a payment of invoice \(invoiceID).", param: entry.param)
            }
            guard !taken.contains(entry.id) else {
                throw StripeError.invalidRequest("Refund \(entry.id) is already linked to a credit note.", param: entry.param)
            }
            let amount = entry.amount ?? refund["amount"].int ?? 0
            guard amount > 0, amount <= refund["amount"].int ?? 0 else {
                throw StripeError.invalidRequest(
                    "The amount linked (\(amount)) must be positive and at most refund \(entry.id)'s.", param: entry.param)
            }
            return (entry.id, amount)
        }
    }

    /// The charges that paid `invoiceID`: the latest charge of each succeeded PaymentIntent of its payments.
    func invoiceCharges(_ invoiceID: String) -> [String] {
        var result: [String] = []
        for payment in invoicePayments[invoiceID] ?? [] {
            guard let intentID = payment["payment"]["payment_intent"].string, let intent = paymentIntents[intentID],
                intent["status"].string == "succeeded", let charge = intent["latest_charge"].string
            else {
                if let charge = payment["payment"]["charge"].string { result.append(charge) }
                continue
            }
            result.append(charge)
        }
        if let charge = invoices[invoiceID]?["charge"].string, !result.contains(charge) { result.append(charge) }
        return result
    }

    /// The latest of the invoice's charges with `amount` left to refund.
    private func refundableCharge(invoiceID: String, amount: Int) -> String? {
        invoiceCharges(invoiceID).last { id in
            guard let charge = charges[id], charge["status"].string == "succeeded" else { return false }
            return (charge["amount_captured"].int ?? 0) - (charge["amount_refunded"].int ?? 0) >= amount
        }
    }

    /// Applies a note's parts to its invoice (negative: a void takes them back): `amount_remaining` and `amount_due`
    /// move by the pre-payment part, the credit-note totals by both. The invoice's own payment follows what is left:
    /// an open invoice brought to zero is paid with nothing charged (its own payment and PaymentIntent canceled),
    /// otherwise its unpaid PaymentIntent asks for the new `amount_remaining`.
    private mutating func adjustInvoice(_ invoiceID: String, pre: Int, post: Int) {
        let now = self.now
        let legacyShape = settings.usesPreBasilInvoiceShape
        var paid = false
        let invoice = update(\.invoices, invoiceID, event: "invoice.updated") { invoice in
            invoice["pre_payment_credit_notes_amount"] = .int((invoice["pre_payment_credit_notes_amount"].int ?? 0) + pre)
            invoice["post_payment_credit_notes_amount"] = .int((invoice["post_payment_credit_notes_amount"].int ?? 0) + post)
            guard pre != 0 else { return }
            invoice["amount_due"] = .int(max(0, (invoice["amount_due"].int ?? 0) - pre))
            invoice["amount_remaining"] = .int(max(0, (invoice["amount_remaining"].int ?? 0) - pre))
            if invoice["status"].string == "open", invoice["amount_remaining"].int == 0 {
                paid = true
                if legacyShape { invoice["paid"] = true }
                invoice["status"] = "paid"
                invoice["status_transitions"]["paid_at"] = .int(now)
                invoice["next_payment_attempt"] = nil
                invoice["auto_advance"] = false
            }
        }
        if pre != 0 { ownPaymentFollows(invoiceID: invoiceID, remaining: invoice["amount_remaining"].int ?? 0) }
        if paid { invoicePaidByCredit(invoice) }
    }

    private mutating func invoicePaidByCredit(_ invoice: JSON) {
        emit("invoice.paid", invoice)
        if let subscriptionID = invoice["subscription"].string, let id = invoice["id"].string {
            subscriptionInvoicePaid(subscriptionID, invoiceID: id)
        }
    }
}
