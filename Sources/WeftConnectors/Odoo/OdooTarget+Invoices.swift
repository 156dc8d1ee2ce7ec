import Foundation
import Logging
import WeftCore

extension OdooTarget {
    static let moveFields = ["state", "payment_state", "move_type", "amount_total", "amount_untaxed", "ref", "journal_id"]

    /// Upserts `out_invoice` moves keyed by `ref`, creating missing partners from the snapshot, then posts or cancels
    /// them to match the source status (one `action_post` for all moves to post).
    func upsertInvoices(_ commands: [InvoiceCommand], logger: Logger) async throws(OdooError) -> [DeliveryOutcome] {
        let partners = try await ensurePartners(commands.map(\.customer), update: false, logger: logger)
        let productRefs = Array(Set(commands.flatMap { ($0.invoice.lines ?? []).compactMap(\.productRef) }))
        let products = try await productIDs(productRefs, logger: logger)
        var items: [OdooUpsertItem] = []
        for (command, partner) in zip(commands, partners) {
            let invoice = command.invoice
            // Odoo posts no invoice below zero: a negative one (a downgrade's proration credit) is a credit note, its
            // lines negated, as Odoo's own "switch into credit note" does.
            var values: [String: JSONValue] = [
                "move_type": .string(Self.isCreditNote(invoice) ? "out_refund" : "out_invoice"), "partner_id": .int(partner),
                "invoice_line_ids": .array(invoiceLines(invoice, products: products).map { [0, 0, .object($0)] }),
            ]
            if let currency = invoice.currency ?? command.customer.currency,
                let currencyID = try await currencyID(currency, logger: logger)
            {
                values["currency_id"] = .int(currencyID)
            }
            if let issuedAt = invoice.issuedAt { values["invoice_date"] = .string(Self.odooDate(issuedAt)) }
            if let dueAt = invoice.dueAt { values["invoice_date_due"] = .string(Self.odooDate(dueAt)) }
            if let number = invoice.number { values["invoice_origin"] = .string(number) }
            items.append(
                OdooUpsertItem(ref: invoice.ref, keyField: "ref", key: invoice.ref.xmlidName, createValues: values, updateValues: nil))
        }
        let results = try await client.upsert(model: "account.move", items: items, readFields: Self.moveFields, logger: logger)
        // A move found by the lookup comes with its fields; one this call created is a draft holding exactly the lines
        // just written. Only what is neither (a second command of one key in the batch) is read.
        let createdIDs = Set(results.filter(\.created).map(\.id))
        let unread = Set(results.filter { $0.current["state"] == nil && !createdIDs.contains($0.id) }.map(\.id))
        let moves = try await client.read(model: "account.move", ids: unread.sorted(), fields: Self.moveFields, logger: logger)
        var byID = Dictionary(moves.compactMap { move in move["id"]?.intValue.map { ($0, move) } }) { a, _ in a }
        for result in results where byID[result.id] == nil && result.current["state"] != nil { byID[result.id] = result.current }

        var toPost: [Int64] = []
        var notes: [Int64: String] = [:]
        for (command, result) in zip(commands, results) {
            let invoice = command.invoice
            let fresh = createdIDs.contains(result.id)
            guard let move = fresh ? ["state": "draft"] : byID[result.id] else {
                throw OdooError(kind: .missingRecord, message: "invoice vanished after upsert", operation: "account.move.read")
            }
            let state = move["state"]?.stringValue ?? "draft"
            switch invoice.status {
            case .open?, .paid?, .uncollectible?:
                if state == "draft" {
                    if !fresh {
                        try await refreshDraftLines(move: move, id: result.id, invoice: invoice, products: products, logger: logger)
                    }
                    if !toPost.contains(result.id) { toPost.append(result.id) }
                } else if state == "cancel" {
                    notes[result.id] = "cancelled in Odoo; left as is"
                }
            case .void?:
                if state == "posted" {
                    _ = try await client.call(model: "account.move", method: "button_draft", ids: [result.id], logger: logger)
                }
                if state != "cancel" {
                    _ = try await client.call(model: "account.move", method: "button_cancel", ids: [result.id], logger: logger)
                }
            case .draft?, nil:
                if state == "draft" && !fresh {
                    try await refreshDraftLines(move: move, id: result.id, invoice: invoice, products: products, logger: logger)
                }
            }
        }
        let refused = try await refuseRoundedTotals(
            of: zip(commands, results).filter { toPost.contains($0.1.id) }.map {
                ($0.0.invoice, $0.1.id)
            }, products: products, logger: logger)
        toPost.removeAll { refused[$0] != nil }
        if !toPost.isEmpty {
            _ = try await client.call(model: "account.move", method: "action_post", ids: toPost, logger: logger)
        }
        return results.map { result in
            if let failure = refused[result.id] { return .reject(failure) }
            return .delivered(record: TargetRecordID(model: "account.move", id: String(result.id)), note: notes[result.id])
        }
    }

