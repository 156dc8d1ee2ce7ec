import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing
import WeftCore
import WeftSimHubSpot
import WeftSimKit

@testable import WeftConnectors

private let logger = Logger(label: "test.hubspot.accounts")
private let mapping = HubSpotAccountMapping(taxID: "vat_number", paymentTerms: "payment_terms")

/// A clock the test moves by hand (unix milliseconds).
private final class ManualClock: Sendable {
    private let ms = Mutex(1_760_000_000_000)
    var now: Int { ms.withLock { $0 } }
    func advance(_ by: Int) { ms.withLock { $0 += by } }
}

private func makeSimulator(_ clock: ManualClock) -> HubSpotSimulator {
    HubSpotSimulator(
        configuration: .init(
            accessTokens: ["pat-na1-accounts"], rateLimits: .init(perTenSeconds: 190, perDay: 10_000, searchPerSecond: 100),
            customProperties: ["companies": ["vat_number", "payment_terms"]], idSeed: 3, now: { clock.now },
            owners: [
                .init(id: 501, email: "ada@acme.test", firstName: "Ada"), .init(id: 502, email: "Bob@Acme.test", firstName: "Bob"),
                .init(id: 503, email: "old@acme.test", archived: true),
            ]))
}

private func configuration(_ base: String) -> HubSpotConfiguration {
    HubSpotConfiguration(baseURL: base, accessToken: "pat-na1-accounts")
}

/// Serves the simulator on a free port for `body`.
private func withHubSpot(
    _ simulator: HubSpotSimulator, _ body: @escaping @Sendable (String) async throws -> Void
) async throws {
    let router = Router()
    simulator.addRoutes(to: router)
    try await SimulatorServer.withRunning(router: router, logger: logger) { port in try await body("http://127.0.0.1:\(port)") }
}

private func reader(_ base: String) -> HubSpotAccountReader {
    HubSpotAccountReader(
        configuration: configuration(base), mapping: mapping, system: "hubspot", httpClient: .shared, gate: OpenGate(),
        searchGate: OpenGate())
}

