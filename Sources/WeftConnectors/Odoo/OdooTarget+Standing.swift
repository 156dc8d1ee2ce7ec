import Logging
import WeftCore

extension OdooTarget {
    /// Adds (`[4, id, 0]`) or removes (`[3, id, 0]`) the past-due tag on each customer's partner, for a whole batch
    /// at once: one external-id lookup (then one `search_read` by `ref` for partners Weft did not create), one `read` of
    /// the partners' tags, and at most one `write` that adds the tag and one that removes it, each on every partner
    /// that needs it. One call per standing each cost three or four. When one partner has several standings in a
    /// batch, the last one wins, as delivering them in order would leave it.
    func setStandings(_ standings: [Standing], logger: Logger) async throws(OdooError) -> [DeliveryOutcome] {
        let partners = try await client.recordIDs(
            for: standings.map(\.customerRef), model: "res.partner", keyField: "ref", context: OdooClient.inactiveToo,
            logger: logger)
        let found = Array(Set(partners.values)).sorted()
        guard !found.isEmpty else {
            return standings.map { Self.dependencyMissing("customer \($0.customerRef) is not in Odoo yet") }
        }
        let tagID = try await pastDueTagID(logger: logger)
        let rows = try await client.read(model: "res.partner", ids: found, fields: ["category_id"], logger: logger)
        var tagged: [Int64: Bool] = [:]
        for row in rows {
            guard let id = row["id"]?.intValue else { continue }
            tagged[id] = row["category_id"]?.arrayValue?.compactMap(\.intValue).contains(tagID) ?? false
        }
        var wanted: [Int64: Bool] = [:]
        for standing in standings {
            if let partner = partners[standing.customerRef] { wanted[partner] = standing.state == .pastDue }
        }
        let add = wanted.filter { $0.value && tagged[$0.key] == false }.keys.sorted()
        let remove = wanted.filter { !$0.value && tagged[$0.key] == true }.keys.sorted()
        if !add.isEmpty {
            try await client.write(model: "res.partner", ids: add, values: ["category_id": [[4, .int(tagID), 0]]], logger: logger)
        }
        if !remove.isEmpty {
            try await client.write(model: "res.partner", ids: remove, values: ["category_id": [[3, .int(tagID), 0]]], logger: logger)
        }
        return standings.map { standing in
            guard let partner = partners[standing.customerRef] else {
                return Self.dependencyMissing("customer \(standing.customerRef) is not in Odoo yet")
            }
            guard tagged[partner] != nil else {
                return Self.dependencyMissing("partner \(partner) of customer \(standing.customerRef) is not readable in Odoo")
            }
            return .delivered(record: TargetRecordID(model: "res.partner", id: String(partner)), note: nil)
        }
    }

    /// The configured past-due `res.partner.category`, found by name or created, cached.
    private func pastDueTagID(logger: Logger) async throws(OdooError) -> Int64 {
        let name = client.configuration.pastDueTagName
        if let id = client.cache.id("tag:\(name)") { return id }
        let rows = try await client.searchRead(
            model: "res.partner.category", domain: [["name", "=", .string(name)]], fields: ["id"], limit: 1, order: "id",
            logger: logger)
        let id: Int64
        if let existing = rows.first?["id"]?.intValue {
            id = existing
        } else {
            id = try await client.create(model: "res.partner.category", values: [["name": .string(name)]], logger: logger)[0]
        }
        client.cache.storeID(id, for: "tag:\(name)")
        return id
    }
}
