import Foundation
import Logging
import WeftCore

extension OdooTarget {
    /// Registers succeeded payments on their posted invoices through `account.payment.register`, unless the invoice is
    /// already paid or the payment exists. The lookups are batched (invoices by external id then `ref`, with the
    /// payments' external ids in the same lookup; existing payments by memo, then by those external ids; invoice
    /// states; external-id bookkeeping). Payments that pay their invoice in full on the same
    /// day share one wizard over all those invoices (one payment per invoice, each memo the invoice's reference, as
    /// "Register payment" on a selection of invoices in Odoo); any other payment (partial, another currency, a second
    /// payment of one invoice) gets a wizard of its own, with its key as `communication` (→ the payment's memo). A
    /// failure of one payment's registration is that payment's outcome only.
    func registerPayments(_ payments: [Payment], logger: Logger) async throws(OdooError) -> [DeliveryOutcome] {
        var outcomes = [DeliveryOutcome?](repeating: nil, count: payments.count)
        var pending: [PendingPayment] = []
        for (index, payment) in payments.enumerated() {
            if payment.status != .succeeded {
                outcomes[index] = .delivered(
                    record: nil, note: "failed payment: nothing to register in Odoo (standing is handled separately)")
            } else if let invoiceRef = payment.invoiceRef {
                pending.append(PendingPayment(index: index, payment: payment, invoiceRef: invoiceRef, invoiceID: 0))
            } else {
                outcomes[index] = .delivered(record: nil, note: "payment without an invoice: nothing to reconcile in Odoo")
            }
        }
        guard !pending.isEmpty else { return outcomes.map { $0! } }
        // The invoices, and the payments already bound to the keys, in one lookup of external ids.
        let (invoices, bound) = try await client.recordIDs(
            for: pending.map(\.invoiceRef), model: "account.move", keyField: "ref", alongWith: pending.map(\.key),
            of: "account.payment", logger: logger)
        var existing = try await paymentIDs(memos: pending.map(\.key), logger: logger)
        // A payment of a shared wizard has its invoice's number as memo: its binding finds it. Not finding it registered
        // a second payment whenever its invoice was open again with it still standing (unreconciled by an accountant).
        let unfound = bound.filter { existing[$0.key] == nil }.mapValues(\.resID)
        if !unfound.isEmpty { existing.merge(try await heldPayments(unfound, logger: logger)) { found, _ in found } }
        let invoiceIDs = Array(Set(pending.compactMap { invoices[$0.invoiceRef] }))
        let moves = try await client.read(
            model: "account.move", ids: invoiceIDs,
            fields: Self.moveFields + ["amount_residual", "currency_id", "invoice_payment_term_id"], logger: logger)
        var moveByID: [Int64: [String: JSONValue]] = [:]
        for move in moves { if let id = move["id"]?.intValue { moveByID[id] = move } }
        let unentered = try await client.paymentsWithoutEntry(moves, logger: logger)

        var bindings: [(name: String, id: Int64)] = []
        // Payments that settle their invoice in full, by payment date; and the ones that need a wizard each.
        var inFull: [String: [PendingPayment]] = [:]
        var settled: Set<Int64> = []
        var alone: [PendingPayment] = []
        for var item in pending {
            guard let invoiceID = invoices[item.invoiceRef] else {
                outcomes[item.index] = Self.dependencyMissing("invoice \(item.invoiceRef) is not in Odoo yet")
                continue
            }
            item.invoiceID = invoiceID
            if let held = existing[item.key] {
                let open = moveByID[invoiceID].map { OdooMoves.amountDue($0, less: unentered[invoiceID]) >= OdooMoves.epsilon } ?? false
                if open, let amount = held.amount, amount.currency == item.payment.amount.currency,
                    amount.amountMinor < item.payment.amount.amountMinor
                {
                    // Registered before for less than the source now says (by an earlier version, or edited in Odoo),
                    // and the invoice is still open: Odoo's books miss money the customer paid. Weft does not top a
                    // payment up on its own; a person decides. (Odoo holding more, or an invoice Odoo already holds
                    // paid, is not a gap: a payment's part can move to a payment of its own, and that finds it paid.)
                    outcomes[item.index] = .reject(
                        DeliveryFailure(
                            kind: .rejected,
                            message: "Odoo holds payment \(held.id) of \(amount) for \(item.payment.ref), which "
                                + "\(item.payment.ref.system) says is \(item.payment.amount), and invoice \(item.invoiceRef) is "
                                + "still open: correct that payment's amount in Odoo (or register the rest), then replay"))
                    continue
                }
                if open, let unapplied = held.unapplied {
                    // Found, but it pays nothing yet: an accountant reset it to draft or unreconciled it, so the invoice
                    // is open in Odoo and paid in the source. A second payment would pay it twice once the first is
                    // reconciled again; the person who took it off decides what happens to it.
                    outcomes[item.index] = .reject(
                        DeliveryFailure(
                            kind: .rejected,
                            message: "Odoo holds payment \(held.id) for \(item.payment.ref), but it is \(unapplied), and "
                                + "invoice \(item.invoiceRef) is still open there: post the payment and reconcile it with the "
                                + "invoice in Odoo (or cancel it, and the replay registers the payment again), then replay"))
                    continue
                }
                bindings.append((item.key, held.id))
                outcomes[item.index] = .delivered(record: TargetRecordID(model: "account.payment", id: String(held.id)), note: nil)
                continue
            }
            let invoice = moveByID[invoiceID]
            switch invoice?["state"]?.stringValue {
            case "cancel"?:
                outcomes[item.index] = .reject(
                    DeliveryFailure(
                        kind: .rejected,
                        message: "invoice \(item.invoiceRef) is cancelled in Odoo: reset it to draft and post it, then replay"))
                continue
            case "draft"? where Self.postedOnlyByItsOwnCommand(invoice):
                outcomes[item.index] = Self.dependencyMissing(
                    "invoice \(item.invoiceRef) is a draft in Odoo, and in a currency Odoo may round: only its own command "
                        + "posts it, once Odoo's total is the one billed (replay the invoice's command)")
                continue
            case "draft"?:
                do {
                    _ = try await client.call(
                        model: "account.move", method: "action_post", ids: [invoiceID], logger: item.logger(logger))
                } catch {
                    outcomes[item.index] = Self.outcome(for: error, logger: item.logger(logger))
                    continue
                }
            default:
                break
            }
            // Paid, or (Odoo Accounting) covered by payments still without a journal entry: only another payment of
            // the same key could be this one, and that was looked for above.
            if let state = invoice?["payment_state"]?.stringValue, ["paid", "in_payment", "reversed"].contains(state),
                let invoice, OdooMoves.amountDue(invoice, less: unentered[invoiceID]) < OdooMoves.epsilon
            {
                outcomes[item.index] = .delivered(
                    record: TargetRecordID(model: "account.move", id: String(invoiceID)), note: "invoice already \(state) in Odoo")
                continue
            }
            // A shared wizard pays each line's residual, so an invoice with payments not yet in its residual has its own.
            if let invoice, unentered[invoiceID] == nil, Self.settles(item.payment.amount, invoice), Self.dueAtOnce(invoice),
                settled.insert(invoiceID).inserted
            {
                inFull[Self.odooDate(item.payment.occurredAt), default: []].append(item)
            } else {
                alone.append(item)
            }
        }
        alone += await registerInFull(
            byDate: inFull, move: \.invoiceID,
            paid: { item, paymentID in
                if let paymentID {
                    bindings.append((item.key, paymentID))
                    outcomes[item.index] = .delivered(record: TargetRecordID(model: "account.payment", id: String(paymentID)), note: nil)
                } else {
                    // Not expected: the next attempt finds the invoice paid, or registers it.
                    outcomes[item.index] = .retry(
                        DeliveryFailure(kind: .unavailable, message: "Odoo's payment wizard paid no payment of invoice \(item.invoiceRef)"))
                }
            },
            failed: { item, error in outcomes[item.index] = Self.outcome(for: error, logger: item.logger(logger)) }, logger: logger)
        for item in alone {
            let commandLogger = item.logger(logger)
            do {
                let paymentID = try await registerThroughWizard(
                    moveID: item.invoiceID, amount: item.payment.amount, date: item.payment.occurredAt, memo: item.key,
                    logger: commandLogger)
                bindings.append((item.key, paymentID))
                outcomes[item.index] = .delivered(record: TargetRecordID(model: "account.payment", id: String(paymentID)), note: nil)
            } catch {
                outcomes[item.index] = Self.outcome(for: error, logger: commandLogger)
            }
        }
        // Bookkeeping only: each payment is already findable by its memo or its paid invoice, so a failure here loses
        // nothing. The batch's first lookup read every key's binding: a bound key is left as it is, unless this batch
        // registered its payment anew (the bound one was cancelled in Odoo since), and only unbound keys are created.
        var unbound: [(name: String, id: Int64)] = []
        for binding in bindings {
            guard let row = bound[binding.name] else {
                unbound.append(binding)
                continue
            }
            if row.resID != binding.id, existing[binding.name] == nil {
                try await client.repointExternalIDs([(binding.name, row.dataID)], to: binding.id, logger: logger)
            }
        }
        try await client.bindLater(unbound, model: "account.payment", logger: logger)
        return outcomes.map { $0! }
    }

