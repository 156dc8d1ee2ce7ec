import Logging
import WeftCore

extension OdooTarget {
    /// Credits each refund's invoice with `account.move.reversal` (key in the reason, hence in the credit note's `ref`),
    /// trims a partial refund to its amount, posts it and reconciles it: against the invoice when that is still open
    /// (`js_assign_outstanding_line`), else by registering the money paid back on the credit note.
    ///
    /// Every step a refund takes is its own (one reversal, one trim, one payout each), but what the refunds of a batch
    /// share is asked once: the invoices, the credit notes already made, the states read before each step, the
    /// reversal wizards (created in one call), the posting and the external-id bookkeeping. A failure of one refund's
    /// own step is that refund's outcome only.
    func createRefunds(_ refunds: [Refund], logger: Logger) async throws(OdooError) -> [DeliveryOutcome] {
        var outcomes = [DeliveryOutcome?](repeating: nil, count: refunds.count)
        var pending: [(index: Int, refund: Refund, invoiceRef: ExternalRef)] = []
        var withdrawn: [(index: Int, refund: Refund)] = []
        for (index, refund) in refunds.enumerated() {
            if Refund.withdrawnStatuses.contains(refund.status) {
                withdrawn.append((index, refund))
            } else if refund.status != "succeeded" && refund.status != "pending" {
                outcomes[index] = .delivered(record: nil, note: "refund \(refund.status): nothing to credit in Odoo")
            } else if let invoiceRef = refund.invoiceRef {
                pending.append((index, refund, invoiceRef))
            } else {
                outcomes[index] = .reject(
                    DeliveryFailure(kind: .rejected, message: "refund \(refund.ref) names no invoice, so no credit note can be made"))
            }
        }
        if !withdrawn.isEmpty {
            for (entry, outcome) in zip(withdrawn, try await withdrawRefunds(withdrawn.map(\.refund), logger: logger)) {
                outcomes[entry.index] = outcome
            }
        }
        guard !pending.isEmpty else { return outcomes.map { $0! } }
        let invoiceIDs = try await client.recordIDs(
            for: pending.map(\.invoiceRef), model: "account.move", keyField: "ref", context: OdooClient.inactiveToo, logger: logger)
        var items: [RefundItem] = []
        for entry in pending {
            if let invoiceID = invoiceIDs[entry.invoiceRef] {
                items.append(RefundItem(index: entry.index, refund: entry.refund, invoiceID: invoiceID))
            } else {
                outcomes[entry.index] = Self.dependencyMissing("invoice \(entry.invoiceRef) is not in Odoo yet")
            }
        }
        func fail(_ item: RefundItem, _ error: OdooError) {
            outcomes[item.index] = Self.outcome(for: error, logger: item.logger(logger))
        }
        var bindings = try await findCreditNotes(&items, logger: logger)
        bindings += try await reverseInvoices(&items, failed: fail, logger: logger)
        try await client.bindLater(bindings, model: "account.move", logger: logger)
        try await postCreditNotes(&items, failed: fail, logger: logger)
        try await reconcileCreditNotes(items.filter { $0.creditNoteID != nil && !$0.failed }, failed: fail, logger: logger)
        for item in items where outcomes[item.index] == nil {
            guard let creditNoteID = item.creditNoteID else {
                fail(
                    item, OdooError(kind: .invalidResponse, message: "reversal created no credit note", operation: "account.move.reversal"))
                continue
            }
            outcomes[item.index] = .delivered(record: TargetRecordID(model: "account.move", id: String(creditNoteID)), note: nil)
        }
        return outcomes.map { $0! }
    }

    /// A refund on its way to Odoo: its invoice, and its credit note once found or made.
    struct RefundItem {
        var index: Int
        var refund: Refund
        var invoiceID: Int64
        var creditNoteID: Int64?
        /// One of its own steps failed; its outcome says why.
        var failed = false
        var key: String { refund.ref.xmlidName }

        func logger(_ base: Logger) -> Logger {
            var logger = base
            logger[metadataKey: "weft.command.kind"] = "create_refund"
            return logger
        }
    }

