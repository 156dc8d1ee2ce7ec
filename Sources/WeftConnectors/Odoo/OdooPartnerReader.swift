public import Foundation
public import Logging
public import WeftCore

/// What Odoo shows of one CRM account: its company partner and the persons bound to the account's contacts, as
/// canonical values.
public struct OdooAccountReading: Sendable, Hashable {
    /// The account, `ref` being the CRM record the partner is bound to; every data field as Odoo has it (`nil` when
    /// empty). `deleted` is `true` when the partner is archived.
    public var account: Account
    /// The partner's persons bound to contacts of the same CRM (archived ones with `deleted` true).
    public var contacts: [Contact]
    /// The newest `write_date` of the partner and those persons.
    public var modifiedAt: Date

    public init(account: Account, contacts: [Contact], modifiedAt: Date) {
        self.account = account
        self.contacts = contacts
        self.modifiedAt = modifiedAt
    }
}

/// Reads the partners of CRM accounts that changed in Odoo, for sending the fields Odoo owns back to the CRM.
///
/// A partner belongs to an account through its external id `weft.<crm>_account_<id>` (a merged partner may carry
/// several: one reading each); its persons through `weft.<crm>_contact_<id>`. A changed person yields its company's
/// reading. Per read: one `search_read` of partners written since a time (archived included), one of their external
/// ids, one `search_read` of the accounts' persons (and of parents not yet read), one of those persons' external ids,
/// and one `read` each of the states, countries and users named (for their codes and logins).
public struct OdooPartnerReader: Sendable {
    public let client: OdooClient
    /// The CRM systems whose accounts are read.
    public let crmSystems: [SystemName]

    /// - Parameters:
    ///   - client: the Odoo client.
    ///   - crmSystems: the CRMs whose bindings (`<crm>_account_<id>`, `<crm>_contact_<id>`) are followed.
    public init(client: OdooClient, crmSystems: [SystemName]) {
        self.client = client
        self.crmSystems = crmSystems
    }

    static let fields = Array(Set(OdooTarget.accountPartnerFields + OdooTarget.contactPartnerFields + ["email", "write_date"])).sorted()

    /// The accounts (of `crmSystems`) whose partner or one of whose bound persons was written at or after `since`.
    public func readings(since: Date, logger: Logger) async throws(OdooError) -> [OdooAccountReading] {
        guard !crmSystems.isEmpty else { return [] }
        var partners = OdooClient.byID(
            try await client.searchRead(
                model: "res.partner", domain: [["write_date", ">=", .string(OdooOrderStatusReader.odooDatetime(since))]],
                fields: Self.fields, order: "id", context: OdooClient.inactiveToo, logger: logger))
        guard !partners.isEmpty else { return [] }
        let changed = Set(partners.keys)
        let queried = changed.union(changed.compactMap { Self.parent(partners[$0]) })
        var bindings = try await refs(of: queried, logger: logger)
        var accounts: Set<Int64> = []
        for id in changed {
            if bindings[id]?.contains(where: { $0.kind == .account }) == true { accounts.insert(id) }
            if bindings[id]?.contains(where: { $0.kind == .contact }) == true, let parent = Self.parent(partners[id]),
                bindings[parent]?.contains(where: { $0.kind == .account }) == true
            {
                accounts.insert(parent)
            }
        }
        guard !accounts.isEmpty else { return [] }
        // The accounts' persons, and the parents that did not change themselves.
        let unread = accounts.filter { partners[$0] == nil }.sorted()
        let accountList = JSONValue.array(accounts.sorted().map(JSONValue.int))
        let domain: JSONValue =
            unread.isEmpty
            ? [["parent_id", "in", accountList]]
            : ["|", ["id", "in", .array(unread.map(JSONValue.int))], ["parent_id", "in", accountList]]
        for row in try await client.searchRead(
            model: "res.partner", domain: domain, fields: Self.fields, order: "id", context: OdooClient.inactiveToo, logger: logger)
        {
            if let id = row["id"]?.intValue { partners[id] = row }
        }
        let unbound = Set(partners.keys).subtracting(queried)
        for (id, refs) in try await refs(of: unbound, logger: logger) { bindings[id] = refs }
        let names = try await relatedNames(partners.values.filter { accounts.contains($0["id"]?.intValue ?? 0) }, logger: logger)
        var readings: [OdooAccountReading] = []
        for id in accounts.sorted() {
            guard let partner = partners[id] else { continue }
            let children = partners.values.filter { Self.parent($0) == id }.sorted { ($0["id"]?.intValue ?? 0) < ($1["id"]?.intValue ?? 0) }
            for ref in (bindings[id] ?? []).filter({ $0.kind == .account }).sorted(by: { $0.description < $1.description }) {
                var contacts: [Contact] = []
                var times = [partner["write_date"]?.stringValue.flatMap(OdooOrderStatusReader.parseDatetime)]
                for child in children {
                    guard let childID = child["id"]?.intValue else { continue }
                    for contactRef in (bindings[childID] ?? []).filter({ $0.kind == .contact && $0.system == ref.system }) {
                        contacts.append(Self.contact(child, ref: contactRef, account: ref))
                        times.append(child["write_date"]?.stringValue.flatMap(OdooOrderStatusReader.parseDatetime))
                    }
                }
                readings.append(
                    OdooAccountReading(
                        account: Self.account(partner, ref: ref, names: names), contacts: contacts,
                        modifiedAt: times.compactMap { $0 }.max() ?? since))
            }
        }
        return readings
    }

