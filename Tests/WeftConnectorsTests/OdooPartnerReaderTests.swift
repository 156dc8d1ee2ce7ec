import Foundation
import Logging
import Testing
import WeftCore
import WeftSimOdoo

@testable import WeftConnectors

@Suite("Odoo partner reader: what Odoo shows of CRM accounts")
struct OdooPartnerReaderTests {
    typealias Support = OdooPartnerTestSupport

    static func sync(_ client: OdooClient, _ sync: AccountSync) async throws -> Int64 {
        let outcome = await OdooTarget(client: client).deliver([OdooAccountSyncTests.command(sync)], logger: Support.logger)[0]
        return try #require(OdooAccountSyncTests.partnerID(outcome))
    }

    static func reader(_ client: OdooClient) -> OdooPartnerReader {
        OdooPartnerReader(client: client, crmSystems: ["hubspot", "salesforce"])
    }

    @Test func aChangedPartnerReadsBackAsItsAccountWithItsContacts() async throws {
        let clock = Support.Clock()
        try await Support.withOdoo(clock: clock) { _, client in
            _ = try await OdooAccountSyncTests.addOwner(client)
            let account = OdooAccountSyncTests.fullAccount()
            let ann = Contact(ref: Support.contact("11"), name: "Ann Lee", email: "ann@acme.com", phone: "+1 555 0101", jobTitle: "CFO")
            let start = clock.now
            _ = try await Self.sync(client, AccountSync(account: account, contacts: [ann], fields: [], contactFields: []))
            let readings = try await Self.reader(client).readings(since: start, logger: Support.logger)
            try #require(readings.count == 1)
            #expect(readings[0].account == account)
            var expectedAnn = ann
            expectedAnn.account = account.ref
            #expect(readings[0].contacts == [expectedAnn])
            #expect(readings[0].modifiedAt == start)
            // Nothing written since: nothing to read.
            clock.advance(60)
            #expect(try await Self.reader(client).readings(since: clock.now, logger: Support.logger).isEmpty)
        }
    }

    @Test func aChangedPersonYieldsItsCompanysReadingWithEveryBoundPerson() async throws {
        let clock = Support.Clock()
        try await Support.withOdoo(clock: clock) { _, client in
            let account = Account(ref: Support.account("1"), name: "Acme", domain: "acme.com")
            let company = try await Self.sync(
                client,
                AccountSync(
                    account: account,
                    contacts: [
                        Contact(ref: Support.contact("11"), name: "Ann", email: "ann@acme.com"),
                        Contact(ref: Support.contact("12"), name: "Bob", email: "bob@acme.com"),
                    ], fields: [], contactFields: []))
            // A person Odoo added itself is not a CRM contact.
            _ = try await Support.partner(client, ["name": "Carl", "parent_id": .int(company)])
            clock.advance(3600)
            let changedAt = clock.now
            let bob = try #require(try await Support.binding(client, "hubspot_contact_12"))
            try await client.write(
                model: "res.partner", ids: [bob], values: ["function": "Buyer", "active": false], logger: Support.logger)
            let readings = try await Self.reader(client).readings(since: changedAt, logger: Support.logger)
            try #require(readings.count == 1)
            #expect(readings[0].account.ref == account.ref && readings[0].account.domain == "acme.com")
            #expect(readings[0].contacts.map(\.ref) == [Support.contact("11"), Support.contact("12")])
            #expect(readings[0].contacts.allSatisfy { $0.account == account.ref })
            #expect(readings[0].contacts[1].jobTitle == "Buyer" && readings[0].contacts[1].deleted == true)
            #expect(readings[0].modifiedAt == changedAt)
        }
    }

    @Test func partnersOfNoCRMAccountAreIgnored() async throws {
        try await Support.withOdoo { _, client in
            _ = try await Support.company(client, "Walk-in customer")
            _ = try await Support.company(client, "Stripe customer", bound: "stripe_customer_cus_1")
            _ = try await Support.company(client, "Zendesk org", bound: "zendesk_account_9")
            let readings = try await Self.reader(client).readings(since: Date(timeIntervalSince1970: 0), logger: Support.logger)
            #expect(readings.isEmpty)
        }
    }

    @Test func aMergedPartnerReadsBackOncePerAccountBoundToIt() async throws {
        let clock = Support.Clock()
        try await Support.withOdoo(clock: clock) { _, client in
            let absorbed = try await Support.company(client, "Acme (dup)", bound: "hubspot_account_2")
            // The survivor takes the partner of the record it absorbed.
            let survivor = try await Self.sync(
                client,
                AccountSync(
                    account: Account(ref: Support.account("1"), name: "Acme", mergedFrom: ["2"]), contacts: [], fields: ["name"],
                    contactFields: []))
            #expect(survivor == absorbed)
            clock.advance(10)
            try await client.write(model: "res.partner", ids: [survivor], values: ["phone": "+32 2 555"], logger: Support.logger)
            let readings = try await Self.reader(client).readings(since: clock.now, logger: Support.logger)
            #expect(readings.map(\.account.ref) == [Support.account("1"), Support.account("2")])
            #expect(readings.allSatisfy { $0.account.phone == "+32 2 555" && $0.account.name == "Acme" })
        }
    }

    @Test func fewCallsPerRead() async throws {
        try await Support.withOdoo { simulator, client in
            _ = try await OdooAccountSyncTests.addOwner(client)
            for id in 1...3 {
                _ = try await Self.sync(
                    client,
                    AccountSync(
                        account: OdooAccountSyncTests.fullAccount(String(id)),
                        contacts: [Contact(ref: Support.contact("\(id)1"), name: "P\(id)", email: "p\(id)@acme\(id).com")], fields: [],
                        contactFields: []))
            }
            simulator.resetCalls()
            let readings = try await Self.reader(client).readings(since: Date(timeIntervalSince1970: 0), logger: Support.logger)
            #expect(readings.count == 3 && readings.allSatisfy { $0.contacts.count == 1 && $0.account.owner == OdooAccountSyncTests.owner })
            // Changed partners, their bindings, the accounts' persons, (no unbound persons left), states, countries, users.
            #expect(simulator.calls.count <= 7)
        }
    }
}
