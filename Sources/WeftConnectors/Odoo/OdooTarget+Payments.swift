import Foundation
import Logging
import WeftCore

extension OdooTarget {
    /// Registers a succeeded payment on its posted invoice through `account.payment.register`, with the payment's
    /// key as `communication` (→ the payment's memo), unless the invoice is already paid or the payment exists.
    func registerPayment(_ payment: Payment, logger: Logger) async throws(OdooError) -> DeliveryOutcome {
        guard payment.status == .succeeded else {
            return .delivered(record: nil, note: "failed payment: nothing to register in Odoo (standing is handled separately)")
        }
        guard let invoiceRef = payment.invoiceRef else {
            return .delivered(record: nil, note: "payment without an invoice: nothing to reconcile in Odoo")
        }
        guard let invoiceID = try await invoiceID(for: invoiceRef, logger: logger) else {
            return Self.dependencyMissing("invoice \(invoiceRef) is not in Odoo yet")
        }
        let key = payment.ref.xmlidName
        if let paymentID = try await paymentID(memo: key, logger: logger) {
            try await client.bindExternalIDs([(key, paymentID)], model: "account.payment", logger: logger)
            return .delivered(record: TargetRecordID(model: "account.payment", id: String(paymentID)), note: nil)
        }
        let invoice = try await client.read(model: "account.move", ids: [invoiceID], fields: Self.moveFields, logger: logger).first
        switch invoice?["state"]?.stringValue {
        case "cancel"?:
            return .reject(
                DeliveryFailure(
                    kind: .rejected, message: "invoice \(invoiceRef) is cancelled in Odoo: reset it to draft and post it, then replay"))
        case "draft"?:
            _ = try await client.call(model: "account.move", method: "action_post", ids: [invoiceID], logger: logger)
        default:
            break
        }
        if let state = invoice?["payment_state"]?.stringValue, ["paid", "in_payment", "reversed"].contains(state) {
            return .delivered(
                record: TargetRecordID(model: "account.move", id: String(invoiceID)), note: "invoice already \(state) in Odoo")
        }
        let paymentID = try await registerThroughWizard(
            moveID: invoiceID, amount: payment.amount, date: payment.occurredAt, memo: key, logger: logger)
        try await client.bindExternalIDs([(key, paymentID)], model: "account.payment", logger: logger)
        return .delivered(record: TargetRecordID(model: "account.payment", id: String(paymentID)), note: nil)
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