    /// The credit notes already made: by external id, else by the key in the `ref` of the invoice's credit notes. Returns
    /// the bindings still to record.
    private func findCreditNotes(_ items: inout [RefundItem], logger: Logger) async throws(OdooError) -> [(name: String, id: Int64)] {
        let bound = try await client.externalIDs(items.map(\.key), model: "account.move", logger: logger)
        let unbound = items.filter { bound[$0.key] == nil }
        var rows: [[String: JSONValue]] = []
        if !unbound.isEmpty {
            rows = try await client.searchRead(
                model: "account.move",
                domain: [
                    ["move_type", "=", "out_refund"],
                    ["reversed_entry_id", "in", .array(Array(Set(unbound.map(\.invoiceID))).sorted().map(JSONValue.int))],
                ],
                fields: ["ref", "reversed_entry_id"], order: "id", logger: logger)
        }
        var bindings: [(name: String, id: Int64)] = []
        for position in items.indices {
            let key = items[position].key
            if let id = bound[key] {
                items[position].creditNoteID = id
            } else if let id = Self.creditNote(in: rows, key: key, invoiceID: items[position].invoiceID) {
                items[position].creditNoteID = id
                bindings.append((key, id))
            }
        }
        return bindings
    }

    /// The credit note among `rows` (credit notes with `ref` and `reversed_entry_id`) that reverses `invoiceID` and
    /// carries `[key]` in its `ref`.
    static func creditNote(in rows: [[String: JSONValue]], key: String, invoiceID: Int64) -> Int64? {
        rows.first { row in
            let reversed = OdooMoves.many2oneID(row["reversed_entry_id"])
            return reversed == invoiceID && row["ref"]?.stringValue?.contains("[\(key)]") == true
        }?["id"]?.intValue
    }

    /// Reverses the invoice of each refund that has no credit note yet: posts draft invoices (one call), creates one
    /// reversal wizard per refund (one call), then runs each. Returns the bindings of the credit notes made.
    private func reverseInvoices(
        _ items: inout [RefundItem], failed: (RefundItem, OdooError) -> Void, logger: Logger
    ) async throws(OdooError) -> [(name: String, id: Int64)] {
        var toReverse = items.indices.filter { items[$0].creditNoteID == nil }
        guard !toReverse.isEmpty else { return [] }
        let invoiceIDs = Array(Set(toReverse.map { items[$0].invoiceID })).sorted()
        let invoices = try await client.read(
            model: "account.move", ids: invoiceIDs, fields: Self.moveFields + ["currency_id"], logger: logger)
        var byID: [Int64: [String: JSONValue]] = [:]
        for invoice in invoices { if let id = invoice["id"]?.intValue { byID[id] = invoice } }
        toReverse = toReverse.filter { position in
            guard let invoice = byID[items[position].invoiceID] else {
                items[position].failed = true
                failed(
                    items[position],
                    OdooError(kind: .missingRecord, message: "invoice vanished from Odoo", operation: "account.move.read"))
                return false
            }
            if invoice["state"]?.stringValue == "draft" && Self.postedOnlyByItsOwnCommand(invoice) {
                items[position].failed = true
                failed(
                    items[position],
                    OdooError(
                        kind: .unavailable,
                        message: "invoice \(items[position].refund.invoiceRef.map(String.init(describing:)) ?? "") is a draft in "
                            + "Odoo, in a currency Odoo may round: only its own command posts it, once Odoo's total is the one billed "
                            + "(replay the invoice's command)",
                        operation: "account.move.read"))
                return false
            }
            return true
        }
        let drafts = invoiceIDs.filter { id in
            byID[id]?["state"]?.stringValue == "draft" && !Self.postedOnlyByItsOwnCommand(byID[id])
        }
        if !drafts.isEmpty { _ = try await client.call(model: "account.move", method: "action_post", ids: drafts, logger: logger) }
        var values: [[String: JSONValue]] = []
        var reversing: [Int] = []
        // A refund twice in the batch is reversed once; its other commands take that credit note.
        var leaders: [String: Int] = [:]
        var followers: [(position: Int, leader: Int)] = []
        for position in toReverse {
            let item = items[position]
            if let leader = leaders[item.key] {
                followers.append((position, leader))
                continue
            }
            leaders[item.key] = position
            let invoice = byID[item.invoiceID]
            guard let journalID = OdooMoves.many2oneID(invoice?["journal_id"]) else {
                items[position].failed = true
                failed(item, OdooError(kind: .invalidResponse, message: "invoice has no journal", operation: "account.move.read"))
                continue
            }
            var reason = "\(item.refund.reason.map { "\($0) " } ?? "")[\(item.key)]"
            switch item.refund.kind {
            case .outOfBand: reason += " \(Self.outOfBandMark)"
            case nil, .refund: reason += " \(Self.paidBackMark)"
            case .credit, .adjustment: break
            }
            values.append([
                "reason": .string(reason), "journal_id": .int(journalID),
                "move_ids": [[6, 0, [.int(item.invoiceID)]]],
            ])
            reversing.append(position)
        }
        guard !values.isEmpty else { return [] }
        let wizards = try await client.create(
            model: "account.move.reversal", values: values,
            context: ["active_model": "account.move", "active_ids": .array(reversing.map { .int(items[$0].invoiceID) })], logger: logger)
        var bindings: [(name: String, id: Int64)] = []
        for (position, wizard) in zip(reversing, wizards) {
            let item = items[position]
            let context: [String: JSONValue] = ["active_model": "account.move", "active_ids": [.int(item.invoiceID)]]
            do {
                let action = try await client.call(
                    model: "account.move.reversal", method: "refund_moves", ids: [wizard], context: context, logger: logger)
                var creditNoteID = action["res_id"]?.intValue
                if creditNoteID == nil {
                    var found = [item]
                    _ = try await findCreditNotes(&found, logger: logger)
                    creditNoteID = found[0].creditNoteID
                }
                items[position].creditNoteID = creditNoteID
                if let creditNoteID { bindings.append((item.key, creditNoteID)) }
            } catch {
                items[position].failed = true
                failed(item, error)
            }
        }
        for (position, leader) in followers {
            items[position].creditNoteID = items[leader].creditNoteID
            items[position].failed = items[leader].failed
            if items[leader].failed {
                failed(items[position], OdooError(kind: .unavailable, message: "the same refund's reversal failed in this batch"))
            }
        }
        return bindings
    }

