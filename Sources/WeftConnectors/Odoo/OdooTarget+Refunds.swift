import Logging
import WeftCore

extension OdooTarget {
    /// Credits an invoice with `account.move.reversal` (key in the reason, hence in the credit note's `ref`), trims a
    /// partial refund to its amount, posts it and reconciles it: against the invoice when that is still open
    /// (`js_assign_outstanding_line`), else by registering the money paid back on the credit note.
    func createRefund(_ refund: Refund, logger: Logger) async throws(OdooError) -> DeliveryOutcome {
        guard refund.status == "succeeded" || refund.status == "pending" else {
            return .delivered(record: nil, note: "refund \(refund.status): nothing to credit in Odoo")
        }
        guard let invoiceRef = refund.invoiceRef else {
            return .reject(
                DeliveryFailure(kind: .rejected, message: "refund \(refund.ref) names no invoice, so no credit note can be made"))
        }
        guard let invoiceID = try await invoiceID(for: invoiceRef, logger: logger) else {
            return Self.dependencyMissing("invoice \(invoiceRef) is not in Odoo yet")
        }
        let key = refund.ref.xmlidName
        var creditNoteID = try await findCreditNote(refund: refund, invoiceID: invoiceID, logger: logger)
        if creditNoteID == nil {
            guard
                let invoice = try await client.read(model: "account.move", ids: [invoiceID], fields: Self.moveFields, logger: logger).first
            else { return Self.dependencyMissing("invoice \(invoiceRef) vanished from Odoo") }
            if invoice["state"]?.stringValue == "draft" {
                _ = try await client.call(model: "account.move", method: "action_post", ids: [invoiceID], logger: logger)
            }
            guard let journalID = invoice["journal_id"]?[0]?.intValue ?? invoice["journal_id"]?.intValue else {
                throw OdooError(kind: .invalidResponse, message: "invoice has no journal", operation: "account.move.read")
            }
            let context: [String: JSONValue] = ["active_model": "account.move", "active_ids": [.int(invoiceID)]]
            let reason = "\(refund.reason.map { "\($0) " } ?? "")[\(key)]"
            let wizard = try await client.create(
                model: "account.move.reversal", values: [["reason": .string(reason), "journal_id": .int(journalID)]],
                context: context, logger: logger)
            let action = try await client.call(
                model: "account.move.reversal", method: "refund_moves", ids: wizard, context: context, logger: logger)
            creditNoteID = action["res_id"]?.intValue
            if creditNoteID == nil { creditNoteID = try await findCreditNote(refund: refund, invoiceID: invoiceID, logger: logger) }
        }
        guard let creditNoteID else {
            throw OdooError(kind: .invalidResponse, message: "reversal created no credit note", operation: "account.move.reversal")
        }
        try await client.bindExternalIDs([(key, creditNoteID)], model: "account.move", logger: logger)
        try await postCreditNote(creditNoteID, amount: refund.amount, logger: logger)
        try await reconcileCreditNote(creditNoteID, invoiceID: invoiceID, refund: refund, logger: logger)
        return .delivered(record: TargetRecordID(model: "account.move", id: String(creditNoteID)), note: nil)
    }

    private func findCreditNote(refund: Refund, invoiceID: Int64, logger: Logger) async throws(OdooError) -> Int64? {
        let key = refund.ref.xmlidName
        if let id = try await client.externalIDs([key], model: "account.move", logger: logger)[key] { return id }
        let rows = try await client.searchRead(
            model: "account.move",
            domain: [["move_type", "=", "out_refund"], ["reversed_entry_id", "=", .int(invoiceID)], ["ref", "ilike", .string(key)]],
            fields: ["ref"], order: "id", logger: logger)
        // `ilike` treats `_` as a wildcard: confirm the exact key.
        return rows.first { $0["ref"]?.stringValue?.contains("[\(key)]") == true }?["id"]?.intValue
    }

    /// A draft credit note is trimmed to the refunded amount (partial refund) and posted.
    private func postCreditNote(_ id: Int64, amount: Money, logger: Logger) async throws(OdooError) {
        guard
            let move = try await client.read(
                model: "account.move", ids: [id], fields: ["state", "amount_total", "invoice_line_ids"], logger: logger
            ).first, move["state"]?.stringValue == "draft"
        else { return }
        if let total = move["amount_total"]?.doubleValue, abs(total - amount.majorUnits) > 0.000_5,
            let lineIDs = move["invoice_line_ids"]?.arrayValue?.compactMap(\.intValue), let first = lineIDs.first
        {
            var commands: [JSONValue] = [
                [1, .int(first), ["quantity": 1, "price_unit": .double(amount.majorUnits), "tax_ids": [[6, 0, []]]]]
            ]
            commands += lineIDs.dropFirst().map { [2, .int($0), 0] }
            try await client.write(model: "account.move", ids: [id], values: ["invoice_line_ids": .array(commands)], logger: logger)
        }
        _ = try await client.call(model: "account.move", method: "action_post", ids: [id], logger: logger)
    }

