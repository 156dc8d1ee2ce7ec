import Logging
import WeftCore

/// The Odoo ids an account's values name (country, state, payment term, industry, salesperson), looked up before
/// anything is written so that an unknown name rejects the command with nothing half-done.
struct OdooAccountLookups: Sendable {
    var countries: [String: Int64] = [:]
    var state: Int64?
    var paymentTerm: Int64?
    var industry: Int64?
    var user: Int64?
    /// What Odoo lacks, one sentence each.
    var problems: [String] = []
}

extension OdooTarget {
    /// The partner fields an account maps to (and the reader reads back).
    static let accountPartnerFields = [
        "name", "website", "phone", "street", "street2", "city", "zip", "state_id", "country_id", "vat", "property_payment_term_id",
        "industry_id", "user_id", "active", "is_company", "parent_id", "ref",
    ]
    static let contactPartnerFields = ["name", "email", "phone", "function", "active", "parent_id", "ref", "type"]

    /// Makes the account's company partner (and its contacts) show what the command says.
    ///
    /// The partner is found by external id, `ref`, then the configured identity keys (see `resolveCompany`); several
    /// equally good matches reject with `ambiguous match …` and create nothing. A new partner gets every field that
    /// has a value; an existing one exactly the fields named in `sync.fields`, only those that differ (a named field
    /// without value is cleared). Contacts are persons of the company found by external id, `ref`, then email. Deleted
    /// accounts and contacts are archived, never unlinked. Merged CRM ids have their external ids repointed to this
    /// partner; their old partners are left alone and named in the note.
    func syncAccount(_ sync: AccountSync, logger: Logger) async throws(OdooError) -> DeliveryOutcome {
        let account = sync.account
        let identity = OdooIdentity.account(account, contacts: sync.contacts)
        let keys = account.ref.kind == .account ? client.configuration.identityKeys : []
        // A merge survivor with a new CRM id keeps the partner of the primary record it absorbed.
        let merged = (account.mergedFrom ?? []).filter { $0 != account.ref.id }.map {
            ExternalRef(system: account.ref.system, kind: account.ref.kind, id: $0)
        }
        let match = try await client.resolveCompany(
            identity, keys: keys, inheriting: merged, fields: Self.accountPartnerFields, logger: logger)
        var notes: [String] = []
        let partnerID: Int64
        switch match {
        case .ambiguous(let message):
            return .reject(DeliveryFailure(kind: .rejected, message: message))
        case .notFound:
            if account.deleted == true {
                return .delivered(record: nil, note: "account deleted in the CRM; Odoo has no partner for it")
            }
            let fields = Account.dataFields.filter { Self.hasValue(account, $0) }
            let lookups = try await accountLookups(account, fields: fields, logger: logger)
            if let rejection = Self.rejection(account.ref, lookups) { return rejection }
            var values = Self.accountValues(account, fields: fields, lookups: lookups, current: nil)
            values["is_company"] = true
            values["name"] = .string(account.name ?? account.domain ?? account.ref.id)
            let result = try await client.upsert(
                model: "res.partner",
                items: [
                    OdooUpsertItem(
                        ref: account.ref, keyField: "ref", key: account.ref.xmlidName, createValues: values, updateValues: nil)
                ], readFields: Self.accountPartnerFields, view: OdooUpsertView(), logger: logger)[0]
            partnerID = result.id
            if !result.created {
                // Created meanwhile by another command (a deal's order): update it like any existing partner.
                if let outcome = try await updateAccount(sync, id: result.id, current: result.current, logger: logger) {
                    return outcome
                }
            }
            logger.debug("odoo partner for account", metadata: ["weft.odoo.partner": "\(partnerID)", "weft.odoo.via": "created"])
        case .found(let id, let record, let via):
            partnerID = id
            logger.debug("odoo partner for account", metadata: ["weft.odoo.partner": "\(id)", "weft.odoo.via": "\(via)"])
            if let outcome = try await updateAccount(sync, id: id, current: record, logger: logger) { return outcome }
            if !["external id", "ref", "merge"].contains(via) { notes.append("matched the existing partner \(id) by \(via)") }
        }
        try await syncContacts(sync, company: partnerID, logger: logger)
        if let note = try await repointMerged(account, to: partnerID, logger: logger) { notes.append(note) }
        return .delivered(
            record: TargetRecordID(model: "res.partner", id: String(partnerID)), note: notes.isEmpty ? nil : notes.joined(separator: "; "))
    }

