import Foundation
import WeftCore

/// Invoices, journal items, payments, reconciliation and credit notes.
extension Database {
    static let invoiceTypes: Set<String> = ["out_invoice", "out_refund", "in_invoice", "in_refund", "out_receipt", "in_receipt"]

    /// `amount` in whole units of a currency's precision (`scale` per major unit: 100 for USD, 1,000 for KWD, 1 for
    /// JPY), rounded as Odoo's `float_round` rounds (half up, nudged by one unit in the last place of the magnitude, so
    /// that 1.005 rounds to 1.01 as written rather than as stored). Every amount the accounting reckons is kept in
    /// these units, so a line, a tax, a total and a residual are each rounded to the currency, as `res.currency.round`
    /// rounds them in Odoo. Divided by the rounding factor (`1 / scale`, as Odoo's `value / rounding_factor`), not
    /// multiplied by the scale: the two land on opposite sides of a half unit for some amounts. Beyond ±2^52 units
    /// (no bill comes near) the result is clamped, so that absurd input cannot trap the simulator.
    static func minor(_ amount: Double, scale: Double) -> Int64 {
        let normalized = amount / (1 / scale)
        guard normalized != 0, normalized.isFinite else { return 0 }
        let epsilon = pow(2, log2(abs(normalized)) - 52)
        let rounded = (normalized + (normalized < 0 ? -epsilon : epsilon)).rounded(.toNearestOrAwayFromZero)
        let limit = Double(Int64(1) << 52)
        return Int64(max(-limit, min(limit, rounded)))
    }

    /// Units of `scale` back to an amount.
    static func major(_ minor: Int64, scale: Double) -> JSONValue { .double(Double(minor) / scale) }

    /// `res.currency.decimal_places` of a `rounding`: `ceil(log10(1 / rounding))`, a power of ten taken exactly.
    static func decimalPlaces(rounding: Double) -> Int {
        guard rounding > 0, rounding < 1 else { return 0 }
        let digits = -log10(rounding)
        return Int(abs(digits - digits.rounded()) < 1e-9 ? digits.rounded() : digits.rounded(.up))
    }

    /// Units per major unit of a currency: ten to its decimal places. A rounding that is not a power of ten (0.05) is
    /// reckoned at its decimal places, not in its steps.
    func scale(currency id: Int64?) -> Double {
        pow(10, Double(Self.decimalPlaces(rounding: id.flatMap { row("res.currency", $0)?["rounding"]?.doubleValue } ?? 0.01)))
    }

    /// The scale of a move's currency.
    func moveScale(_ move: Int64) -> Double { scale(currency: row("account.move", move)?["currency_id"]?.intValue) }

    /// The scale of a journal item: its move's currency.
    func lineScale(_ line: Int64) -> Double { moveScale(row("account.move.line", line)?["move_id"]?.intValue ?? 0) }

    func moveType(_ move: Int64) -> String { row("account.move", move)?["move_type"]?.stringValue ?? "entry" }

    func isProductLine(_ line: Int64) -> Bool {
        let type = row("account.move.line", line)?["display_type"]?.stringValue ?? "product"
        return type == "product"
    }

    func moveLines(_ move: Int64) -> [Int64] {
        (row("account.move", move)?["line_ids"]?.arrayValue ?? []).compactMap(\.intValue).filter { exists("account.move.line", $0) }
    }

    func productLines(_ move: Int64) -> [Int64] { moveLines(move).filter(isProductLine) }

    func receivableLine(_ move: Int64) -> Int64? {
        moveLines(move).first { row("account.move.line", $0)?["display_type"]?.stringValue == "payment_term" }
    }

    /// The subtotal of a product line (sale or invoice line) in units of `scale`.
    func subtotalMinor(_ row: [String: JSONValue], quantity: String, scale: Double) -> Int64 {
        let qty = row[quantity]?.doubleValue ?? 1
        let price = row["price_unit"]?.doubleValue ?? 0
        let discount = row["discount"]?.doubleValue ?? 0
        // Odoo's order (`_compute_totals`): the discounted unit price first, then the quantity.
        return Self.minor(qty * (price * (1 - discount / 100)), scale: scale)
    }

    /// The tax of a line in units of `scale` (those of `subtotal`), per tax id, each rounded to the currency.
    func taxMinor(_ row: [String: JSONValue], subtotal: Int64, quantity: String, taxField: String, scale: Double) -> [(Int64, Int64)] {
        let taxes = (row[taxField]?.arrayValue ?? []).compactMap(\.intValue)
        return taxes.compactMap { tax in
            guard let taxRow = self.row("account.tax", tax) else { return nil }
            let rate = taxRow["amount"]?.doubleValue ?? 0
            if taxRow["amount_type"]?.stringValue == "fixed" {
                return (tax, Self.minor(rate * (row[quantity]?.doubleValue ?? 1), scale: scale))
            }
            return (tax, Self.minor(Double(subtotal) * rate / 100, scale: 1))
        }
    }

