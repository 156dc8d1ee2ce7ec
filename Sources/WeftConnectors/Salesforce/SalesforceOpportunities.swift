public import Foundation
public import WeftCore

/// How Weft reads Salesforce opportunities: the currency of single-currency orgs and where the VAT number is.
public struct SalesforceOpportunityMapping: Sendable, Hashable {
    /// The currency of opportunities without `CurrencyIsoCode` (single-currency orgs have no such field).
    public var defaultCurrency: CurrencyCode
    /// The Account field holding the VAT number (e.g. `VAT_Number__c`), if the org has one (Salesforce has no
    /// standard one).
    public var vatField: String?
    /// The org has State and Country/Territory Picklists: the account's state and country are read as ISO codes.
    public var addressCodes: Bool

    public init(defaultCurrency: CurrencyCode = CurrencyCode(rawValue: "USD")!, vatField: String? = nil, addressCodes: Bool = false) {
        self.defaultCurrency = defaultCurrency
        self.vatField = vatField
        self.addressCodes = addressCodes
    }

    static let opportunityFields = [
        "Id", "Name", "StageName", "IsWon", "IsClosed", "Amount", "CloseDate", "AccountId", "IsDeleted", "SystemModstamp",
    ]
    var accountFields: [String] {
        ["Name", "Phone"] + SalesforceAccountMapping.addressFields(codes: addressCodes) + ["SystemModstamp"]
            + (vatField.map { [$0] } ?? [])
    }
    static let lineFields = ["Id", "ProductCode", "Name", "Quantity", "UnitPrice", "SystemModstamp"]
    static let contactRoleFields = ["Id", "ContactId", "IsPrimary", "SystemModstamp"]
    static let contactFields = ["FirstName", "LastName", "Name", "Email", "Phone", "SystemModstamp"]
}

/// An opportunity as Weft stores it in its inbox: the opportunity, its account, its line items and its primary
/// contact, read together in one SOQL query (an Outbound Message names one record; an order needs all of these).
///
/// Stored as the payload of an `opportunity.snapshot` event keyed `<system>/deal/<Opportunity Id>`; its event id is
/// derived from the content, so reading an unchanged opportunity again stores nothing new.
public struct SalesforceOpportunitySnapshot: Sendable, Hashable {
    /// The opportunity's own fields, with `Id` (18 characters).
    package var opportunity: [String: JSONValue]
    /// The account's fields (`Account.*`), `nil` without an account.
    package var account: [String: JSONValue]?
    /// The live line items, by id.
    package var lines: [[String: JSONValue]]
    /// The primary contact role with its `Contact` (`OpportunityContactRole` with `IsPrimary`), if any.
    package var contactRole: [String: JSONValue]?

    package init(
        opportunity: [String: JSONValue], account: [String: JSONValue]?, lines: [[String: JSONValue]],
        contactRole: [String: JSONValue]?
    ) {
        self.opportunity = opportunity
        self.account = account
        self.lines = lines.sorted { ($0["Id"]?.stringValue ?? "") < ($1["Id"]?.stringValue ?? "") }
        self.contactRole = contactRole
    }

    /// The inbox event type of a snapshot.
    public static let eventType = "opportunity.snapshot"

    /// The 18-character Opportunity Id.
    public var opportunityID: String { opportunity["Id"]?.stringValue ?? "" }

    /// The newest `SystemModstamp` among the records: the version of everything the snapshot says.
    public var modifiedAt: Date {
        let stamps =
            [
                opportunity["SystemModstamp"], account?["SystemModstamp"], contactRole?["SystemModstamp"],
                contactRole?["Contact"]?["SystemModstamp"],
            ]
            + lines.map { $0["SystemModstamp"] }
        return stamps.compactMap { $0?.stringValue.flatMap(SalesforceTime.parse) }.max() ?? Date(timeIntervalSince1970: 0)
    }

    /// The payload: `{"opportunity":{…},"account":{…}|null,"lines":[…],"contactRole":{…,"Contact":{…}}|null}`, each
    /// record with Salesforce's field names and values as the REST API returned them (without `attributes`).
    public var payload: Data {
        let object: JSONValue = [
            "opportunity": .object(opportunity), "account": account.map(JSONValue.object) ?? .null,
            "lines": .array(lines.map(JSONValue.object)), "contactRole": contactRole.map(JSONValue.object) ?? .null,
        ]
        return Data(object.serialized())
    }

    /// `<system>:opportunity:<id>:<content fingerprint>`: the same content read twice is one event.
    public func eventID(system: SystemName) -> SourceEventID {
        SourceEventID("\(system):opportunity:\(opportunityID):\(String(CanonicalCoding.fingerprint(payload), radix: 16))")
    }

