import Logging
import WeftCore

extension OdooTarget {
    func upsertCustomers(_ customers: [Customer], logger: Logger) async throws(OdooError) -> [DeliveryOutcome] {
        let results = try await ensurePartners(customers, update: true, logger: logger)
        return results.map { .delivered(record: TargetRecordID(model: "res.partner", id: String($0)), note: nil) }
    }

    /// Finds or creates the partners; with `update`, writes the fields that differ on existing ones.
    func ensurePartners(_ customers: [Customer], update: Bool, logger: Logger) async throws(OdooError) -> [Int64] {
        let countries = try await countryIDs(Set(customers.compactMap { $0.address?.country?.uppercased() }), logger: logger)
        let items = customers.map { customer in
            let values = partnerValues(customer, countries: countries)
            return OdooUpsertItem(
                ref: customer.ref, keyField: "ref", key: customer.ref.xmlidName, createValues: values,
                updateValues: update ? values : nil)
        }
        return try await client.upsert(model: "res.partner", items: items, logger: logger).map(\.id)
    }

    func partnerValues(_ customer: Customer, countries: [String: Int64]) -> [String: JSONValue] {
        var values: [String: JSONValue] = ["name": .string(customer.displayName)]
        if let email = customer.email { values["email"] = .string(email) }
        if let phone = customer.phone { values["phone"] = .string(phone) }
        if let taxID = customer.taxID { values["vat"] = .string(taxID) }
        if let address = customer.address {
            if let line1 = address.line1 { values["street"] = .string(line1) }
            if let line2 = address.line2 { values["street2"] = .string(line2) }
            if let city = address.city { values["city"] = .string(city) }
            if let postalCode = address.postalCode { values["zip"] = .string(postalCode) }
            if let code = address.country?.uppercased(), let id = countries[code] { values["country_id"] = .int(id) }
        }
        return values
    }

    /// ISO country code (upper case) → `res.country` id, cached. A value that is not a two-letter code is looked up by
    /// the country's name, case-insensitively (a CRM whose country field is free text holds "Germany"), and returned
    /// under the value as given.
    func countryIDs(_ codes: Set<String>, logger: Logger) async throws(OdooError) -> [String: Int64] {
        var result: [String: Int64] = [:]
        var missing: [String] = []
        for code in codes {
            if let id = client.cache.id("country:\(code)") { result[code] = id } else { missing.append(code) }
        }
        guard !missing.isEmpty else { return result }
        let (isoCodes, names) = (missing.filter { $0.count == 2 }.sorted(), missing.filter { $0.count != 2 }.sorted())
        var domain: [JSONValue] = isoCodes.isEmpty ? [] : [["code", "in", .array(isoCodes.map(JSONValue.string))]]
        domain += names.map { ["name", "=ilike", .string(OdooClient.likeEscaped($0))] }
        domain = Array(repeating: "|", count: max(0, domain.count - 1)) + domain
        let rows = try await client.searchRead(model: "res.country", domain: .array(domain), fields: ["code", "name"], logger: logger)
        for row in rows {
            guard let id = row["id"]?.intValue else { continue }
            let code = row["code"]?.stringValue?.uppercased()
            let name = row["name"]?.stringValue?.uppercased()
            for key in missing where key == code || key == name {
                result[key] = id
                client.cache.storeID(id, for: "country:\(key)")
            }
        }
        return result
    }

    /// The partner for a customer reference, if Odoo has it.
    func partnerID(for ref: ExternalRef, logger: Logger) async throws(OdooError) -> Int64? {
        try await client.findRecord(ref: ref, model: "res.partner", keyField: "ref", key: ref.xmlidName, logger: logger)
    }

    func upsertProducts(_ products: [Product], logger: Logger) async throws(OdooError) -> [DeliveryOutcome] {
        let items = products.map { product in
            var values: [String: JSONValue] = ["name": .string(product.name ?? product.sku ?? product.ref.id)]
            if let amount = product.unitAmount { values["list_price"] = .double(amount.majorUnits) }
            if let active = product.active { values["active"] = .bool(active) }
            var createValues = values
            createValues["type"] = "service"
            createValues["sale_ok"] = true
            return OdooUpsertItem(
                ref: product.ref, keyField: "default_code", key: product.sku ?? product.ref.xmlidName,
                createValues: createValues, updateValues: values)
        }
        let results = try await client.upsert(model: "product.product", items: items, logger: logger)
        return results.map { .delivered(record: TargetRecordID(model: "product.product", id: String($0.id)), note: nil) }
    }

    /// `weft.*` product external ids → `product.product` ids (products Weft has not mirrored are simply absent).
    func productIDs(_ refs: [ExternalRef], logger: Logger) async throws(OdooError) -> [ExternalRef: Int64] {
        let byName = try await client.externalIDs(refs.map(\.xmlidName), model: "product.product", logger: logger)
        var result: [ExternalRef: Int64] = [:]
        for ref in refs { if let id = byName[ref.xmlidName] { result[ref] = id } }
        return result
    }
}