    /// A move's untaxed and tax totals, in units of its currency's scale.
    func moveTotals(_ move: Int64) -> (untaxed: Int64, tax: Int64) {
        let scale = moveScale(move)
        var untaxed: Int64 = 0
        var tax: Int64 = 0
        for line in productLines(move) {
            guard let row = row("account.move.line", line) else { continue }
            let subtotal = subtotalMinor(row, quantity: "quantity", scale: scale)
            untaxed += subtotal
            tax += taxMinor(row, subtotal: subtotal, quantity: "quantity", taxField: "tax_ids", scale: scale).reduce(0) { $0 + $1.1 }
        }
        return (untaxed, tax)
    }

    func reconciledMinor(_ line: Int64) -> Int64 {
        (reconciles[line] ?? []).reduce(0) { $0 + ($1.debitLine == line ? $1.debitAmount : $1.creditAmount) }
    }

    /// The open amount of `lines` together, as an amount (each line's residual in its own currency's units; the
    /// simulator converts no currency, so a residual counts at its face value whatever the currency).
    func openAmount(_ lines: [Int64]) -> Double {
        lines.reduce(0) { $0 + Double(abs(lineResidual($1))) / lineScale($1) }
    }

    /// Signed residual of a receivable/payable line in units of its currency's scale.
    func lineResidual(_ line: Int64) -> Int64 {
        guard let row = row("account.move.line", line), row["display_type"]?.stringValue == "payment_term" else { return 0 }
        let balance = Self.minor(row["balance"]?.doubleValue ?? 0, scale: lineScale(line))
        let open = abs(balance) - reconciledMinor(line)
        return balance >= 0 ? open : -open
    }

    func paymentState(_ move: Int64) -> String {
        guard let row = row("account.move", move), row["state"]?.stringValue == "posted",
            Self.invoiceTypes.contains(row["move_type"]?.stringValue ?? "")
        else { return "not_paid" }
        guard let receivable = receivableLine(move) else { return "paid" }
        let total = abs(Self.minor(self.row("account.move.line", receivable)?["balance"]?.doubleValue ?? 0, scale: lineScale(receivable)))
        let residual = abs(lineResidual(receivable))
        if residual == 0 {
            let counterparts = (reconciles[receivable] ?? []).compactMap { reconcile -> Int64? in
                if reconcile.debitLine == receivable { return reconcile.creditLine }
                if reconcile.creditLine == receivable { return reconcile.debitLine }
                return nil
            }
            let counterpartTypes = counterparts.compactMap { self.row("account.move.line", $0)?["move_id"]?.intValue }.map(moveType)
            let type = row["move_type"]?.stringValue ?? ""
            let opposite =
                type.hasSuffix("_refund")
                ? type.replacingOccurrences(of: "_refund", with: "_invoice") : type.replacingOccurrences(of: "_invoice", with: "_refund")
            if !counterpartTypes.isEmpty, counterpartTypes.allSatisfy({ $0 == opposite }) { return "reversed" }
            return "paid"
        }
        // Odoo's `_compute_payment_state` (18+): a payment without a journal entry still in process ranks above the
        // reconciliations, so a part payment of that kind shows `in_payment` while the residual is whole.
        let moveless = statesOfPaymentsWithoutEntry(move)
        if moveless.contains("in_process") { return "in_payment" }
        if residual < total { return "partial" }
        return moveless.contains("paid") ? "in_payment" : "not_paid"
    }

    /// The states of the payments matched with `move` (`matched_payment_ids`) that have no journal entry.
    func statesOfPaymentsWithoutEntry(_ move: Int64) -> [String] {
        matchedPayments(move).compactMap { payment in
            guard let row = row("account.payment", payment), row["move_id"]?.intValue == nil else { return nil }
            return row["state"]?.stringValue ?? "draft"
        }
    }

    /// `account.move.matched_payment_ids`: the payments the "Register payment" wizard linked to the move.
    func matchedPayments(_ move: Int64) -> [Int64] {
        (row("account.move", move)?["_matched_payment_ids"]?.arrayValue ?? []).compactMap(\.intValue).filter {
            exists("account.payment", $0)
        }
    }

    func moveDisplayName(_ id: Int64, _ row: [String: JSONValue]) -> String {
        var name: String
        if let stored = row["name"]?.stringValue, !stored.isEmpty, stored != "/" {
            name = stored
        } else {
            let labels = [
                "out_invoice": "Draft Invoice", "out_refund": "Draft Credit Note", "in_invoice": "Draft Bill",
                "in_refund": "Draft Vendor Credit Note",
                "out_receipt": "Draft Sales Receipt", "in_receipt": "Draft Purchase Receipt", "entry": "Draft Entry",
            ]
            name = "\(labels[row["move_type"]?.stringValue ?? "entry"] ?? "Draft Entry") (* \(id))"
        }
        if let ref = row["ref"]?.stringValue, !ref.isEmpty { name += " (\(ref))" }
        return name
    }