    /// The drafts about to be posted whose total Odoo rounded away from the source's, each with the rejection that says
    /// how to fix it. Odoo (16 to 19.0 at least) stores a unit price rounded to the "Product Price" decimal accuracy (2 digits by
    /// default), so an invoice in a currency of three decimals (KWD, BHD, OMR, JOD, TND, LYD, IQD) could be posted for
    /// another amount than the customer was billed, and its payment would never settle it. Only such invoices are read
    /// back (one call for the batch); the draft is kept, so a replay after the fix rewrites its lines and posts it.
    private func refuseRoundedTotals(
        of drafts: [(invoice: Invoice, id: Int64)], products: [ExternalRef: Int64], logger: Logger
    ) async throws(OdooError) -> [Int64: DeliveryFailure] {
        let finerThanCents = drafts.filter { ($0.invoice.currency?.minorUnitDigits ?? 2) > 2 }
        guard !finerThanCents.isEmpty else { return [:] }
        let totals = try await amountTotals(of: finerThanCents.map(\.id), logger: logger)
        var refused: [Int64: DeliveryFailure] = [:]
        for (invoice, id) in finerThanCents {
            guard let currency = invoice.currency, let total = totals[id] else { continue }
            let expected = Self.linesTotal(invoiceLines(invoice, products: products))
            let booked = Money.fromMajorUnits(total, currency: currency)
            let billed = Money.fromMajorUnits(expected, currency: currency)
            guard booked != billed else { continue }
            refused[id] = DeliveryFailure(
                kind: .rejected,
                message: "Odoo computed \(booked) for invoice \(invoice.ref), not the \(billed) billed: it rounds unit prices to "
                    + "its \"Product Price\" decimal accuracy, which has fewer digits than \(currency). Raise it to "
                    + "\(currency.minorUnitDigits) digits (Settings > Technical > Decimal Accuracy > Product Price), then replay "
                    + "this command: the draft is kept, unposted, and its lines are written again.")
        }
        return refused
    }

    /// Whether a draft `move` (read with `currency_id`) is in a currency of more than two decimals: only its invoice
    /// command posts it (after `refuseRoundedTotals`), never a payment or refund that finds it still a draft.
    static func postedOnlyByItsOwnCommand(_ move: [String: JSONValue]?) -> Bool {
        guard let code = move?["currency_id"]?.arrayValue?.last?.stringValue, let currency = CurrencyCode(rawValue: code) else {
            return false
        }
        return currency.minorUnitDigits > 2
    }

    /// `amount_total` of each of `ids` (`account.move`), as Odoo computed it: how a draft in a currency Odoo may round
    /// is checked before posting.
    func amountTotals(of ids: [Int64], logger: Logger) async throws(OdooError) -> [Int64: Double] {
        let moves = try await client.read(model: "account.move", ids: Array(Set(ids)).sorted(), fields: ["amount_total"], logger: logger)
        var totals: [Int64: Double] = [:]
        for move in moves { if let id = move["id"]?.intValue { totals[id] = move["amount_total"]?.doubleValue } }
        return totals
    }

    /// What Odoo makes of `lines` (as `invoiceLines` builds them), in major units, before its rounding of each line.
    static func linesTotal(_ lines: [[String: JSONValue]]) -> Double {
        lines.reduce(0.0) { total, line in
            let gross = (line["price_unit"]?.doubleValue ?? 0) * (line["quantity"]?.doubleValue ?? 0)
            return total + gross * (1 - (line["discount"]?.doubleValue ?? 0) / 100)
        }
    }

    /// A draft whose total no longer matches the source (the draft changed before finalisation) gets its lines replaced.
    private func refreshDraftLines(
        move: [String: JSONValue], id: Int64, invoice: Invoice, products: [ExternalRef: Int64], logger: Logger
    ) async throws(OdooError) {
        let lines = invoiceLines(invoice, products: products)
        let expected = Self.linesTotal(lines)
        guard let current = move["amount_total"]?.doubleValue, abs(current - expected) > OdooMoves.epsilon else { return }
        let commands: [JSONValue] = [[5, 0, 0]] + lines.map { [0, 0, .object($0)] }
        try await client.write(model: "account.move", ids: [id], values: ["invoice_line_ids": .array(commands)], logger: logger)
    }

    /// Whether the source's invoice totals below zero, so Odoo holds it as a credit note (`out_refund`).
    static func isCreditNote(_ invoice: Invoice) -> Bool { (invoice.totalMinor ?? 0) < 0 }