    /// A succeeded payment of an invoice, on its way to Odoo.
    struct PendingPayment {
        var index: Int
        var payment: Payment
        var invoiceRef: ExternalRef
        /// The invoice's `account.move` id, once known.
        var invoiceID: Int64
        /// The payment's key: its external id's name, and the memo of a payment registered alone.
        var key: String { payment.ref.xmlidName }

        func logger(_ base: Logger) -> Logger {
            var logger = base
            logger[metadataKey: "weft.command.kind"] = "register_payment"
            return logger
        }
    }

    /// Whether `amount` is exactly what is left to pay of `invoice` (an `account.move` read with `amount_residual` and
    /// `currency_id`), in the invoice's currency.
    static func settles(_ amount: Money, _ invoice: [String: JSONValue]) -> Bool {
        guard let residual = invoice["amount_residual"]?.doubleValue,
            invoice["currency_id"]?.arrayValue?.last?.stringValue == amount.currency.rawValue
        else { return false }
        return Money.fromMajorUnits(residual, currency: amount.currency) == amount
    }

    /// Whether `invoice` (read with `invoice_payment_term_id`) has no payment terms, so one line of it is due. With
    /// terms it may be due in installments, and a shared wizard with `group_payment` off makes one payment per due
    /// line (Odoo's `_create_payments`): one Stripe payment would show as several in Odoo. Such an invoice gets a
    /// wizard of its own, which pays the amount given in one payment.
    static func dueAtOnce(_ invoice: [String: JSONValue]) -> Bool {
        invoice["invoice_payment_term_id"]?.arrayValue == nil
    }