    func computedBusiness(_ model: String, _ id: Int64, _ row: [String: JSONValue], _ field: String) -> JSONValue {
        switch model {
        case "account.move":
            let scale = scale(currency: row["currency_id"]?.intValue)
            switch field {
            case "invoice_line_ids": return .array(productLines(id).map(JSONValue.int))
            case "amount_untaxed": return Self.major(moveTotals(id).untaxed, scale: scale)
            case "amount_tax": return Self.major(moveTotals(id).tax, scale: scale)
            case "amount_total":
                let totals = moveTotals(id)
                return Self.major(totals.untaxed + totals.tax, scale: scale)
            case "amount_residual":
                let state = row["state"]?.stringValue ?? "draft"
                if state == "draft" {
                    let totals = moveTotals(id)
                    return Self.major(totals.untaxed + totals.tax, scale: scale)
                }
                if state == "cancel" { return .double(0) }
                return Self.major(abs(receivableLine(id).map(lineResidual) ?? 0), scale: scale)
            case "payment_state": return .string(paymentState(id))
            case "matched_payment_ids": return .array(matchedPayments(id).map(JSONValue.int))
            case "display_inactive_currency_warning":
                let currency = row["currency_id"]?.intValue ?? 1
                return .bool(row["state"]?.stringValue == "draft" && self.row("res.currency", currency)?["active"]?.boolValue == false)
            default: break
            }
        case "account.move.line":
            let scale = moveScale(row["move_id"]?.intValue ?? 0)
            let subtotal = subtotalMinor(row, quantity: "quantity", scale: scale)
            let balance = Self.minor(row["balance"]?.doubleValue ?? 0, scale: scale)
            switch field {
            case "price_subtotal": return isProductLine(id) ? Self.major(subtotal, scale: scale) : .double(0)
            case "price_total":
                guard isProductLine(id) else { return .double(0) }
                let tax = taxMinor(row, subtotal: subtotal, quantity: "quantity", taxField: "tax_ids", scale: scale).reduce(0) { $0 + $1.1 }
                return Self.major(subtotal + tax, scale: scale)
            case "debit": return Self.major(max(balance, 0), scale: scale)
            case "credit": return Self.major(max(-balance, 0), scale: scale)
            case "amount_residual": return Self.major(lineResidual(id), scale: scale)
            case "reconciled":
                return .bool(row["display_type"]?.stringValue == "payment_term" && balance != 0 && lineResidual(id) == 0)
            case "parent_state":
                return row["move_id"]?.intValue.flatMap { self.row("account.move", $0)?["state"] } ?? .bool(false)
            default: break
            }
        case "account.payment":
            switch field {
            case "is_reconciled":
                guard let move = row["move_id"]?.intValue, let line = receivableLine(move) else { return .bool(false) }
                return .bool(lineResidual(line) == 0)
            case "is_matched": return .bool(false)
            default: break
            }
        case "account.payment.register":
            if field == "payment_difference" {
                let lines = (row["line_ids"]?.arrayValue ?? []).compactMap(\.intValue)
                let scale = scale(currency: row["currency_id"]?.intValue)
                let difference = openAmount(lines) - (row["amount"]?.doubleValue ?? 0)
                return Self.major(Self.minor(difference, scale: scale), scale: scale)
            }
        default:
            return computedSale(model, id, row, field)
        }
        return models[model]?.fields[field]?.kind.emptyValue ?? .bool(false)
    }

    /// Keeps an invoice's tax lines and receivable line in step with its product lines.
    mutating func syncMoveLines(_ move: Int64, _ ctx: CallContext) throws(OdooError) {
        let type = moveType(move)
        guard Self.invoiceTypes.contains(type), let moveRow = row("account.move", move) else { return }
        let outbound = ["out_invoice", "out_receipt", "in_refund"].contains(type)
        let sign: Int64 = outbound ? -1 : 1
        let scale = moveScale(move)
        var taxTotals: [Int64: Int64] = [:]
        var total: Int64 = 0
        for line in productLines(move) {
            guard let row = row("account.move.line", line) else { continue }
            let subtotal = subtotalMinor(row, quantity: "quantity", scale: scale)
            setField("account.move.line", line, "balance", Self.major(sign * subtotal, scale: scale))
            total += subtotal
            for (tax, amount) in taxMinor(row, subtotal: subtotal, quantity: "quantity", taxField: "tax_ids", scale: scale) {
                taxTotals[tax, default: 0] += amount
                total += amount
            }
        }
        let lines = moveLines(move)
        var taxLines: [Int64: Int64] = [:]
        for line in lines where row("account.move.line", line)?["display_type"]?.stringValue == "tax" {
            if let tax = row("account.move.line", line)?["_tax_id"]?.intValue { taxLines[tax] = line }
        }
        for (tax, line) in taxLines where (taxTotals[tax] ?? 0) == 0 { try unlink("account.move.line", [line], ctx) }
        for tax in taxTotals.keys.sorted() where taxTotals[tax] != 0 {
            let balance = Self.major(sign * taxTotals[tax]!, scale: scale)
            if let line = taxLines[tax] {
                setField("account.move.line", line, "balance", balance)
            } else {
                let line = try create(
                    "account.move.line",
                    [
                        "move_id": .int(move), "display_type": .string("tax"), "name": value("account.tax", tax, "name"),
                        "account_id": .int(Seed.taxAccount(flavour)), "balance": balance, "quantity": .double(1),
                    ], ctx)
                setField("account.move.line", line, "_tax_id", .int(tax))
            }
        }
        let counterpart = Self.major(-sign * total, scale: scale)
        if let line = receivableLine(move) {
            setField("account.move.line", line, "balance", counterpart)
        } else {
            _ = try create(
                "account.move.line",
                [
                    "move_id": .int(move), "display_type": .string("payment_term"), "name": moveRow["payment_reference"] ?? .bool(false),
                    "account_id": .int(type.hasPrefix("in_") ? Seed.payableAccount(flavour) : Seed.receivableAccount(flavour)),
                    "balance": counterpart, "quantity": .double(1),
                ], ctx)
        }
    }

