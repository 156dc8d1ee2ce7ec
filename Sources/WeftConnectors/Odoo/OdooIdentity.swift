import Foundation
import Logging
import WeftCore

/// A way Weft recognises an existing Odoo company partner for a CRM account it has not bound yet (after the account's
/// external id and its `ref`). Configured in order of trust in `OdooConfiguration.identityKeys`.
public enum OdooIdentityKey: String, Sendable, Hashable, Codable, CaseIterable {
    /// The tax id, compared after normalising both sides (spaces, dots and dashes removed, upper case).
    case vat
    /// The account's web domain against the partner's website host (scheme, `www.` and path stripped) or the domain
    /// of its email. Free-mail domains (gmail.com, outlook.com, …) never match.
    case emailDomain = "email_domain"
    /// The account's email, case-insensitively.
    case email
}

/// What identifies one company or person to find in Odoo: its CRM record and the values keys compare.
struct OdooIdentity: Sendable, Hashable {
    var ref: ExternalRef
    /// Normalised tax id (`BE0123456789`).
    var vat: String?
    /// Lower-case host without `www.`, never a free-mail domain.
    var domain: String?
    /// Lower-case email.
    var email: String?

    init(ref: ExternalRef, taxID: String? = nil, domain: String? = nil, email: String? = nil) {
        self.ref = ref
        self.vat = taxID.flatMap(Self.normalizedVAT)
        self.domain = domain.flatMap(Self.host(ofWebsite:)).flatMap { Self.freeMailDomains.contains($0) ? nil : $0 }
        self.email = email.flatMap(Self.normalizedEmail)
    }

    /// An account: its VAT and domain as the CRM shows them (`Account.identity`, sent whoever owns those fields, else
    /// the data fields), the domain else the one company domain its contacts' emails agree on.
    static func account(_ account: Account, contacts: [Contact]) -> OdooIdentity {
        var identity = OdooIdentity(
            ref: account.ref, taxID: account.identity?.taxID ?? account.taxID, domain: account.identity?.domain ?? account.domain)
        if identity.domain == nil { identity.domain = sharedDomain(contacts.compactMap(\.email)) }
        return identity
    }

    /// A deal's company (a `Customer`): its email, and the domain of that email or else of the deal contact's.
    static func customer(_ customer: Customer, contactEmail: String? = nil) -> OdooIdentity {
        var identity = OdooIdentity(ref: customer.ref, taxID: customer.taxID, email: customer.email)
        identity.domain = sharedDomain([customer.email].compactMap { $0 }) ?? sharedDomain([contactEmail].compactMap { $0 })
        return identity
    }

    /// The company domain of these emails when there is exactly one (free-mail domains ignored).
    static func sharedDomain(_ emails: [String]) -> String? {
        let domains = Set(emails.compactMap(domain(ofEmail:)).filter { !freeMailDomains.contains($0) })
        return domains.count == 1 ? domains.first : nil
    }

    /// Strips spaces, dots and dashes and upper-cases: `be 0123.456.789` → `BE0123456789`.
    static func normalizedVAT(_ text: String) -> String? {
        let kept = text.unicodeScalars.filter { !" .-\t\u{00A0}".unicodeScalars.contains($0) }
        let result = String(String.UnicodeScalarView(kept)).uppercased()
        return result.isEmpty ? nil : result
    }

    static func normalizedEmail(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return trimmed.contains("@") ? trimmed : nil
    }

    /// `https://www.Acme.com/about` → `acme.com`; `acme.com` → `acme.com`.
    static func host(ofWebsite text: String) -> String? {
        // A host without a dot (`localhost`) is no company's domain.
        AccountIdentity.domain(fromWebsite: text).flatMap { $0.contains(".") ? $0 : nil }
    }

    static func domain(ofEmail text: String) -> String? {
        guard let email = normalizedEmail(text), let at = email.lastIndex(of: "@") else { return nil }
        return host(ofWebsite: String(email[email.index(after: at)...]))
    }

    /// Mailbox providers whose domain says nothing about the company.
    static let freeMailDomains: Set<String> = [
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr", "live.com", "msn.com",
        "yahoo.com", "yahoo.co.uk", "yahoo.fr", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
        "protonmail.com", "gmx.de", "gmx.net", "gmx.com", "web.de", "mail.com", "yandex.ru", "yandex.com", "zoho.com",
        "qq.com", "163.com", "orange.fr", "free.fr", "t-online.de", "libero.it",
    ]
}

