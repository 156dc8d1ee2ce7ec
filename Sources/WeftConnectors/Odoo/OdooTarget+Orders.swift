import Logging
import WeftCore

extension OdooTarget {
    /// A won deal becomes a confirmed `sale.order`: the company's partner (found or created), the contact as a person
    /// of that company, one line per deal line with the product found by SKU (`default_code`), then `action_confirm`.
    ///
    /// Exactly once: the order carries the deal's key in `client_order_ref` (written by the `create` itself) and the
    /// `weft.<crm>_deal_<id>` external id, so a redelivered, replayed or re-emitted command finds the order instead of
    /// creating a second one. An existing order is confirmed if it is still a quotation, and otherwise left alone: from
    /// then on it is Odoo's. A SKU Odoo does not know rejects the command before anything is created, naming the SKU.
    func upsertOrder(_ deal: Deal, logger: Logger) async throws(OdooError) -> DeliveryOutcome {
        guard let account = deal.account else {
            return .reject(DeliveryFailure(kind: .rejected, message: "deal \(deal.ref) has no company: associate one in the CRM"))
        }
        let lines = deal.lines ?? []
        let skus = Array(Set(lines.compactMap(\.sku))).sorted()
        var products: [String: Int64] = [:]
        if !skus.isEmpty {
            let rows = try await client.searchRead(
                model: "product.product", domain: [["default_code", "in", .array(skus.map(JSONValue.string))], ["sale_ok", "=", true]],
                fields: ["default_code"], order: "id", logger: logger)
            for row in rows {
                if let code = row["default_code"]?.stringValue, let id = row["id"]?.intValue, products[code] == nil {
                    products[code] = id
                }
            }
        }
        let unknown = skus.filter { products[$0] == nil }
        guard unknown.isEmpty, lines.allSatisfy({ $0.sku != nil }) else {
            let named = unknown.isEmpty ? "a line without SKU" : "no sellable product with SKU \(unknown.joined(separator: ", "))"
            return .reject(
                DeliveryFailure(
                    kind: .rejected,
                    message: "deal \(deal.ref): Odoo has \(named) (Internal Reference); create the product in Odoo or fix the "
                        + "line in the CRM"))
        }
        // The company as a company partner, found by external id, `ref` or (for a CRM account) the identity keys, so a
        // company Odoo already has under the same VAT or domain gets no twin; an existing one is left as Odoo has it.
        let identity = OdooIdentity.customer(account, contactEmail: deal.contact?.email)
        let keys = account.ref.kind == .account ? client.configuration.identityKeys : []
        let partnerID: Int64
        switch try await client.resolveCompany(identity, keys: keys, fields: [], logger: logger) {
        case .ambiguous(let message):
            return .reject(DeliveryFailure(kind: .rejected, message: message))
        case .found(let id, _, _):
            partnerID = id
        case .notFound:
            let countries = try await countryIDs(Set([account.address?.country?.uppercased()].compactMap { $0 }), logger: logger)
            var companyValues = partnerValues(account, countries: countries)
            companyValues["is_company"] = true
            partnerID = try await client.upsert(
                model: "res.partner",
                items: [
                    OdooUpsertItem(
                        ref: account.ref, keyField: "ref", key: account.ref.xmlidName, createValues: companyValues, updateValues: nil)
                ], view: OdooUpsertView(), logger: logger)[0].id
        }
        if let contact = deal.contact {
            let person = OdooIdentity(ref: contact.ref, email: contact.email)
            let found = try await client.resolvePersons([person], company: partnerID, fields: [], logger: logger)
            if found[contact.ref] == nil {
                var values = partnerValues(contact, countries: [:])
                values["parent_id"] = .int(partnerID)
                values["type"] = "contact"
                _ = try await client.upsert(
                    model: "res.partner",
                    items: [
                        OdooUpsertItem(
                            ref: contact.ref, keyField: "ref", key: contact.ref.xmlidName, createValues: values, updateValues: nil)
                    ], view: OdooUpsertView(), logger: logger)
            }
        }
        let orderLines: [JSONValue] = lines.compactMap { line in
            guard let sku = line.sku, let productID = products[sku] else { return nil }
            var values: [String: JSONValue] = ["product_id": .int(productID), "product_uom_qty": .int(line.quantity)]
            if let unit = line.unitAmountMinor, let currency = deal.amount?.currency {
                values["price_unit"] = .double(Money(amountMinor: unit, currency: currency).majorUnits)
            }
            return [0, 0, .object(values)]
        }
        var values: [String: JSONValue] = ["partner_id": .int(partnerID), "order_line": .array(orderLines)]
        if let name = deal.name { values["origin"] = .string(String(name.prefix(200))) }
        let result = try await client.upsert(
            model: "sale.order",
            items: [
                OdooUpsertItem(
                    ref: deal.ref, keyField: "client_order_ref", key: deal.ref.xmlidName, createValues: values, updateValues: nil)
            ], readFields: ["state", "name"], logger: logger)[0]
        var state = result.current["state"]?.stringValue ?? "draft"
        if result.created { state = "draft" }
        if state == "draft" || state == "sent" {
            _ = try await client.call(model: "sale.order", method: "action_confirm", ids: [result.id], logger: logger)
        }
        let note = state == "cancel" ? "the order exists and was cancelled in Odoo; left alone" : nil
        return .delivered(record: TargetRecordID(model: "sale.order", id: String(result.id)), note: note)
    }
}
