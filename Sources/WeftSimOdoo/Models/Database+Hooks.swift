import Foundation
import WeftCore

/// Model-specific behaviour: defaults, inverses, computed fields and display names.
extension Database {
    static let addressFields = ["street", "street2", "zip", "city", "state_id", "country_id"]

    mutating func applyDefaults(_ model: String, _ vals: inout [String: JSONValue], _ ctx: CallContext) throws(OdooError) {
        for (key, value) in ctx.values where key.hasPrefix("default_") {
            let field = String(key.dropFirst("default_".count))
            if models[model]?.fields[field] != nil, vals[field] == nil { vals[field] = value }
        }
        switch model {
        case "res.partner":
            if vals["company_id"] == nil { vals["company_id"] = .bool(false) }
        case "product.template":
            if vals["taxes_id"] == nil { vals["taxes_id"] = .array([.array([.int(6), .int(0), .array([.int(1)])])]) }
            if vals["uom_id"] == nil { vals["uom_id"] = .int(1) }
        case "sale.order":
            if vals["date_order"] == nil { vals["date_order"] = .string(timestamp) }
            if vals["company_id"] == nil { vals["company_id"] = .int(1) }
            if vals["user_id"] == nil { vals["user_id"] = .int(uid) }
            if vals["name"] == nil || vals["name"] == .bool(false) {
                vals["name"] = .string("S" + Self.pad(nextSequence("sale.order"), 5))
            }
            if flavour.enterprise, let plan = vals["plan_id"], plan.intValue != nil, vals["subscription_state"] == nil {
                vals["subscription_state"] = .string("1_draft")
            }
        case "sale.order.line":
            try applyProductDefaults(&vals, quantityField: "product_uom_qty", taxField: flavour.saleLineTax, uomField: flavour.saleLineUom)
        case "account.move":
            let type = vals["move_type"]?.stringValue ?? "entry"
            if vals["journal_id"] == nil {
                vals["journal_id"] = .int(type.hasPrefix("out_") ? 1 : (type.hasPrefix("in_") ? 2 : 3))
            }
            if vals["currency_id"] == nil { vals["currency_id"] = .int(1) }
            if vals["company_id"] == nil { vals["company_id"] = .int(1) }
            if vals["date"] == nil { vals["date"] = .string(today) }
        case "account.move.line":
            if vals["display_type"] == nil || vals["display_type"] == .string("product") {
                try applyProductDefaults(&vals, quantityField: "quantity", taxField: "tax_ids", uomField: nil)
                if vals["account_id"] == nil { vals["account_id"] = .int(Seed.incomeAccount(flavour)) }
            }
            if let move = vals["move_id"]?.intValue, let moveRow = row("account.move", move) {
                if vals["partner_id"] == nil, let partner = moveRow["partner_id"] { vals["partner_id"] = partner }
                if vals["currency_id"] == nil { vals["currency_id"] = moveRow["currency_id"] ?? .int(1) }
            }
        case "account.payment.register":
            try defaultPaymentRegister(&vals, ctx)
        case "account.move.reversal":
            try defaultMoveReversal(&vals, ctx)
        case "sale.advance.payment.inv":
            if vals["sale_order_ids"] == nil, ctx.activeModel == "sale.order" {
                vals["sale_order_ids"] = .array([.array([.int(6), .int(0), .array(ctx.activeIds.map(JSONValue.int))])])
            }
        case "ir.model.data":
            let module = vals["module"]?.stringValue ?? ""
            if let name = vals["name"]?.stringValue, xmlids[module + "." + name] != nil {
                throw .validation(
                    "The operation cannot be completed: duplicate key value violates unique constraint \"ir_model_data_module_name_uniq_index\"\n"
                        + "DETAIL:  Key (module, name)=(\(module), \(name)) already exists.\n")
            }
        default:
            break
        }
    }

    /// Name, price, taxes and unit from the product when the caller did not give them.
    private func applyProductDefaults(
        _ vals: inout [String: JSONValue], quantityField: String, taxField: String, uomField: String?
    ) throws(OdooError) {
        guard let product = vals["product_id"]?.intValue, exists("product.product", product) else {
            if vals[taxField] == nil, vals["move_id"] != nil, isSaleMoveLine(vals) {
                vals[taxField] = .array([.array([.int(6), .int(0), .array([.int(1)])])])
            }
            return
        }
        if vals["name"] == nil { vals["name"] = .string(displayName("product.product", product)) }
        if vals["price_unit"] == nil { vals["price_unit"] = value("product.product", product, "list_price") }
        if vals[taxField] == nil {
            let taxes = value("product.product", product, "taxes_id").arrayValue ?? []
            vals[taxField] = .array([.array([.int(6), .int(0), .array(taxes)])])
        }
        if let uomField, vals[uomField] == nil { vals[uomField] = value("product.product", product, "uom_id") }
    }

    private func isSaleMoveLine(_ vals: [String: JSONValue]) -> Bool {
        guard let move = vals["move_id"]?.intValue else { return false }
        return row("account.move", move)?["move_type"]?.stringValue?.hasPrefix("out_") ?? false
    }