    /// Pays each day's group of `byDate` (items that each settle their move in full) with one shared wizard
    /// (`registerInFull(moveIDs:date:logger:)`). `paid` gets each item with its payment (`nil` if Odoo's answer named
    /// none); `failed` each item of a wizard whose answer was lost (it may have run: the next attempt reads the moves'
    /// payment state before paying anything). Returns what is left to register one wizard each: an item alone on its
    /// day, and the items of a wizard Odoo refused as a whole (and rolled back), so that the refusal is the offending
    /// move's alone.
    func registerInFull<Item>(
        byDate: [String: [Item]], move: (Item) -> Int64, paid: (Item, Int64?) -> Void, failed: (Item, OdooError) -> Void,
        logger: Logger
    ) async -> [Item] {
        var alone: [Item] = []
        for (date, group) in byDate.sorted(by: { $0.key < $1.key }) {
            guard group.count > 1 else {
                alone += group
                continue
            }
            do {
                let payments = try await registerInFull(moveIDs: group.map(move), date: date, logger: logger)
                for item in group { paid(item, payments[move(item)]) }
            } catch  where !error.isTransient {
                alone += group
            } catch {
                for item in group { failed(item, error) }
            }
        }
        return alone
    }

    /// Pays `moveIDs` (posted and open: invoices, or credit notes paid back) in full with one "Register payment" wizard
    /// over all of them, `group_payment` off: Odoo creates, posts and reconciles one payment per move, for its whole
    /// residual, in one transaction. Returns the payment of each move.
    func registerInFull(moveIDs: [Int64], date: String, logger: Logger) async throws(OdooError) -> [Int64: Int64] {
        let context: [String: JSONValue] = ["active_model": "account.move", "active_ids": .array(moveIDs.map(JSONValue.int))]
        let wizard = try await client.create(
            model: "account.payment.register", values: [["payment_date": .string(date), "group_payment": false]],
            context: context, logger: logger)
        let action = try await client.call(
            model: "account.payment.register", method: "action_create_payments", ids: wizard, context: context, logger: logger)
        // One payment: the action opens it; several: it lists them, `[["id", "in", ids]]`.
        var paymentIDs: [Int64] = []
        if let id = action["res_id"]?.intValue {
            paymentIDs = [id]
        } else {
            for term in action["domain"]?.arrayValue ?? [] {
                guard let parts = term.arrayValue, parts.count == 3, parts[0].stringValue == "id" else { continue }
                paymentIDs += parts[2].arrayValue?.compactMap(\.intValue) ?? []
            }
        }
        guard !paymentIDs.isEmpty else {
            throw OdooError(
                kind: .invalidResponse, message: "payment wizard named no payment", operation: "account.payment.register")
        }
        let rows = try await client.read(model: "account.payment", ids: paymentIDs, fields: ["reconciled_invoice_ids"], logger: logger)
        var paid: [Int64: Int64] = [:]
        for row in rows {
            guard let id = row["id"]?.intValue else { continue }
            for move in row["reconciled_invoice_ids"]?.arrayValue ?? [] {
                if let moveID = move.intValue, paid[moveID] == nil { paid[moveID] = id }
            }
        }
        return paid
    }

