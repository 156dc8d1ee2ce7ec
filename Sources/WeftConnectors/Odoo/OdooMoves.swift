import Logging
import WeftCore

/// Reading what an Odoo move still has due, and its many2one values.
enum OdooMoves {
    /// Below this, an amount in major units is zero (every currency Weft handles has at most three decimals).
    static let epsilon = 0.000_5

    /// What is left to pay of `move` (read with `amount_residual`), in its currency, once `unentered` (its payments
    /// without a journal entry, `OdooClient.paymentsWithoutEntry(_:logger:)`) is counted.
    static func amountDue(_ move: [String: JSONValue], less unentered: Double?) -> Double {
        max(0, (move["amount_residual"]?.doubleValue ?? 0) - (unentered ?? 0))
    }

    /// Whether `move` (read with `payment_state` and `amount_residual`) is `in_payment` with something still due once
    /// its payments without a journal entry (`unentered`, by move id) are counted: paid in part, like `partial`.
    static func partlyInPayment(_ move: [String: JSONValue], unentered: [Int64: Double]) -> Bool {
        move["payment_state"]?.stringValue == "in_payment"
            && amountDue(move, less: move["id"]?.intValue.flatMap { unentered[$0] }) >= epsilon
    }

    /// The id of a many2one value (`[id, "name"]`, or a bare id).
    static func many2oneID(_ value: JSONValue?) -> Int64? { value?[0]?.intValue ?? value?.intValue }
}

extension OdooClient {
    /// The payments of each of `moves` (read with `payment_state`, `amount_residual` and `currency_id`) that Odoo holds
    /// without a journal entry, summed in the move's currency, by move id (moves with none are absent).
    ///
    /// With Odoo Accounting, a payment method line without an outstanding account (how a fresh Odoo 18/19 database
    /// with Accounting has them) makes the wizard post a payment with no journal entry: it stays `in_process` and is
    /// only linked to its invoice (`matched_payment_ids`) until a bank statement line is matched with it, so nothing is
    /// reconciled and the invoice's `amount_residual` stays whole while its `payment_state` is `in_payment`. Only such
    /// invoices (`in_payment` with a residual, Odoo 18 or later) cost the two extra reads. A payment in another
    /// currency than its invoice's is not counted: Odoo's rate is not known here.
    func paymentsWithoutEntry(_ moves: [[String: JSONValue]], logger: Logger) async throws(OdooError) -> [Int64: Double] {
        let candidates = moves.filter { move in
            move["payment_state"]?.stringValue == "in_payment" && (move["amount_residual"]?.doubleValue ?? 0) >= OdooMoves.epsilon
        }.compactMap { $0["id"]?.intValue }
        guard !candidates.isEmpty, try await listsMatchedPayments(logger: logger) else { return [:] }
        let links = try await read(
            model: "account.move", ids: candidates.sorted(), fields: ["matched_payment_ids", "currency_id"], logger: logger)
        let paymentIDs = Set(links.flatMap { ($0["matched_payment_ids"]?.arrayValue ?? []).compactMap(\.intValue) })
        guard !paymentIDs.isEmpty else { return [:] }
        let payments = try await read(
            model: "account.payment", ids: paymentIDs.sorted(), fields: ["state", "move_id", "amount", "currency_id"], logger: logger)
        var pending: [Int64: (amount: Double, currency: Int64?)] = [:]
        for payment in payments {
            guard let id = payment["id"]?.intValue, payment["state"]?.stringValue == "in_process",
                OdooMoves.many2oneID(payment["move_id"]) == nil
            else { continue }
            pending[id] = (payment["amount"]?.doubleValue ?? 0, OdooMoves.many2oneID(payment["currency_id"]))
        }
        var result: [Int64: Double] = [:]
        for link in links {
            guard let id = link["id"]?.intValue else { continue }
            let currency = OdooMoves.many2oneID(link["currency_id"])
            let total = (link["matched_payment_ids"]?.arrayValue ?? []).compactMap { $0.intValue.flatMap { pending[$0] } }
                .filter { $0.currency == currency }.reduce(0) { $0 + $1.amount }
            if total >= OdooMoves.epsilon { result[id] = total }
        }
        return result
    }
}
