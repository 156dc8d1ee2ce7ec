public import Foundation
public import WeftCore

/// Where an account's fields live on a Salesforce Account. Name, phone, website and the billing address are
/// Salesforce's standard fields (`Name`, `Phone`, `Website`, `BillingStreet`, `BillingCity`, `BillingPostalCode`,
/// `BillingState`, `BillingCountry`, or in an org with State and Country/Territory Picklists `BillingStateCode` and
/// `BillingCountryCode`); contacts use `FirstName` + `LastName` (the name), `Email`, `Phone` and `Title`.
public struct SalesforceAccountMapping: Sendable, Hashable {
    /// The Account field holding the segment (default `Industry`); `nil`: not synced.
    public var segmentField: String?
    /// Where the owner's email is read (default `Owner.Email`, through the `OwnerId` lookup); `nil`: not synced.
    /// A relationship path (`Owner.Email`, `Account_Manager__r.Email`) is written by setting its lookup (`OwnerId`,
    /// `Account_Manager__c`) to the active User with that email; a plain field (`Owner_Email__c`) is written as text.
    public var ownerEmailField: String?
    /// The Account field holding the VAT number (e.g. `VAT_Number__c`; Salesforce has no standard one).
    public var vatField: String?
    /// The Account field holding the payment terms' name (a custom field, e.g. `Payment_Terms__c`).
    public var paymentTermsField: String?
    /// The segment field's picklist values (`Technology`) ↔ the ERP's industry names.
    public var segmentValues: ValueMap
    /// The payment terms field's values ↔ the ERP's payment term names.
    public var paymentTermsValues: ValueMap
    /// The org has State and Country/Territory Picklists: the state and country are read and written as their ISO
    /// codes (`BillingStateCode`, `BillingCountryCode`); the text fields hold names there and refuse codes.
    public var addressCodes: Bool

    /// - Parameters:
    ///   - segmentField: the segment field (default `Industry`).
    ///   - ownerEmailField: the owner's email (default `Owner.Email`).
    ///   - vatField: the VAT number field (default none).
    ///   - paymentTermsField: the payment terms field (default none).
    ///   - segmentValues: translations of the segment's values (default none: values pass through).
    ///   - paymentTermsValues: translations of the payment terms' values (default none).
    ///   - addressCodes: the org has State and Country/Territory Picklists (default no).
    public init(
        segmentField: String? = "Industry", ownerEmailField: String? = "Owner.Email", vatField: String? = nil,
        paymentTermsField: String? = nil, segmentValues: ValueMap = .identity, paymentTermsValues: ValueMap = .identity,
        addressCodes: Bool = false
    ) {
        self.addressCodes = addressCodes
        self.segmentField = segmentField
        self.ownerEmailField = ownerEmailField
        self.vatField = vatField
        self.paymentTermsField = paymentTermsField
        self.segmentValues = segmentValues
        self.paymentTermsValues = paymentTermsValues
    }

    /// The billing address's fields: the state and country as text, or as codes in an org with the picklists.
    var addressFields: [String] { Self.addressFields(codes: addressCodes) }

    static func addressFields(codes: Bool) -> [String] {
        ["BillingStreet", "BillingCity", "BillingPostalCode"]
            + (codes ? ["BillingStateCode", "BillingCountryCode"] : ["BillingState", "BillingCountry"])
    }
    static let contactFields = ["Id", "FirstName", "LastName", "Email", "Phone", "Title", "IsDeleted", "SystemModstamp"]

    /// The Account fields a snapshot reads (without duplicates).
    var accountFields: [String] {
        var fields = ["Id", "Name", "Phone", "Website"] + addressFields
        if let lookup = ownerLookup { fields.append(lookup.idField) }
        fields += [segmentField, ownerEmailField, vatField, paymentTermsField].compactMap { $0 }
        fields += ["IsDeleted", "SystemModstamp"]
        var seen: Set<String> = []
        return fields.filter { seen.insert($0.lowercased()).inserted }
    }