    mutating func applyInverse(_ model: String, field: String, value: JSONValue, into row: inout [String: JSONValue]) throws(OdooError) {
        switch (model, field) {
        case ("res.partner", "company_type"):
            guard let kind = value.stringValue, kind == "company" || kind == "person" else {
                throw .builtin("ValueError", "Wrong value for res.partner.company_type: \(PythonRepr.of(value))")
            }
            row["is_company"] = .bool(kind == "company")
        case ("product.product", "lst_price"):
            if let template = row["product_tmpl_id"]?.intValue, let price = value.doubleValue {
                setField("product.template", template, "list_price", .double(price))
            }
        default:
            break
        }
    }

    mutating func afterCreate(_ model: String, _ id: Int64, _ ctx: CallContext) throws(OdooError) {
        switch model {
        case "res.partner":
            syncPartner(id, addressFromParent: true)
        case "res.partner.category":
            break
        case "ir.model.data":
            if let row = row(model, id), let name = row["name"]?.stringValue {
                let module = row["module"]?.stringValue ?? ""
                setXMLID(module + "." + name, id)
                setField(model, id, "complete_name", .string(module + "." + name))
            }
        case "account.move.line":
            if let move = row(model, id)?["move_id"]?.intValue, isProductLine(id) { try syncMoveLines(move, ctx) }
        case "account.move":
            try syncMoveLines(id, ctx)
        default:
            break
        }
    }

    func beforeWrite(_ model: String, _ ids: [Int64], _ vals: [String: JSONValue], _ ctx: CallContext) throws(OdooError) {
        if model == "ir.model.data", vals["module"] != nil || vals["name"] != nil {
            for id in ids {
                let row = row(model, id) ?? [:]
                let module = vals["module"]?.stringValue ?? row["module"]?.stringValue ?? ""
                let name = vals["name"]?.stringValue ?? row["name"]?.stringValue ?? ""
                if let other = xmlids[module + "." + name], other != id {
                    throw .validation(
                        "The operation cannot be completed: duplicate key value violates unique constraint \"ir_model_data_module_name_uniq_index\"\n"
                            + "DETAIL:  Key (module, name)=(\(module), \(name)) already exists.\n")
                }
            }
        }
        if model == "account.move" {
            for id in ids where row(model, id)?["state"]?.stringValue == "posted" {
                let protected = ["invoice_line_ids", "line_ids", "partner_id", "currency_id", "journal_id", "move_type"]
                if vals.keys.contains(where: protected.contains) {
                    throw .user("You cannot modify a posted entry of this journal because it is in strict mode.")
                }
            }
        }
    }

    mutating func afterWrite(
        _ model: String, _ id: Int64, old: [String: JSONValue], vals: [String: JSONValue], _ ctx: CallContext
    ) throws(OdooError) {
        switch model {
        case "res.partner":
            syncPartner(id, addressFromParent: vals["parent_id"] != nil)
            if vals["name"] != nil || vals["parent_id"] != nil {
                for child in (row(model, id)?["child_ids"]?.arrayValue ?? []).compactMap(\.intValue) {
                    syncPartner(child, addressFromParent: false)
                }
            }
        case "ir.model.data":
            if let oldName = old["name"]?.stringValue { setXMLID((old["module"]?.stringValue ?? "") + "." + oldName, nil) }
            if let row = row(model, id), let name = row["name"]?.stringValue {
                let module = row["module"]?.stringValue ?? ""
                setXMLID(module + "." + name, id)
                setField(model, id, "complete_name", .string(module + "." + name))
            }
        case "product.product":
            if vals["default_code"] != nil, let template = row(model, id)?["product_tmpl_id"]?.intValue {
                let code = row(model, id)?["default_code"]
                setField("product.template", template, "default_code", code)
            }
        case "account.move.line":
            if let move = row(model, id)?["move_id"]?.intValue, isProductLine(id) { try syncMoveLines(move, ctx) }
        case "account.move":
            if vals["currency_id"] != nil, let currency = row(model, id)?["currency_id"] {
                // The lines' currency is the move's (a related field in Odoo), and their amounts are rounded to it.
                for line in moveLines(id) { setField("account.move.line", line, "currency_id", currency) }
            }
            if vals["invoice_line_ids"] != nil || vals["line_ids"] != nil || vals["move_type"] != nil || vals["currency_id"] != nil {
                try syncMoveLines(id, ctx)
            }
        default:
            break
        }
    }

    func beforeUnlink(_ model: String, _ ids: [Int64], _ ctx: CallContext) throws(OdooError) {
        switch model {
        case "account.move":
            for id in ids where row(model, id)?["state"]?.stringValue == "posted" {
                throw .user("You cannot delete an entry which has been posted once.")
            }
        case "res.partner":
            for id in ids where id <= 3 {
                throw .user("You cannot delete the admin user nor its partner nor the company's partner.")
            }
        default:
            break
        }
    }