    /// Writes the named fields that differ (and archives a deleted account); returns a rejection when Odoo lacks a
    /// named value.
    private func updateAccount(
        _ sync: AccountSync, id: Int64, current: [String: JSONValue], logger: Logger
    ) async throws(OdooError) -> DeliveryOutcome? {
        let fields = sync.fields.filter(Account.dataFields.contains)
        let lookups = try await accountLookups(sync.account, fields: fields, logger: logger)
        if let rejection = Self.rejection(sync.account.ref, lookups) { return rejection }
        var changes = Self.accountValues(sync.account, fields: fields, lookups: lookups, current: current)
        if sync.account.deleted == true, current["active"]?.boolValue != false { changes["active"] = false }
        if !changes.isEmpty {
            try await client.write(model: "res.partner", ids: [id], values: changes, logger: logger)
        }
        return nil
    }

    /// Contacts as persons of the company: created with every value, updated with `sync.contactFields`, archived
    /// when deleted.
    private func syncContacts(_ sync: AccountSync, company: Int64, logger: Logger) async throws(OdooError) {
        guard !sync.contacts.isEmpty else { return }
        let identities = sync.contacts.map { OdooIdentity(ref: $0.ref, email: $0.email) }
        let found = try await client.resolvePersons(identities, company: company, fields: Self.contactPartnerFields, logger: logger)
        var toCreate: [Contact] = []
        for contact in sync.contacts {
            guard let record = found[contact.ref], let id = record["id"]?.intValue else {
                if contact.deleted != true { toCreate.append(contact) }
                continue
            }
            let changes = Self.contactChanges(contact, fields: sync.contactFields, company: company, current: record)
            if !changes.isEmpty { try await client.write(model: "res.partner", ids: [id], values: changes, logger: logger) }
        }
        guard !toCreate.isEmpty else { return }
        let items = toCreate.map { contact in
            var values = Self.contactValues(contact, fields: Contact.dataFields.filter { Self.hasValue(contact, $0) })
            values["name"] = .string(contact.name ?? contact.email ?? contact.ref.id)
            values["parent_id"] = .int(company)
            values["type"] = "contact"
            return OdooUpsertItem(ref: contact.ref, keyField: "ref", key: contact.ref.xmlidName, createValues: values, updateValues: nil)
        }
        let results = try await client.upsert(
            model: "res.partner", items: items, readFields: Self.contactPartnerFields, view: OdooUpsertView(), logger: logger)
        for (contact, result) in zip(toCreate, results) where !result.created {
            let changes = Self.contactChanges(contact, fields: sync.contactFields, company: company, current: result.current)
            if !changes.isEmpty { try await client.write(model: "res.partner", ids: [result.id], values: changes, logger: logger) }
        }
    }

    /// Points the external ids of merged CRM accounts at the survivor's partner (creating missing ones); returns a
    /// note naming the old partners, which are left as they are.
    private func repointMerged(_ account: Account, to partner: Int64, logger: Logger) async throws(OdooError) -> String? {
        let merged = (account.mergedFrom ?? []).filter { $0 != account.ref.id }
        guard !merged.isEmpty else { return nil }
        let refs = merged.map { ExternalRef(system: account.ref.system, kind: account.ref.kind, id: $0) }
        let rows = try await client.externalIDRows(refs.map(\.xmlidName), logger: logger)
        var repoint: [(name: String, dataID: Int64)] = []
        var left: [String] = []
        var missing: [(name: String, id: Int64)] = []
        for ref in refs {
            guard let row = rows[ref.xmlidName] else {
                missing.append((ref.xmlidName, partner))
                continue
            }
            guard row.model == "res.partner", row.resID != partner else { continue }
            repoint.append((ref.xmlidName, row.dataID))
            left.append("\(ref) (partner \(row.resID))")
        }
        try await client.repointExternalIDs(repoint, to: partner, logger: logger)
        try await client.bindExternalIDs(missing, model: "res.partner", logger: logger)
        guard !left.isEmpty else { return nil }
        return "merged \(left.joined(separator: ", ")) into partner \(partner); the old partners were left as they are "
            + "(they may carry invoices): archive or merge them in Odoo"
    }

