import Foundation

/// A CRM company (HubSpot company, Salesforce Account) kept in step with its ERP partner in both directions. Field
/// names are also the canonical field paths used by ownership rules (`account.name`, `account.address`, …): each field
/// is written by its owner only, and sent to the other side.
public struct Account: Hashable, Sendable, Codable {
    /// The CRM record (`hubspot/account/123`): the account's identity in Weft.
    public var ref: ExternalRef
    public var name: String?
    /// The company's web domain, lower case, without scheme or `www.` (`acme.com`).
    public var domain: String?
    public var phone: String?
    /// The CRM's segment (HubSpot `industry`, Salesforce `Industry`); the ERP's industry by that name.
    public var segment: String?
    /// The account owner's email (the CRM owner; the ERP salesperson with that login).
    public var owner: String?
    /// The legal (invoicing) address.
    public var address: PostalAddress?
    /// VAT or other tax id.
    public var taxID: String?
    /// The payment terms' name as the ERP shows it (`30 Days`).
    public var paymentTerms: String?
    public var deleted: Bool?
    /// CRM ids merged into this account (a HubSpot merge): their bindings lead to this account's partner.
    public var mergedFrom: [String]?
    /// What the CRM shows of the keys identity resolution matches on, whoever owns those fields: a CRM's VAT number
    /// finds the partner that has it even when the ERP owns `taxID` (and the CRM's value is never written).
    public var identity: AccountIdentity?

    public init(
        ref: ExternalRef, name: String? = nil, domain: String? = nil, phone: String? = nil, segment: String? = nil,
        owner: String? = nil, address: PostalAddress? = nil, taxID: String? = nil, paymentTerms: String? = nil,
        deleted: Bool? = nil, mergedFrom: [String]? = nil, identity: AccountIdentity? = nil
    ) {
        self.identity = identity
        self.ref = ref
        self.name = name
        self.domain = domain
        self.phone = phone
        self.segment = segment
        self.owner = owner
        self.address = address
        self.taxID = taxID
        self.paymentTerms = paymentTerms
        self.deleted = deleted
        self.mergedFrom = mergedFrom
    }

    /// The fields that carry the account's data (not `ref`, `deleted`, `mergedFrom`): what ownership rules name and
    /// what a sync writes.
    public static let dataFields = ["name", "domain", "phone", "segment", "owner", "address", "taxID", "paymentTerms"]

    /// The fields a decoder reports: every data field stated (`null` when the system has no value), so a value removed
    /// at the source is removed from Weft's state too.
    public var changeFields: [String: JSONValue] {
        var fields = CanonicalCoding.jsonValue(self).objectValue ?? [:]
        // Merges are reported by their own events; a read of the account does not undo them.
        fields["mergedFrom"] = nil
        for field in Self.dataFields where fields[field] == nil { fields[field] = .null }
        // The source's own keys, for identity resolution (not a data field: no ownership applies).
        fields["identity"] =
            identity.map(CanonicalCoding.jsonValue) ?? CanonicalCoding.jsonValue(AccountIdentity(taxID: taxID, domain: domain))
        return fields
    }
}

/// The keys a CRM account shows for identity resolution (`Account.identity`).
public struct AccountIdentity: Hashable, Sendable, Codable {
    public var taxID: String?
    /// Lower case, without scheme or `www.`.
    public var domain: String?

    public init(taxID: String? = nil, domain: String? = nil) {
        self.taxID = taxID
        self.domain = domain
    }

    /// A web domain as `Account.domain` holds it: the host of a website or domain as typed, lower case, without
    /// scheme, user, port, path or `www.` (`https://www.Acme.com:8080/about` → `acme.com`); `nil` when empty.
    public static func domain(fromWebsite text: String) -> String? {
        var rest = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased())
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        if let end = rest.firstIndex(where: { "/?#".contains($0) }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if let colon = rest.firstIndex(of: ":") { rest = rest[..<colon] }
        if rest.hasPrefix("www.") { rest = rest.dropFirst(4) }
        while rest.hasSuffix(".") { rest = rest.dropLast() }
        return rest.isEmpty ? nil : String(rest)
    }
}

/// A person of an account (HubSpot contact, Salesforce Contact); in the ERP a contact of the account's partner.
public struct Contact: Hashable, Sendable, Codable {
    /// The CRM record (`hubspot/contact/456`).
    public var ref: ExternalRef
    /// The account the person works for.
    public var account: ExternalRef?
    public var name: String?
    public var email: String?
    public var phone: String?
    public var jobTitle: String?
    public var deleted: Bool?

    public init(
        ref: ExternalRef, account: ExternalRef? = nil, name: String? = nil, email: String? = nil, phone: String? = nil,
        jobTitle: String? = nil, deleted: Bool? = nil
    ) {
        self.ref = ref
        self.account = account
        self.name = name
        self.email = email
        self.phone = phone
        self.jobTitle = jobTitle
        self.deleted = deleted
    }

    /// The fields that carry the contact's data: what ownership rules name and what a sync writes.
    public static let dataFields = ["name", "email", "phone", "jobTitle"]

    /// The fields a decoder reports: every data field stated (`null` when unset).
    public var changeFields: [String: JSONValue] {
        var fields = CanonicalCoding.jsonValue(self).objectValue ?? [:]
        for field in Self.dataFields where fields[field] == nil { fields[field] = .null }
        return fields
    }
}

/// Make a target's copy of an account (and its contacts) show the given fields. Sent to the ERP (which creates the
/// partner when it has none, after identity resolution) and to the CRM (which updates the record it owns).
///
/// `fields` and `contactFields` name what to write; a named field whose value is `nil` is cleared. Other fields are
/// left as the target has them: they are the target's own, or nobody changed them. On create the target writes every
/// field that has a value.
public struct AccountSync: Hashable, Sendable, Codable {
    public var account: Account
    public var contacts: [Contact]
    /// The account fields to write on an existing record (`Account.dataFields` names).
    public var fields: [String]
    /// The contact fields to write on existing contacts (`Contact.dataFields` names).
    public var contactFields: [String]

    public init(account: Account, contacts: [Contact], fields: [String], contactFields: [String]) {
        self.account = account
        self.contacts = contacts
        self.fields = fields
        self.contactFields = contactFields
    }
}