    /// A payment Odoo holds under a key of Weft's (its memo).
    struct HeldPayment {
        var id: Int64
        /// Its amount in its own currency; `nil` when Odoo's answer did not say.
        var amount: Money?
        /// Why it pays nothing in Odoo's books (reset to draft, or posted with its receivable line not reconciled with
        /// anything); `nil` when it does, or is one of Odoo 18+'s payments without a journal entry (matched with its
        /// invoice, not reconciled: `OdooClient.paymentsWithoutEntry(_:logger:)`).
        var unapplied: String?

        /// Fields of `account.payment` that `init(_:)` reads, besides its id.
        static let fields = ["amount", "currency_id", "state", "move_id", "is_reconciled"]

        /// The payment of `row` (read with `fields`), `nil` without an id.
        init?(_ row: [String: JSONValue]) {
            guard let id = row["id"]?.intValue else { return nil }
            self.id = id
            amount = OdooTarget.heldAmount(row)
            if row["state"]?.stringValue == "draft" {
                unapplied = "in draft"
            } else if OdooMoves.many2oneID(row["move_id"]) != nil, row["is_reconciled"]?.boolValue == false {
                unapplied = "not reconciled with anything"
            }
        }
    }

    /// Payments whose memo (`ref` before Odoo 18) is one of `memos`, by memo (the lowest id when several). A payment
    /// cancelled in Odoo does not count: it pays nothing, so a replay registers the payment again (under the same memo).
    func paymentIDs(memos: [String], logger: Logger) async throws(OdooError) -> [String: HeldPayment] {
        let field = try await client.paymentMemoField(logger: logger)
        let cancelled = try await client.paymentCancelledState(logger: logger)
        let rows = try await client.searchRead(
            model: "account.payment",
            domain: [
                [.string(field), "in", .array(Array(Set(memos)).sorted().map(JSONValue.string))],
                ["state", "!=", .string(cancelled)],
            ],
            fields: [field] + HeldPayment.fields, order: "id", logger: logger)
        var result: [String: HeldPayment] = [:]
        for row in rows {
            guard let memo = row[field]?.stringValue, result[memo] == nil, let held = HeldPayment(row) else { continue }
            result[memo] = held
        }
        return result
    }