    // MARK: - account.move methods

    mutating func actionPost(_ ids: [Int64], _ ctx: CallContext) throws(OdooError) {
        for id in ids {
            guard let row = row("account.move", id) else { throw .missing(model: "account.move", ids: [id]) }
            let name = row["name"]?.stringValue
            if row["state"]?.stringValue != "draft" {
                throw .user("The entry \(name ?? "/") (id \(id)) is already posted.")
            }
            let type = row["move_type"]?.stringValue ?? "entry"
            if moveLines(id).isEmpty { throw .user("You need to add a line before posting.") }
            if Self.invoiceTypes.contains(type), row["partner_id"]?.intValue == nil {
                let role = type.hasPrefix("out_") ? "Customer" : "Vendor"
                let document = Registry.moveTypes.first { $0.0 == type }?.1 ?? "Journal Entry"
                throw .user("The field '\(role)' is required, please complete it to validate the \(document).")
            }
            // Odoo's `_post`: an invoice (receipts included) must not total below zero.
            if Self.invoiceTypes.contains(type) {
                let totals = moveTotals(id)
                if totals.untaxed + totals.tax < 0 {
                    throw .user(
                        "You cannot validate an invoice with a negative total amount. You should create a credit note instead. "
                            + "Use the action menu to transform it into a credit note or refund.")
                }
            }
            let currency = row["currency_id"]?.intValue ?? 1
            if self.row("res.currency", currency)?["active"]?.boolValue == false {
                throw .user("You cannot validate a document with an inactive currency: \(displayName("res.currency", currency))")
            }
            var updated = row
            if Self.invoiceTypes.contains(type), row["invoice_date"]?.stringValue == nil {
                updated["invoice_date"] = .string(today)
            }
            if Self.invoiceTypes.contains(type) {
                updated["date"] = updated["invoice_date"] ?? .string(today)
                if updated["invoice_date_due"]?.stringValue == nil { updated["invoice_date_due"] = updated["invoice_date"] }
            }
            if name == nil || name == "/" {
                let journal = row["journal_id"]?.intValue ?? 1
                let code = self.row("account.journal", journal)?["code"]?.stringValue ?? "MISC"
                let prefix = type.hasSuffix("_refund") ? "R" + code : code
                let year = String((updated["date"]?.stringValue ?? today).prefix(4))
                updated["name"] = .string("\(prefix)/\(year)/\(Self.pad(nextSequence("\(prefix)/\(year)"), 5))")
            }
            updated["state"] = .string("posted")
            updated["write_date"] = .string(timestamp)
            // Odoo's `_compute_payment_reference`: a posted customer invoice without one is paid against its number.
            if type == "out_invoice", (updated["payment_reference"]?.stringValue ?? "").isEmpty {
                updated["payment_reference"] = updated["name"]
                if let line = receivableLine(id) { setField("account.move.line", line, "name", updated["name"]) }
            }
            setRow("account.move", id, updated)
            if type.hasPrefix("out_"), let partner = row["partner_id"]?.intValue {
                let rank = value("res.partner", partner, "customer_rank").intValue ?? 0
                setField("res.partner", partner, "customer_rank", .int(rank + 1))
            }
        }
    }

    mutating func buttonDraft(_ ids: [Int64]) throws(OdooError) {
        for id in ids where !["posted", "cancel"].contains(row("account.move", id)?["state"]?.stringValue ?? "") {
            throw .user("Only posted/cancelled journal entries can be reset to draft.")
        }
        for id in ids {
            let lines = Set(moveLines(id))
            for line in lines {
                let removed = reconciles[line] ?? []
                setReconciles(line, nil)
                for reconcile in removed {
                    let other = reconcile.debitLine == line ? reconcile.creditLine : reconcile.debitLine
                    if let entries = reconciles[other] {
                        setReconciles(other, entries.filter { $0.debitLine != line && $0.creditLine != line })
                    }
                }
            }
            setField("account.move", id, "state", .string("draft"))
            touch(id)
        }
    }

