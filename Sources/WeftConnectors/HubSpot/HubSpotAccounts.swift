public import Foundation
public import WeftCore

/// Where an account's fields live on a HubSpot company. Name, domain, phone and the address are HubSpot's standard
/// properties (`name`, `domain`, `phone`, `address`, `address2`, `city`, `zip`, `state`, `country`); contacts use
/// `firstname` + `lastname` (the name), `email`, `phone` and `jobtitle`.
public struct HubSpotAccountMapping: Sendable, Hashable {
    /// The company property holding the segment (default `industry`); `nil`: the segment is not read or written.
    public var segment: String?
    /// The company property holding the owner's id (default `hubspot_owner_id`); Weft knows the owner by email.
    /// `nil`: the owner is not read or written.
    public var owner: String?
    /// The company property holding the VAT or tax id (HubSpot has no standard one; e.g. a custom `vat_number`).
    public var taxID: String?
    /// The company property holding the payment terms' name (a custom property), if any.
    public var paymentTerms: String?
    /// HubSpot's segment values (`industry` options such as `COMPUTER_SOFTWARE`) ↔ the ERP's industry names.
    public var segmentValues: ValueMap
    /// The payment terms property's values ↔ the ERP's payment term names.
    public var paymentTermsValues: ValueMap

    /// - Parameters:
    ///   - segment: the segment property (default `industry`).
    ///   - owner: the owner property (default `hubspot_owner_id`).
    ///   - taxID: the tax id property (default none).
    ///   - paymentTerms: the payment terms property (default none).
    ///   - segmentValues: translations of the segment's values (default none: values pass through).
    ///   - paymentTermsValues: translations of the payment terms' values (default none).
    public init(
        segment: String? = "industry", owner: String? = "hubspot_owner_id", taxID: String? = nil,
        paymentTerms: String? = nil, segmentValues: ValueMap = .identity, paymentTermsValues: ValueMap = .identity
    ) {
        self.segment = segment
        self.owner = owner
        self.taxID = taxID
        self.paymentTerms = paymentTerms
        self.segmentValues = segmentValues
        self.paymentTermsValues = paymentTermsValues
    }

    static let addressProperties = ["address", "address2", "city", "zip", "state", "country"]
    static let contactProperties = ["firstname", "lastname", "email", "phone", "jobtitle"]

    /// The company properties a snapshot reads.
    var companyProperties: [String] {
        ["name", "domain", "phone"] + Self.addressProperties + [segment, owner, taxID, paymentTerms].compactMap { $0 }
    }

    /// The company property values that make HubSpot show `fields` of `account` (`nil` clears a property). The owner
    /// is given as HubSpot's owner id (resolved from the email by the caller). Fields without a property here
    /// (a `taxID` with no `taxID` property) are left out.
    func companyValues(_ account: Account, fields: [String], ownerID: String?) -> [String: String?] {
        var values: [String: String?] = [:]
        for field in Set(fields) {
            switch field {
            case "name": values["name"] = .some(account.name)
            case "domain": values["domain"] = .some(account.domain)
            case "phone": values["phone"] = .some(account.phone)
            case "segment": if let segment { values[segment] = .some(segmentValues.system(account.segment)) }
            case "owner": if let owner { values[owner] = .some(ownerID) }
            case "taxID": if let taxID { values[taxID] = .some(account.taxID) }
            case "paymentTerms":
                if let paymentTerms { values[paymentTerms] = .some(paymentTermsValues.system(account.paymentTerms)) }
            case "address":
                let address = account.address
                values["address"] = .some(address?.line1)
                values["address2"] = .some(address?.line2)
                values["city"] = .some(address?.city)
                values["zip"] = .some(address?.postalCode)
                values["state"] = .some(address?.state)
                values["country"] = .some(address?.country)
            default: continue
            }
        }
        return values
    }

    /// The contact property values for `fields` of `contact`; the name is split at its first space into
    /// `firstname` and `lastname`.
    static func contactValues(_ contact: Contact, fields: [String]) -> [String: String?] {
        var values: [String: String?] = [:]
        for field in Set(fields) {
            switch field {
            case "name":
                let parts = contact.name?.split(separator: " ", maxSplits: 1).map(String.init) ?? []
                values["firstname"] = .some(parts.first)
                values["lastname"] = .some(parts.count > 1 ? parts[1] : nil)
            case "email": values["email"] = .some(contact.email)
            case "phone": values["phone"] = .some(contact.phone)
            case "jobTitle": values["jobtitle"] = .some(contact.jobTitle)
            default: continue
            }
        }
        return values
    }
}

/// An account as Weft stores it in its inbox: the HubSpot company with its associated contacts, read together, and
/// the company owner's email (resolved from `hubspot_owner_id` when read, so that decoding needs no HubSpot call).
///
/// Stored as the payload of an `account.snapshot` event keyed `hubspot/account/<company id>`; its event id is derived
/// from the content, so reading an unchanged account again stores nothing new.
public struct HubSpotAccountSnapshot: Sendable, Hashable {
    package var company: HubSpotRecord
    package var contacts: [HubSpotRecord]
    /// The company owner's email, when the company has an owner HubSpot knows.
    package var ownerEmail: String?

