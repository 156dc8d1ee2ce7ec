public import Logging
import WeftCore

/// The names that moved between Odoo releases, as the database at hand has them.
///
/// A stable release (`17.0`, `18.0`, `19.0`) is known: its names follow from its major version (`OdooServerVersion`).
/// Odoo Online runs the releases in between (`saas~18.1` … `saas~18.4` before 19.0), each of which may already carry the
/// next major's names, and which one did is not published. For those, the database says it itself: `fields_get` of
/// the model, asked once per client, and for `name_search`'s parameter (a signature, not a field) the server's own
/// `TypeError` when the guess was wrong, remembered.
extension OdooClient {
    /// sale.order.line's tax field: `tax_id` up to 18, `tax_ids` from 19.
    public func saleLineTaxField(logger: Logger) async throws(OdooError) -> String {
        let version = try await serverVersion(logger: logger)
        guard version.isOnlineRelease else { return version.saleLineTaxField }
        return try await firstField(of: "sale.order.line", among: ["tax_ids", "tax_id"], logger: logger) ?? version.saleLineTaxField
    }

    /// account.payment's memo field: `ref` up to 17, `memo` from 18.
    public func paymentMemoField(logger: Logger) async throws(OdooError) -> String {
        let version = try await serverVersion(logger: logger)
        guard version.isOnlineRelease else { return version.paymentMemoField }
        return try await firstField(of: "account.payment", among: ["memo", "ref"], logger: logger) ?? version.paymentMemoField
    }

    /// account.payment's cancelled state: `cancel` up to 17 (the journal entry's), `canceled` from 18 (its own).
    public func paymentCancelledState(logger: Logger) async throws(OdooError) -> String {
        let version = try await serverVersion(logger: logger)
        guard version.isOnlineRelease else { return version.paymentCancelledState }
        let states = try await fields(of: "account.payment", logger: logger)["state"]?["selection"]?.arrayValue ?? []
        let keys = Set(states.compactMap { $0[0]?.stringValue })
        if keys.contains("canceled") { return "canceled" }
        if keys.contains("cancel") { return "cancel" }
        return version.paymentCancelledState
    }

    /// Whether an invoice lists the payments matched with it (`account.move.matched_payment_ids`, Odoo 18 on), which
    /// is how a payment without a journal entry (Odoo Accounting) is found.
    public func listsMatchedPayments(logger: Logger) async throws(OdooError) -> Bool {
        let version = try await serverVersion(logger: logger)
        guard version.isOnlineRelease else { return version.major >= 18 }
        return try await fields(of: "account.move", logger: logger)["matched_payment_ids"] != nil
    }

    /// The first of `names` that `model` has.
    func firstField(of model: String, among names: [String], logger: Logger) async throws(OdooError) -> String? {
        let fields = try await fields(of: model, logger: logger)
        return names.first { fields[$0] != nil }
    }

    /// `fields_get` of `model` (each field's `type` and `selection`), asked once per client.
    func fields(of model: String, logger: Logger) async throws(OdooError) -> [String: JSONValue] {
        if let known = cache.fields(of: model) { return known }
        let result = try await call(
            model: model, method: "fields_get", params: ["attributes": ["type", "selection"]], logger: logger)
        guard let fields = result.objectValue else {
            throw OdooError(kind: .invalidResponse, message: "fields_get did not return the fields", operation: "\(model).fields_get")
        }
        cache.storeFields(fields, of: model)
        return fields
    }

    /// `name_search`'s domain parameter as this server takes it: the version's (`args` up to 18, `domain` from 19),
    /// unless the server refused it, in which case the other, from then on.
    func nameSearchDomainParameter(logger: Logger) async throws(OdooError) -> String {
        if let domain = cache.flag("name_search.domain") { return domain ? "domain" : "args" }
        return try await serverVersion(logger: logger).nameSearchDomainParameter
    }

    /// Whether `error` is the server refusing `parameter` as a keyword argument (Python's `TypeError`, or JSON-2's 422).
    static func refusesKeyword(_ error: OdooError, _ parameter: String) -> Bool {
        error.message.contains("unexpected keyword argument '\(parameter)'")
    }
}

extension OdooServerVersion {
    /// An Odoo Online release between two majors (`saas~18.1`), whose names may be either major's.
    public var isOnlineRelease: Bool { text.hasPrefix("saas~") || minor > 0 }
}