    /// The owner read through a lookup: `Owner.Email` → the lookup field `OwnerId`, its relationship `Owner` and the
    /// User field `Email`; `nil` for a plain field or no owner.
    var ownerLookup: (idField: String, relationship: String, userField: String)? {
        guard let path = ownerEmailField else { return nil }
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        let relationship = parts[0]
        let idField = relationship.hasSuffix("__r") ? String(relationship.dropLast(3)) + "__c" : relationship + "Id"
        return (idField, relationship, parts[1])
    }

    /// The Account field values that make Salesforce show `fields` of `account` (`.null` clears a field). The owner
    /// goes in as `ownerID` (the User found for the email) through a lookup. Fields without a Salesforce field here
    /// (a `taxID` with no `vatField`) are left out, and so is an owner without a value: every Account has an owner.
    func accountValues(_ account: Account, fields: Set<String>, ownerID: String?) -> [String: JSONValue] {
        func value(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        var values: [String: JSONValue] = [:]
        for field in fields {
            switch field {
            case "name": values["Name"] = value(account.name)
            case "domain": values["Website"] = value(account.domain)
            case "phone": values["Phone"] = value(account.phone)
            case "segment": if let segmentField { values[segmentField] = value(segmentValues.system(account.segment)) }
            case "taxID": if let vatField { values[vatField] = value(account.taxID) }
            case "paymentTerms":
                if let paymentTermsField { values[paymentTermsField] = value(paymentTermsValues.system(account.paymentTerms)) }
            case "owner":
                if let lookup = ownerLookup {
                    if let ownerID { values[lookup.idField] = .string(ownerID) }
                } else if let ownerEmailField, account.owner != nil {
                    values[ownerEmailField] = value(account.owner)
                }
            case "address":
                let address = account.address
                // BillingStreet is a text area: the first line is the street, the next the second address line.
                let street = [address?.line1, address?.line2].compactMap { $0 }.filter { !$0.isEmpty }
                values["BillingStreet"] = street.isEmpty ? .null : .string(street.joined(separator: "\n"))
                values["BillingCity"] = value(address?.city)
                values["BillingPostalCode"] = value(address?.postalCode)
                values[addressCodes ? "BillingStateCode" : "BillingState"] = value(address?.state)
                values[addressCodes ? "BillingCountryCode" : "BillingCountry"] = value(address?.country)
            default: continue
            }
        }
        return values
    }

    /// The Contact field values for `fields` of `contact`; the name is split at its first space into `FirstName` and
    /// `LastName` (a one-word name is the last name: `LastName` is required).
    static func contactValues(_ contact: Contact, fields: Set<String>) -> [String: JSONValue] {
        func value(_ text: String?) -> JSONValue { text.map(JSONValue.string) ?? .null }
        var values: [String: JSONValue] = [:]
        for field in fields {
            switch field {
            case "name":
                let parts = contact.name?.split(separator: " ", maxSplits: 1).map(String.init) ?? []
                guard !parts.isEmpty else { continue }  // LastName cannot be cleared
                values["FirstName"] = parts.count > 1 ? .string(parts[0]) : .null
                values["LastName"] = .string(parts.count > 1 ? parts[1] : parts[0])
            case "email": values["Email"] = value(contact.email)
            case "phone": values["Phone"] = value(contact.phone)
            case "jobTitle": values["Title"] = value(contact.jobTitle)
            default: continue
            }
        }
        return values
    }
}

/// An account as Weft stores it in its inbox: the Salesforce Account (with its owner's email, read through the owner
/// lookup) and its Contacts, read together in one SOQL query.
///
/// Stored as the payload of an `account.snapshot` event keyed `<system>/account/<Account Id>`; its event id is derived
/// from the content, so reading an unchanged account again stores nothing new.
public struct SalesforceAccountSnapshot: Sendable, Hashable {
    /// The Account's fields with `Id` (18 characters), relationship fields nested (`"Owner":{"Email":…}`).
    package var account: [String: JSONValue]
    /// Its Contacts (deleted ones too, with `IsDeleted` true, when Salesforce returns them), by id.
    package var contacts: [[String: JSONValue]]