    /// Trims each draft credit note to its refund's amount (a partial refund) and posts them all (one call; one at a
    /// time if Odoo refuses the lot, so that the refusal is the offending credit note's alone).
    private func postCreditNotes(
        _ items: inout [RefundItem], failed: (RefundItem, OdooError) -> Void, logger: Logger
    ) async throws(OdooError) {
        let ids = Array(Set(items.filter { !$0.failed }.compactMap(\.creditNoteID))).sorted()
        let moves = try await client.read(
            model: "account.move", ids: ids, fields: ["state", "amount_total", "invoice_line_ids"], logger: logger)
        var drafts: [Int64: [String: JSONValue]] = [:]
        for move in moves where move["state"]?.stringValue == "draft" { if let id = move["id"]?.intValue { drafts[id] = move } }
        var toPost: [Int64] = []
        for position in items.indices where !items[position].failed {
            guard let id = items[position].creditNoteID, let move = drafts[id], !toPost.contains(id) else { continue }
            let amount = items[position].refund.credited
            if let total = move["amount_total"]?.doubleValue, abs(total - amount.majorUnits) > OdooMoves.epsilon,
                let lineIDs = move["invoice_line_ids"]?.arrayValue?.compactMap(\.intValue), let first = lineIDs.first
            {
                var commands: [JSONValue] = [
                    [1, .int(first), ["quantity": 1, "price_unit": .double(amount.majorUnits), "discount": 0, "tax_ids": [[6, 0, []]]]]
                ]
                commands += lineIDs.dropFirst().map { [2, .int($0), 0] }
                do {
                    try await client.write(model: "account.move", ids: [id], values: ["invoice_line_ids": .array(commands)], logger: logger)
                } catch {
                    items[position].failed = true
                    failed(items[position], error)
                    continue
                }
            }
            toPost.append(id)
        }
        // A currency of three decimals: Odoo rounds the unit price to its "Product Price" accuracy, so what it made of
        // each draft is read back, and one that credits another amount stays a draft (as an invoice would).
        let finerThanCents = items.indices.filter {
            !items[$0].failed && items[$0].refund.amount.currency.minorUnitDigits > 2
                && items[$0].creditNoteID.map(toPost.contains) == true
        }
        if !finerThanCents.isEmpty {
            let totals = try await amountTotals(of: finerThanCents.compactMap { items[$0].creditNoteID }, logger: logger)
            for position in finerThanCents {
                let id = items[position].creditNoteID!
                let amount = items[position].refund.credited
                guard let total = totals[id], Money.fromMajorUnits(total, currency: amount.currency) != amount else { continue }
                toPost.removeAll { $0 == id }
                items[position].failed = true
                failed(
                    items[position],
                    OdooError(
                        kind: .validation,
                        message: "Odoo computed \(Money.fromMajorUnits(total, currency: amount.currency)) for the credit note of "
                            + "refund \(items[position].refund.ref), not the \(amount) paid back: it rounds unit prices to its "
                            + "\"Product Price\" decimal accuracy. Raise it to \(amount.currency.minorUnitDigits) digits (Settings > "
                            + "Technical > Decimal Accuracy), then replay: the draft is kept, unposted, and trimmed again.",
                        operation: "account.move.read"))
            }
        }
        guard !toPost.isEmpty else { return }
        do {
            _ = try await client.call(model: "account.move", method: "action_post", ids: toPost, logger: logger)
        } catch  where !error.isTransient && toPost.count > 1 {
            for id in toPost {
                do {
                    _ = try await client.call(model: "account.move", method: "action_post", ids: [id], logger: logger)
                } catch {
                    for position in items.indices where items[position].creditNoteID == id {
                        items[position].failed = true
                        failed(items[position], error)
                    }
                }
            }
        }
    }