    /// The payments of `ids` (key → payment id) that are not cancelled, by key.
    func heldPayments(_ ids: [String: Int64], logger: Logger) async throws(OdooError) -> [String: HeldPayment] {
        let cancelled = try await client.paymentCancelledState(logger: logger)
        let rows = try await client.searchRead(
            model: "account.payment",
            domain: [
                ["id", "in", .array(Set(ids.values).sorted().map(JSONValue.int))], ["state", "!=", .string(cancelled)],
            ],
            fields: HeldPayment.fields, logger: logger)
        var byID: [Int64: HeldPayment] = [:]
        for row in rows {
            if let held = HeldPayment(row) { byID[held.id] = held }
        }
        return ids.compactMapValues { byID[$0] }
    }

    /// A payment's amount in its own currency, from a row with `amount` and `currency_id`.
    static func heldAmount(_ row: [String: JSONValue]) -> Money? {
        guard let value = row["amount"]?.doubleValue, let code = row["currency_id"]?.arrayValue?.last?.stringValue,
            let currency = CurrencyCode(rawValue: code)
        else { return nil }
        return Money.fromMajorUnits(value, currency: currency)
    }

    /// Runs the "Register payment" wizard on one posted move (an invoice, or a credit note for money paid back).
    func registerThroughWizard(
        moveID: Int64, amount: Money, date: Date, memo: String, logger: Logger
    ) async throws(OdooError) -> Int64 {
        let context: [String: JSONValue] = ["active_model": "account.move", "active_ids": [.int(moveID)]]
        var values: [String: JSONValue] = [
            "amount": .double(amount.majorUnits), "payment_date": .string(Self.odooDate(date)), "communication": .string(memo),
        ]
        if let currencyID = try await currencyID(amount.currency, logger: logger) { values["currency_id"] = .int(currencyID) }
        let wizard = try await client.create(model: "account.payment.register", values: [values], context: context, logger: logger)
        let action = try await client.call(
            model: "account.payment.register", method: "action_create_payments", ids: wizard, context: context, logger: logger)
        if action["res_model"]?.stringValue == "account.payment", let id = action["res_id"]?.intValue { return id }
        guard let id = try await paymentID(memo: memo, logger: logger) else {
            throw OdooError(kind: .invalidResponse, message: "payment wizard created no payment", operation: "account.payment.register")
        }
        return id
    }

    /// The payment whose memo (`ref` before Odoo 18) is exactly `memo`, not cancelled.
    func paymentID(memo: String, logger: Logger) async throws(OdooError) -> Int64? {
        let field = try await client.paymentMemoField(logger: logger)
        let cancelled = try await client.paymentCancelledState(logger: logger)
        let rows = try await client.searchRead(
            model: "account.payment",
            domain: [[.string(field), "=", .string(memo)], ["state", "!=", .string(cancelled)]],
            fields: ["id"], limit: 1, order: "id", logger: logger)
        return rows.first?["id"]?.intValue
    }
}