    package init(account: [String: JSONValue], contacts: [[String: JSONValue]]) {
        self.account = account
        self.contacts = contacts.sorted { ($0["Id"]?.stringValue ?? "") < ($1["Id"]?.stringValue ?? "") }
    }

    /// The inbox event type of a snapshot.
    public static let eventType = "account.snapshot"

    /// The 18-character Account Id.
    public var accountID: String { account["Id"]?.stringValue ?? "" }

    /// The key the snapshot is stored under: `<system>/account/<Account Id>`.
    public func entityKey(system: SystemName) -> EntityKey {
        EntityKey.of(ExternalRef(system: system, kind: .account, id: accountID))
    }

    /// Whether the Account is deleted (in the recycle bin).
    public var deleted: Bool { account["IsDeleted"]?.boolValue ?? false }

    /// The newest `SystemModstamp` of the Account and its Contacts: the version of everything the snapshot says.
    public var modifiedAt: Date {
        ([account["SystemModstamp"]] + contacts.map { $0["SystemModstamp"] })
            .compactMap { $0?.stringValue.flatMap(SalesforceTime.parse) }.max() ?? Date(timeIntervalSince1970: 0)
    }

    /// The payload: `{"account":{…},"contacts":[…]}`, each record with Salesforce's field names and values as the REST
    /// API returned them (without `attributes`).
    public var payload: Data {
        let object: JSONValue = ["account": .object(account), "contacts": .array(contacts.map(JSONValue.object))]
        return Data(object.serialized())
    }

    /// `<system>:account:<id>:<content fingerprint>`: the same content read twice is one event.
    public func eventID(system: SystemName) -> SourceEventID {
        SourceEventID("\(system):account:\(accountID):\(String(CanonicalCoding.fingerprint(payload), radix: 16))")
    }

    /// Parses a stored payload.
    public static func parse(_ payload: some DataProtocol) -> SalesforceAccountSnapshot? {
        guard let json = try? JSONValue.parse(Data(payload)), let account = json["account"]?.objectValue,
            account["Id"]?.stringValue != nil
        else { return nil }
        return SalesforceAccountSnapshot(
            account: account, contacts: (json["contacts"]?.arrayValue ?? []).compactMap(\.objectValue))
    }

    /// Builds a snapshot from one row of the reader's query (`Contacts` as a child result), `contacts` overriding the
    /// child result when it had to be read on its own.
    package init?(row: SalesforceRecord, contacts pagedContacts: [SalesforceRecord]? = nil) {
        guard let id = row.id, row.type == "Account" else { return nil }
        var account: [String: JSONValue] = ["Id": .string(id)]
        for (name, value) in row.fields where name != "Contacts" {
            if case .object(let nested) = value {
                account[name] = .object(SalesforceOpportunitySnapshot.plain(nested))
            } else {
                account[name] = value
            }
        }
        let contacts =
            pagedContacts.map {
                $0.map { SalesforceOpportunitySnapshot.plain($0.fields.merging(["Id": .string($0.id ?? "")]) { a, _ in a }) }
            }
            ?? (row["Contacts"]?["records"]?.arrayValue ?? []).compactMap { $0.objectValue.map(SalesforceOpportunitySnapshot.plain) }
        self.init(account: account, contacts: contacts)
    }

    // MARK: Canonical account

    /// The canonical account: the domain from `Website` (lower case, without scheme, `www.` or path), a two-letter
    /// country upper case, the owner's email lower case, the segment and payment terms translated by the mapping's
    /// maps, and `identity` with the VAT number and domain Salesforce shows.
    public func account(system: SystemName, mapping: SalesforceAccountMapping) -> Account {
        let record = account
        let owner: String? =
            if let lookup = mapping.ownerLookup {
                Self.text(record[lookup.relationship]?.objectValue, lookup.userField)
            } else {
                mapping.ownerEmailField.flatMap { Self.text(record, $0) }
            }
        let domain = Self.text(record, "Website").flatMap(AccountIdentity.domain(fromWebsite:))
        let taxID = mapping.vatField.flatMap { Self.text(record, $0) }
        return Account(
            ref: ExternalRef(system: system, kind: .account, id: accountID), name: Self.text(record, "Name"),
            domain: domain, phone: Self.text(record, "Phone"),
            segment: mapping.segmentValues.canonical(mapping.segmentField.flatMap { Self.text(record, $0) }),
            owner: owner?.lowercased(), address: Self.billingAddress(record), taxID: taxID,
            paymentTerms: mapping.paymentTermsValues.canonical(mapping.paymentTermsField.flatMap { Self.text(record, $0) }),
            deleted: deleted ? true : nil,
            identity: AccountIdentity(taxID: taxID, domain: domain))
    }