    /// Invoice lines with explicit empty taxes: the source's amounts already include its tax decisions, and Stripe's
    /// tax (if any) arrives as its own line, so Odoo's default sales tax must not be added on top. A negative invoice's
    /// lines are negated (it becomes a credit note).
    func invoiceLines(_ invoice: Invoice, products: [ExternalRef: Int64]) -> [[String: JSONValue]] {
        let currency = invoice.currency ?? .usd
        let sign: Int64 = Self.isCreditNote(invoice) ? -1 : 1
        func major(_ minor: Int64) -> JSONValue { .double(Money(amountMinor: sign * minor, currency: currency).majorUnits) }
        var lines: [[String: JSONValue]] = []
        for line in invoice.lines ?? [] {
            var values: [String: JSONValue] = ["name": .string(line.description), "tax_ids": [[6, 0, []]]]
            if line.quantity > 0 && line.quantity * line.unitAmountMinor == line.amountMinor {
                values["quantity"] = .int(line.quantity)
                values["price_unit"] = major(line.unitAmountMinor)
            } else if line.quantity > 0, let discount = line.discountMinor,
                line.quantity * line.unitAmountMinor - discount == line.amountMinor,
                let percent = Self.discountPercent(gross: line.quantity * line.unitAmountMinor, net: line.amountMinor)
            {
                // A coupon's share of the line, as Odoo's own "Disc.%" column shows it (exact to its two decimals).
                values["quantity"] = .int(line.quantity)
                values["price_unit"] = major(line.unitAmountMinor)
                values["discount"] = .double(percent)
            } else {
                // Discounts or fractional unit prices: one line for the exact amount keeps the totals equal.
                values["quantity"] = 1
                values["price_unit"] = major(line.amountMinor)
                if line.quantity != 1 { values["name"] = .string("\(line.description) (×\(line.quantity))") }
            }
            if let productRef = line.productRef, let productID = products[productRef] { values["product_id"] = .int(productID) }
            lines.append(values)
        }
        if lines.isEmpty {
            // What the customer is billed before tax: a subtotal may be before the invoice's discounts.
            let amount = invoice.totalMinor.map { $0 - (invoice.taxMinor ?? 0) } ?? invoice.subtotalMinor ?? 0
            lines.append([
                "name": .string("Invoice \(invoice.number ?? invoice.ref.id)"), "quantity": 1, "price_unit": major(amount),
                "tax_ids": [[6, 0, []]],
            ])
        }
        if let tax = invoice.taxMinor, tax != 0 {
            lines.append([
                "name": "Tax (as charged by the billing system)", "quantity": 1, "price_unit": major(tax), "tax_ids": [[6, 0, []]],
            ])
        }
        return lines
    }

    /// The discount, in per cent, that takes `gross` to `net` (both minor units), when it is exact in Odoo's
    /// "Discount" precision (two decimals) so that Odoo's line total is exactly `net`; `nil` otherwise (or when nothing
    /// is taken off).
    static func discountPercent(gross: Int64, net: Int64) -> Double? {
        guard gross > 0, net >= 0, net < gross else { return nil }
        let (hundredths, remainder) = ((gross - net) * 10_000).quotientAndRemainder(dividingBy: gross)
        guard remainder == 0 else { return nil }
        return Double(hundredths) / 100
    }

    /// `res.currency` id by ISO code (inactive currencies included, so posting reports the real problem), cached.
    func currencyID(_ currency: CurrencyCode, logger: Logger) async throws(OdooError) -> Int64? {
        if let id = client.cache.id("currency:\(currency)") { return id }
        let rows = try await client.searchRead(
            model: "res.currency", domain: [["name", "=", .string(currency.rawValue)]], fields: ["name", "active"], limit: 1,
            context: OdooClient.inactiveToo, logger: logger)
        guard let id = rows.first?["id"]?.intValue else { return nil }
        client.cache.storeID(id, for: "currency:\(currency)")
        return id
    }

    /// The invoice Weft mirrored for `ref`, if any.
    func invoiceID(for ref: ExternalRef, logger: Logger) async throws(OdooError) -> Int64? {
        try await client.findRecord(ref: ref, model: "account.move", keyField: "ref", key: ref.xmlidName, logger: logger)
    }

    /// `YYYY-MM-DD` in UTC, as Odoo's date fields take it.
    static func odooDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        func pad(_ value: Int?) -> String { let text = String(value ?? 0); return text.count < 2 ? "0" + text : text }
        return "\(parts.year ?? 1970)-\(pad(parts.month))-\(pad(parts.day))"
    }
}
