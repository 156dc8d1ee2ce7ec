import WeftCore

/// Quotations, orders, invoicing from orders and (Enterprise) subscriptions.
extension Database {
    func orderLines(_ order: Int64) -> [Int64] {
        (row("sale.order", order)?["order_line"]?.arrayValue ?? []).compactMap(\.intValue).filter { exists("sale.order.line", $0) }
    }

    /// Orders are in the company's currency here (`currency_id` computes to it), so their amounts are in its scale.
    var orderScale: Double { scale(currency: 1) }

    func saleLineAmounts(_ row: [String: JSONValue]) -> (subtotal: Int64, tax: Int64) {
        let scale = orderScale
        let subtotal = subtotalMinor(row, quantity: "product_uom_qty", scale: scale)
        let tax = taxMinor(row, subtotal: subtotal, quantity: "product_uom_qty", taxField: flavour.saleLineTax, scale: scale)
            .reduce(0) { $0 + $1.1 }
        return (subtotal, tax)
    }

    func qtyToInvoice(_ line: Int64) -> Double {
        guard let row = row("sale.order.line", line), let order = row["order_id"]?.intValue,
            self.row("sale.order", order)?["state"]?.stringValue == "sale"
        else { return 0 }
        let policy = row["product_id"]?.intValue.map { value("product.product", $0, "invoice_policy").stringValue ?? "order" } ?? "order"
        let base = policy == "delivery" ? (row["qty_delivered"]?.doubleValue ?? 0) : (row["product_uom_qty"]?.doubleValue ?? 1)
        return base - (row["qty_invoiced"]?.doubleValue ?? 0)
    }

    func computedSale(_ model: String, _ id: Int64, _ row: [String: JSONValue], _ field: String) -> JSONValue {
        switch (model, field) {
        case ("sale.order", "amount_untaxed"), ("sale.order", "amount_tax"), ("sale.order", "amount_total"):
            var untaxed: Int64 = 0
            var tax: Int64 = 0
            for line in orderLines(id) {
                let amounts = saleLineAmounts(self.row("sale.order.line", line) ?? [:])
                untaxed += amounts.subtotal
                tax += amounts.tax
            }
            return Self.major(field == "amount_untaxed" ? untaxed : (field == "amount_tax" ? tax : untaxed + tax), scale: orderScale)
        case ("sale.order", "currency_id"), ("sale.order.line", "currency_id"):
            return .int(1)
        case ("sale.order", "invoice_ids"):
            return .array((row["_invoice_ids"]?.arrayValue ?? []).filter { exists("account.move", $0.intValue ?? 0) })
        case ("sale.order", "invoice_count"):
            return .int(Int64((row["_invoice_ids"]?.arrayValue ?? []).filter { exists("account.move", $0.intValue ?? 0) }.count))
        case ("sale.order", "invoice_status"):
            guard row["state"]?.stringValue == "sale" else { return "no" }
            let lines = orderLines(id)
            if lines.contains(where: { qtyToInvoice($0) > 0 }) { return "to invoice" }
            let invoiced = lines.allSatisfy { line in
                let lineRow = self.row("sale.order.line", line) ?? [:]
                return (lineRow["qty_invoiced"]?.doubleValue ?? 0) >= (lineRow["product_uom_qty"]?.doubleValue ?? 0)
            }
            return .string(!lines.isEmpty && invoiced ? "invoiced" : "no")
        case ("sale.order", "is_subscription"):
            return .bool(row["plan_id"]?.intValue != nil)
        case ("sale.order", "recurring_monthly"):
            guard let plan = row["plan_id"]?.intValue, let planRow = self.row("sale.subscription.plan", plan) else { return .double(0) }
            let untaxed = orderLines(id).reduce(Int64(0)) { $0 + saleLineAmounts(self.row("sale.order.line", $1) ?? [:]).subtotal }
            let period = Double(planRow["billing_period_value"]?.intValue ?? 1)
            let months: Double
            switch planRow["billing_period_unit"]?.stringValue ?? "month" {
            case "year": months = 12 * period
            case "week": months = period * 7 / 30
            default: months = period
            }
            return Self.major(Self.minor(Double(untaxed) / max(months, 0.0001), scale: 1), scale: orderScale)
        case ("sale.order.line", "price_subtotal"):
            return Self.major(saleLineAmounts(row).subtotal, scale: orderScale)
        case ("sale.order.line", "price_tax"):
            return Self.major(saleLineAmounts(row).tax, scale: orderScale)
        case ("sale.order.line", "price_total"):
            let amounts = saleLineAmounts(row)
            return Self.major(amounts.subtotal + amounts.tax, scale: orderScale)
        case ("sale.order.line", "qty_to_invoice"):
            return .double(qtyToInvoice(id))
        case ("sale.order.line", "state"):
            return row["order_id"]?.intValue.flatMap { self.row("sale.order", $0)?["state"] } ?? .bool(false)
        default:
            return models[model]?.fields[field]?.kind.emptyValue ?? .bool(false)
        }
    }