    /// `complete_name` (`Parent, Child`) and, for contacts, the parent's address.
    private mutating func syncPartner(_ id: Int64, addressFromParent: Bool) {
        guard var row = row("res.partner", id) else { return }
        let name = row["name"]?.stringValue ?? ""
        var complete = name
        if let parent = row["parent_id"]?.intValue, let parentRow = self.row("res.partner", parent) {
            let parentName = parentRow["complete_name"]?.stringValue ?? parentRow["name"]?.stringValue ?? ""
            let type = row["type"]?.stringValue ?? "contact"
            if name.isEmpty {
                var labels: [String: String] = [:]
                if case .selection(let options) = models["res.partner"]?.fields["type"]?.kind {
                    for option in options { labels[option.0] = option.1 }
                }
                complete = parentName + ", " + (labels[type] ?? type)
            } else if row["is_company"]?.boolValue != true {
                complete = parentName + ", " + name
            }
            if addressFromParent, type == "contact", Self.addressFields.allSatisfy({ row[$0] == nil || row[$0] == .bool(false) }) {
                for field in Self.addressFields { row[field] = parentRow[field] }
            }
        }
        row["complete_name"] = .string(complete)
        setRow("res.partner", id, row)
    }

    // MARK: - Computed fields

    func computed(_ model: String, _ id: Int64, _ row: [String: JSONValue], _ field: String) -> JSONValue {
        if field == "display_name" { return .string(displayName(model, id)) }
        switch (model, field) {
        case ("res.partner", "company_type"):
            return .string(row["is_company"]?.boolValue == true ? "company" : "person")
        case ("res.partner", "commercial_partner_id"):
            var current = id
            var seen: Set<Int64> = []
            while let parentRow = self.row("res.partner", current), parentRow["is_company"]?.boolValue != true,
                let parent = parentRow["parent_id"]?.intValue, !seen.contains(parent)
            {
                seen.insert(current)
                current = parent
            }
            return .int(current)
        case ("res.partner.category", "partner_ids"):
            return .array(
                ids("res.partner").filter { (self.row("res.partner", $0)?["category_id"]?.arrayValue ?? []).contains(.int(id)) }.map(
                    JSONValue.int))
        case ("res.currency", "decimal_places"):
            return .int(Int64(Self.decimalPlaces(rounding: row["rounding"]?.doubleValue ?? 0.01)))
        case ("product.product", "lst_price"):
            return value(model, id, "list_price")
        default:
            return computedBusiness(model, id, row, field)
        }
    }

    func displayName(_ model: String, _ id: Int64) -> String {
        guard let row = row(model, id) else { return "" }
        switch model {
        case "res.partner":
            return row["complete_name"]?.stringValue ?? row["name"]?.stringValue ?? ""
        case "product.product", "product.template":
            let name = value(model, id, "name").stringValue ?? ""
            if let code = value(model, id, "default_code").stringValue, !code.isEmpty { return "[\(code)] \(name)" }
            return name
        case "account.account":
            let name = row["name"]?.stringValue ?? ""
            if !flavour.is19, let code = row["code"]?.stringValue { return code + " " + name }
            return name
        case "account.payment.method.line":
            let journal = row["journal_id"]?.intValue.map { displayName("account.journal", $0) } ?? ""
            return "\(row["name"]?.stringValue ?? "") (\(journal))"
        case "account.move":
            return moveDisplayName(id, row)
        case "sale.order.line":
            let order = row["order_id"]?.intValue.flatMap { self.row("sale.order", $0)?["name"]?.stringValue } ?? ""
            return order + " - " + (row["name"]?.stringValue ?? "")
        case "account.move.line":
            let move = row["move_id"]?.intValue.map { moveDisplayName($0, self.row("account.move", $0) ?? [:]) } ?? ""
            if let name = row["name"]?.stringValue, !name.isEmpty { return move + " " + name }
            return move
        case "ir.model.data":
            return row["complete_name"]?.stringValue ?? ""
        case "res.country.state":
            // `res.country.state._compute_display_name` (17+): `California (US)`.
            let code = row["country_id"]?.intValue.flatMap { self.row("res.country", $0)?["code"]?.stringValue } ?? ""
            return "\(row["name"]?.stringValue ?? "") (\(code))"
        case "res.partner.category":
            var names = [row["name"]?.stringValue ?? ""]
            var parent = row["parent_id"]?.intValue
            while let current = parent, let parentRow = self.row(model, current), names.count < 32 {
                names.insert(parentRow["name"]?.stringValue ?? "", at: 0)
                parent = parentRow["parent_id"]?.intValue
            }
            return names.joined(separator: " / ")
        case "sale.advance.payment.inv", "account.payment.register", "account.move.reversal":
            return "\(model),\(id)"
        default:
            if let name = row[models[model]?.recName ?? "name"]?.stringValue { return name }
            return "\(model),\(id)"
        }
    }

    static func pad(_ number: Int64, _ width: Int) -> String {
        let text = String(number)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