private func create(_ simulator: HubSpotSimulator, _ type: String, _ properties: String) throws -> String {
    let result = simulator.call("POST", "/crm/v3/objects/\(type)", body: #"{"properties":\#(properties)}"#)
    return try #require(try JSONValue.parse(Data(result.body))["id"]?.stringValue)
}

private func link(_ simulator: HubSpotSimulator, contact: String, company: String) {
    _ = simulator.call("PUT", "/crm/v4/objects/contacts/\(contact)/associations/default/companies/\(company)")
}

private func properties(_ simulator: HubSpotSimulator, _ type: String, _ id: String, _ names: String) throws -> [String: JSONValue] {
    let result = simulator.call("GET", "/crm/v3/objects/\(type)/\(id)?properties=\(names)")
    return try JSONValue.parse(Data(result.body))["properties"]?.objectValue ?? [:]
}

private func command(_ payload: TargetCommand, _ id: Int64 = 1) -> OutboxCommand {
    OutboxCommand(
        id: CommandID(id), target: "hubspot", entityKey: EntityKey("hubspot/account/1"), idempotencyKey: IdempotencyKey("k\(id)"),
        payload: payload, traceID: TraceID("trace"), attempts: 0, createdAt: Date(timeIntervalSince1970: 1_767_225_600))
}

private func inboxEvent(type: String, key: EntityKey, payload: Data) -> InboxEvent {
    InboxEvent(
        seq: EventSeq(1), system: "hubspot", eventID: SourceEventID("e1"), type: type, entityKey: key,
        occurredAt: Date(timeIntervalSince1970: 1_760_000_000), receivedAt: Date(), payload: payload, traceID: .random(),
        status: .pending, attempts: 0, outcome: nil)
}

@Suite("HubSpot accounts: snapshots, touched companies, decoding and sync over HTTP")
struct HubSpotAccountTests {
    @Test func aSnapshotReadsTheCompanyItsContactsAndTheOwnersEmail() async throws {
        let clock = ManualClock()
        let simulator = makeSimulator(clock)
        let company = try create(
            simulator, "companies",
            #"{"name":"Acme","domain":"https://www.Acme.COM/about","industry":"RETAIL","hubspot_owner_id":"501","#
                + #""vat_number":"DE123","payment_terms":"30 Days","address":"Main St 1","city":"Berlin","zip":"10115","country":"de"}"#)
        clock.advance(1_000)
        let ada = try create(simulator, "contacts", #"{"firstname":"Ada","lastname":"Buyer","email":"Ada@Acme.test","jobtitle":"CFO"}"#)
        let bob = try create(simulator, "contacts", #"{"firstname":"Bob","email":"bob@acme.test"}"#)
        _ = try create(simulator, "contacts", #"{"email":"stranger@else.test"}"#)
        link(simulator, contact: ada, company: company)
        link(simulator, contact: bob, company: company)
        try await withHubSpot(simulator) { base in
            let reader = reader(base)
            let snapshots = try await reader.snapshots(companyIDs: [company, "999", company], logger: logger)
            let snapshot = try #require(snapshots.first)
            #expect(snapshots.count == 1)
            let account = snapshot.account(system: "hubspot", mapping: mapping)
            #expect(account.ref == ExternalRef(system: "hubspot", kind: .account, id: company))
            #expect(account.name == "Acme")
            #expect(account.domain == "acme.com")
            #expect(account.segment == "RETAIL")
            #expect(account.owner == "ada@acme.test")
            #expect(account.taxID == "DE123")
            #expect(account.paymentTerms == "30 Days")
            #expect(account.address == PostalAddress(line1: "Main St 1", city: "Berlin", postalCode: "10115", country: "DE"))
            let contacts = snapshot.contacts(system: "hubspot")
            #expect(contacts.map(\.name) == ["Ada Buyer", "Bob"])
            #expect(contacts.first?.email == "ada@acme.test")
            #expect(contacts.first?.jobTitle == "CFO")
            #expect(contacts.allSatisfy { $0.account == account.ref && $0.ref.kind == .contact })
            #expect(snapshot.entityKey(system: "hubspot") == EntityKey("hubspot/account/\(company)"))
            #expect(snapshot.eventID(system: "hubspot").rawValue.hasPrefix("hubspot:account:\(company):"))
            // The payload round-trips (`createdAt` is not stored: nothing reads it).
            #expect(HubSpotAccountSnapshot.parse(snapshot.payload)?.payload == snapshot.payload)
            // The newest of the records versions the snapshot (a contact, made a second after the company).
            #expect(snapshot.modifiedAt == Date(timeIntervalSince1970: 1_760_000_001))

            // Reading again: the same event id, and the owner comes from the cache.
            let ownerReads = simulator.requestLog.all.filter { $0.path.hasPrefix("/crm/v3/owners") }.count
            let again = try await reader.snapshots(companyIDs: [company], logger: logger)
            #expect(again.first?.eventID(system: "hubspot") == snapshot.eventID(system: "hubspot"))
            #expect(simulator.requestLog.all.filter { $0.path.hasPrefix("/crm/v3/owners") }.count == ownerReads)
            #expect(ownerReads == 1)
            _ = simulator.call("PATCH", "/crm/v3/objects/contacts/\(bob)", body: #"{"properties":{"lastname":"Builder"}}"#)
            let changed = try await reader.snapshots(companyIDs: [company], logger: logger)
            #expect(changed.first?.eventID(system: "hubspot") != snapshot.eventID(system: "hubspot"))
        }
    }

    @Test func companiesAreTouchedByTheirOwnEditsAndByTheirContacts() async throws {
        let clock = ManualClock()
        let simulator = makeSimulator(clock)
        let companies = try (0..<3).map { try create(simulator, "companies", #"{"name":"C\#($0)"}"#) }
        let contacts = try (0..<3).map { try create(simulator, "contacts", #"{"email":"p\#($0)@x.test"}"#) }
        for (contact, company) in zip(contacts, companies) { link(simulator, contact: contact, company: company) }
        try await withHubSpot(simulator) { base in
            let reader = reader(base)
            clock.advance(10_000)
            let since = Int64(clock.now)
            _ = simulator.call("PATCH", "/crm/v3/objects/companies/\(companies[1])", body: #"{"properties":{"phone":"1"}}"#)
            let byCompany = try await reader.touchedCompanyIDs(since: since, logger: logger)
            #expect(byCompany.ids == [companies[1]])
            #expect(byCompany.newest == since)

            clock.advance(10_000)
            let later = Int64(clock.now)
            _ = simulator.call("PATCH", "/crm/v3/objects/contacts/\(contacts[2])", body: #"{"properties":{"phone":"2"}}"#)
            let byContact = try await reader.touchedCompanyIDs(since: later, logger: logger)
            #expect(byContact.ids == [companies[2]])
            #expect(byContact.newest == later)
            #expect(try await reader.companyIDs(forContacts: [contacts[0], contacts[0]], logger: logger) == [companies[0]])
            let page = try await reader.companyPage(HubSpotSearchCursor(modifiedSince: 0), logger: logger)
            #expect(Set(page.ids) == Set(companies))
        }
    }

    @Test func theDecoderTurnsSnapshotsIntoAnAccountAndContactsAndMergesIntoMergedFrom() throws {
        let decoder = HubSpotEventDecoder(system: "hubspot", mapping: HubSpotDealMapping(), accounts: mapping)
        let snapshot = HubSpotAccountSnapshot(
            company: HubSpotRecord(
                id: "7", properties: ["name": "Acme", "hubspot_owner_id": "501", "phone": nil],
                updatedAt: Date(timeIntervalSince1970: 1_760_000_000)),
            contacts: [
                HubSpotRecord(id: "12", properties: ["firstname": "Bo"]),
                HubSpotRecord(
                    id: "9", properties: ["email": "a@acme.test"], updatedAt: Date(timeIntervalSince1970: 1_760_000_002)),
            ],
            ownerEmail: "ada@acme.test")
        let key = EntityKey("hubspot/account/7")
        let decoded = try decoder.decode(inboxEvent(type: HubSpotAccountSnapshot.eventType, key: key, payload: snapshot.payload))
        #expect(decoded.entityKey == key)
        #expect(decoded.changes.map(\.ref.id) == ["7", "9", "12"])
        let account = decoded.changes[0]
        #expect(account.ref.kind == .account)
        #expect(account.fields["name"] == .string("Acme"))
        #expect(account.fields["owner"] == .string("ada@acme.test"))
        #expect(account.fields["phone"] == .null)
        #expect(account.fields["taxID"] == .null)
        #expect(account.version == SourceVersion(millis: 1_760_000_002_000))
        #expect(decoded.changes[1].ref == ExternalRef(system: "hubspot", kind: .contact, id: "9"))
        #expect(decoded.changes[1].fields["email"] == .string("a@acme.test"))
        #expect(decoded.changes[1].fields["name"] == .null)
        #expect(decoded.changes[2].fields["account"] != nil)

        let text =
            #"{"eventId":5,"subscriptionId":9,"portalId":1,"appId":2,"occurredAt":1760000005000,"#
            + #""subscriptionType":"company.merge","attemptNumber":0,"objectId":30,"primaryObjectId":7,"#
            + #""mergedObjectIds":[8],"newObjectId":30,"numberOfPropertiesMoved":3,"changeSource":"CRM_UI"}"#
        let merge = Data(text.utf8)
        let event = try HubSpotWebhookEvent.parseEvent(merge)
        #expect(event.survivingObjectID == 30)
        let mergedKey = EntityKey("hubspot/account/30")
        let merged = try decoder.decode(
            inboxEvent(type: HubSpotEventDecoder.webhookEventType("company.merge"), key: mergedKey, payload: merge))
        #expect(merged.entityKey == mergedKey)
        #expect(merged.changes.count == 1)
        #expect(merged.changes[0].ref == ExternalRef(system: "hubspot", kind: .account, id: "30"))
        #expect(merged.changes[0].fields == ["mergedFrom": .array([.string("7"), .string("8")])])
        #expect(merged.changes[0].version == SourceVersion(millis: 1_760_000_005_000))
        // A merge that kept the primary's id (HubSpot before 2024; other objects) names the primary as surviving.
        let legacy = try HubSpotWebhookEvent.parseEvent(
            Data(
                #"{"eventId":6,"occurredAt":1,"subscriptionType":"company.merge","objectId":7,"primaryObjectId":7,"mergedObjectIds":[8,"11"]}"#
                    .utf8))
        #expect(legacy.survivingObjectID == 7)
        #expect(legacy.retiredObjectIDs == [8, 11])
        #expect(throws: HubSpotWebhookError.self) { try HubSpotWebhookEvent.parseEvent(Data(#"{"eventId":1}"#.utf8)) }
    }

    /// HubSpot refuses a whole batch update for one invalid value (an email it does not take): the batch is tried again
    /// one input at a time, so the other account's sync is delivered and only the one with the bad email is rejected,
    /// saying what HubSpot said.
    @Test func anEmailHubSpotRefusesRejectsOnlyItsOwnSync() async throws {
        let simulator = makeSimulator(ManualClock())
        let first = try create(simulator, "companies", #"{"name":"Acme"}"#)
        let second = try create(simulator, "companies", #"{"name":"Globex"}"#)
        let ada = try create(simulator, "contacts", #"{"firstname":"Ada","email":"ada@acme.test"}"#)
        let bob = try create(simulator, "contacts", #"{"firstname":"Bob","email":"bob@globex.test"}"#)
        try await withHubSpot(simulator) { base in
            let target = HubSpotTarget(
                configuration: configuration(base), properties: HubSpotStatusProperties(), accounts: mapping,
                httpClient: .shared, gate: OpenGate())
            func sync(_ company: String, _ contact: String, email: String) -> AccountSync {
                let ref = ExternalRef(system: "hubspot", kind: .account, id: company)
                return AccountSync(
                    account: Account(ref: ref),
                    contacts: [
                        Contact(ref: ExternalRef(system: "hubspot", kind: .contact, id: contact), account: ref, email: email)
                    ], fields: [], contactFields: ["email"])
            }
            let outcomes = await target.deliver(
                [
                    command(.syncAccount(sync(first, ada, email: "ada.king@acme.test")), 1),
                    command(.syncAccount(sync(second, bob, email: "bob@globex")), 2),
                ], logger: logger)
            #expect(outcomes[0] == .delivered(record: TargetRecordID(model: "company", id: first), note: nil))
            guard case .reject(let failure) = outcomes[1] else {
                Issue.record("expected a rejection, got \(outcomes[1])")
                return
            }
            #expect(failure.message.contains("INVALID_EMAIL") || failure.message.contains("bob@globex"), "\(failure.message)")
            let adaNow = try properties(simulator, "contacts", ada, "email")
            let bobNow = try properties(simulator, "contacts", bob, "email")
            #expect(adaNow["email"] == .string("ada.king@acme.test"))
            #expect(bobNow["email"] == .string("bob@globex.test"))
        }
    }

    @Test func syncAccountWritesNamedFieldsContactsAndOwnersAndRejectsWhatItCannot() async throws {
        let clock = ManualClock()
        let simulator = makeSimulator(clock)
        let company = try create(
            simulator, "companies", #"{"name":"Acme","phone":"+49 30 1","industry":"RETAIL","vat_number":"OLD"}"#)
        let other = try create(simulator, "companies", #"{"name":"Other"}"#)
        let ada = try create(simulator, "contacts", #"{"firstname":"Ada","email":"ada@acme.test"}"#)
        try await withHubSpot(simulator) { base in
            let target = HubSpotTarget(
                configuration: configuration(base), properties: HubSpotStatusProperties(), accounts: mapping,
                httpClient: .shared, gate: OpenGate())
            let ref = ExternalRef(system: "hubspot", kind: .account, id: company)
            let account = Account(
                ref: ref, name: "Acme GmbH", phone: nil, segment: "WHOLESALE", owner: "bob@acme.test",
                address: PostalAddress(line1: "Hauptstr. 2", city: "Hamburg", postalCode: "20095", country: "DE"),
                taxID: "DE999", paymentTerms: "45 Days")
            let contact = Contact(
                ref: ExternalRef(system: "hubspot", kind: .contact, id: ada), account: ref, name: "Ada Lovelace King",
                email: "ada@acme.test", jobTitle: "CEO")
            let sync = AccountSync(
                account: account, contacts: [contact],
                fields: ["address", "taxID", "paymentTerms", "phone", "owner", "segment"], contactFields: ["name", "jobTitle"])
            let unknownOwner = AccountSync(
                account: Account(ref: ExternalRef(system: "hubspot", kind: .account, id: other), owner: "nobody@acme.test"),
                contacts: [], fields: ["owner"], contactFields: [])
            let missing = AccountSync(
                account: Account(ref: ExternalRef(system: "hubspot", kind: .account, id: "999"), name: "Ghost"), contacts: [],
                fields: ["name"], contactFields: [])
            let outcomes = await target.deliver(
                [
                    command(.syncAccount(sync), 1), command(.syncAccount(unknownOwner), 2), command(.syncAccount(missing), 3),
                    command(.upsertOrder(Deal(ref: ref)), 4),
                ], logger: logger)

            #expect(outcomes[0] == .delivered(record: TargetRecordID(model: "company", id: company), note: nil))
            guard case .reject(let owner) = outcomes[1], case .reject(let ghost) = outcomes[2], case .reject = outcomes[3] else {
                Issue.record("expected rejections, got \(outcomes)")
                return
            }
            #expect(owner.message.contains("nobody@acme.test"))
            #expect(ghost.message.contains("HubSpot has no company 999 (deleted or merged)"))

            let written = try properties(
                simulator, "companies", company,
                "name,phone,industry,hubspot_owner_id,vat_number,payment_terms,address,city,zip,country")
            #expect(written["name"] == .string("Acme"))  // not named: left as HubSpot has it
            #expect(written["phone"] == .null)  // named and nil: cleared
            #expect(written["industry"] == .string("WHOLESALE"))
            #expect(written["hubspot_owner_id"] == .string("502"))  // bob's owner id, found by email case-insensitively
            #expect(written["vat_number"] == .string("DE999"))
            #expect(written["payment_terms"] == .string("45 Days"))
            #expect(written["city"] == .string("Hamburg"))
            #expect(written["country"] == .string("DE"))
            let person = try properties(simulator, "contacts", ada, "firstname,lastname,jobtitle,email")
            #expect(person["firstname"] == .string("Ada"))
            #expect(person["lastname"] == .string("Lovelace King"))
            #expect(person["jobtitle"] == .string("CEO"))
            #expect(try properties(simulator, "companies", other, "hubspot_owner_id")["hubspot_owner_id"] == .null)

            // Clearing the owner needs no owner lookup; a deleted contact is noted, not fatal.
            _ = simulator.call("DELETE", "/crm/v3/objects/contacts/\(ada)")
            var cleared = sync
            cleared.account.owner = nil
            cleared.fields = ["owner"]
            let again = await target.deliver([command(.syncAccount(cleared), 5)], logger: logger)
            guard case .delivered(_, let note) = again[0] else {
                Issue.record("expected delivery, got \(again)")
                return
            }
            #expect(note?.contains("no contact \(ada)") == true)
            #expect(try properties(simulator, "companies", company, "hubspot_owner_id")["hubspot_owner_id"] == .null)
        }
    }

    /// HubSpot's `industry` is a dropdown of HubSpot's own values; Odoo knows industries by its own names. With a map
    /// each side sees its own value, and what is read and written back is the same value.
    @Test func valueMapsShowEachSideItsOwnValues() async throws {
        let clock = ManualClock()
        let simulator = makeSimulator(clock)
        var mapping = mapping
        mapping.segmentValues = try ValueMap([
            .init(system: "COMPUTER_SOFTWARE", canonical: "Information and communication"),
            .init(system: "RETAIL", canonical: "Wholesale/Retail"),
        ])
        mapping.paymentTermsValues = try ValueMap([.init(system: "net_30", canonical: "30 Days")])
        let mapped = mapping
        let company = try create(
            simulator, "companies", #"{"name":"Acme","industry":"COMPUTER_SOFTWARE","payment_terms":"net_30"}"#)
        let other = try create(simulator, "companies", #"{"name":"Other","industry":"OIL_ENERGY","payment_terms":"45 Days"}"#)
        try await withHubSpot(simulator) { base in
            let snapshots = try await reader(base).snapshots(companyIDs: [company, other], logger: logger)
            let accounts = snapshots.map { $0.account(system: "hubspot", mapping: mapped) }
            #expect(accounts.map(\.segment) == ["Information and communication", "OIL_ENERGY"])  // unnamed: as HubSpot has it
            #expect(accounts.map(\.paymentTerms) == ["30 Days", "45 Days"])

            // Odoo's names (in Odoo's case, not the config's) go to HubSpot as HubSpot's values.
            let target = HubSpotTarget(
                configuration: configuration(base), properties: HubSpotStatusProperties(), accounts: mapped,
                httpClient: .shared, gate: OpenGate())
            let sync = AccountSync(
                account: Account(
                    ref: ExternalRef(system: "hubspot", kind: .account, id: company), segment: "WHOLESALE/RETAIL",
                    paymentTerms: "30 Days"),
                contacts: [], fields: ["segment", "paymentTerms"], contactFields: [])
            let outcomes = await target.deliver([command(.syncAccount(sync))], logger: logger)
            #expect(outcomes == [.delivered(record: TargetRecordID(model: "company", id: company), note: nil)])
            let written = try properties(simulator, "companies", company, "industry,payment_terms")
            #expect(written["industry"] == .string("RETAIL"))
            #expect(written["payment_terms"] == .string("net_30"))
            let read = try await reader(base).snapshots(companyIDs: [company], logger: logger)
            #expect(read.first?.account(system: "hubspot", mapping: mapped).segment == "Wholesale/Retail")
        }
    }

    /// Before the node starts, the value maps are checked against the portal's property definitions: a value that is
    /// not an option (misspelt, or in another case than HubSpot's) and a mapped property the companies lack are named;
    /// a property that takes any text is not checked, and a map that is right reads as no problem.
    @Test func valueMapsAreCheckedAgainstThePortalsOptions() async throws {
        let simulator = makeSimulator(ManualClock())
        try await withHubSpot(simulator) { base in
            func problems(_ mapping: HubSpotAccountMapping) async throws -> [String] {
                try await HubSpotAccountReader(
                    configuration: configuration(base), mapping: mapping, system: "crm", httpClient: .shared, gate: OpenGate(),
                    searchGate: OpenGate()
                ).valueMapProblems(system: "crm", logger: logger)
            }
            let right = HubSpotAccountMapping(
                paymentTerms: "payment_terms",
                segmentValues: try ValueMap([.init(system: "COMPUTER_SOFTWARE", canonical: "Information and communication")]),
                paymentTermsValues: try ValueMap([.init(system: "anything goes", canonical: "30 Days")]))
            #expect(try await problems(right) == [])
            #expect(try await problems(HubSpotAccountMapping()) == [])

            let wrong = HubSpotAccountMapping(
                segmentValues: try ValueMap([
                    .init(system: "COMPUTER_SOFTWRE", canonical: "Information and communication"),
                    .init(system: "retail", canonical: "Wholesale/Retail"), .init(system: "WHOLESALE", canonical: "Wholesale/Retail"),
                ]))
            let found = try await problems(wrong)
            #expect(found.count == 1)
            #expect(
                found.first?.contains("systems.crm.accounts.segment_values names COMPUTER_SOFTWRE, retail (the option is RETAIL)") == true)
            #expect(found.first?.contains("company property industry has no option") == true)

            let missing = HubSpotAccountMapping(
                segment: "sector", segmentValues: try ValueMap([.init(system: "A", canonical: "Agriculture")]))
            #expect(
                try await problems(missing) == [
                    "HubSpot has no company property sector (systems.crm.accounts.segment_property); create it in HubSpot "
                        + "(Settings ▸ Properties) or name another"
                ])

            // A path HubSpot does not serve answers a 404 that is not about the property: the check fails (and is
            // logged as skipped by the node) rather than claiming the property is missing.
            let elsewhere = HubSpotAccountReader(
                configuration: HubSpotConfiguration(baseURL: base, objectsPath: "/hub/objects", accessToken: "pat-na1-accounts"),
                mapping: missing, system: "crm", httpClient: .shared, gate: OpenGate(), searchGate: OpenGate())
            await #expect(throws: (any Error).self) { try await elsewhere.valueMapProblems(system: "crm", logger: logger) }
        }
    }

    /// The properties API takes the object's read scope or its schema scope: a token that syncs companies passes the
    /// check; one without either fails it naming the scope to grant (the node then starts with a warning, unchecked),
    /// it does not claim the property is missing.
    @Test func theCheckNeedsACompaniesScopeAndNamesItWhenMissing() async throws {
        let mapping = HubSpotAccountMapping(
            segmentValues: try ValueMap([.init(system: "COMPUTER_SOFTWARE", canonical: "Information and communication")]))
        for (scopes, passes) in [
            (["crm.objects.companies.read", "crm.objects.companies.write"], true), (["crm.objects.contacts.read"], false),
        ] {
            let simulator = HubSpotSimulator(
                configuration: .init(accessTokens: ["pat-na1-accounts"], idSeed: 3, scopes: Set(scopes)))
            try await withHubSpot(simulator) { base in
                let reader = HubSpotAccountReader(
                    configuration: configuration(base), mapping: mapping, system: "crm", httpClient: .shared, gate: OpenGate(),
                    searchGate: OpenGate())
                do {
                    let problems = try await reader.valueMapProblems(system: "crm", logger: logger)
                    #expect(passes && problems.isEmpty, "\(scopes): \(problems)")
                } catch {
                    #expect(!passes, "\(scopes): \(error)")
                    #expect(
                        "\(error)".contains(
                            "grant the private app the scope crm.objects.companies.read (or any one of crm.schemas.companies.read)"),
                        "\(error)")
                }
            }
        }
    }

    /// HubSpot's list of scopes usually offers alternatives (any one will do); the fix names the plain object scope and
    /// the others as alternatives, and a list HubSpot needs whole, whole.
    @Test func theScopeFixNamesThePlainScopeFirst() throws {
        let deals = try JSONValue.parse(
            Data(
                #"{"errors":[{"message":"One or more of the following scopes are required.","context":{"requiredGranularScopes":["crm.schemas.deals.read","crm.objects.deals.sensitive.read.v2","crm.objects.deals.read","crm.objects.deals.highly_sensitive.read.v2"]}}],"category":"MISSING_SCOPES"}"#
                    .utf8))
        #expect(
            HubSpotAPIError.scopeFix(deals, objectType: "deals")
                == "grant the private app the scope crm.objects.deals.read (or any one of crm.schemas.deals.read, crm.objects.deals.sensitive.read.v2, crm.objects.deals.highly_sensitive.read.v2)"
        )
        let all = try JSONValue.parse(
            Data(
                #"{"errors":[{"message":"All of the following scopes are required.","context":{"requiredScopes":["oauth","content"]}}]}"#
                    .utf8))
        #expect(HubSpotAPIError.scopeFix(all, objectType: nil) == "grant the private app the scopes content, oauth")
        #expect(
            HubSpotAPIError.scopeFix(nil, objectType: "companies")
                == "grant the private app the scopes crm.objects.companies.read and .write")
    }

    /// An ERP name HubSpot's dropdown lacks (no map names it) is refused by HubSpot; the rejection says which value,
    /// and that a value map translates it.
    @Test func anIndustryHubSpotLacksIsRejectedNamingTheValueAndTheMap() async throws {
        let simulator = makeSimulator(ManualClock())
        let company = try create(simulator, "companies", #"{"name":"Acme","industry":"RETAIL"}"#)
        try await withHubSpot(simulator) { base in
            let target = HubSpotTarget(
                configuration: configuration(base), properties: HubSpotStatusProperties(), accounts: mapping,
                httpClient: .shared, gate: OpenGate())
            let sync = AccountSync(
                account: Account(ref: ExternalRef(system: "hubspot", kind: .account, id: company), segment: "Manufacturing"),
                contacts: [], fields: ["segment"], contactFields: [])
            let outcomes = await target.deliver([command(.syncAccount(sync))], logger: logger)
            guard case .reject(let failure) = outcomes.first else {
                Issue.record("expected a rejection, got \(outcomes)")
                return
            }
            #expect(failure.message.contains("industry (INVALID_OPTION): Manufacturing was not one of the allowed options"))
            #expect(failure.message.contains("accounts.segment_values"))
            #expect(!failure.message.contains("ACCOUNTING"))  // not HubSpot's whole list of options
            let industry = try properties(simulator, "companies", company, "industry")["industry"]
            #expect(industry == .string("RETAIL"))
        }
    }
}