    mutating func actionConfirm(_ ids: [Int64]) throws(OdooError) {
        for id in ids {
            guard let row = row("sale.order", id) else { throw .missing(model: "sale.order", ids: [id]) }
            let state = row["state"]?.stringValue ?? "draft"
            if state == "sale" || state == "cancel" {
                throw .user(
                    "It is not allowed to confirm an order in the following states: \(state == "sale" ? "Sales Order" : "Cancelled")")
            }
            setField("sale.order", id, "state", .string("sale"))
            setField("sale.order", id, "date_order", .string(Self.formatUTC(now).datetime))
            setField("sale.order", id, "write_date", .string(Self.formatUTC(now).datetime))
            if flavour.enterprise, row["plan_id"]?.intValue != nil {
                setField("sale.order", id, "subscription_state", .string("3_progress"))
                if row["start_date"]?.stringValue == nil {
                    setField("sale.order", id, "start_date", .string(Self.formatUTC(now).date))
                }
                if row["next_invoice_date"]?.stringValue == nil {
                    setField("sale.order", id, "next_invoice_date", .string(Self.formatUTC(now).date))
                }
            }
        }
    }

    /// `sale.order.action_cancel` (17+): an order that is not a draft is cancelled only with `disable_cancel_warning`
    /// in the context; without it Odoo answers the `sale.order.cancel` wizard's action (for one order; more raise
    /// "Expected singleton") and changes nothing (`SaleOrder._show_cancel_wizard`).
    mutating func actionCancelOrder(_ ids: [Int64], _ ctx: CallContext) throws(OdooError) -> MethodResult {
        for id in ids where !exists("sale.order", id) { throw .missing(model: "sale.order", ids: [id]) }
        let warn =
            ctx.values["disable_cancel_warning"]?.boolValue != true
            && ids.contains { row("sale.order", $0)?["state"]?.stringValue != "draft" }
        if warn {
            guard ids.count == 1 else {
                throw .builtin("ValueError", "Expected singleton: sale.order(\(ids.map(String.init).joined(separator: ", ")))")
            }
            let state = row("sale.order", ids[0])?["state"]?.stringValue ?? "draft"
            let typeName = ["draft", "sent", "cancel"].contains(state) ? "Quotation" : "Sales Order"
            return .value(
                .object([
                    ("name", .string("Cancel \(typeName)")), ("view_mode", "form"), ("res_model", "sale.order.cancel"),
                    ("type", "ir.actions.act_window"), ("target", "new"),
                    ("context", .object([("default_order_id", .int(ids[0])), ("mark_so_as_canceled", .bool(true))])),
                ]))
        }
        for id in ids {
            setField("sale.order", id, "state", .string("cancel"))
            if flavour.enterprise, row("sale.order", id)?["plan_id"]?.intValue != nil {
                setField("sale.order", id, "subscription_state", .string("6_churn"))
            }
        }
        return .value(.bool(true))
    }

