public import Foundation
public import WeftCore

/// How Weft reads HubSpot deals: which stages are won, and where the SKU and the currency are found.
public struct HubSpotDealMapping: Sendable, Hashable {
    /// Stage ids that count as won (`closedwon` in the default pipeline; add custom pipelines' won stages).
    public var wonStages: Set<String>
    /// The currency of deals that do not name one (`deal_currency_code` is empty on single-currency portals).
    public var defaultCurrency: CurrencyCode
    /// The line item property holding the SKU (`hs_sku`).
    public var skuProperty: String
    /// The company property holding the VAT number, if the portal has one (HubSpot has no standard one).
    public var taxIDProperty: String?

    public init(
        wonStages: Set<String> = ["closedwon"], defaultCurrency: CurrencyCode = CurrencyCode(rawValue: "USD")!,
        skuProperty: String = "hs_sku", taxIDProperty: String? = nil
    ) {
        self.wonStages = wonStages
        self.defaultCurrency = defaultCurrency
        self.skuProperty = skuProperty
        self.taxIDProperty = taxIDProperty
    }

    static let dealProperties = ["dealname", "dealstage", "amount", "closedate", "deal_currency_code", "pipeline"]
    var lineItemProperties: [String] { ["name", "quantity", "price", skuProperty] }
    var companyProperties: [String] {
        ["name", "domain", "phone", "address", "address2", "city", "zip", "state", "country"] + (taxIDProperty.map { [$0] } ?? [])
    }
    static let contactProperties = ["email", "firstname", "lastname", "phone"]
}

/// A deal as Weft stores it in its inbox: the deal with its line items, its company and its contact, read together
/// (a HubSpot webhook names one property of one record; an order needs all of these).
///
/// Stored as the payload of a `deal.snapshot` event, keyed `hubspot/deal/<id>`; its event id is derived from the
/// content, so reading an unchanged deal again stores nothing new.
public struct HubSpotDealSnapshot: Sendable, Hashable {
    package var deal: HubSpotRecord
    package var lineItems: [HubSpotRecord]
    package var company: HubSpotRecord?
    package var contact: HubSpotRecord?

    package init(deal: HubSpotRecord, lineItems: [HubSpotRecord], company: HubSpotRecord?, contact: HubSpotRecord?) {
        self.deal = deal
        self.lineItems = lineItems.sorted { $0.id < $1.id }
        self.company = company
        self.contact = contact
    }

    /// The inbox event type of a snapshot.
    public static let eventType = "deal.snapshot"

    /// The newest modification among the records: the version of everything the snapshot says.
    public var modifiedAt: Date {
        ([deal.updatedAt] + lineItems.map(\.updatedAt) + [company?.updatedAt, contact?.updatedAt]).compactMap { $0 }.max()
            ?? Date(timeIntervalSince1970: 0)
    }

    /// The payload: `{"deal":{…},"lineItems":[…],"company":{…}|null,"contact":{…}|null}` with each record as
    /// `{"id","properties","updatedAt","archived"}`.
    public var payload: Data {
        let object: JSONValue = [
            "deal": deal.snapshotJSON, "lineItems": .array(lineItems.map(\.snapshotJSON)), "company": company.map(\.snapshotJSON) ?? .null,
            "contact": contact.map(\.snapshotJSON) ?? .null,
        ]
        return Data(object.serialized())
    }

    /// `hubspot:deal:<id>:<content fingerprint>`: the same content read twice is one event.
    public func eventID(system: SystemName) -> SourceEventID {
        SourceEventID("\(system):deal:\(deal.id):\(String(CanonicalCoding.fingerprint(payload), radix: 16))")
    }

    /// Parses a stored payload.
    public static func parse(_ payload: some DataProtocol) -> HubSpotDealSnapshot? {
        guard let json = try? JSONValue.parse(Data(payload)), let deal = json["deal"].flatMap(HubSpotRecord.init(json:)) else {
            return nil
        }
        return HubSpotDealSnapshot(
            deal: deal, lineItems: (json["lineItems"]?.arrayValue ?? []).compactMap(HubSpotRecord.init(json:)),
            company: json["company"].flatMap(HubSpotRecord.init(json:)),
            contact: json["contact"].flatMap(HubSpotRecord.init(json:)))
    }

    /// The canonical deal this snapshot shows.
    public func deal(system: SystemName, mapping: HubSpotDealMapping) -> Deal {
        let currency = deal["deal_currency_code"].flatMap { CurrencyCode(rawValue: $0) } ?? mapping.defaultCurrency
        let stage = deal["dealstage"]
        return Deal(
            ref: ExternalRef(system: system, kind: .deal, id: deal.id), name: deal["dealname"], stage: stage,
            won: stage.map(mapping.wonStages.contains) ?? false,
            amount: deal["amount"].flatMap { Self.minor($0, currency: currency) }.map { Money(amountMinor: $0, currency: currency) },
            closeDate: deal["closedate"].flatMap(Self.calendarDate),
            account: company.map { company($0, system: system, mapping: mapping) },
            contact: contact.map { contact($0, system: system) },
            lines: lineItems.filter { !$0.archived }.map { line in
                DealLine(
                    id: line.id, sku: line[mapping.skuProperty], name: line["name"],
                    quantity: line["quantity"].flatMap { Double($0) }.map { Int64($0.rounded()) } ?? 0,
                    unitAmountMinor: line["price"].flatMap { Self.minor($0, currency: currency) })
            },
            deleted: deal.archived)
    }