    package init(company: HubSpotRecord, contacts: [HubSpotRecord], ownerEmail: String?) {
        self.company = company
        self.contacts = contacts.sorted { HubSpotDealReader.idOrder($0.id, $1.id) }
        self.ownerEmail = ownerEmail
    }

    /// The inbox event type of a snapshot.
    public static let eventType = "account.snapshot"

    /// The company's id.
    public var companyID: String { company.id }

    /// The key the snapshot is stored under: `<system>/account/<company id>`.
    public func entityKey(system: SystemName) -> EntityKey {
        EntityKey.of(ExternalRef(system: system, kind: .account, id: company.id))
    }

    /// The newest modification among the company and its contacts: the version of everything the snapshot says.
    public var modifiedAt: Date {
        ([company.updatedAt] + contacts.map(\.updatedAt)).compactMap { $0 }.max() ?? Date(timeIntervalSince1970: 0)
    }

    /// The payload: `{"company":{…},"contacts":[…],"ownerEmail":"…"|null}` with each record as
    /// `{"id","properties","updatedAt","archived"}`.
    public var payload: Data {
        let object: JSONValue = [
            "company": company.snapshotJSON, "contacts": .array(contacts.map(\.snapshotJSON)),
            "ownerEmail": ownerEmail.map(JSONValue.string) ?? .null,
        ]
        return Data(object.serialized())
    }

    /// `<system>:account:<id>:<content fingerprint>`: the same content read twice is one event.
    public func eventID(system: SystemName) -> SourceEventID {
        SourceEventID("\(system):account:\(company.id):\(String(CanonicalCoding.fingerprint(payload), radix: 16))")
    }

    /// Parses a stored payload.
    public static func parse(_ payload: some DataProtocol) -> HubSpotAccountSnapshot? {
        guard let json = try? JSONValue.parse(Data(payload)), let company = json["company"].flatMap(HubSpotRecord.init(json:))
        else { return nil }
        return HubSpotAccountSnapshot(
            company: company, contacts: (json["contacts"]?.arrayValue ?? []).compactMap(HubSpotRecord.init(json:)),
            ownerEmail: json["ownerEmail"]?.stringValue)
    }

    /// The canonical account: domain lower case without scheme, `www.` or path; a two-letter country upper case;
    /// the owner as the email read with the snapshot; the segment and payment terms translated by the mapping's maps.
    public func account(system: SystemName, mapping: HubSpotAccountMapping) -> Account {
        Account(
            ref: ExternalRef(system: system, kind: .account, id: company.id), name: company["name"],
            domain: company["domain"].flatMap(AccountIdentity.domain(fromWebsite:)), phone: company["phone"],
            segment: mapping.segmentValues.canonical(mapping.segment.flatMap { company[$0] }),
            owner: mapping.owner.flatMap { company[$0] } == nil ? nil : ownerEmail,
            address: company.postalAddress, taxID: mapping.taxID.flatMap { company[$0] },
            paymentTerms: mapping.paymentTermsValues.canonical(mapping.paymentTerms.flatMap { company[$0] }),
            deleted: company.archived ? true : nil)
    }

    /// The company's contacts, each with `account` set to the company.
    public func contacts(system: SystemName) -> [Contact] {
        let account = ExternalRef(system: system, kind: .account, id: company.id)
        return contacts.map { record in
            let name = [record["firstname"], record["lastname"]].compactMap { $0 }.joined(separator: " ")
            return Contact(
                ref: ExternalRef(system: system, kind: .contact, id: record.id), account: account,
                name: name.isEmpty ? nil : name, email: record["email"]?.lowercased(), phone: record["phone"],
                jobTitle: record["jobtitle"], deleted: record.archived ? true : nil)
        }
    }
}

extension HubSpotRecord {
    /// `{"id","properties","updatedAt","archived"}`: a record as snapshots store it.
    var snapshotJSON: JSONValue {
        var values: [String: JSONValue] = [:]
        for (name, value) in properties { values[name] = value.map(JSONValue.string) ?? .null }
        var object: [String: JSONValue] = ["id": .string(id), "properties": .object(values), "archived": .bool(archived)]
        if let updatedAt { object["updatedAt"] = .string(HubSpotTime.format(updatedAt)) }
        return .object(object)
    }

    /// The standard address properties as a postal address (a two-letter country upper case), `nil` when none of
    /// street, city, postal code and country is set.
    var postalAddress: PostalAddress? {
        let country = self["country"].map { $0.count == 2 ? $0.uppercased() : $0 }
        guard [self["address"], self["city"], self["zip"], country].contains(where: { $0 != nil }) else { return nil }
        return PostalAddress(
            line1: self["address"], line2: self["address2"], city: self["city"], postalCode: self["zip"],
            state: self["state"], country: country)
    }
}
