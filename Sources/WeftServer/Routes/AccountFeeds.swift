public import Foundation
public import Logging
public import WeftConnectors
public import WeftCore
public import WeftRuntime

/// HubSpot companies as an `EventFeed`, for `CatchUpService`: every company touched since the cursor (the company or
/// one of its contacts modified), plus the companies and contacts webhooks named since the last read, read whole
/// (company, contacts, owner) and stored as `account.snapshot` events keyed `hubspot/account/<id>`. Reading the same
/// state again stores nothing new (the event id is derived from the content).
public final class HubSpotAccountFeed: EventFeed {
    /// How far back a first read goes (later reads start at the cursor).
    public let maximumLookBack: TimeInterval
    public let reader: HubSpotAccountReader
    let hints = CRMFeedHints()
    public var wake: Doorbell { hints.wake }
    let now: @Sendable () -> Date
    let logger: Logger

    public init(
        reader: HubSpotAccountReader, maximumLookBack: TimeInterval = 30 * 86_400,
        now: @escaping @Sendable () -> Date = Date.init, logger: Logger
    ) {
        self.reader = reader
        self.maximumLookBack = maximumLookBack
        self.now = now
        self.logger = logger
    }

    /// Records a webhook named, to read at the next run (which `wake` starts).
    public func hint(_ type: HubSpotObjectType, ids: [String]) {
        guard type == .companies || type == .contacts else { return }
        hints.add(type.name, ids: ids)
    }

    public func events(since: Date) async throws -> [IncomingEvent] {
        let now = self.now()
        let since = max(since, now.addingTimeInterval(-maximumLookBack))
        return try await hints.reading { hinted in
            var ids = Set(hinted[HubSpotObjectType.companies.name] ?? [])
            if let contacts = hinted[HubSpotObjectType.contacts.name] {
                ids.formUnion(try await reader.companyIDs(forContacts: contacts.sorted(), logger: logger))
            }
            let touched = try await reader.touchedCompanyIDs(
                since: Int64((since.timeIntervalSince1970 * 1000).rounded(.down)), logger: logger)
            ids.formUnion(touched.ids)
            let snapshots = try await reader.snapshots(companyIDs: Array(ids), logger: logger)
            return CRMFeedHints.ordered(
                snapshots.map { snapshot in
                    IncomingEvent(
                        system: reader.system, eventID: snapshot.eventID(system: reader.system),
                        type: HubSpotAccountSnapshot.eventType,
                        entityKey: snapshot.entityKey(system: reader.system),
                        occurredAt: snapshot.modifiedAt, receivedAt: now, payload: snapshot.payload, traceID: .random())
                })
        }
    }
}

/// What Odoo shows of one CRM account: the payload of a `partner.snapshot` event.
struct PartnerSnapshot: Codable, Hashable {
    var account: Account
    var contacts: [Contact]
}

/// Odoo partners as an `EventFeed`, for `CatchUpService`: the partners bound to CRM accounts (and their contacts)
/// written since the cursor, each as a `partner.snapshot` event keyed by the CRM account (`<crm>/account/<id>`), so
/// what Odoo owns lands on the account's aggregate and is routed to the CRM. The event id is derived from the content:
/// reading an unchanged partner again — Weft's own write coming back included — stores nothing new.
public struct OdooPartnerFeed: EventFeed {
    /// The inbox event type of a partner reading.
    public static let eventType = "partner.snapshot"

    public let system: SystemName
    let reader: OdooPartnerReader
    let now: @Sendable () -> Date
    let logger: Logger

    public init(system: SystemName, reader: OdooPartnerReader, now: @escaping @Sendable () -> Date = Date.init, logger: Logger) {
        self.system = system
        self.reader = reader
        self.now = now
        self.logger = logger
    }