    /// Parses a stored payload.
    public static func parse(_ payload: some DataProtocol) -> SalesforceOpportunitySnapshot? {
        guard let json = try? JSONValue.parse(Data(payload)), let opportunity = json["opportunity"]?.objectValue,
            opportunity["Id"]?.stringValue != nil
        else { return nil }
        return SalesforceOpportunitySnapshot(
            opportunity: opportunity, account: json["account"]?.objectValue,
            lines: (json["lines"]?.arrayValue ?? []).compactMap(\.objectValue), contactRole: json["contactRole"]?.objectValue)
    }

    /// Builds a snapshot from one row of the reader's query (`Account` nested, `OpportunityLineItems` and
    /// `OpportunityContactRoles` as child results), `lines` overriding the child result when it had to be paged.
    package init?(row: SalesforceRecord, lines pagedLines: [SalesforceRecord]? = nil) {
        guard let id = row.id, row.type == "Opportunity" else { return nil }
        var opportunity: [String: JSONValue] = ["Id": .string(id)]
        for (name, value) in row.fields where !Self.relationshipNames.contains(name) {
            if case .object = value { continue }
            opportunity[name] = value
        }
        let account = row["Account"]?.objectValue.map(Self.plain)
        let lines =
            pagedLines.map { $0.map { Self.plain($0.fields.merging(["Id": .string($0.id ?? "")]) { a, _ in a }) } }
            ?? (row["OpportunityLineItems"]?["records"]?.arrayValue ?? []).compactMap { $0.objectValue.map(Self.plain) }
        let roles = (row["OpportunityContactRoles"]?["records"]?.arrayValue ?? []).compactMap { $0.objectValue.map(Self.plain) }
        // The primary one; several (should not happen) → the lowest id, so the choice is stable between reads.
        let primary = roles.filter { $0["IsPrimary"]?.boolValue == true }
            .min { ($0["Id"]?.stringValue ?? "") < ($1["Id"]?.stringValue ?? "") }
        self.init(opportunity: opportunity, account: account, lines: lines, contactRole: primary)
    }

    static let relationshipNames: Set<String> = ["Account", "OpportunityLineItems", "OpportunityContactRoles"]

    /// A record's fields without `attributes`, nested records too.
    static func plain(_ object: [String: JSONValue]) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for (name, value) in object where name != "attributes" {
            if case .object(let nested) = value { result[name] = .object(plain(nested)) } else { result[name] = value }
        }
        return result
    }

    // MARK: Canonical deal

    /// The canonical deal this snapshot shows.
    public func deal(system: SystemName, mapping: SalesforceOpportunityMapping) -> Deal {
        func text(_ object: [String: JSONValue]?, _ field: String) -> String? {
            guard let value = object?[field] else { return nil }
            let string: String? =
                switch value {
                case .string(let text): text.isEmpty ? nil : text
                case .int(let number): String(number)
                case .double(let number): String(number)
                case .bool(let flag): flag ? "true" : "false"
                default: nil
                }
            return string
        }
        let currency = text(opportunity, "CurrencyIsoCode").flatMap { CurrencyCode(rawValue: $0) } ?? mapping.defaultCurrency
        func minor(_ object: [String: JSONValue]?, _ field: String) -> Int64? {
            text(object, field).flatMap { Money.minorUnits(decimal: $0, currency: currency) }
        }
        let accountID = text(opportunity, "AccountId")
        return Deal(
            ref: ExternalRef(system: system, kind: .deal, id: opportunityID), name: text(opportunity, "Name"),
            stage: text(opportunity, "StageName"), won: opportunity["IsWon"]?.boolValue ?? false,
            amount: minor(opportunity, "Amount").map { Money(amountMinor: $0, currency: currency) },
            closeDate: text(opportunity, "CloseDate").map { String($0.prefix(10)) },
            account: accountID.map { id in customer(id: id, account ?? [:], mapping: mapping, text: text) },
            contact: contactRole.flatMap { role -> Customer? in
                // A role may name a contact that was deleted (no Contact then): no contact person.
                guard let id = text(role, "ContactId"), let contact = role["Contact"]?.objectValue else { return nil }
                let name =
                    text(contact, "Name")
                    ?? [text(contact, "FirstName"), text(contact, "LastName")].compactMap { $0 }.joined(separator: " ")
                return Customer(
                    ref: ExternalRef(system: system, kind: .contact, id: id), name: name.isEmpty ? nil : name,
                    email: text(contact, "Email"), phone: text(contact, "Phone"))
            },
            lines: lines.filter { $0["IsDeleted"]?.boolValue != true }.map { line in
                DealLine(
                    id: text(line, "Id") ?? "", sku: text(line, "ProductCode"), name: text(line, "Name"),
                    quantity: line["Quantity"]?.doubleValue.map { Int64($0.rounded()) } ?? 0,
                    unitAmountMinor: minor(line, "UnitPrice"))
            },
            deleted: opportunity["IsDeleted"]?.boolValue ?? false)

        func customer(
            id: String, _ record: [String: JSONValue], mapping: SalesforceOpportunityMapping,
            text: ([String: JSONValue]?, String) -> String?
        ) -> Customer {
            // BillingStreet is a text area: its first line is the street, the rest the second address line.
            return Customer(
                ref: ExternalRef(system: system, kind: .account, id: id), name: text(record, "Name"),
                phone: text(record, "Phone"), address: SalesforceAccountSnapshot.billingAddress { text(record, $0) },
                taxID: mapping.vatField.flatMap { text(record, $0) })
        }
    }
}