    private func reconcileCreditNote(_ id: Int64, invoiceID: Int64, refund: Refund, logger: Logger) async throws(OdooError) {
        let moves = try await client.read(
            model: "account.move", ids: [id, invoiceID], fields: ["payment_state", "state"], logger: logger)
        let creditNote = moves.first { $0["id"]?.intValue == id }
        let invoice = moves.first { $0["id"]?.intValue == invoiceID }
        guard creditNote?["state"]?.stringValue == "posted" else { return }
        if let state = creditNote?["payment_state"]?.stringValue, ["paid", "in_payment", "reversed"].contains(state) { return }
        let invoiceState = invoice?["payment_state"]?.stringValue ?? "not_paid"
        if invoiceState == "not_paid" || invoiceState == "partial" {
            // The invoice is still open: apply the credit to it, like the invoice form's "Add" outstanding credit.
            let lines = try await client.searchRead(
                model: "account.move.line",
                domain: [["move_id", "=", .int(id)], ["account_id.account_type", "=", "asset_receivable"], ["reconciled", "=", false]],
                fields: ["id"], limit: 1, logger: logger)
            guard let lineID = lines.first?["id"]?.intValue else { return }
            _ = try await client.call(
                model: "account.move", method: "js_assign_outstanding_line", ids: [invoiceID], params: ["line_id": .int(lineID)],
                logger: logger)
        } else if refund.kind == .credit {
            // A credit kept on the customer's account: the credit note stays open (an outstanding credit) until a later
            // invoice uses it (`applyCredit`).
            return
        } else {
            // The invoice was paid and the money went back: record that outbound payment on the credit note.
            let memo = refund.ref.xmlidName
            if let paymentID = try await paymentID(memo: memo, logger: logger) {
                try await client.bindExternalIDs([(memo, paymentID)], model: "account.payment", logger: logger)
                return
            }
            let paymentID = try await registerThroughWizard(
                moveID: id, amount: refund.amount, date: refund.createdAt, memo: memo, logger: logger)
            _ = paymentID
        }
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
                model: "account.move", ids: [invoiceID], fields: ["state", "payment_state", "amount_residual", "partner_id"],
                logger: logger
            ).first
        }
        guard var current = try await invoice() else { return Self.dependencyMissing("invoice \(credit.invoiceRef) vanished") }
        switch current["state"]?.stringValue {
        case "posted": break
        case "cancel": return .delivered(record: nil, note: "invoice cancelled in Odoo; no credit applied")
        default: return Self.dependencyMissing("invoice \(credit.invoiceRef) is not posted yet")
        }
        func residual(_ move: [String: JSONValue]) -> Double { move["amount_residual"]?.doubleValue ?? 0 }
        let record = TargetRecordID(model: "account.move", id: String(invoiceID))
        if residual(current) < 0.000_5 { return .delivered(record: record, note: nil) }
        if residual(current) > credit.amount.majorUnits + 0.000_5 {
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
        guard let partner = current["partner_id"]?[0]?.intValue ?? current["partner_id"]?.intValue else {
            throw OdooError(kind: .invalidResponse, message: "invoice has no partner", operation: "account.move.read")
        }
        let open = try await client.searchRead(
            model: "account.move",
            domain: [
                ["move_type", "=", "out_refund"], ["state", "=", "posted"], ["partner_id", "=", .int(partner)],
                ["payment_state", "in", ["not_paid", "partial"]],
            ],
            fields: ["id"], order: "date, id", logger: logger)
        noteIDs += open.compactMap { $0["id"]?.intValue }.filter { !noteIDs.contains($0) }
        for noteID in noteIDs {
            let lines = try await client.searchRead(
                model: "account.move.line",
                domain: [
                    ["move_id", "=", .int(noteID)], ["account_id.account_type", "=", "asset_receivable"],
                    ["reconciled", "=", false],
                ],
                fields: ["id"], limit: 1, logger: logger)
            guard let lineID = lines.first?["id"]?.intValue else { continue }
            _ = try await client.call(
                model: "account.move", method: "js_assign_outstanding_line", ids: [invoiceID], params: ["line_id": .int(lineID)],
                logger: logger)
            guard let after = try await invoice() else { break }
            current = after
            if residual(current) < 0.000_5 { return .delivered(record: record, note: nil) }
        }
        return Self.dependencyMissing(
            "invoice \(credit.invoiceRef) still has \(residual(current)) due in Odoo and the customer has no open credit note "
                + "to settle it with yet")
    }
}