/// The outcome of looking for the partner of an identity.
enum OdooMatch: Sendable {
    /// The partner (read with the requested fields) and how it was found (`external id`, `ref`, `vat`, …).
    case found(id: Int64, record: [String: JSONValue], via: String)
    case notFound
    /// Several partners fit equally well; the message names them and says what to fix.
    case ambiguous(String)
}

extension OdooClient {
    static let partnerIdentityFields = ["ref", "vat", "website", "email", "is_company", "parent_id", "active"]

    /// Finds the company partner of `identity`: by its `weft.*` external id, then by the external id of the first of
    /// `inheriting` that has a partner (the records a CRM merge folded into this one, primary first), then by `ref`,
    /// then by `keys` among
    /// active company partners not bound to another record of the same CRM system and kind. A partner found by `ref`
    /// or by a key gets the external id, so the next lookup is by binding.
    ///
    /// At most: one `ir.model.data` lookup and one `read`, one `search_read` by `ref`, one `search_read` with every
    /// key at once (OR), one `ir.model.data` read of the candidates' bindings and one `create` of the binding.
    func resolveCompany(
        _ identity: OdooIdentity, keys: [OdooIdentityKey], inheriting: [ExternalRef] = [], fields: [String], logger: Logger
    ) async throws(OdooError) -> OdooMatch {
        let name = identity.ref.xmlidName
        let readFields = Array(Set(fields + Self.partnerIdentityFields)).sorted()
        let names = [name] + inheriting.map(\.xmlidName)
        let bound = try await externalIDs(names, model: "res.partner", logger: logger)
        let boundRecords = Self.byID(
            try await read(
                model: "res.partner", ids: Array(Set(bound.values)).sorted(), fields: readFields, context: Self.inactiveToo,
                logger: logger))
        if let id = bound[name], let record = boundRecords[id] { return .found(id: id, record: record, via: "external id") }
        for other in names.dropFirst() {
            if let id = bound[other], let record = boundRecords[id] {
                return try await bindFound(name, id: id, record: record, via: "merge", fields: readFields, logger: logger)
            }
        }
        if let record = try await searchRead(
            model: "res.partner", domain: [["ref", "=", .string(name)]], fields: readFields, limit: 1, order: "id",
            context: Self.inactiveToo, logger: logger
        ).first, let id = record["id"]?.intValue {
            return try await bindFound(name, id: id, record: record, via: "ref", fields: readFields, logger: logger)
        }
        let terms = Self.keyTerms(identity, keys: keys)
        guard !terms.isEmpty else { return .notFound }
        let candidates = try await searchRead(
            model: "res.partner",
            domain: .array([["is_company", "=", true]] + Array(repeating: "|", count: terms.count - 1) + terms),
            fields: readFields, order: "id", logger: logger)
        let allowed = try await unboundElsewhere(candidates, ref: identity.ref, logger: logger)
        var matched: [(id: Int64, keys: Set<OdooIdentityKey>, record: [String: JSONValue])] = []
        for record in allowed {
            guard let id = record["id"]?.intValue else { continue }
            let hits = Set(keys.filter { Self.matches(record, identity, $0) })
            if !hits.isEmpty { matched.append((id, hits, record)) }
        }
        for key in keys {
            let group = matched.filter { $0.keys.contains(key) }
            guard !group.isEmpty else { continue }
            let best = group.map(\.keys.count).max() ?? 0
            let top = group.filter { $0.keys.count == best }
            guard top.count == 1 else {
                return .ambiguous(Self.ambiguity(identity, key: key, ids: top.map(\.id)))
            }
            return try await bindFound(name, id: top[0].id, record: top[0].record, via: key.rawValue, fields: readFields, logger: logger)
        }
        return .notFound
    }

