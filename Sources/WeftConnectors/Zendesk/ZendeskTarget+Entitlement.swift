import Logging
import WeftCore

extension ZendeskTarget {
    /// The tag Weft puts on organizations it creates: only those are renamed when the billing name changes.
    static let createdTag = "weft_created"

    /// The organization step, then the customer's user in it (see `ZendeskTarget+User.swift`). The user step runs
    /// only once the organization is settled; when it fails, the whole command retries or is rejected, and the next
    /// attempt finds the organization again by external id.
    func sync(_ entitlement: DeskEntitlement, logger: Logger) async throws(ZendeskAPIError) -> DeliveryOutcome {
        let outcome = try await syncOrganization(entitlement, logger: logger)
        guard case .delivered(let record, let note) = outcome, let record, let organization = Int64(record.id) else {
            return outcome
        }
        let userNote = try await placeUser(of: entitlement, in: organization, logger: logger)
        let notes = [note, userNote].compactMap { $0 }
        return .delivered(record: record, note: notes.isEmpty ? nil : notes.joined(separator: "; "))
    }

    /// find by external id → adopt by domain → create (adopting or disambiguating on a name clash) → write fields.
    func syncOrganization(_ entitlement: DeskEntitlement, logger: Logger) async throws(ZendeskAPIError)
        -> DeliveryOutcome
    {
        let externalID = entitlement.account.xmlidName
        let values = configuration.fields.values(for: entitlement)

        // 1. The organization Weft keeps for this account.
        if let org = try await organization(externalID: externalID, logger: logger) {
            guard org.externalID == externalID else {
                // Zendesk compares external ids without case; billing ids (Stripe's) are case-sensitive.
                return .reject(
                    DeliveryFailure(
                        kind: .rejected,
                        message:
                            "Zendesk organization \(org.id) has external id \(org.externalID ?? "-"), which differs from \(externalID) only in case: Zendesk cannot keep both; rename one external id, then replay"
                    ))
            }
            let rename = org.tags.contains(Self.createdTag) && !Self.isName(org.name, for: entitlement)
            try await write(org.id, externalID: nil, name: rename ? entitlement.name : nil, values: values, logger: logger)
            return Self.delivered(org.id)
        }

        // 2. An organization the desk already has for the account's company domain.
        if let domain = entitlement.domain,
            let org = try await adoptable(domain: domain, externalID: externalID, logger: logger)
        {
            try await write(org.id, externalID: externalID, name: nil, values: values, logger: logger)
            logger.info("adopted zendesk organization by domain", metadata: ["weft.zendesk.organization": "\(org.id)"])
            return Self.delivered(org.id, note: "adopted organization \(org.id) (\(org.name)) by its domain \(domain)")
        }

        // 3. Create it, under the billing name or, when an unrelated organization holds it, a disambiguated one.
        for name in [entitlement.name, Self.disambiguated(entitlement)] {
            do {
                let id = try await create(entitlement, name: name, values: values, logger: logger)
                let note = name == entitlement.name ? nil : "created as \"\(name)\": \"\(entitlement.name)\" is taken"
                return Self.delivered(id, note: note)
            } catch {
                if error.isDuplicate("external_id") {
                    // Created meanwhile (another worker, or an earlier attempt Zendesk finished late): step 1 finds it.
                    throw ZendeskAPIError(
                        kind: .unavailable, message: "organization \(externalID) appeared while being created")
                }
                guard error.isDuplicate("name") else { throw error }
                if let org = try await organization(named: name, logger: logger), isAdoptable(org) {
                    try await write(org.id, externalID: externalID, name: nil, values: values, logger: logger)
                    logger.info("adopted zendesk organization by name", metadata: ["weft.zendesk.organization": "\(org.id)"])
                    return Self.delivered(org.id, note: "adopted organization \(org.id) with the same name")
                }
            }
        }
        return .reject(
            DeliveryFailure(
                kind: .rejected,
                message:
                    "Zendesk organizations \"\(entitlement.name)\" and \"\(Self.disambiguated(entitlement))\" both exist and belong to other records: rename one in Zendesk, then replay"
            ))
    }

    static func delivered(_ id: Int64, note: String? = nil) -> DeliveryOutcome {
        .delivered(record: TargetRecordID(model: "organization", id: String(id)), note: note)
    }

    /// `Acme (cus_1)`: the billing name with the account id, for a name an unrelated organization holds.
    static func disambiguated(_ entitlement: DeskEntitlement) -> String {
        "\(entitlement.name) (\(entitlement.account.id))"
    }

