public import Foundation
public import Logging
public import WeftCore

/// Reads what Odoo shows of the orders Weft made from CRM deals — the order's state, its invoices and their payment —
/// for writing back to the CRM. Orders are recognised by their key (`client_order_ref` = `<crm>_deal_<id>`).
///
/// Per read: one `search_read` of orders written since a time, one of customer invoices written since then (an invoice
/// posted or paid does not touch its order's `write_date`), one of the orders those invoices came from
/// (`invoice_origin`), and one `read` of the invoices of every order found.
public struct OdooOrderStatusReader: Sendable {
    public let client: OdooClient
    /// The CRM systems whose deals' orders are read.
    public let crmSystems: [SystemName]

    public init(client: OdooClient, crmSystems: [SystemName]) {
        self.client = client
        self.crmSystems = crmSystems
    }

    /// One order's status, for the deal it was made from.
    public struct Reading: Sendable, Hashable {
        public var deal: ExternalRef
        public var status: DealERPStatus
        /// The newest `write_date` of the order and its invoices.
        public var modifiedAt: Date
    }

    static let orderFields = ["name", "state", "client_order_ref", "invoice_ids", "write_date"]

    /// The orders (of deals of `crmSystems`) whose order or invoices were written at or after `since`.
    public func readings(since: Date, today: Date = Date(), logger: Logger) async throws(OdooError) -> [Reading] {
        guard !crmSystems.isEmpty else { return [] }
        let sinceText = JSONValue.string(Self.odooDatetime(since))
        let keyDomain = Self.keyDomain(crmSystems)
        var orders: [Int64: [String: JSONValue]] = [:]
        for row in try await client.searchRead(
            model: "sale.order", domain: .array(keyDomain + [["write_date", ">=", sinceText]]), fields: Self.orderFields,
            order: "id", logger: logger)
        {
            if let id = row["id"]?.intValue { orders[id] = row }
        }
        let invoices = try await client.searchRead(
            model: "account.move",
            domain: [["move_type", "=", "out_invoice"], ["write_date", ">=", sinceText], ["invoice_origin", "!=", false]],
            fields: ["invoice_origin"], order: "id", logger: logger)
        let origins = Set(invoices.compactMap { $0["invoice_origin"]?.stringValue }).sorted()
        if !origins.isEmpty {
            for row in try await client.searchRead(
                model: "sale.order", domain: .array(keyDomain + [["name", "in", .array(origins.map(JSONValue.string))]]),
                fields: Self.orderFields, order: "id", logger: logger)
            {
                if let id = row["id"]?.intValue { orders[id] = row }
            }
        }
        let invoiceIDs = Array(Set(orders.values.flatMap { ($0["invoice_ids"]?.arrayValue ?? []).compactMap(\.intValue) })).sorted()
        let moves = try await client.read(
            model: "account.move", ids: invoiceIDs,
            fields: ["state", "payment_state", "invoice_date_due", "move_type", "write_date", "amount_residual", "currency_id"],
            logger: logger)
        let unentered = try await client.paymentsWithoutEntry(moves, logger: logger)
        let movesByID = Dictionary(moves.compactMap { row in row["id"]?.intValue.map { ($0, row) } }) { first, _ in first }
        var readings: [Reading] = []
        for (_, order) in orders.sorted(by: { $0.key < $1.key }) {
            guard let key = order["client_order_ref"]?.stringValue, let deal = deal(forKey: key) else { continue }
            // Weft confirms the orders it creates in the same delivery: a quotation is that moment, not a status.
            if ["draft", "sent"].contains(order["state"]?.stringValue ?? "draft") { continue }
            let orderInvoices = (order["invoice_ids"]?.arrayValue ?? []).compactMap(\.intValue).compactMap { movesByID[$0] }
                .filter { $0["move_type"]?.stringValue == "out_invoice" }
            let times = ([order] + orderInvoices).compactMap { $0["write_date"]?.stringValue.flatMap(Self.parseDatetime) }
            readings.append(
                Reading(
                    deal: deal,
                    status: Self.status(
                        order: order, invoices: orderInvoices, today: Self.odooDate(today), unentered: unentered),
                    modifiedAt: times.max() ?? since))
        }
        return readings
    }