    /// Finds the person partner of each identity: by external id, then `ref`, then by exact email among active
    /// persons of `company` (preferred) or without company, not bound to another contact of the same CRM system; the
    /// oldest wins, and one partner serves one contact. Matches by `ref` or email get the external id.
    func resolvePersons(
        _ people: [OdooIdentity], company: Int64?, fields: [String], logger: Logger
    ) async throws(OdooError) -> [ExternalRef: [String: JSONValue]] {
        guard !people.isEmpty else { return [:] }
        let readFields = Array(Set(fields + Self.partnerIdentityFields)).sorted()
        var result: [ExternalRef: [String: JSONValue]] = [:]
        let bound = try await externalIDs(people.map(\.ref.xmlidName), model: "res.partner", logger: logger)
        let boundRecords = Self.byID(
            try await read(
                model: "res.partner", ids: Array(Set(bound.values)).sorted(), fields: readFields, context: Self.inactiveToo,
                logger: logger))
        for person in people {
            if let id = bound[person.ref.xmlidName], let record = boundRecords[id] { result[person.ref] = record }
        }
        var toBind: [(name: String, id: Int64)] = []
        var byRef = people.filter { result[$0.ref] == nil }
        if !byRef.isEmpty {
            let rows = try await searchRead(
                model: "res.partner", domain: [["ref", "in", .array(byRef.map { .string($0.ref.xmlidName) })]], fields: readFields,
                order: "id", context: Self.inactiveToo, logger: logger)
            for person in byRef {
                if let row = rows.first(where: { $0["ref"]?.stringValue == person.ref.xmlidName }), let id = row["id"]?.intValue {
                    result[person.ref] = row
                    toBind.append((person.ref.xmlidName, id))
                }
            }
            byRef = byRef.filter { result[$0.ref] == nil }
        }
        let byEmail = byRef.filter { $0.email != nil }
        if !byEmail.isEmpty {
            let terms: [JSONValue] = Array(Set(byEmail.compactMap(\.email))).sorted().map {
                ["email", "=ilike", .string(Self.likeEscaped($0))]
            }
            let parents: [JSONValue] = [.bool(false)] + (company.map { [.int($0)] } ?? [])
            let rows = try await searchRead(
                model: "res.partner",
                domain: .array(
                    [["is_company", "=", false], ["parent_id", "in", .array(parents)]] + Array(repeating: "|", count: terms.count - 1)
                        + terms),
                fields: readFields, order: "id", logger: logger)
            let allowed = try await unboundElsewhere(rows, ref: byEmail[0].ref, logger: logger)
            var used = Set(result.values.compactMap { $0["id"]?.intValue })
            for person in byEmail {
                let fits = allowed.filter { row in
                    row["email"]?.stringValue.flatMap(OdooIdentity.normalizedEmail) == person.email
                        && !used.contains(row["id"]?.intValue ?? 0)
                }
                let underCompany = fits.filter { company != nil && $0["parent_id"]?.arrayValue?.first?.intValue == company }
                guard let row = (underCompany.isEmpty ? fits : underCompany).first, let id = row["id"]?.intValue else { continue }
                used.insert(id)
                result[person.ref] = row
                toBind.append((person.ref.xmlidName, id))
            }
        }
        let taken = try await bindExternalIDs(toBind, model: "res.partner", logger: logger)
        if !taken.isEmpty {
            // Bound meanwhile by another node: the binding wins.
            let now = try await externalIDs(Array(taken), model: "res.partner", logger: logger)
            let records = Self.byID(
                try await read(
                    model: "res.partner", ids: Array(Set(now.values)).sorted(), fields: readFields, context: Self.inactiveToo,
                    logger: logger))
            for person in people where taken.contains(person.ref.xmlidName) {
                if let id = now[person.ref.xmlidName], let record = records[id] { result[person.ref] = record }
            }
        }
        return result
    }

    /// Binds a partner found by `ref` or a key; if another node bound the name meanwhile, that partner is the answer.
    private func bindFound(
        _ name: String, id: Int64, record: [String: JSONValue], via: String, fields: [String], logger: Logger
    ) async throws(OdooError) -> OdooMatch {
        let taken = try await bindExternalIDs([(name, id)], model: "res.partner", logger: logger)
        guard !taken.isEmpty, let row = try await externalIDRows([name], logger: logger)[name], row.model == "res.partner",
            row.resID != id
        else { return .found(id: id, record: record, via: via) }
        if let other = try await read(model: "res.partner", ids: [row.resID], fields: fields, context: Self.inactiveToo, logger: logger)
            .first
        {
            return .found(id: row.resID, record: other, via: "external id")
        }
        // The external id names a deleted partner: it now names this one.
        try await repointExternalIDs([(name, row.dataID)], to: id, logger: logger)
        return .found(id: id, record: record, via: via)
    }