    /// Settles each posted credit note not settled yet as its kind says. Money paid back (`RefundKind.refund`) is an
    /// outbound payment on the credit note, with the refund's key as memo, whatever Odoo holds of the invoice: the source
    /// only pays back money its invoice was paid with, so an invoice still open in Odoo is missing a payment (dead, or
    /// queued behind the refund), and the credit note never stands in for it (it would hide the missing payment, settle
    /// the invoice twice once the payment lands, and leave a rest that a redelivery would pay out again). An adjustment
    /// is applied to its invoice while that is open; a credit kept on the account, or one credited outside billing,
    /// stays open.
    private func reconcileCreditNotes(
        _ items: [RefundItem], failed: (RefundItem, OdooError) -> Void, logger: Logger
    ) async throws(OdooError) {
        guard !items.isEmpty else { return }
        // Only adjustments look at their invoice.
        let adjusted = items.filter { $0.refund.kind == .adjustment }.map(\.invoiceID)
        let ids = Array(Set(items.map { $0.creditNoteID! } + adjusted)).sorted()
        let moves = try await client.read(
            model: "account.move", ids: ids, fields: ["payment_state", "state", "amount_total", "amount_residual", "currency_id"],
            logger: logger)
        var byID: [Int64: [String: JSONValue]] = [:]
        for move in moves { if let id = move["id"]?.intValue { byID[id] = move } }
        let unentered = try await client.paymentsWithoutEntry(moves.filter { adjusted.contains($0["id"]?.intValue ?? 0) }, logger: logger)
        var paidBack: [RefundItem] = []
        var settled: Set<Int64> = []
        for item in items {
            let creditNoteID = item.creditNoteID!
            let creditNote = byID[creditNoteID]
            guard creditNote?["state"]?.stringValue == "posted", settled.insert(creditNoteID).inserted else { continue }
            if let state = creditNote?["payment_state"]?.stringValue, ["paid", "in_payment", "reversed"].contains(state) {
                // Settled; but a note paid back for less than the refund (an earlier Weft kept the invoice's discount
                // when it trimmed a partial refund) is said, not taken as done.
                if item.refund.kind == nil || item.refund.kind == .refund, Self.payout(of: item.refund.amount, note: creditNote) == nil {
                    failed(item, Self.shortNote(item, creditNote))
                }
                continue
            }
            switch item.refund.kind {
            case .adjustment:
                let invoice = byID[item.invoiceID] ?? [:]
                let invoiceState = invoice["payment_state"]?.stringValue ?? "not_paid"
                // `in_payment` with something still due is paid in part by payments without a journal entry (Odoo
                // Accounting). An adjustment of an invoice Odoo holds as paid stays open for the accountant.
                guard invoiceState == "not_paid" || invoiceState == "partial" || OdooMoves.partlyInPayment(invoice, unentered: unentered)
                else { continue }
                // Like the invoice form's "Add" on an outstanding credit.
                do {
                    _ = try await applyCreditNote(creditNoteID, to: item.invoiceID, logger: logger)
                } catch {
                    failed(item, error)
                }
            case nil, .refund:
                paidBack.append(item)
            case .credit, .outOfBand:
                // Kept on the customer's account until a later invoice uses it (`applyCredit`), or the accountant's.
                continue
            }
        }
        guard !paidBack.isEmpty else { return }
        // A payout registered alone carries the refund's key as memo. (Its external id would be the credit note's: the
        // credit note is what Weft binds.)
        let existing = try await paymentIDs(memos: paidBack.map(\.key), logger: logger)
        // Payouts of whole credit notes on one day share one wizard (one outbound payment per credit note, as for
        // payments); a retry finds the credit note paid. Any other payout has a wizard of its own.
        try await payOutGrowth(paidBack.filter { existing[$0.key] != nil }, notes: byID, failed: failed, logger: logger)
        var inFull: [String: [RefundItem]] = [:]
        var alone: [RefundItem] = []
        for item in paidBack where existing[item.key] == nil {
            if let note = byID[item.creditNoteID!], Self.settles(item.refund.amount, note) {
                inFull[Self.odooDate(item.refund.createdAt), default: []].append(item)
            } else {
                alone.append(item)
            }
        }
        alone += await registerInFull(
            byDate: inFull, move: { $0.creditNoteID! },
            paid: { item, paymentID in
                if paymentID == nil {
                    failed(
                        item,
                        OdooError(
                            kind: .unavailable, message: "Odoo's payment wizard paid no payment of the credit note",
                            operation: "account.payment.register"))
                }
            }, failed: failed, logger: logger)
        for item in alone {
            guard let payout = Self.payout(of: item.refund.amount, note: byID[item.creditNoteID!]) else {
                failed(item, Self.shortNote(item, byID[item.creditNoteID!]))
                continue
            }
            do {
                _ = try await registerThroughWizard(
                    moveID: item.creditNoteID!, amount: payout, date: item.refund.createdAt, memo: item.key,
                    logger: item.logger(logger))
            } catch {
                failed(item, error)
            }
        }
    }