    // MARK: - Values

    static func hasValue(_ account: Account, _ field: String) -> Bool {
        switch field {
        case "name": account.name != nil
        case "domain": account.domain != nil
        case "phone": account.phone != nil
        case "segment": account.segment != nil
        case "owner": account.owner != nil
        case "address": account.address != nil
        case "taxID": account.taxID != nil
        case "paymentTerms": account.paymentTerms != nil
        default: false
        }
    }

    static func hasValue(_ contact: Contact, _ field: String) -> Bool {
        switch field {
        case "name": contact.name != nil
        case "email": contact.email != nil
        case "phone": contact.phone != nil
        case "jobTitle": contact.jobTitle != nil
        default: false
        }
    }

    /// The partner values for `fields` of the account (`false` clears); with `current`, only those that differ.
    static func accountValues(
        _ account: Account, fields: [String], lookups: OdooAccountLookups, current: [String: JSONValue]?
    ) -> [String: JSONValue] {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .bool(false) }
        func id(_ value: Int64?) -> JSONValue { value.map(JSONValue.int) ?? .bool(false) }
        var values: [String: JSONValue] = [:]
        for field in fields {
            switch field {
            // Odoo requires a name: a cleared CRM name leaves Odoo's.
            case "name": if let name = account.name { values["name"] = .string(name) }
            case "domain":
                // Compared as hosts: `https://www.acme.com/` in Odoo is the domain `acme.com`.
                let host = account.domain.flatMap(OdooIdentity.host(ofWebsite:))
                let currentText = current?["website"]?.stringValue
                let differs = currentText.flatMap(OdooIdentity.host(ofWebsite:)) != host || (host == nil && currentText != nil)
                if current == nil || differs { values["website"] = host.map { .string("https://" + $0) } ?? .bool(false) }
            case "phone": values["phone"] = text(account.phone)
            case "segment": values["industry_id"] = id(lookups.industry)
            case "owner": values["user_id"] = id(lookups.user)
            case "paymentTerms": values["property_payment_term_id"] = id(lookups.paymentTerm)
            case "taxID":
                let same =
                    current?["vat"]?.stringValue.flatMap(OdooIdentity.normalizedVAT) == account.taxID.flatMap(OdooIdentity.normalizedVAT)
                if current == nil || !same { values["vat"] = text(account.taxID) }
            case "address":
                let address = account.address
                values["street"] = text(address?.line1)
                values["street2"] = text(address?.line2)
                values["city"] = text(address?.city)
                values["zip"] = text(address?.postalCode)
                if let code = address?.country?.uppercased() {
                    if let country = lookups.countries[code] { values["country_id"] = .int(country) }
                } else {
                    values["country_id"] = false
                }
                // A state Odoo does not know is left as Odoo has it.
                if address?.state == nil {
                    values["state_id"] = false
                } else if let state = lookups.state {
                    values["state_id"] = .int(state)
                }
            default: break
            }
        }
        guard let current else { return values.filter { $0.value != .bool(false) } }
        return values.filter { field, value in
            field == "website" || field == "vat" ? true : !OdooClient.sameValue(value, current[field])
        }
    }

    static func contactValues(_ contact: Contact, fields: [String]) -> [String: JSONValue] {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .bool(false) }
        var values: [String: JSONValue] = [:]
        for field in fields {
            switch field {
            case "name": if let name = contact.name { values["name"] = .string(name) }
            case "email": values["email"] = text(contact.email)
            case "phone": values["phone"] = text(contact.phone)
            case "jobTitle": values["function"] = text(contact.jobTitle)
            default: break
            }
        }
        return values
    }

    /// What to write on an existing person: the named fields that differ, the company when it is not set, and
    /// `active` false when the contact was deleted.
    static func contactChanges(
        _ contact: Contact, fields: [String], company: Int64, current: [String: JSONValue]
    ) -> [String: JSONValue] {
        var desired = contactValues(contact, fields: fields.filter(Contact.dataFields.contains))
        if contact.deleted == true {
            desired["active"] = false
        } else {
            desired["parent_id"] = .int(company)
        }
        return desired.filter { field, value in !OdooClient.sameValue(value, current[field]) }
    }

    static func rejection(_ ref: ExternalRef, _ lookups: OdooAccountLookups) -> DeliveryOutcome? {
        guard !lookups.problems.isEmpty else { return nil }
        return .reject(
            DeliveryFailure(
                kind: .rejected,
                message: "account \(ref): \(lookups.problems.joined(separator: "; ")); create it in Odoo or fix the value in the CRM"))
    }

    // MARK: - Lookups

    /// Looks up the Odoo records the account's `fields` name: one `search_read` per kind of value, cached.
    func accountLookups(_ account: Account, fields: [String], logger: Logger) async throws(OdooError) -> OdooAccountLookups {
        var lookups = OdooAccountLookups()
        if fields.contains("address"), let code = account.address?.country?.uppercased() {
            lookups.countries = try await countryIDs([code], logger: logger)
            if lookups.countries[code] == nil { lookups.problems.append("Odoo has no country with code or name \(code)") }
            if let state = account.address?.state, let country = lookups.countries[code] {
                lookups.state = try await cachedLookup(
                    "state:\(country):\(state.uppercased())", model: "res.country.state",
                    domain: [
                        ["country_id", "=", .int(country)], "|", ["code", "=ilike", .string(OdooClient.likeEscaped(state))],
                        ["name", "=ilike", .string(OdooClient.likeEscaped(state))],
                    ], logger: logger)
            }
        }
        if fields.contains("paymentTerms"), let name = account.paymentTerms {
            lookups.paymentTerm = try await cachedLookup(
                "term:\(name)", model: "account.payment.term", domain: [["name", "=ilike", .string(OdooClient.likeEscaped(name))]],
                logger: logger)
            if lookups.paymentTerm == nil {
                lookups.problems.append(
                    "Odoo has no payment term named \"\(name)\" (Invoicing ▸ Configuration ▸ Payment Terms; a CRM's own "
                        + "value can be translated to an Odoo name with the CRM's accounts.payment_terms_values)")
            }
        }
        if fields.contains("segment"), let name = account.segment {
            let pattern = JSONValue.string(OdooClient.likeEscaped(name))
            lookups.industry = try await cachedLookup(
                "industry:\(name)", model: "res.partner.industry",
                domain: ["|", ["name", "=ilike", pattern], ["full_name", "=ilike", pattern]],
                logger: logger)
            if lookups.industry == nil {
                lookups.problems.append(
                    "Odoo has no industry named \"\(name)\" (Contacts ▸ Configuration ▸ Industries; a CRM's own value "
                        + "can be translated to an Odoo name with the CRM's accounts.segment_values)")
            }
        }
        if fields.contains("owner"), let login = account.owner {
            lookups.user = try await cachedLookup(
                "user:\(login.lowercased())", model: "res.users", domain: [["login", "=ilike", .string(OdooClient.likeEscaped(login))]],
                logger: logger)
            if lookups.user == nil { lookups.problems.append("Odoo has no user with login \(login) (Settings ▸ Users)") }
        }
        return lookups
    }

    /// The first (lowest id) record matching `domain`, remembered under `key` once found.
    private func cachedLookup(_ key: String, model: String, domain: JSONValue, logger: Logger) async throws(OdooError) -> Int64? {
        if let id = client.cache.id(key) { return id }
        let rows = try await client.searchRead(model: model, domain: domain, fields: ["id"], limit: 1, order: "id", logger: logger)
        guard let id = rows.first?["id"]?.intValue else { return nil }
        client.cache.storeID(id, for: key)
        return id
    }
}