    /// The candidates not bound (by external id or by `ref`) to another record of the same system and kind as `ref`:
    /// two CRM companies that share a domain keep two partners.
    private func unboundElsewhere(
        _ candidates: [[String: JSONValue]], ref: ExternalRef, logger: Logger
    ) async throws(OdooError) -> [[String: JSONValue]] {
        guard !candidates.isEmpty else { return [] }
        let prefix = ExternalRef(system: ref.system, kind: ref.kind, id: "").xmlidName
        let ids = candidates.compactMap { $0["id"]?.intValue }
        let rows = try await searchRead(
            model: "ir.model.data",
            domain: [
                ["module", "=", .string(Self.externalIDModule)], ["model", "=", "res.partner"],
                ["res_id", "in", .array(ids.map(JSONValue.int))],
                ["name", "=like", .string(Self.likeEscaped(prefix) + "%")],
            ],
            fields: ["name", "res_id"], logger: logger)
        var taken: Set<Int64> = []
        for row in rows {
            if let name = row["name"]?.stringValue, let id = row["res_id"]?.intValue, name.hasPrefix(prefix) { taken.insert(id) }
        }
        return candidates.filter { record in
            guard let id = record["id"]?.intValue, !taken.contains(id) else { return false }
            if let key = record["ref"]?.stringValue, key.hasPrefix(prefix) { return false }
            return true
        }
    }

    /// One search term per key the identity has a value for; each a superset that `matches` narrows exactly.
    static func keyTerms(_ identity: OdooIdentity, keys: [OdooIdentityKey]) -> [JSONValue] {
        var terms: [JSONValue] = []
        for key in keys {
            switch key {
            case .vat:
                // Odoo keeps the VAT as typed (`BE 0123.456.789`): any separators between the characters.
                if let vat = identity.vat {
                    terms.append(["vat", "=ilike", .string(vat.map { likeEscaped(String($0)) }.joined(separator: "%"))])
                }
            case .emailDomain:
                if let domain = identity.domain {
                    terms.append(["website", "ilike", .string(domain)])
                    terms.append(["email", "=ilike", .string("%@" + likeEscaped(domain))])
                }
            case .email:
                if let email = identity.email { terms.append(["email", "=ilike", .string(likeEscaped(email))]) }
            }
        }
        return terms
    }

    /// Whether a partner matches the identity on `key` exactly (after normalising both sides).
    static func matches(_ record: [String: JSONValue], _ identity: OdooIdentity, _ key: OdooIdentityKey) -> Bool {
        switch key {
        case .vat:
            guard let vat = identity.vat else { return false }
            return record["vat"]?.stringValue.flatMap(OdooIdentity.normalizedVAT) == vat
        case .emailDomain:
            guard let domain = identity.domain else { return false }
            return record["website"]?.stringValue.flatMap(OdooIdentity.host(ofWebsite:)) == domain
                || record["email"]?.stringValue.flatMap(OdooIdentity.domain(ofEmail:)) == domain
        case .email:
            guard let email = identity.email else { return false }
            return record["email"]?.stringValue.flatMap(OdooIdentity.normalizedEmail) == email
        }
    }

    static func ambiguity(_ identity: OdooIdentity, key: OdooIdentityKey, ids: [Int64]) -> String {
        let shared: String =
            switch key {
            case .vat: "VAT \(identity.vat ?? "")"
            case .emailDomain: "the domain \(identity.domain ?? "") (website or email)"
            case .email: "the email \(identity.email ?? "")"
            }
        return "ambiguous match for \(identity.ref): partners \(ids.sorted().map(String.init).joined(separator: ", ")) share "
            + "\(shared); set the Reference (ref) of the right one to \(identity.ref.xmlidName), or merge them in Odoo"
    }

    /// A domain matching any of `terms` (Odoo's prefix `|` operators; `[]` for none).
    static func anyOf(_ terms: [JSONValue]) -> [JSONValue] {
        Array(repeating: JSONValue.string("|"), count: max(terms.count - 1, 0)) + terms
    }

    /// Escapes `%`, `_` and `\` for `like`/`=ilike` patterns.
    static func likeEscaped(_ text: String) -> String {
        var result = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { result.append("\\") }
            result.append(character)
        }
        return result
    }
}