    /// Refunds paid out before that have grown since (Chargebee refunds one credit note in several steps, its
    /// `amount_refunded` growing): what was not paid out yet is, under a memo of its own (`<key>+<refund in minor
    /// units>`), so a redelivery counts it and pays nothing more. A note without room for it is refused with the fix.
    private func payOutGrowth(
        _ items: [RefundItem], notes: [Int64: [String: JSONValue]], failed: (RefundItem, OdooError) -> Void, logger: Logger
    ) async throws(OdooError) {
        guard !items.isEmpty else { return }
        let field = try await client.paymentMemoField(logger: logger)
        let cancelled = try await client.paymentCancelledState(logger: logger)
        let keys = Array(Set(items.map(\.key))).sorted()
        let terms: [JSONValue] = keys.flatMap { key -> [JSONValue] in
            [[.string(field), "=", .string(key)], [.string(field), "=like", .string(OdooClient.likeEscaped(key) + "+%")]]
        }
        let rows = try await client.searchRead(
            model: "account.payment",
            domain: .array([["payment_type", "=", "outbound"], ["state", "!=", .string(cancelled)]] + OdooClient.anyOf(terms)),
            fields: [field, "amount", "currency_id"], order: "id", logger: logger)
        for item in items {
            let currency = item.refund.amount.currency
            let paidOut = rows.reduce(Int64(0)) { total, row in
                guard let memo = row[field]?.stringValue, memo == item.key || memo.hasPrefix(item.key + "+"),
                    let amount = Self.heldAmount(row), amount.currency == currency
                else { return total }
                return total + amount.amountMinor
            }
            let rest = Money(amountMinor: item.refund.amount.amountMinor - paidOut, currency: currency)
            guard rest.amountMinor > 0 else { continue }
            guard Self.payout(of: rest, note: notes[item.creditNoteID!]) == rest else {
                failed(item, Self.shortNote(item, notes[item.creditNoteID!]))
                continue
            }
            do {
                _ = try await registerThroughWizard(
                    moveID: item.creditNoteID!, amount: rest, date: item.refund.createdAt,
                    memo: "\(item.key)+\(item.refund.amount.amountMinor)", logger: item.logger(logger))
            } catch {
                failed(item, error)
            }
        }
    }

