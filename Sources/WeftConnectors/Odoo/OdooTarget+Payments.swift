import Foundation
import Logging
import WeftCore

extension OdooTarget {
    /// Registers succeeded payments on their posted invoices through `account.payment.register`, each with its key as
    /// `communication` (→ the payment's memo), unless the invoice is already paid or the payment exists. The lookups
    /// are batched (invoices by external id then `ref`, existing payments by memo, invoice states, external-id
    /// bookkeeping); each registration is its own wizard (Odoo gives one memo per wizard). A failure of one payment's
    /// registration is that payment's outcome only.
    func registerPayments(_ payments: [Payment], logger: Logger) async throws(OdooError) -> [DeliveryOutcome] {
        var outcomes = [DeliveryOutcome?](repeating: nil, count: payments.count)
        var pending: [(index: Int, payment: Payment, invoiceRef: ExternalRef)] = []
        for (index, payment) in payments.enumerated() {
            if payment.status != .succeeded {
                outcomes[index] = .delivered(
                    record: nil, note: "failed payment: nothing to register in Odoo (standing is handled separately)")
            } else if let invoiceRef = payment.invoiceRef {
                pending.append((index, payment, invoiceRef))
            } else {
                outcomes[index] = .delivered(record: nil, note: "payment without an invoice: nothing to reconcile in Odoo")
            }
        }
        guard !pending.isEmpty else { return outcomes.map { $0! } }
        let invoices = try await client.recordIDs(
            for: pending.map(\.invoiceRef), model: "account.move", keyField: "ref", logger: logger)
        let existing = try await paymentIDs(memos: pending.map(\.payment.ref.xmlidName), logger: logger)
        let invoiceIDs = Array(Set(pending.compactMap { invoices[$0.invoiceRef] }))
        let moves = try await client.read(model: "account.move", ids: invoiceIDs, fields: Self.moveFields, logger: logger)
        var moveByID: [Int64: [String: JSONValue]] = [:]
        for move in moves { if let id = move["id"]?.intValue { moveByID[id] = move } }

        var bindings: [(name: String, id: Int64)] = []
        for item in pending {
            let key = item.payment.ref.xmlidName
            guard let invoiceID = invoices[item.invoiceRef] else {
                outcomes[item.index] = Self.dependencyMissing("invoice \(item.invoiceRef) is not in Odoo yet")
                continue
            }
            if let paymentID = existing[key] {
                bindings.append((key, paymentID))
                outcomes[item.index] = .delivered(record: TargetRecordID(model: "account.payment", id: String(paymentID)), note: nil)
                continue
            }
            var commandLogger = logger
            commandLogger[metadataKey: "weft.command.kind"] = "register_payment"
            do {
                let invoice = moveByID[invoiceID]
                switch invoice?["state"]?.stringValue {
                case "cancel"?:
                    outcomes[item.index] = .reject(
                        DeliveryFailure(
                            kind: .rejected,
                            message: "invoice \(item.invoiceRef) is cancelled in Odoo: reset it to draft and post it, then replay"))
                    continue
                case "draft"?:
                    _ = try await client.call(model: "account.move", method: "action_post", ids: [invoiceID], logger: commandLogger)
                default:
                    break
                }
                if let state = invoice?["payment_state"]?.stringValue, ["paid", "in_payment", "reversed"].contains(state) {
                    outcomes[item.index] = .delivered(
                        record: TargetRecordID(model: "account.move", id: String(invoiceID)), note: "invoice already \(state) in Odoo")
                    continue
                }
                let paymentID = try await registerThroughWizard(
                    moveID: invoiceID, amount: item.payment.amount, date: item.payment.occurredAt, memo: key, logger: commandLogger)
                bindings.append((key, paymentID))
                outcomes[item.index] = .delivered(record: TargetRecordID(model: "account.payment", id: String(paymentID)), note: nil)
            } catch {
                outcomes[item.index] = Self.outcome(for: error, logger: commandLogger)
            }
        }
        // Bookkeeping only: each payment is already findable by its memo, so a failure here loses nothing.
        try await client.bindExternalIDs(bindings, model: "account.payment", logger: logger)
        return outcomes.map { $0! }
    }

    /// Payments whose memo (`ref` before Odoo 18) is one of `memos`, by memo (the lowest id when several).
    func paymentIDs(memos: [String], logger: Logger) async throws(OdooError) -> [String: Int64] {
        let field = try await client.serverVersion(logger: logger).paymentMemoField
        let rows = try await client.searchRead(
            model: "account.payment", domain: [[.string(field), "in", .array(Array(Set(memos)).sorted().map(JSONValue.string))]],
            fields: [field], order: "id", logger: logger)
        var result: [String: Int64] = [:]
        for row in rows {
            if let memo = row[field]?.stringValue, result[memo] == nil, let id = row["id"]?.intValue { result[memo] = id }
        }
        return result
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

    /// The payment whose memo (`ref` before Odoo 18) is exactly `memo`.
    func paymentID(memo: String, logger: Logger) async throws(OdooError) -> Int64? {
        let field = try await client.serverVersion(logger: logger).paymentMemoField
        let rows = try await client.searchRead(
            model: "account.payment", domain: [[.string(field), "=", .string(memo)]], fields: ["id"], limit: 1, order: "id",
            logger: logger)
        return rows.first?["id"]?.intValue
    }
}