/// Decodes Salesforce inbox events: opportunity snapshots become the deal's canonical state, account snapshots the
/// account and its contacts; Outbound Message notifications only say that something changed (the snapshot read they
/// trigger carries the state).
public struct SalesforceEventDecoder: Sendable {
    public let system: SystemName
    public let mapping: SalesforceOpportunityMapping
    public let accounts: SalesforceAccountMapping

    /// - Parameters:
    ///   - system: the configured system name.
    ///   - mapping: how opportunities are read.
    ///   - accounts: where accounts' fields are (default: Salesforce's standard fields, no VAT or payment terms).
    public init(
        system: SystemName, mapping: SalesforceOpportunityMapping, accounts: SalesforceAccountMapping = SalesforceAccountMapping()
    ) {
        self.system = system
        self.mapping = mapping
        self.accounts = accounts
    }

    /// The inbox event type of an Outbound Message notification: `salesforce.outbound.<sObject>`.
    public static func outboundEventType(_ objectType: String) -> String { "salesforce.outbound.\(objectType)" }

    public func decode(_ event: InboxEvent) throws -> DecodedEvent {
        if event.type == SalesforceAccountSnapshot.eventType { return try decodeAccount(event) }
        guard event.type == SalesforceOpportunitySnapshot.eventType else {
            return DecodedEvent(
                entityKey: event.entityKey, changes: [],
                ignoredReason: "outbound message: the records it names are read and stored as snapshots")
        }
        guard let snapshot = SalesforceOpportunitySnapshot.parse(event.payload) else {
            throw SalesforceOutboundMessageError(code: .malformed, detail: "the opportunity snapshot cannot be parsed")
        }
        let deal = snapshot.deal(system: system, mapping: mapping)
        let millis = Int64((snapshot.modifiedAt.timeIntervalSince1970 * 1000).rounded())
        return DecodedEvent(
            entityKey: EntityKey.of(deal.ref),
            changes: [CanonicalChange(ref: deal.ref, fields: deal.changeFields, version: SourceVersion(millis: millis))])
    }
}

/// Salesforce's datetime forms: `2024-01-01T00:00:00.000+0000` (REST), `2024-01-01T00:00:00.000Z` (SOAP, SOQL).
package enum SalesforceTime {
    /// Parses a datetime with an optional fraction and a `Z`, `±hhmm` or `±hh:mm` offset; `nil` otherwise.
    package static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19, bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54 || bytes[10] == 0x20,
            bytes[13] == 0x3A, bytes[16] == 0x3A
        else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 else { return nil }
                value = value * 10 + Int(bytes[index] - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
            let minute = number(14..<16), let second = number(17..<19), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            var scale = 0.1
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                fraction += Double(bytes[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
        }
        var offset = 0
        if index < bytes.count {
            switch bytes[index] {
            case 0x5A: index += 1
            case 0x2B, 0x2D:
                let sign = bytes[index] == 0x2D ? -1 : 1
                let rest = Array(bytes[(index + 1)...]).filter { $0 != 0x3A }
                guard rest.count == 4, let hours = Int(String(decoding: rest[0..<2], as: UTF8.self)),
                    let minutes = Int(String(decoding: rest[2..<4], as: UTF8.self))
                else { return nil }
                offset = sign * (hours * 3600 + minutes * 60)
                index = bytes.count
            default: return nil
            }
        }
        guard index == bytes.count else { return nil }
        // Days from civil (Howard Hinnant).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}