    /// The refusal of a credit note that credits less than its refund paid back.
    static func shortNote(_ item: RefundItem, _ note: [String: JSONValue]?) -> OdooError {
        let total = note?["amount_total"]?.doubleValue.map { Money.fromMajorUnits($0, currency: item.refund.amount.currency) }
        return OdooError(
            kind: .validation,
            message: "the credit note of refund \(item.refund.ref) credits \(total.map(String.init(describing:)) ?? "less"), "
                + "less than the \(item.refund.amount) paid back: reset it to draft and correct its lines (or raise the \"Product "
                + "Price\" decimal accuracy if Odoo rounded them), then replay",
            operation: "account.move.read")
    }

    /// What is paid back on a credit note (read with `amount_total`, `amount_residual` and `currency_id`) for a refund
    /// of `amount`: the refund, or what is left open of the note when that is less because part of it was reconciled
    /// (a note an earlier Weft applied in part to its open invoice): a redelivery never pays out more than the note
    /// still owes. `nil` when the note itself totals less than the refund: paying out its residual would book less
    /// money back than went back, so that is refused instead.
    static func payout(of amount: Money, note: [String: JSONValue]?) -> Money? {
        guard let note, note["currency_id"]?.arrayValue?.last?.stringValue == amount.currency.rawValue else { return amount }
        if let total = note["amount_total"]?.doubleValue,
            Money.fromMajorUnits(total, currency: amount.currency).amountMinor < amount.amountMinor
        {
            return nil
        }
        guard let residual = note["amount_residual"]?.doubleValue, residual >= OdooMoves.epsilon else { return amount }
        let open = Money.fromMajorUnits(residual, currency: amount.currency)
        return open.amountMinor < amount.amountMinor ? open : amount
    }

