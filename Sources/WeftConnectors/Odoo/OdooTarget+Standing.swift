import Logging
import WeftCore

extension OdooTarget {
    /// Adds (`[4, id, 0]`) or removes (`[3, id, 0]`) the past-due tag on the customer's partner.
    func setStanding(_ standing: Standing, logger: Logger) async throws(OdooError) -> DeliveryOutcome {
        guard let partnerID = try await partnerID(for: standing.customerRef, logger: logger) else {
            return Self.dependencyMissing("customer \(standing.customerRef) is not in Odoo yet")
        }
        let tagID = try await pastDueTagID(logger: logger)
        let partner = try await client.read(model: "res.partner", ids: [partnerID], fields: ["category_id"], logger: logger).first
        let tags = partner?["category_id"]?.arrayValue?.compactMap(\.intValue) ?? []
        let record = TargetRecordID(model: "res.partner", id: String(partnerID))
        switch standing.state {
        case .pastDue where !tags.contains(tagID):
            try await client.write(model: "res.partner", ids: [partnerID], values: ["category_id": [[4, .int(tagID), 0]]], logger: logger)
        case .good where tags.contains(tagID):
            try await client.write(model: "res.partner", ids: [partnerID], values: ["category_id": [[3, .int(tagID), 0]]], logger: logger)
        default:
            break
        }
        return .delivered(record: record, note: nil)
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