    /// Whether `name` is what Weft would call the account (the plain or disambiguated billing name).
    static func isName(_ name: String, for entitlement: DeskEntitlement) -> Bool {
        name.lowercased() == entitlement.name.lowercased() || name.lowercased() == disambiguated(entitlement).lowercased()
    }

    /// No external id, and the account field (when mapped) empty: nobody else keeps this organization.
    func isAdoptable(_ org: ZendeskOrganization) -> Bool {
        guard org.externalID == nil else { return false }
        guard let field = configuration.fields.account, let value = org.fields[field] else { return true }
        return value.isNull || value.stringValue == ""
    }

    // MARK: Calls

    func organization(externalID: String, logger: Logger) async throws(ZendeskAPIError) -> ZendeskOrganization? {
        let answer = try await client.get(
            "/api/v2/organizations/search.json", query: [("external_id", externalID)], logger: logger)
        let found = (answer["organizations"]?.arrayValue ?? []).compactMap { ZendeskOrganization($0) }
        return found.first(where: { $0.externalID == externalID }) ?? found.first
    }

    func organization(named name: String, logger: Logger) async throws(ZendeskAPIError) -> ZendeskOrganization? {
        let answer = try await client.get("/api/v2/organizations/search.json", query: [("name", name)], logger: logger)
        return (answer["organizations"]?.arrayValue ?? []).compactMap { ZendeskOrganization($0) }
            .first(where: { $0.name.lowercased() == name.lowercased() })
    }

    /// The organization to adopt for `domain`: listed with `domain` in `domain_names` and kept by nobody else; the
    /// lowest id when several qualify. Zendesk has no documented exact lookup by domain, so this walks the organization
    /// list (cursor pagination, 100 a page). It only runs for an account Weft has not placed yet.
    func adoptable(domain: String, externalID: String, logger: Logger) async throws(ZendeskAPIError)
        -> ZendeskOrganization?
    {
        var candidates: [ZendeskOrganization] = []
        var query = [("page[size]", "100")]
        while true {
            let answer = try await client.get("/api/v2/organizations.json", query: query, logger: logger)
            for org in (answer["organizations"]?.arrayValue ?? []).compactMap({ ZendeskOrganization($0) })
            where org.domainNames.contains(domain.lowercased()) && isAdoptable(org) {
                candidates.append(org)
            }
            guard answer["meta"]?["has_more"]?.boolValue == true,
                let after = answer["meta"]?["after_cursor"]?.stringValue
            else { break }
            query = [("page[size]", "100"), ("page[after]", after)]
        }
        candidates.sort { $0.id < $1.id }
        if candidates.count > 1 {
            logger.info(
                "several zendesk organizations match the domain; adopting the lowest id",
                metadata: [
                    "weft.zendesk.domain": "\(domain)", "weft.zendesk.candidates": "\(candidates.map(\.id))",
                    "weft.zendesk.account": "\(externalID)",
                ])
        }
        return candidates.first
    }

    private func create(_ entitlement: DeskEntitlement, name: String, values: [String: JSONValue], logger: Logger)
        async throws(ZendeskAPIError) -> Int64
    {
        var organization: [String: JSONValue] = [
            "name": .string(name),
            "external_id": .string(entitlement.account.xmlidName),
            "tags": [.string(Self.createdTag)],
        ]
        if let domain = entitlement.domain { organization["domain_names"] = [.string(domain)] }
        if !values.isEmpty { organization["organization_fields"] = .object(values) }
        let answer = try await client.post(
            "/api/v2/organizations.json", .object(["organization": .object(organization)]), logger: logger)
        guard let id = answer["organization"]?["id"]?.intValue else {
            throw ZendeskAPIError(kind: .invalidResponse, message: "Zendesk created an organization without an id")
        }
        return id
    }

    /// Writes the external id (when adopting), the name (when renaming a record Weft created) and the field values.
    private func write(
        _ id: Int64, externalID: String?, name: String?, values: [String: JSONValue], logger: Logger
    ) async throws(ZendeskAPIError) {
        var organization: [String: JSONValue] = [:]
        if let externalID { organization["external_id"] = .string(externalID) }
        if let name { organization["name"] = .string(name) }
        if !values.isEmpty { organization["organization_fields"] = .object(values) }
        guard !organization.isEmpty else { return }
        do {
            _ = try await client.put(
                "/api/v2/organizations/\(id).json", .object(["organization": .object(organization)]), logger: logger)
        } catch  where name != nil && error.isDuplicate("name") {
            // The new billing name is taken by another organization: keep the current name, still write the fields.
            try await write(id, externalID: externalID, name: nil, values: values, logger: logger)
        }
    }
}