    public func events(since: Date) async throws -> [IncomingEvent] {
        let now = self.now()
        let readings = try await reader.readings(since: since, logger: logger)
        return CRMFeedHints.ordered(
            try readings.map { reading in
                let contacts = reading.contacts.sorted { $0.ref.id < $1.ref.id }
                let payload = try CanonicalCoding.encoder.encode(PartnerSnapshot(account: reading.account, contacts: contacts))
                return IncomingEvent(
                    system: system,
                    eventID: SourceEventID(
                        "\(system):partner:\(reading.account.ref):\(String(CanonicalCoding.fingerprint(payload), radix: 16))"),
                    type: Self.eventType, entityKey: EntityKey.of(reading.account.ref), occurredAt: reading.modifiedAt,
                    receivedAt: now, payload: payload, traceID: .random())
            })
    }

    /// The changes a `partner.snapshot` event makes: the account's fields and each contact's, as Odoo shows them
    /// (the governor keeps those Odoo owns).
    static func decode(_ event: InboxEvent) throws -> DecodedEvent {
        let snapshot = try CanonicalCoding.decoder.decode(PartnerSnapshot.self, from: event.payload)
        let version = SourceVersion(millis: Int64((event.occurredAt.timeIntervalSince1970 * 1000).rounded()))
        var account = snapshot.account
        // Merges and identity keys are the CRM's to report.
        account.mergedFrom = nil
        var fields = account.changeFields
        fields["identity"] = nil
        return DecodedEvent(
            entityKey: EntityKey.of(account.ref),
            changes: [CanonicalChange(ref: account.ref, fields: fields, version: version)]
                + snapshot.contacts.map { contact in
                    var contact = contact
                    contact.account = account.ref
                    return CanonicalChange(ref: contact.ref, fields: contact.changeFields, version: version)
                })
    }
}

/// Salesforce Accounts as an `EventFeed`, for `CatchUpService`: every Account touched since the cursor (the Account or
/// one of its Contacts, `SystemModstamp`, deletions included), plus the Accounts and Contacts Outbound Messages named
/// since the last read, read whole (Account, Contacts, owner's email) and stored as `account.snapshot` events keyed
/// `salesforce/account/<id>`. Reading the same state again stores nothing new.
public final class SalesforceAccountFeed: EventFeed {
    public let maximumLookBack: TimeInterval
    public let reader: SalesforceAccountReader
    let hints = CRMFeedHints()
    public var wake: Doorbell { hints.wake }
    let now: @Sendable () -> Date
    let logger: Logger

    public init(
        reader: SalesforceAccountReader, maximumLookBack: TimeInterval = 30 * 86_400,
        now: @escaping @Sendable () -> Date = Date.init, logger: Logger
    ) {
        self.reader = reader
        self.maximumLookBack = maximumLookBack
        self.now = now
        self.logger = logger
    }

    /// Records an Outbound Message named (`Account` or `Contact`), to read at the next run (which `wake` starts).
    public func hint(_ objectType: String, ids: [String]) {
        guard objectType == "Account" || objectType == "Contact" else { return }
        hints.add(objectType, ids: ids)
    }

    public func events(since: Date) async throws -> [IncomingEvent] {
        let now = self.now()
        let since = max(since, now.addingTimeInterval(-maximumLookBack))
        return try await hints.reading { hinted in
            var ids = Set(hinted["Account"] ?? [])
            if let contacts = hinted["Contact"] {
                ids.formUnion(try await reader.accountIDs(forContacts: contacts.sorted(), logger: logger))
            }
            let touched = try await reader.touchedAccountIDs(
                since: Int64((since.timeIntervalSince1970 * 1000).rounded(.down)), logger: logger)
            ids.formUnion(touched.ids)
            let snapshots = try await reader.snapshots(accountIDs: Array(ids), logger: logger)
            return CRMFeedHints.ordered(
                snapshots.map { snapshot in
                    IncomingEvent(
                        system: reader.system, eventID: snapshot.eventID(system: reader.system),
                        type: SalesforceAccountSnapshot.eventType, entityKey: snapshot.entityKey(system: reader.system),
                        occurredAt: snapshot.modifiedAt, receivedAt: now, payload: snapshot.payload, traceID: .random())
                })
        }
    }
}