    /// `account.move.button_cancel`. A posted entry is reset to draft first, which unreconciles it (Odoo's shortcut from
    /// posted to cancelled, since 16); then the entries are cancelled, and so are the payments they are the entry of
    /// (`payment_ids.state = "canceled"`, 18+).
    mutating func buttonCancel(_ ids: [Int64]) throws(OdooError) {
        let posted = ids.filter { row("account.move", $0)?["state"]?.stringValue == "posted" }
        if !posted.isEmpty { try buttonDraft(posted) }
        for id in ids where row("account.move", id)?["state"]?.stringValue != "draft" {
            throw .user("Only draft journal entries can be cancelled.")
        }
        let cancelled = Set(ids)
        for id in ids {
            setField("account.move", id, "state", .string("cancel"))
            touch(id)
        }
        // Only a miscellaneous entry can be a payment's; invoices are cancelled without a scan of the payments.
        guard ids.contains(where: { moveType($0) == "entry" }) else { return }
        for payment in tables["account.payment"]?.ids.all ?? [] {
            if let move = row("account.payment", payment)?["move_id"]?.intValue, cancelled.contains(move) {
                markPaymentUnreconciled(payment, state: "canceled")
            }
        }
    }

    /// `account.payment.action_cancel` (18+): the payment is cancelled; its journal entry is deleted while a draft, else
    /// cancelled (`button_cancel`, which unreconciles it). Its invoices are open again for what it paid.
    mutating func actionCancelPayments(_ ids: [Int64], _ ctx: CallContext) throws(OdooError) {
        let missing = ids.filter { !exists("account.payment", $0) }
        if !missing.isEmpty { throw .missing(model: "account.payment", ids: missing) }
        for id in ids {
            markPaymentUnreconciled(id, state: "canceled")
            guard let move = row("account.payment", id)?["move_id"]?.intValue, exists("account.move", move) else { continue }
            if row("account.move", move)?["state"]?.stringValue == "draft" {
                setField("account.payment", id, "move_id", .bool(false))
                try unlink("account.move", [move], ctx)
            } else if row("account.move", move)?["state"]?.stringValue != "cancel" {
                try buttonCancel([move])
            }
        }
    }

    /// `account.payment.action_draft` (18+): back to draft, its journal entry too (`button_draft`, which unreconciles
    /// it).
    mutating func actionDraftPayments(_ ids: [Int64]) throws(OdooError) {
        let missing = ids.filter { !exists("account.payment", $0) }
        if !missing.isEmpty { throw .missing(model: "account.payment", ids: missing) }
        for id in ids {
            if let move = row("account.payment", id)?["move_id"]?.intValue, exists("account.move", move),
                row("account.move", move)?["state"]?.stringValue != "draft"
            {
                try buttonDraft([move])
            }
            markPaymentUnreconciled(id, state: "draft")
        }
    }

    /// A payment that no longer pays anything: its state, and no reconciled invoices (computed from reconciliations in
    /// Odoo, stored here). Its invoices' `matched_payment_ids` keep it, as Odoo's do.
    private mutating func markPaymentUnreconciled(_ id: Int64, state: String) {
        setField("account.payment", id, "state", .string(state))
        setField("account.payment", id, "reconciled_invoice_ids", .array([]))
        for invoice in (row("account.payment", id)?["invoice_ids"]?.arrayValue ?? []).compactMap(\.intValue) { touch(invoice) }
    }

    /// Reconciles the open receivable of each move with `line` (an outstanding credit or debit).
    mutating func assignOutstandingLine(_ ids: [Int64], line: Int64) throws(OdooError) {
        guard exists("account.move.line", line) else { throw .missing(model: "account.move.line", ids: [line]) }
        for id in ids {
            guard let own = receivableLine(id), row("account.move", id)?["state"]?.stringValue == "posted" else {
                throw .user("You can only reconcile posted entries.")
            }
            reconcile(own, line)
        }
    }

    /// Records a partial reconciliation of two receivable lines with opposite open balances.
    mutating func reconcile(_ first: Int64, _ second: Int64) {
        let a = lineResidual(first)
        let b = lineResidual(second)
        guard a != 0, b != 0, (a > 0) != (b > 0) else { return }
        // Each side in its own currency's units. The simulator converts no currency: a line of another currency
        // (a USD payment of a KWD invoice) settles the same face value, each side rounded to its currency.
        let (scaleA, scaleB) = (lineScale(first), lineScale(second))
        var (onA, onB) = (min(abs(a), abs(b)), min(abs(a), abs(b)))
        if scaleA != scaleB {
            let amount = min(Double(abs(a)) / scaleA, Double(abs(b)) / scaleB)
            onA = min(abs(a), Self.minor(amount, scale: scaleA))
            onB = min(abs(b), Self.minor(amount, scale: scaleB))
        }
        let reconcile = Reconcile(
            debitLine: a > 0 ? first : second, creditLine: a > 0 ? second : first, debitAmount: a > 0 ? onA : onB,
            creditAmount: a > 0 ? onB : onA)
        setReconciles(first, (reconciles[first] ?? []) + [reconcile])
        setReconciles(second, (reconciles[second] ?? []) + [reconcile])
        for line in [first, second] { if let move = row("account.move.line", line)?["move_id"]?.intValue { touch(move) } }
    }

