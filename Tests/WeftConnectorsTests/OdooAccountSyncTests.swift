import Foundation
import Logging
import Testing
import WeftCore
import WeftSimOdoo

@testable import WeftConnectors

@Suite("Odoo account sync: CRM accounts and contacts as partners")
struct OdooAccountSyncTests {
    typealias Support = OdooPartnerTestSupport

    static let owner = "owner@weft.test"

    static func fullAccount(_ id: String = "1") -> Account {
        Account(
            ref: Support.account(id), name: "Acme Inc", domain: "acme.com", phone: "+1 555 0100", segment: "Manufacturing",
            owner: owner,
            address: PostalAddress(
                line1: "1 Main St", line2: "Suite 2", city: "Springfield", postalCode: "94000", state: "CA", country: "US"),
            taxID: "US12-345", paymentTerms: "30 Days")
    }

    static func command(_ sync: AccountSync, id: Int64 = 1) -> OutboxCommand {
        OutboxCommand(
            id: CommandID(id), target: "odoo", entityKey: EntityKey.of(sync.account.ref), idempotencyKey: IdempotencyKey("k\(id)"),
            payload: .syncAccount(sync), traceID: TraceID("trace"), attempts: 0, createdAt: Date(timeIntervalSince1970: 1_780_000_000))
    }

    /// Delivers through `OdooTarget.deliver`, as the dispatcher does.
    static func deliver(_ client: OdooClient, _ sync: AccountSync) async -> DeliveryOutcome {
        await OdooTarget(client: client).deliver([command(sync)], logger: Support.logger)[0]
    }

    static func partnerID(_ outcome: DeliveryOutcome) -> Int64? {
        guard case .delivered(let record, _) = outcome, let record else { return nil }
        return Int64(record.id)
    }

    static func addOwner(_ client: OdooClient) async throws -> Int64 {
        try await client.create(model: "res.users", values: [["login": .string(owner), "name": "Olive Owner"]], logger: Support.logger)[0]
    }

    static func writes(_ simulator: OdooSimulator) -> Int {
        simulator.calls.filter { $0.model == "res.partner" && $0.odooMethod == "write" }.count
    }

    @Test func aNewAccountGetsAPartnerWithEveryValueAndItsContacts() async throws {
        try await Support.withOdoo { simulator, client in
            let ownerID = try await Self.addOwner(client)
            let sync = AccountSync(
                account: Self.fullAccount(),
                contacts: [
                    Contact(ref: Support.contact("11"), name: "Ann Lee", email: "ann@acme.com", phone: "+1 555 0101", jobTitle: "CFO"),
                    Contact(ref: Support.contact("12"), email: "bob@acme.com"),
                ], fields: [], contactFields: [])
            let outcome = await Self.deliver(client, sync)
            let id = try #require(Self.partnerID(outcome))
            let partner = Support.record(simulator, "res.partner", id)
            #expect(partner["name"] == "Acme Inc" && partner["is_company"] == true && partner["ref"] == "hubspot_account_1")
            #expect(partner["website"] == "https://acme.com" && partner["phone"] == "+1 555 0100" && partner["vat"] == "US12-345")
            #expect(partner["street"] == "1 Main St" && partner["street2"] == "Suite 2" && partner["city"] == "Springfield")
            #expect(partner["zip"] == "94000")
            #expect(partner["country_id"]?.arrayValue?.first == .int(233))
            #expect(partner["state_id"]?.arrayValue?.dropFirst().first == "California (US)")
            #expect(partner["property_payment_term_id"]?.arrayValue?.dropFirst().first == "30 Days")
            #expect(partner["industry_id"]?.arrayValue?.dropFirst().first == "Manufacturing")
            #expect(partner["user_id"]?.arrayValue?.first == .int(ownerID))
            #expect(try await Support.binding(client, "hubspot_account_1") == id)
            let ann = try #require(try await Support.binding(client, "hubspot_contact_11"))
            let annRecord = Support.record(simulator, "res.partner", ann)
            #expect(annRecord["parent_id"]?.arrayValue?.first == .int(id) && annRecord["type"] == "contact")
            #expect(annRecord["function"] == "CFO" && annRecord["email"] == "ann@acme.com" && annRecord["phone"] == "+1 555 0101")
            let bob = try #require(try await Support.binding(client, "hubspot_contact_12"))
            #expect(Support.record(simulator, "res.partner", bob)["name"] == "bob@acme.com")
            // Redelivered: nothing new, nothing written.
            simulator.resetCalls()
            #expect(Self.partnerID(await Self.deliver(client, sync)) == id)
            #expect(Self.writes(simulator) == 0)
            #expect(simulator.calls.filter { $0.odooMethod == "create" }.isEmpty)
        }
    }