    /// The deal an order key belongs to: `<crm>_deal_<id>` for one of the CRM systems.
    func deal(forKey key: String) -> ExternalRef? {
        for system in crmSystems {
            let prefix = ExternalRef(system: system, kind: .deal, id: "").xmlidName
            if key.hasPrefix(prefix), key.count > prefix.count {
                return ExternalRef(system: system, kind: .deal, id: String(key.dropFirst(prefix.count)))
            }
        }
        return nil
    }

    /// `client_order_ref =like '<crm>_deal_%'` for any of the CRMs (prefix `|` operators for more than one).
    static func keyDomain(_ systems: [SystemName]) -> [JSONValue] {
        let terms: [JSONValue] = systems.map { system in
            let prefix = ExternalRef(system: system, kind: .deal, id: "").xmlidName
            // `_` is a wildcard for `like`: escape it so `hubspot_deal_` matches only itself.
            return ["client_order_ref", "=like", .string(prefix.replacingOccurrences(of: "_", with: "\\_") + "%")]
        }
        return OdooClient.anyOf(terms)
    }

    /// The status words of an order and its customer invoices. `unentered` holds, by invoice id, the payments Odoo
    /// holds without a journal entry (`OdooClient.paymentsWithoutEntry`): an invoice they cover only in part is
    /// `in_payment` in Odoo, and partly paid here, as it would be with payments that have an entry.
    static func status(
        order: [String: JSONValue], invoices: [[String: JSONValue]], today: String, unentered: [Int64: Double] = [:]
    ) -> DealERPStatus {
        let orderState: String =
            switch order["state"]?.stringValue ?? "" {
            case "sale": "confirmed"
            case "done": "locked"
            case "cancel": "cancelled"
            default: "quotation"
            }
        let posted = invoices.filter { $0["state"]?.stringValue == "posted" }
        let paidStates: Set<String> = ["paid", "in_payment", "reversed"]
        func partlyInPayment(_ invoice: [String: JSONValue]) -> Bool { OdooMoves.partlyInPayment(invoice, unentered: unentered) }
        let open = posted.filter { !paidStates.contains($0["payment_state"]?.stringValue ?? "") || partlyInPayment($0) }
        let overdue = open.contains { invoice in
            guard let due = invoice["invoice_date_due"]?.stringValue else { return false }
            return due < today
        }
        let invoiceStatus: String
        if posted.isEmpty {
            invoiceStatus = "not_invoiced"
        } else if overdue {
            invoiceStatus = "overdue"
        } else if open.isEmpty {
            invoiceStatus = "paid"
        } else if open.contains(where: { $0["payment_state"]?.stringValue == "partial" || partlyInPayment($0) }) {
            invoiceStatus = "partially_paid"
        } else {
            invoiceStatus = "invoiced"
        }
        return DealERPStatus(
            orderRef: order["name"]?.stringValue ?? "", orderState: orderState, invoiceStatus: invoiceStatus,
            paymentStanding: overdue ? "past_due" : "good")
    }

    /// Odoo's datetime form, UTC: `2026-12-01 20:15:00`.
    static func odooDatetime(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func pad(_ value: Int?) -> String { let text = String(value ?? 0); return text.count < 2 ? "0" + text : text }
        return "\(parts.year ?? 1970)-\(pad(parts.month))-\(pad(parts.day)) \(pad(parts.hour)):\(pad(parts.minute)):\(pad(parts.second))"
    }

    static func odooDate(_ date: Date) -> String { String(odooDatetime(date).prefix(10)) }

    static func parseDatetime(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.date(from: String(text.prefix(19)))
    }
}