    /// Stamps `write_date` on a move whose stored computed fields (`amount_residual`, `payment_state`,
    /// `matched_payment_ids`) Odoo would recompute: its `_write_multi` sets the magic fields for computed fields too.
    mutating func touch(_ move: Int64) {
        setField("account.move", move, "write_date", .string(Self.formatUTC(now).datetime))
    }

    // MARK: - Wizards

    /// `account.move.reversal.default_get`, which `create` runs for every dict of values (Odoo asks it only for the
    /// fields a dict leaves out, and a given value wins). With `active_model` `account.move` it reads
    /// `context["active_ids"]` (a `KeyError` without them) and refuses the lot when any of those moves is not posted,
    /// whatever `move_ids` the dict gives; `move_ids` defaults to them.
    mutating func defaultMoveReversal(_ vals: inout [String: JSONValue], _ ctx: CallContext) throws(OdooError) {
        if ctx.activeModel == "account.move" {
            guard ctx.values["active_ids"] != nil else { throw .builtin("KeyError", "'active_ids'") }
            let moves = ctx.activeIds
            for move in moves {
                guard let row = row("account.move", move) else { throw .missing(model: "account.move", ids: [move]) }
                if row["state"]?.stringValue != "posted" {
                    throw .user(
                        flavour.is19 ? "To reverse a journal entry, it has to be posted first." : "You can only reverse posted moves.")
                }
            }
            if vals["move_ids"] == nil { vals["move_ids"] = .array([.array([.int(6), .int(0), .array(moves.map(JSONValue.int))])]) }
        }
        if vals["date"] == nil { vals["date"] = .string(today) }
    }

    mutating func defaultPaymentRegister(_ vals: inout [String: JSONValue], _ ctx: CallContext) throws(OdooError) {
        var lines: [Int64] = []
        if ctx.activeModel == "account.move.line" {
            lines = ctx.activeIds
        } else if ctx.activeModel == "account.move" || ctx.activeModel == nil {
            for move in ctx.activeIds {
                guard let row = row("account.move", move) else { throw .missing(model: "account.move", ids: [move]) }
                if row["state"]?.stringValue != "posted" {
                    throw .user("You can only register payment for posted journal entries.")
                }
                if let line = receivableLine(move), lineResidual(line) != 0 { lines.append(line) }
            }
        }
        if lines.isEmpty {
            throw .user("You can't register a payment because there is nothing left to pay on the selected journal items.")
        }
        let moves = lines.compactMap { row("account.move.line", $0)?["move_id"]?.intValue }
        let first = row("account.move", moves.first ?? 0) ?? [:]
        if vals["amount"] == nil {
            let scale = lineScale(lines[0])
            vals["amount"] = Self.major(Self.minor(openAmount(lines), scale: scale), scale: scale)
        }
        if vals["currency_id"] == nil { vals["currency_id"] = first["currency_id"] ?? .int(1) }
        if vals["journal_id"] == nil { vals["journal_id"] = .int(Seed.bankJournal) }
        if vals["payment_date"] == nil { vals["payment_date"] = .string(today) }
        if vals["payment_method_line_id"] == nil { vals["payment_method_line_id"] = .int(1) }
        if vals["communication"] == nil {
            vals["communication"] = .string(moves.compactMap { row("account.move", $0)?["name"]?.stringValue }.joined(separator: " "))
        }
        if vals["partner_id"] == nil { vals["partner_id"] = first["partner_id"] ?? .bool(false) }
        // Odoo's `_compute_group_payment`: grouped only when every line is one move's (then it changes nothing).
        if vals["group_payment"] == nil { vals["group_payment"] = .bool(Set(moves).count == 1) }
        let refund = (first["move_type"]?.stringValue ?? "").hasSuffix("_refund")
        if vals["payment_type"] == nil { vals["payment_type"] = .string(refund ? "outbound" : "inbound") }
        vals["line_ids"] = .array([.array([.int(6), .int(0), .array(lines.map(JSONValue.int))])])
    }