    /// The CRM records (accounts and contacts of `crmSystems`) each partner is bound to.
    func refs(of ids: Set<Int64>, logger: Logger) async throws(OdooError) -> [Int64: [ExternalRef]] {
        guard !ids.isEmpty else { return [:] }
        let prefixes = crmSystems.flatMap { system in
            [EntityKind.account, .contact].map { ExternalRef(system: system, kind: $0, id: "").xmlidName }
        }
        let terms: [JSONValue] = prefixes.map { ["name", "=like", .string(OdooClient.likeEscaped($0) + "%")] }
        let rows = try await client.searchRead(
            model: "ir.model.data",
            domain: .array(
                [
                    ["module", "=", .string(OdooClient.externalIDModule)], ["model", "=", "res.partner"],
                    ["res_id", "in", .array(ids.sorted().map(JSONValue.int))],
                ] + Array(repeating: "|", count: terms.count - 1) + terms),
            fields: ["name", "res_id"], order: "id", logger: logger)
        var result: [Int64: [ExternalRef]] = [:]
        for row in rows {
            guard let name = row["name"]?.stringValue, let id = row["res_id"]?.intValue, let ref = ref(forBinding: name) else { continue }
            result[id, default: []].append(ref)
        }
        return result
    }

    /// `hubspot_account_42` → `hubspot/account/42`, for the configured CRMs' accounts and contacts.
    func ref(forBinding name: String) -> ExternalRef? {
        for system in crmSystems {
            for kind in [EntityKind.account, .contact] {
                let prefix = ExternalRef(system: system, kind: kind, id: "").xmlidName
                if name.hasPrefix(prefix), name.count > prefix.count {
                    return ExternalRef(system: system, kind: kind, id: String(name.dropFirst(prefix.count)))
                }
            }
        }
        return nil
    }

    /// Codes and logins the many2one pairs do not carry: state code, country code, user login, by id.
    struct RelatedNames: Sendable {
        var states: [Int64: String] = [:]
        var countries: [Int64: String] = [:]
        var logins: [Int64: String] = [:]
    }

    func relatedNames(_ partners: [[String: JSONValue]], logger: Logger) async throws(OdooError) -> RelatedNames {
        func ids(_ field: String) -> [Int64] {
            Array(Set(partners.compactMap { $0[field]?.arrayValue?.first?.intValue })).sorted()
        }
        func map(_ model: String, _ ids: [Int64], _ field: String) async throws(OdooError) -> [Int64: String] {
            var result: [Int64: String] = [:]
            for row in try await client.read(model: model, ids: ids, fields: [field], context: OdooClient.inactiveToo, logger: logger) {
                if let id = row["id"]?.intValue, let value = row[field]?.stringValue { result[id] = value }
            }
            return result
        }
        var names = RelatedNames()
        names.states = try await map("res.country.state", ids("state_id"), "code")
        names.countries = try await map("res.country", ids("country_id"), "code")
        names.logins = try await map("res.users", ids("user_id"), "login")
        return names
    }

    static func parent(_ row: [String: JSONValue]?) -> Int64? { row?["parent_id"]?.arrayValue?.first?.intValue }

    static func text(_ value: JSONValue?) -> String? {
        guard let text = value?.stringValue, !text.isEmpty else { return nil }
        return text
    }

    static func pairName(_ value: JSONValue?) -> String? { value?.arrayValue?.dropFirst().first?.stringValue }

    static func account(_ row: [String: JSONValue], ref: ExternalRef, names: RelatedNames) -> Account {
        func related(_ field: String, _ map: [Int64: String]) -> String? { row[field]?.arrayValue?.first?.intValue.flatMap { map[$0] } }
        let address = PostalAddress(
            line1: text(row["street"]), line2: text(row["street2"]), city: text(row["city"]), postalCode: text(row["zip"]),
            state: related("state_id", names.states), country: related("country_id", names.countries))
        return Account(
            ref: ref, name: text(row["name"]), domain: text(row["website"]).flatMap(OdooIdentity.host(ofWebsite:)),
            phone: text(row["phone"]), segment: pairName(row["industry_id"]), owner: related("user_id", names.logins),
            address: address == PostalAddress() ? nil : address, taxID: text(row["vat"]),
            paymentTerms: pairName(row["property_payment_term_id"]), deleted: row["active"]?.boolValue == false ? true : nil)
    }

    static func contact(_ row: [String: JSONValue], ref: ExternalRef, account: ExternalRef) -> Contact {
        Contact(
            ref: ref, account: account, name: text(row["name"]), email: text(row["email"]), phone: text(row["phone"]),
            jobTitle: text(row["function"]), deleted: row["active"]?.boolValue == false ? true : nil)
    }
}