    mutating func createInvoices(_ ids: [Int64], _ ctx: CallContext) throws(OdooError) -> OdooValue {
        var invoices: [Int64] = []
        var partner: Int64 = 0
        var origin = ""
        for wizard in ids {
            guard let row = row("sale.advance.payment.inv", wizard) else {
                throw .missing(model: "sale.advance.payment.inv", ids: [wizard])
            }
            if (row["advance_payment_method"]?.stringValue ?? "delivered") != "delivered" {
                throw .user("The Weft Odoo simulator does not simulate down payments; use advance_payment_method 'delivered'.")
            }
            for order in (row["sale_order_ids"]?.arrayValue ?? []).compactMap(\.intValue) {
                guard let orderRow = self.row("sale.order", order) else { throw .missing(model: "sale.order", ids: [order]) }
                var lines: [JSONValue] = []
                for line in orderLines(order) {
                    let quantity = qtyToInvoice(line)
                    guard quantity > 0, let lineRow = self.row("sale.order.line", line) else { continue }
                    lines.append(
                        .array([
                            .int(0), .int(0),
                            .object([
                                "product_id": lineRow["product_id"] ?? .bool(false), "name": lineRow["name"] ?? .bool(false),
                                "quantity": .double(quantity), "price_unit": lineRow["price_unit"] ?? .double(0),
                                "discount": lineRow["discount"] ?? .double(0), "sale_line_id": .int(line),
                                "tax_ids": .array([.array([.int(6), .int(0), .array(lineRow[flavour.saleLineTax]?.arrayValue ?? [])])]),
                            ]),
                        ]))
                    setField("sale.order.line", line, "qty_invoiced", .double((lineRow["qty_invoiced"]?.doubleValue ?? 0) + quantity))
                }
                guard !lines.isEmpty else { continue }
                let name = orderRow["name"]?.stringValue ?? ""
                var vals: [String: JSONValue] = [
                    "move_type": "out_invoice", "partner_id": orderRow["partner_id"] ?? .bool(false), "invoice_origin": .string(name),
                    "currency_id": .int(1), "journal_id": .int(1), "invoice_line_ids": .array(lines),
                ]
                if flavour.is19 { vals["ref"] = orderRow["client_order_ref"].flatMap(\.stringValue).map(JSONValue.string) ?? .string(name) }
                if let reference = orderRow["client_order_ref"]?.stringValue, !flavour.is19 { vals["ref"] = .string(reference) }
                let invoice = try create("account.move", vals, ctx)
                setField("sale.order", order, "_invoice_ids", .array((orderRow["_invoice_ids"]?.arrayValue ?? []) + [.int(invoice)]))
                invoices.append(invoice)
                partner = orderRow["partner_id"]?.intValue ?? 0
                origin = name
            }
        }
        if invoices.isEmpty {
            throw .user(
                "There is no invoiceable line. If a product has a control policy based on received quantity, please make sure that a quantity has been received."
            )
        }
        return invoiceAction(invoices, partner: partner, origin: origin)
    }

    /// The window action Odoo returns from `create_invoices` (`account.action_move_out_invoice_type`).
    private func invoiceAction(_ invoices: [Int64], partner: Int64, origin: String) -> OdooValue {
        let help =
            "<p class=\"o_view_nocontent_smiling_face\">\n                Create a customer invoice\n              </p><p>\n"
            + "                Create invoices, register payments and keep track of the discussions with your customers.\n              </p>\n            "
        var context: [(String, OdooValue)] = [
            ("default_move_type", "out_invoice"), ("default_partner_id", .int(partner)), ("default_partner_shipping_id", .int(partner)),
            ("default_invoice_payment_term_id", .null),
        ]
        if !flavour.is19 { context.append(("default_invoice_origin", .string(origin))) }
        var action: [(String, OdooValue)] = [("id", .int(flavour.is19 ? 262 : 263))]
        if flavour.is19 { action.append(("display_name", "Invoices")) }
        action += [
            ("name", "Invoices"), ("type", "ir.actions.act_window"), ("xml_id", "account.action_move_out_invoice_type"),
            ("path", "invoicing"),
            ("help", .string(help)), ("binding_model_id", .bool(false)), ("binding_type", "action"), ("binding_view_types", "list,form"),
        ]
        if !flavour.is19 { action.append(("display_name", "Invoices")) }
        let listView: Int64 = flavour.is19 ? 747 : 719
        let formView: Int64 = flavour.is19 ? 753 : 726
        action += [
            ("view_id", .array([.int(listView), "account.out.invoice.list"])),
            (
                "domain",
                .string(
                    flavour.is19
                        ? "[('move_type', 'in', ['out_invoice', 'out_refund', 'out_receipt'])]"
                        : "[('move_type', 'in', ['out_invoice', 'out_refund'])]")
            ),
            ("context", .object(context)),
        ]
        if invoices.count == 1 {
            action += [("res_id", .int(invoices[0]))]
        } else {
            action[action.firstIndex { $0.0 == "domain" }!].1 = .array([.array(["id", "in", .array(invoices.map(OdooValue.int))])])
        }
        action += [
            ("res_model", "account.move"), ("target", "current"),
            ("view_mode", invoices.count == 1 ? "list,kanban,form,activity" : "list,kanban,form,activity"),
            ("mobile_view_mode", "kanban"),
            (
                "views",
                .array([
                    .array([.int(formView), "form"]), .array([.int(listView), "list"]), .array([.bool(false), "kanban"]),
                    .array([.bool(false), "activity"]),
                ])
            ),
            ("limit", .int(80)), (flavour.is19 ? "group_ids" : "groups_id", .array([])),
            ("search_view_id", .array([.int(flavour.is19 ? 756 : 729), "account.invoice.select"])), ("embedded_action_ids", .array([])),
            ("filter", .bool(false)),
        ]
        if flavour.is19 { action.append(("cache", .bool(true))) }
        return .object(action)
    }
}

extension OdooValue: ExpressibleByStringLiteral {
    init(stringLiteral value: String) { self = .string(value) }
}