    /// The customer's credit pays what no payment covered of a paid invoice: after its payments are in Odoo, the rest is
    /// reconciled with the partner's open credit notes (those the source names first, then the oldest), like the
    /// invoice form's "Add" on an outstanding credit. Waits (retries) while a payment or a named credit note is not in
    /// Odoo yet, so it never takes more credit than the source applied.
    func applyCredit(_ credit: InvoiceCredit, logger: Logger) async throws(OdooError) -> DeliveryOutcome {
        guard let invoiceID = try await invoiceID(for: credit.invoiceRef, logger: logger) else {
            return Self.dependencyMissing("invoice \(credit.invoiceRef) is not in Odoo yet")
        }
        func invoice() async throws(OdooError) -> [String: JSONValue]? {
            try await client.read(
                model: "account.move", ids: [invoiceID],
                fields: ["state", "payment_state", "amount_residual", "partner_id", "currency_id"],
                logger: logger
            ).first
        }
        guard var current = try await invoice() else { return Self.dependencyMissing("invoice \(credit.invoiceRef) vanished") }
        switch current["state"]?.stringValue {
        case "posted": break
        case "cancel": return .delivered(record: nil, note: "invoice cancelled in Odoo; no credit applied")
        default: return Self.dependencyMissing("invoice \(credit.invoiceRef) is not posted yet")
        }
        // Payments without a journal entry (Odoo Accounting) leave the residual whole: what they cover is not due. A
        // credit note applied below does not change them.
        let unentered = try await client.paymentsWithoutEntry([current], logger: logger)[invoiceID]
        func residual(_ move: [String: JSONValue]) -> Double { OdooMoves.amountDue(move, less: unentered) }
        let record = TargetRecordID(model: "account.move", id: String(invoiceID))
        if residual(current) < OdooMoves.epsilon { return .delivered(record: record, note: nil) }
        if residual(current) > credit.amount.majorUnits + OdooMoves.epsilon {
            return Self.dependencyMissing(
                "invoice \(credit.invoiceRef) still has \(residual(current)) due in Odoo, more than the credit applied "
                    + "(\(credit.amount.majorUnits)): its payments are not all registered yet")
        }
        var noteIDs: [Int64] = []
        if !credit.creditRefs.isEmpty {
            let keys = credit.creditRefs.map(\.xmlidName)
            let found = try await client.externalIDs(keys, model: "account.move", logger: logger)
            for (ref, key) in zip(credit.creditRefs, keys) {
                guard let id = found[key] else { return Self.dependencyMissing("credit note \(ref) is not in Odoo yet") }
                noteIDs.append(id)
            }
        }
        guard let partner = OdooMoves.many2oneID(current["partner_id"]) else {
            throw OdooError(kind: .invalidResponse, message: "invoice has no partner", operation: "account.move.read")
        }
        let open = try await client.searchRead(
            model: "account.move",
            domain: [
                ["move_type", "=", "out_refund"], ["state", "=", "posted"], ["partner_id", "=", .int(partner)],
                ["payment_state", "in", ["not_paid", "partial"]],
            ],
            fields: ["id", "ref"], order: "date, id", logger: logger)
        let spendable = open.filter(Self.isSpendable)
        noteIDs += spendable.compactMap { $0["id"]?.intValue }.filter { !noteIDs.contains($0) }
        for noteID in noteIDs {
            guard try await applyCreditNote(noteID, to: invoiceID, logger: logger) else { continue }
            guard let after = try await invoice() else { break }
            current = after
            if residual(current) < OdooMoves.epsilon { return .delivered(record: record, note: nil) }
        }
        return Self.dependencyMissing(
            "invoice \(credit.invoiceRef) still has \(residual(current)) due in Odoo and the customer has no open credit note "
                + "to settle it with yet")
    }

    /// What the `ref` of a credit note credited outside billing (`RefundKind.outOfBand`) carries after its key.
    static let outOfBandMark = "(credited outside billing)"

    /// What the `ref` of a credit note of money paid back (`RefundKind.refund`) carries after its key.
    static let paidBackMark = "(paid back)"

    /// Whether an open credit note (read with `ref`) is the customer's balance, which `applyCredit` may spend on an
    /// invoice the source did not name it for. A note credited outside billing is the accountant's to settle. A note of
    /// money paid back is the payout's: spent before the payout is registered, the payout would find less open than
    /// went back. What such a note keeps after its payout (a Chargebee note refunded in part) is spent only where the
    /// source names it (Chargebee lists the notes it applies), since Chargebee may still refund more of it, a payout
    /// that then needs it open.
    static func isSpendable(_ note: [String: JSONValue]) -> Bool {
        let ref = note["ref"]?.stringValue ?? ""
        return !ref.contains(outOfBandMark) && !ref.contains(paidBackMark)
    }