    /// `action_create_payments`: with one batch (one partner, currency and direction) of one move, or grouped, one
    /// payment from the wizard's values (amount, memo); otherwise, as Odoo's `_create_payments` outside edit mode, one
    /// payment per batch when grouping, else one per move, each for its whole residual with the move's own label as
    /// memo (`payment_reference or ref or name`), the wizard's amount and memo unused.
    mutating func actionCreatePayments(_ ids: [Int64], _ ctx: CallContext) throws(OdooError) -> OdooValue {
        var payments: [Int64] = []
        for wizard in ids {
            guard let row = row("account.payment.register", wizard) else {
                throw .missing(model: "account.payment.register", ids: [wizard])
            }
            let lines = (row["line_ids"]?.arrayValue ?? []).compactMap(\.intValue)
            var base = PaymentValues(
                amountMinor: Self.minor(row["amount"]?.doubleValue ?? 0, scale: scale(currency: row["currency_id"]?.intValue)),
                memo: row["communication"] ?? .bool(false),
                partner: row["partner_id"] ?? .bool(false), currency: row["currency_id"] ?? .int(1),
                journal: row["journal_id"]?.intValue ?? Seed.bankJournal, date: row["payment_date"]?.stringValue ?? today,
                inbound: (row["payment_type"]?.stringValue ?? "inbound") == "inbound", partnerType: row["partner_type"] ?? "customer",
                methodLine: row["payment_method_line_id"] ?? .int(1))
            let batches = paymentBatches(lines)
            let grouped = row["group_payment"]?.boolValue ?? true
            if batches.count == 1 && (lines.count == 1 || grouped) {
                payments.append(try createPayment(base, lines: lines, ctx))
                continue
            }
            for batch in batches {
                let parts = grouped ? [batch] : batch.map { [$0] }
                for part in parts {
                    let residual = part.reduce(Int64(0)) { $0 + lineResidual($1) }
                    let moves = part.compactMap { self.row("account.move.line", $0)?["move_id"]?.intValue }
                    let first = self.row("account.move", moves.first ?? 0) ?? [:]
                    base.amountMinor = abs(residual)
                    base.inbound = residual > 0
                    base.partner = first["partner_id"] ?? .bool(false)
                    base.currency = first["currency_id"] ?? .int(1)
                    base.memo = .string(
                        moves.map { move -> String in
                            let row = self.row("account.move", move) ?? [:]
                            return [row["payment_reference"], row["ref"], row["name"]].lazy.compactMap { $0?.stringValue }
                                .first { !$0.isEmpty } ?? ""
                        }.joined(separator: " "))
                    payments.append(try createPayment(base, lines: part, ctx))
                }
            }
        }
        var action: [(String, OdooValue)] = [
            ("name", "Payments"), ("type", "ir.actions.act_window"), ("res_model", "account.payment"),
            ("context", .object([("create", .bool(false))])),
        ]
        if payments.count == 1 {
            action += [("view_mode", "form"), ("res_id", .int(payments[0]))]
        } else {
            action += [("view_mode", "list,form"), ("domain", .array([.array(["id", "in", .array(payments.map(OdooValue.int))])]))]
        }
        return .object(action)
    }

    /// What one payment of the wizard is made of.
    struct PaymentValues {
        /// In units of the scale of `currency`.
        var amountMinor: Int64
        var memo: JSONValue
        var partner: JSONValue
        var currency: JSONValue
        var journal: Int64
        var date: String
        var inbound: Bool
        var partnerType: JSONValue
        var methodLine: JSONValue
    }

    /// The wizard's lines in Odoo's batches: by partner, currency and direction (money in or out), in line order.
    func paymentBatches(_ lines: [Int64]) -> [[Int64]] {
        var keys: [String] = []
        var batches: [String: [Int64]] = [:]
        for line in lines {
            let move = row("account.move.line", line)?["move_id"]?.intValue ?? 0
            let moveRow = row("account.move", move) ?? [:]
            let key = "\(moveRow["partner_id"]?.intValue ?? 0)|\(moveRow["currency_id"]?.intValue ?? 1)|\(lineResidual(line) > 0)"
            if batches[key] == nil { keys.append(key) }
            batches[key, default: []].append(line)
        }
        return keys.map { batches[$0]! }
    }

    /// Creates, posts and reconciles one payment against `lines`, and links it to their moves (`matched_payment_ids`,
    /// `invoice_ids`), as the wizard's `_reconcile_payments` does. With Odoo Accounting the payment method line has no
    /// outstanding account, so the payment gets no journal entry: it stays `in_process` and nothing is reconciled.
    mutating func createPayment(_ values: PaymentValues, lines: [Int64], _ ctx: CallContext) throws(OdooError) -> Int64 {
        let code = self.row("account.journal", values.journal)?["code"]?.stringValue ?? "BNK1"
        let year = String(values.date.prefix(4))
        let name = "P\(code)/\(year)/\(Self.pad(nextSequence("P\(code)/\(year)"), 5))"
        let amount = values.amountMinor
        let scale = scale(currency: values.currency.intValue)
        var invoices: [Int64] = []
        for line in lines {
            if let invoice = self.row("account.move.line", line)?["move_id"]?.intValue, !invoices.contains(invoice) {
                invoices.append(invoice)
            }
        }
        var move: JSONValue = .bool(false)
        if !flavour.accounting { move = .int(try createPaymentEntry(values, name: name, lines: lines, ctx)) }
        let payment = try create(
            "account.payment",
            [
                "name": .string(name), "amount": Self.major(amount, scale: scale), "state": flavour.accounting ? "in_process" : "paid",
                "payment_type": .string(values.inbound ? "inbound" : "outbound"), "partner_type": values.partnerType,
                "partner_id": values.partner, "currency_id": values.currency, "journal_id": .int(values.journal),
                "date": .string(values.date), "memo": values.memo, "move_id": move,
                "reconciled_invoice_ids": .array([.array([.int(6), .int(0), .array(invoices.map(JSONValue.int))])]),
                "invoice_ids": .array([.array([.int(6), .int(0), .array(invoices.map(JSONValue.int))])]),
                "payment_method_line_id": values.methodLine,
            ], ctx)
        for invoice in invoices {
            let linked = tables["account.move"]?.rows[invoice]?["_matched_payment_ids"]?.arrayValue ?? []
            setField("account.move", invoice, "_matched_payment_ids", .array(linked + [.int(payment)]))
            touch(invoice)
        }
        return payment
    }