    /// The Account's contacts, each with `account` set to the Account.
    public func contacts(system: SystemName) -> [Contact] {
        let ref = ExternalRef(system: system, kind: .account, id: accountID)
        return contacts.compactMap { record in
            guard let id = Self.text(record, "Id") else { return nil }
            let name = [Self.text(record, "FirstName"), Self.text(record, "LastName")].compactMap { $0 }.joined(separator: " ")
            return Contact(
                ref: ExternalRef(system: system, kind: .contact, id: id), account: ref, name: name.isEmpty ? nil : name,
                email: Self.text(record, "Email")?.lowercased(), phone: Self.text(record, "Phone"),
                jobTitle: Self.text(record, "Title"), deleted: record["IsDeleted"]?.boolValue == true ? true : nil)
        }
    }

    /// A field as text (numbers and booleans printed), `nil` when absent, null or empty.
    static func text(_ object: [String: JSONValue]?, _ field: String) -> String? {
        switch object?[field] {
        case .string(let text)?: text.isEmpty ? nil : text
        case .int(let number)?: String(number)
        case .double(let number)?: String(number)
        case .bool(let flag)?: flag ? "true" : "false"
        default: nil
        }
    }

    /// The Billing* fields as a postal address: `BillingStreet`'s first line is `line1`, the other lines `line2`
    /// (joined with ", "); the state and country codes when the record has them (an org with the picklists), else the
    /// text fields, a two-letter country upper case; `nil` when street, city, postal code and country are empty.
    static func billingAddress(_ record: [String: JSONValue]) -> PostalAddress? {
        billingAddress { text(record, $0) }
    }

    /// `billingAddress` over a reader of the Billing* fields by name (an Account's own, or an opportunity's
    /// `Account.` ones).
    static func billingAddress(_ text: (String) -> String?) -> PostalAddress? {
        let street = text("BillingStreet")?.split(whereSeparator: \.isNewline).map(String.init) ?? []
        let country = text("BillingCountryCode") ?? text("BillingCountry").map { $0.count == 2 ? $0.uppercased() : $0 }
        guard !street.isEmpty || [text("BillingCity"), text("BillingPostalCode"), country].contains(where: { $0 != nil })
        else { return nil }
        return PostalAddress(
            line1: street.first, line2: street.count > 1 ? street.dropFirst().joined(separator: ", ") : nil,
            city: text("BillingCity"), postalCode: text("BillingPostalCode"), state: text("BillingStateCode") ?? text("BillingState"),
            country: country)
    }
}

extension SalesforceEventDecoder {
    /// An account snapshot: one change for the account (`Account.changeFields`) and one per contact
    /// (`Contact.changeFields`), all versioned by the snapshot's newest `SystemModstamp` and keyed by the account.
    func decodeAccount(_ event: InboxEvent) throws -> DecodedEvent {
        guard let snapshot = SalesforceAccountSnapshot.parse(event.payload) else {
            throw SalesforceOutboundMessageError(code: .malformed, detail: "the account snapshot cannot be parsed")
        }
        let account = snapshot.account(system: system, mapping: accounts)
        let version = SourceVersion(millis: Int64((snapshot.modifiedAt.timeIntervalSince1970 * 1000).rounded()))
        let contacts = snapshot.contacts(system: system).map {
            CanonicalChange(ref: $0.ref, fields: $0.changeFields, version: version)
        }
        return DecodedEvent(
            entityKey: snapshot.entityKey(system: system),
            changes: [CanonicalChange(ref: account.ref, fields: account.changeFields, version: version)] + contacts)
    }
}