    /// Takes back the credit notes of refunds that no longer stand (a voided credit note; a refund that failed or was
    /// canceled after it succeeded): the payout registered on each is cancelled, then the credit note itself
    /// (`button_draft`, which unreconciles it from its invoice, then `button_cancel`), as an accountant cancels a credit
    /// note booked in error. A refund with no credit note in Odoo has nothing to take back.
    private func withdrawRefunds(_ refunds: [Refund], logger: Logger) async throws(OdooError) -> [DeliveryOutcome] {
        let keys = refunds.map(\.ref.xmlidName)
        var found = try await client.externalIDs(keys, model: "account.move", logger: logger)
        // A credit note made but not bound yet (a crash between the reversal and its bookkeeping) carries its key: one
        // search for all of them.
        let unbound = Set(keys).filter { found[$0] == nil }.sorted()
        if !unbound.isEmpty {
            let rows = try await client.searchRead(
                model: "account.move",
                domain: .array(
                    [["move_type", "=", "out_refund"]]
                        + OdooClient.anyOf(unbound.map { ["ref", "ilike", .string("[\($0)]")] })),
                fields: ["ref"], order: "id", logger: logger)
            for key in unbound {
                found[key] = rows.first { $0["ref"]?.stringValue?.contains("[\(key)]") == true }?["id"]?.intValue
            }
        }
        let noteIDs = Array(Set(found.values)).sorted()
        guard !noteIDs.isEmpty else {
            return refunds.map { .delivered(record: nil, note: "refund \($0.status): no credit note in Odoo to take back") }
        }
        let moves = try await client.read(model: "account.move", ids: noteIDs, fields: ["state", "partner_id"], logger: logger)
        // The payouts: a payout registered alone carries the refund's key as memo; one of a wizard shared with other
        // credit notes has Odoo's memo, and is found by the credit note it paid among its partner's outbound payments.
        var payoutIDs = Set(try await paymentIDs(memos: keys.filter { found[$0] != nil }, logger: logger).values.map(\.id))
        let partners = Array(Set(moves.compactMap { OdooMoves.many2oneID($0["partner_id"]) })).sorted()
        if !partners.isEmpty {
            let cancelled = try await client.paymentCancelledState(logger: logger)
            let outbound = try await client.searchRead(
                model: "account.payment",
                domain: [
                    ["payment_type", "=", "outbound"], ["partner_id", "in", .array(partners.map(JSONValue.int))],
                    ["state", "!=", .string(cancelled)],
                ],
                fields: ["reconciled_invoice_ids"], order: "id", logger: logger)
            let notes = Set(noteIDs)
            for row in outbound {
                let paid = (row["reconciled_invoice_ids"]?.arrayValue ?? []).compactMap(\.intValue)
                if let id = row["id"]?.intValue, paid.contains(where: notes.contains) { payoutIDs.insert(id) }
            }
        }
        if !payoutIDs.isEmpty {
            _ = try await client.call(model: "account.payment", method: "action_cancel", ids: payoutIDs.sorted(), logger: logger)
        }
        let posted = moves.filter { $0["state"]?.stringValue == "posted" }.compactMap { $0["id"]?.intValue }
        if !posted.isEmpty { _ = try await client.call(model: "account.move", method: "button_draft", ids: posted, logger: logger) }
        let open = moves.filter { $0["state"]?.stringValue != "cancel" }.compactMap { $0["id"]?.intValue }
        if !open.isEmpty { _ = try await client.call(model: "account.move", method: "button_cancel", ids: open, logger: logger) }
        return zip(refunds, keys).map { refund, key in
            guard let id = found[key] else {
                return .delivered(record: nil, note: "refund \(refund.status): no credit note in Odoo to take back")
            }
            return .delivered(
                record: TargetRecordID(model: "account.move", id: String(id)), note: "credit note cancelled: refund \(refund.status)")
        }
    }

    /// Applies credit note `noteID`'s open receivable line to invoice `invoiceID`, like the invoice form's "Add" on an
    /// outstanding credit (`js_assign_outstanding_line`). `false` when the credit note has no open receivable left.
    private func applyCreditNote(_ noteID: Int64, to invoiceID: Int64, logger: Logger) async throws(OdooError) -> Bool {
        let lines = try await client.searchRead(
            model: "account.move.line",
            domain: [
                ["move_id", "=", .int(noteID)], ["account_id.account_type", "=", "asset_receivable"], ["reconciled", "=", false],
            ],
            fields: ["id"], limit: 1, logger: logger)
        guard let lineID = lines.first?["id"]?.intValue else { return false }
        _ = try await client.call(
            model: "account.move", method: "js_assign_outstanding_line", ids: [invoiceID], params: ["line_id": .int(lineID)],
            logger: logger)
        return true
    }
}