    @Test func anExistingPartnerGetsOnlyTheNamedFieldsThatDiffer() async throws {
        try await Support.withOdoo { simulator, client in
            let id = try await Support.company(
                client, "Acme (as Odoo names it)", website: "https://www.acme.com/", bound: "hubspot_account_1")
            try await client.write(model: "res.partner", ids: [id], values: ["phone": "1", "vat": "US 12.345"], logger: Support.logger)
            var account = Self.fullAccount()
            account.phone = "2"
            simulator.resetCalls()
            // Name is not named: Odoo keeps its own. Domain and VAT are named but equal once normalised.
            let outcome = await Self.deliver(
                client, AccountSync(account: account, contacts: [], fields: ["phone", "domain", "taxID"], contactFields: []))
            #expect(Self.partnerID(outcome) == id)
            let partner = Support.record(simulator, "res.partner", id)
            #expect(partner["name"] == "Acme (as Odoo names it)" && partner["phone"] == "2")
            #expect(partner["website"] == "https://www.acme.com/" && partner["vat"] == "US 12.345")
            #expect(Self.writes(simulator) == 1)
        }
    }

    @Test func aNamedFieldWithoutValueIsCleared() async throws {
        try await Support.withOdoo { simulator, client in
            _ = try await Self.addOwner(client)
            let id = try #require(
                Self.partnerID(
                    await Self.deliver(client, AccountSync(account: Self.fullAccount(), contacts: [], fields: [], contactFields: []))))
            let cleared = Account(ref: Support.account("1"), name: nil)
            let outcome = await Self.deliver(
                client,
                AccountSync(
                    account: cleared, contacts: [],
                    fields: ["name", "domain", "phone", "segment", "owner", "address", "taxID", "paymentTerms"], contactFields: []))
            #expect(Self.partnerID(outcome) == id)
            let partner = Support.record(simulator, "res.partner", id)
            // Odoo requires a name: it keeps the one it has.
            #expect(partner["name"] == "Acme Inc")
            for field in [
                "website", "phone", "industry_id", "user_id", "street", "street2", "city", "zip", "state_id", "country_id", "vat",
                "property_payment_term_id",
            ] {
                #expect(partner[field] == .bool(false), "\(field) should be cleared")
            }
        }
    }

    @Test func valuesOdooDoesNotKnowRejectNamingThemAndCreateNothing() async throws {
        try await Support.withOdoo { simulator, client in
            var account = Self.fullAccount()
            account.paymentTerms = "Net 99"
            account.segment = "Space Mining"
            let before = try simulator.count(model: "res.partner")
            let outcome = await Self.deliver(client, AccountSync(account: account, contacts: [], fields: [], contactFields: []))
            guard case .reject(let failure) = outcome else {
                Issue.record("expected a rejection, got \(outcome)")
                return
            }
            #expect(failure.message.contains("\"Net 99\"") && failure.message.contains("\"Space Mining\""))
            #expect(failure.message.contains("no user with login \(Self.owner)"))
            #expect(try simulator.count(model: "res.partner") == before)
        }
    }

    /// A CRM whose country field is free text (a Salesforce org without State and Country/Territory Picklists holds
    /// "Germany"): the country is found by its name when it is not a code; a name Odoo lacks rejects naming it.
    @Test func countriesAreFoundByNameToo() async throws {
        try await Support.withOdoo { simulator, client in
            let account = Account(
                ref: Support.account("6"), name: "Werk", address: PostalAddress(city: "Berlin", country: "germany"))
            let id = try #require(
                Self.partnerID(await Self.deliver(client, AccountSync(account: account, contacts: [], fields: [], contactFields: []))))
            #expect(Support.record(simulator, "res.partner", id)["country_id"]?.arrayValue?.first == .int(57))
            let byCode = Account(
                ref: Support.account("7"), name: "Both", address: PostalAddress(city: "Austin", state: "Texas", country: "United States"))
            let other = try #require(
                Self.partnerID(await Self.deliver(client, AccountSync(account: byCode, contacts: [], fields: [], contactFields: []))))
            let partner = Support.record(simulator, "res.partner", other)
            #expect(partner["country_id"]?.arrayValue?.first == .int(233))
            #expect(partner["state_id"]?.arrayValue?.dropFirst().first == "Texas (US)")

            let nowhere = Account(ref: Support.account("8"), name: "Lost", address: PostalAddress(country: "Atlantis"))
            let outcome = await Self.deliver(client, AccountSync(account: nowhere, contacts: [], fields: [], contactFields: []))
            guard case .reject(let failure) = outcome else {
                Issue.record("expected a rejection, got \(outcome)")
                return
            }
            #expect(failure.message.contains("Odoo has no country with code or name ATLANTIS"), "\(failure.message)")
        }
    }

    @Test func industriesAreFoundByFullNameToo() async throws {
        try await Support.withOdoo { simulator, client in
            let account = Account(ref: Support.account("5"), name: "Farm", segment: "a - agriculture, forestry and fishing")
            let id = try #require(
                Self.partnerID(await Self.deliver(client, AccountSync(account: account, contacts: [], fields: [], contactFields: []))))
            #expect(Support.record(simulator, "res.partner", id)["industry_id"]?.arrayValue?.dropFirst().first == "Agriculture")
        }
    }

    @Test func ambiguousMatchRejectsAndCreatesNothing() async throws {
        try await Support.withOdoo { simulator, client in
            let first = try await Support.company(client, "Acme BE", vat: "BE0123456789")
            let second = try await Support.company(client, "Acme Belgium", vat: "BE0123.456.789")
            let before = try simulator.count(model: "res.partner")
            let account = Account(ref: Support.account("1"), name: "Acme", taxID: "BE 0123 456 789")
            let outcome = await Self.deliver(client, AccountSync(account: account, contacts: [], fields: [], contactFields: []))
            guard case .reject(let failure) = outcome else {
                Issue.record("expected a rejection, got \(outcome)")
                return
            }
            #expect(failure.kind == .rejected)
            #expect(failure.message.hasPrefix("ambiguous match for hubspot/account/1: partners \(first), \(second) share VAT BE0123456789"))
            #expect(try simulator.count(model: "res.partner") == before)
            #expect(try await Support.binding(client, "hubspot_account_1") == nil)
        }
    }

    @Test func aMatchByKeyIsUpdatedWithNamedFieldsAndBound() async throws {
        try await Support.withOdoo { simulator, client in
            let existing = try await Support.company(client, "ACME Corporation", vat: "US12345")
            let outcome = await Self.deliver(
                client, AccountSync(account: Self.fullAccount(), contacts: [], fields: ["phone"], contactFields: []))
            guard case .delivered(let record, let note) = outcome else {
                Issue.record("expected delivery, got \(outcome)")
                return
            }
            #expect(record?.id == String(existing))
            #expect(note?.contains("matched the existing partner \(existing) by vat") == true)
            let partner = Support.record(simulator, "res.partner", existing)
            #expect(partner["name"] == "ACME Corporation" && partner["phone"] == "+1 555 0100")
            #expect(try await Support.binding(client, "hubspot_account_1") == existing)
        }
    }

    @Test func theCRMsKeysFindThePartnerEvenWhenOdooOwnsThoseFields() async throws {
        try await Support.withOdoo { simulator, client in
            let existing = try await Support.company(client, "Acme NV", vat: "BE0123456789")
            // Odoo owns the VAT, so the data field is not sent; the CRM's value still identifies the partner.
            let account = Account(
                ref: Support.account("1"), name: "Acme", identity: AccountIdentity(taxID: "BE 0123.456.789", domain: "acme.be"))
            let outcome = await Self.deliver(client, AccountSync(account: account, contacts: [], fields: ["name"], contactFields: []))
            #expect(Self.partnerID(outcome) == existing)
            let partner = Support.record(simulator, "res.partner", existing)
            #expect(partner["name"] == "Acme" && partner["vat"] == "BE0123456789" && partner["website"] == .bool(false))
        }
    }

    @Test func contactsAreUpdatedWithTheirNamedFieldsAndArchivedWhenDeleted() async throws {
        try await Support.withOdoo { simulator, client in
            let account = Account(ref: Support.account("1"), name: "Acme")
            let ann = Contact(ref: Support.contact("11"), name: "Ann", email: "ann@acme.com", jobTitle: "CFO")
            let company = try #require(
                Self.partnerID(await Self.deliver(client, AccountSync(account: account, contacts: [ann], fields: [], contactFields: []))))
            let annID = try #require(try await Support.binding(client, "hubspot_contact_11"))
            // A person Odoo already had under the company, found by email and bound.
            let bob = try await Support.partner(client, ["name": "Bob", "email": "Bob@Acme.com", "parent_id": .int(company)])
            var changed = ann
            changed.name = "Ann Lee"
            changed.jobTitle = "CEO"
            let bobContact = Contact(ref: Support.contact("12"), name: "Robert", email: "bob@acme.com", phone: "7")
            _ = await Self.deliver(
                client, AccountSync(account: account, contacts: [changed, bobContact], fields: [], contactFields: ["jobTitle", "phone"]))
            let annRecord = Support.record(simulator, "res.partner", annID)
            #expect(annRecord["function"] == "CEO" && annRecord["name"] == "Ann")
            #expect(try await Support.binding(client, "hubspot_contact_12") == bob)
            let bobRecord = Support.record(simulator, "res.partner", bob)
            #expect(bobRecord["phone"] == "7" && bobRecord["name"] == "Bob")
            var gone = changed
            gone.deleted = true
            _ = await Self.deliver(client, AccountSync(account: account, contacts: [gone], fields: [], contactFields: []))
            #expect(Support.record(simulator, "res.partner", annID)["active"] == false)
            #expect(simulator.calls.filter { $0.odooMethod == "unlink" }.isEmpty)
        }
    }

    @Test func aDeletedAccountArchivesItsPartner() async throws {
        try await Support.withOdoo { simulator, client in
            let account = Account(ref: Support.account("1"), name: "Acme")
            let id = try #require(
                Self.partnerID(await Self.deliver(client, AccountSync(account: account, contacts: [], fields: [], contactFields: []))))
            var deleted = account
            deleted.deleted = true
            #expect(
                Self.partnerID(await Self.deliver(client, AccountSync(account: deleted, contacts: [], fields: [], contactFields: []))) == id
            )
            #expect(Support.record(simulator, "res.partner", id)["active"] == false)
            // Unknown to Odoo: nothing to archive, nothing created.
            let before = try simulator.count(model: "res.partner")
            let unknown = AccountSync(
                account: Account(ref: Support.account("2"), name: "Gone", deleted: true), contacts: [], fields: [], contactFields: [])
            guard case .delivered(nil, _) = await Self.deliver(client, unknown) else {
                Issue.record("a deleted account Odoo never had is delivered without a record")
                return
            }
            #expect(try simulator.count(model: "res.partner") == before)
        }
    }

    @Test func mergedAccountsLeadToTheSurvivorsPartner() async throws {
        try await Support.withOdoo { simulator, client in
            let survivor = try await Support.company(client, "Acme", bound: "hubspot_account_1")
            let old = try await Support.company(client, "Acme (dup)", bound: "hubspot_account_2")
            let account = Account(ref: Support.account("1"), name: "Acme", mergedFrom: ["2", "3"])
            let outcome = await Self.deliver(client, AccountSync(account: account, contacts: [], fields: [], contactFields: []))
            guard case .delivered(let record, let note) = outcome else {
                Issue.record("expected delivery, got \(outcome)")
                return
            }
            #expect(record?.id == String(survivor))
            #expect(note?.contains("hubspot/account/2 (partner \(old))") == true)
            #expect(try await Support.binding(client, "hubspot_account_2") == survivor)
            #expect(try await Support.binding(client, "hubspot_account_3") == survivor)
            // The old partner stays (it may carry invoices).
            #expect(Support.record(simulator, "res.partner", old)["active"] == true)
            #expect(simulator.calls.filter { $0.odooMethod == "unlink" }.isEmpty)
        }
    }

    @Test func aMergeSurvivorWithANewIDKeepsThePrimarysPartner() async throws {
        try await Support.withOdoo { simulator, client in
            let primary = try await Support.company(client, "Merge One", bound: "hubspot_account_1")
            let other = try await Support.company(client, "Merge Two", bound: "hubspot_account_2")
            let before = try simulator.count(model: "res.partner")
            // HubSpot gives the merged record a new id and lists the primary first.
            let account = Account(ref: Support.account("3"), name: "Merge One", mergedFrom: ["1", "2"])
            let outcome = await Self.deliver(client, AccountSync(account: account, contacts: [], fields: ["name"], contactFields: []))
            guard case .delivered(let record, let note) = outcome else {
                Issue.record("expected delivery, got \(outcome)")
                return
            }
            #expect(record?.id == String(primary))
            #expect(
                note
                    == "merged hubspot/account/2 (partner \(other)) into partner \(primary); the old partners were left as they are (they may carry invoices): archive or merge them in Odoo"
            )
            for id in ["1", "2", "3"] { #expect(try await Support.binding(client, "hubspot_account_\(id)") == primary) }
            #expect(try simulator.count(model: "res.partner") == before)
        }
    }

    @Test func aWonDealReusesTheCompanyOdooHasUnderTheSameVAT() async throws {
        try await Support.withOdoo { simulator, client in
            let existing = try await Support.company(client, "Acme GmbH", vat: "DE 123 456 789")
            _ = try await client.create(
                model: "product.product", values: [["name": "Pro", "default_code": "PRO", "sale_ok": true]], logger: Support.logger)
            let deal = Deal(
                ref: ExternalRef(system: "hubspot", kind: .deal, id: "77"), name: "Acme Pro", won: true,
                account: Customer(ref: Support.account("9"), name: "Acme", taxID: "de123456789"),
                contact: Customer(ref: Support.contact("91"), name: "Ann", email: "ann@acme.de"),
                lines: [DealLine(id: "l1", sku: "PRO", quantity: 1, unitAmountMinor: 10_000)])
            let outcome = try await OdooTarget(client: client).upsertOrder(deal, logger: Support.logger)
            guard case .delivered(let record, _) = outcome, let orderID = record.flatMap({ Int64($0.id) }) else {
                Issue.record("expected an order, got \(outcome)")
                return
            }
            #expect(Support.record(simulator, "sale.order", orderID)["partner_id"]?.arrayValue?.first == .int(existing))
            #expect(try await Support.binding(client, "hubspot_account_9") == existing)
            let ann = try #require(try await Support.binding(client, "hubspot_contact_91"))
            #expect(Support.record(simulator, "res.partner", ann)["parent_id"]?.arrayValue?.first == .int(existing))
            #expect(try simulator.count(model: "res.partner", domain: [["vat", "=ilike", "%123%"]]) == 1)
        }
    }

    @Test func aPartnerCreatedMeanwhileElsewhereLeavesNoTwin() async throws {
        try await Support.withOdoo { simulator, client in
            // Another node's command created and bound the partner after this one looked and found nothing.
            let other = try await Support.partner(client, ["name": "Acme", "is_company": true, "ref": "hubspot_account_5"])
            try await client.bindExternalIDs([("hubspot_account_5", other)], model: "res.partner", logger: Support.logger)
            let item = OdooUpsertItem(
                ref: Support.account("5"), keyField: "ref", key: "hubspot_account_5", createValues: ["name": "Acme", "is_company": true],
                updateValues: ["phone": "5"])
            simulator.resetCalls()
            let result = try await client.upsert(model: "res.partner", items: [item], view: OdooUpsertView(), logger: Support.logger)
            #expect(result.map(\.id) == [other] && result[0].created == false)
            #expect(try simulator.count(model: "res.partner", domain: [["ref", "=", "hubspot_account_5"]]) == 1)
            #expect(simulator.calls.contains { $0.model == "res.partner" && $0.odooMethod == "unlink" })
            // The bound partner then got the update values like any existing record.
            #expect(Support.record(simulator, "res.partner", other)["phone"] == "5")
        }
    }

    @Test(arguments: [OdooTransportKind.jsonrpc, .xmlrpc])
    func syncWorksOverTheRPCTransports(transport: OdooTransportKind) async throws {
        try await Support.withOdoo(transport: transport) { simulator, client in
            let sync = AccountSync(
                account: Account(ref: Support.account("1"), name: "Acme", domain: "acme.com", taxID: "BE0123456789"),
                contacts: [Contact(ref: Support.contact("11"), name: "Ann", email: "ann@acme.com")], fields: [], contactFields: [])
            let id = try #require(Self.partnerID(await Self.deliver(client, sync)))
            var renamed = sync
            renamed.account.name = "Acme SA"
            renamed.fields = ["name"]
            #expect(Self.partnerID(await Self.deliver(client, renamed)) == id)
            #expect(Support.record(simulator, "res.partner", id)["name"] == "Acme SA")
            #expect(try await Support.binding(client, "hubspot_contact_11") != nil)
        }
    }
}