    /// The posted journal entry of a payment (outstanding account against receivable), reconciled with `lines`.
    private mutating func createPaymentEntry(
        _ values: PaymentValues, name: String, lines: [Int64], _ ctx: CallContext
    ) throws(OdooError) -> Int64 {
        let amount = values.amountMinor
        let scale = scale(currency: values.currency.intValue)
        let move = try create(
            "account.move",
            [
                "move_type": "entry", "journal_id": .int(values.journal), "partner_id": values.partner, "date": .string(values.date),
                "ref": values.memo, "currency_id": values.currency,
            ], ctx)
        _ = try create(
            "account.move.line",
            [
                "move_id": .int(move), "name": values.memo, "account_id": .int(Seed.outstandingAccount(flavour)),
                "balance": Self.major(values.inbound ? amount : -amount, scale: scale), "display_type": "product", "tax_ids": .array([]),
            ], ctx)
        let counterpart = try create(
            "account.move.line",
            [
                "move_id": .int(move), "name": values.memo, "account_id": .int(Seed.receivableAccount(flavour)),
                "balance": Self.major(values.inbound ? -amount : amount, scale: scale), "display_type": "payment_term",
            ], ctx)
        setField("account.move", move, "name", .string(name))
        setField("account.move", move, "state", .string("posted"))
        for line in lines { reconcile(line, counterpart) }
        return move
    }

    mutating func refundMoves(_ ids: [Int64], _ ctx: CallContext) throws(OdooError) -> OdooValue {
        var created: [Int64] = []
        var refundType = "out_refund"
        for wizard in ids {
            guard let row = row("account.move.reversal", wizard) else { throw .missing(model: "account.move.reversal", ids: [wizard]) }
            let reason = row["reason"]?.stringValue ?? ""
            let date = row["date"]?.stringValue ?? today
            for move in (row["move_ids"]?.arrayValue ?? []).compactMap(\.intValue) {
                guard let original = self.row("account.move", move) else { throw .missing(model: "account.move", ids: [move]) }
                let type = original["move_type"]?.stringValue ?? "entry"
                refundType = type.hasSuffix("_invoice") ? type.replacingOccurrences(of: "_invoice", with: "_refund") : type
                let name = original["name"]?.stringValue ?? ""
                let lines: [JSONValue] = productLines(move).compactMap { line in
                    guard let lineRow = self.row("account.move.line", line) else { return nil }
                    var vals: [String: JSONValue] = [
                        "tax_ids": .array([.array([.int(6), .int(0), .array(lineRow["tax_ids"]?.arrayValue ?? [])])])
                    ]
                    for key in ["product_id", "name", "quantity", "price_unit", "discount", "account_id"] {
                        vals[key] = lineRow[key] ?? .bool(false)
                    }
                    return .array([.int(0), .int(0), .object(vals)])
                }
                let refund = try create(
                    "account.move",
                    [
                        "move_type": .string(refundType), "partner_id": original["partner_id"] ?? .bool(false),
                        "currency_id": original["currency_id"] ?? .int(1), "journal_id": row["journal_id"] ?? .int(1),
                        "invoice_origin": original["invoice_origin"] ?? .bool(false), "invoice_date": .string(date), "date": .string(date),
                        "reversed_entry_id": .int(move),
                        "ref": .string(reason.isEmpty ? "Reversal of: \(name)" : "Reversal of: \(name), \(reason)"),
                        "invoice_line_ids": .array(lines),
                    ], ctx)
                created.append(refund)
            }
            setField("account.move.reversal", wizard, "new_move_ids", .array(created.map(JSONValue.int)))
        }
        var action: [(String, OdooValue)] = [("name", "Reverse Moves"), ("type", "ir.actions.act_window"), ("res_model", "account.move")]
        if created.count == 1 {
            action += [("view_mode", "form"), ("res_id", .int(created[0]))]
        } else {
            action += [("view_mode", "list,form"), ("domain", .array([.array(["id", "in", .array(created.map(OdooValue.int))])]))]
        }
        action.append(("context", .object([("default_move_type", .string(refundType))])))
        return .object(action)
    }
}