    private func company(_ record: HubSpotRecord, system: SystemName, mapping: HubSpotDealMapping) -> Customer {
        Customer(
            ref: ExternalRef(system: system, kind: .account, id: record.id), name: record["name"], phone: record["phone"],
            address: record.postalAddress,
            taxID: mapping.taxIDProperty.flatMap { record[$0] }, deleted: record.archived ? true : nil)
    }

    private func contact(_ record: HubSpotRecord, system: SystemName) -> Customer {
        let name = [record["firstname"], record["lastname"]].compactMap { $0 }.joined(separator: " ")
        return Customer(
            ref: ExternalRef(system: system, kind: .contact, id: record.id), name: name.isEmpty ? nil : name,
            email: record["email"], phone: record["phone"])
    }

    /// `"1250.5"` in a currency with 2 decimals → 125050; `nil` when not a number.
    static func minor(_ text: String, currency: CurrencyCode) -> Int64? {
        Money.minorUnits(decimal: text, currency: currency)
    }

    /// HubSpot's `closedate` (an instant, ISO 8601 or unix ms) as the UTC calendar date `YYYY-MM-DD`.
    static func calendarDate(_ text: String) -> String? {
        // A date alone (`2026-11-30`), as a date property may also be given.
        if text.count == 10, text.split(separator: "-").map(\.count) == [4, 2, 2], text.allSatisfy({ $0.isNumber || $0 == "-" }) {
            return text
        }
        guard let millis = HubSpotClient.milliseconds(text) else { return nil }
        let date = Date(timeIntervalSince1970: Double(millis) / 1000)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        guard let year = parts.year, let month = parts.month, let day = parts.day else { return nil }
        func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : String(value) }
        return "\(year)-\(pad(month))-\(pad(day))"
    }
}

/// Decodes HubSpot inbox events: deal and account snapshots become the canonical deal, account and contacts; webhook
/// events only say that something changed (the snapshot read they trigger carries the state), except company merges,
/// which record on the surviving account the ids merged into it.
public struct HubSpotEventDecoder: Sendable {
    public let system: SystemName
    public let mapping: HubSpotDealMapping
    public let accounts: HubSpotAccountMapping

    /// - Parameters:
    ///   - system: the configured system name.
    ///   - mapping: how deals are read.
    ///   - accounts: where accounts' fields are (default: HubSpot's standard properties).
    public init(system: SystemName, mapping: HubSpotDealMapping, accounts: HubSpotAccountMapping = HubSpotAccountMapping()) {
        self.system = system
        self.mapping = mapping
        self.accounts = accounts
    }

    /// The inbox event type of a webhook event: `hubspot.<subscriptionType>` (`hubspot.deal.propertyChange`).
    public static func webhookEventType(_ subscriptionType: String) -> String { "hubspot.\(subscriptionType)" }

    public func decode(_ event: InboxEvent) throws -> DecodedEvent {
        switch event.type {
        case HubSpotDealSnapshot.eventType:
            guard let snapshot = HubSpotDealSnapshot.parse(event.payload) else {
                throw HubSpotWebhookError(code: .malformedPayload)
            }
            let deal = snapshot.deal(system: system, mapping: mapping)
            return DecodedEvent(
                entityKey: EntityKey.of(deal.ref),
                changes: [CanonicalChange(ref: deal.ref, fields: deal.changeFields, version: Self.version(snapshot.modifiedAt))])
        case HubSpotAccountSnapshot.eventType:
            guard let snapshot = HubSpotAccountSnapshot.parse(event.payload) else {
                throw HubSpotWebhookError(code: .malformedPayload)
            }
            let account = snapshot.account(system: system, mapping: accounts)
            let version = Self.version(snapshot.modifiedAt)
            let contacts = snapshot.contacts(system: system).map {
                CanonicalChange(ref: $0.ref, fields: $0.changeFields, version: version)
            }
            return DecodedEvent(
                entityKey: snapshot.entityKey(system: system),
                changes: [CanonicalChange(ref: account.ref, fields: account.changeFields, version: version)] + contacts)
        case Self.webhookEventType("company.merge"):
            let merge = try HubSpotWebhookEvent.parseEvent(event.payload)
            guard let surviving = merge.survivingObjectID else { throw HubSpotWebhookError(code: .malformedPayload) }
            let ref = ExternalRef(system: system, kind: .account, id: String(surviving))
            return DecodedEvent(
                entityKey: event.entityKey,
                changes: [
                    CanonicalChange(
                        ref: ref, fields: ["mergedFrom": .array(merge.retiredObjectIDs.map { .string(String($0)) })],
                        version: Self.version(merge.occurredAt))
                ])
        default:
            return DecodedEvent(
                entityKey: event.entityKey, changes: [],
                ignoredReason: "webhook event: the records it names are read and stored as snapshots")
        }
    }

    /// Unix milliseconds.
    private static func version(_ date: Date) -> SourceVersion {
        SourceVersion(millis: Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }
}
