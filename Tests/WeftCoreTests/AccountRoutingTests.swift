import Foundation
import Testing
import WeftCore

@Suite("Accounts: both ways under field ownership")
struct AccountRoutingTests {
    let ownership = OwnershipRules(owners: [
        "account.name": "hubspot", "account.segment": "hubspot", "account.owner": "hubspot", "account.address": "odoo",
        "account.taxID": "odoo", "account.paymentTerms": "odoo", "contact.*": "hubspot",
    ])
    var router: CommandRouter {
        CommandRouter(
            flows: [
                Flow(name: "crm_to_erp", source: "hubspot", target: "odoo"),
                Flow(name: "erp_to_crm", source: "odoo", target: "hubspot"),
            ], ownership: ownership, crms: ["hubspot"])
    }
    let accountRef = ExternalRef(system: "hubspot", kind: .account, id: "7")
    let contactRef = ExternalRef(system: "hubspot", kind: .contact, id: "9")
    var key: EntityKey { EntityKey.of(accountRef) }

    /// Governs `account` (and `contacts`) from `source` onto `aggregate`, then routes: what the pipeline does per event.
    func process(
        _ aggregate: inout Aggregate, _ account: Account, contacts: [Contact] = [], from source: SystemName, at millis: Int64
    ) -> [TargetCommand] {
        let governor = Governor(ownership: ownership)
        for (ref, fields) in [(account.ref, account.changeFields)] + contacts.map({ ($0.ref, $0.changeFields) }) {
            let change = CanonicalChange(ref: ref, fields: fields, version: .init(millis: millis))
            aggregate.records[ref.description] = governor.govern(change, from: source, onto: aggregate.record(ref)).state
        }
        return router.route(entityKey: key, aggregate: &aggregate, source: source).map(\.payload)
    }

    func syncOf(_ commands: [TargetCommand]) -> AccountSync? {
        for command in commands { if case .syncAccount(let sync) = command { return sync } }
        return nil
    }

    var fromCRM: Account {
        Account(
            ref: accountRef, name: "Acme", domain: "acme.com", segment: "Software", owner: "ann@seller.com",
            address: PostalAddress(city: "Ghent", country: "BE"), taxID: "BE0123")
    }

    var fromERP: Account {
        Account(
            ref: accountRef, name: "Acme", domain: "acme.com", segment: "Software", owner: "ann@seller.com",
            address: PostalAddress(line1: "Rue 1", city: "Brussels", country: "BE"), taxID: "BE0999", paymentTerms: "30 Days")
    }

    @Test func theCRMsFieldsGoToTheERPAndNotTheOnesItDoesNotOwn() throws {
        var aggregate = Aggregate()
        let contact = Contact(ref: contactRef, account: accountRef, name: "Bo", email: "bo@acme.com")
        let sync = try #require(syncOf(process(&aggregate, fromCRM, contacts: [contact], from: "hubspot", at: 10)))
        // The CRM's address and VAT are dropped (Odoo owns them); nobody owns `domain` or `phone`, so the CRM's
        // value goes (no phone: Odoo's is cleared).
        #expect(sync.fields == ["name", "domain", "phone", "segment", "owner"])
        #expect(sync.account.address == nil && sync.account.taxID == nil)
        // The CRM's VAT still finds an existing partner that has it.
        #expect(sync.account.identity?.taxID == "BE0123")
        #expect(sync.account.name == "Acme")
        #expect(sync.contacts.map(\.email) == ["bo@acme.com"])
        #expect(sync.contactFields == ["name", "email", "phone", "jobTitle"])
    }

    @Test func theERPsFieldsGoToTheCRMAndItsEchoStopsThere() throws {
        var aggregate = Aggregate()
        let sent = try #require(syncOf(process(&aggregate, fromCRM, from: "hubspot", at: 10)))
        let back = try #require(syncOf(process(&aggregate, fromERP, from: "odoo", at: 20)))
        #expect(back.fields == ["address", "taxID", "paymentTerms"])
        #expect(back.account.taxID == "BE0999" && back.account.name == nil)
        // HubSpot now shows Odoo's values; its re-read (with those values) changes nothing and emits nothing.
        var echoed = fromCRM
        echoed.address = fromERP.address
        echoed.taxID = fromERP.taxID
        echoed.paymentTerms = fromERP.paymentTerms
        let echo = process(&aggregate, echoed, from: "hubspot", at: 30)
        // Only HubSpot's identity keys changed (its VAT is Odoo's now): Odoo is told nothing new to write.
        #expect(echo.count <= 1)
        #expect(syncOf(echo)?.fields ?? sent.fields == sent.fields)
        #expect(syncOf(echo)?.account.name ?? sent.account.name == sent.account.name)
        #expect(process(&aggregate, echoed, from: "hubspot", at: 31).isEmpty)
        // So does Odoo's re-read of the name Weft wrote there.
        #expect(process(&aggregate, fromERP, from: "odoo", at: 40).isEmpty)
    }

    @Test func anEditOfAFieldTheTargetOwnsEmitsNothingToIt() throws {
        var aggregate = Aggregate()
        _ = process(&aggregate, fromCRM, from: "hubspot", at: 10)
        _ = process(&aggregate, fromERP, from: "odoo", at: 20)
        var renamed = fromCRM
        renamed.name = "Acme Group"
        let commands = process(&aggregate, renamed, from: "hubspot", at: 30)
        // One command, to Odoo only, carrying the new name (HubSpot's payload — Odoo's fields — did not change).
        #expect(commands.count == 1)
        #expect(syncOf(commands)?.account.name == "Acme Group")
        // A non-owner's edit (Odoo renaming) is dropped: nothing changes, nothing is sent.
        var renamedInOdoo = fromERP
        renamedInOdoo.name = "ACME SA"
        #expect(process(&aggregate, renamedInOdoo, from: "odoo", at: 40).isEmpty)
        #expect(aggregate.record(accountRef)?.fields["name"] == "Acme Group")
    }

    @Test func theCRMIsSentOnlyItsOwnAccounts() {
        let other = ExternalRef(system: "salesforce", kind: .account, id: "001")
        var aggregate = Aggregate()
        let change = CanonicalChange(
            ref: other, fields: Account(ref: other, name: "Other", taxID: "X").changeFields, version: .init(millis: 1))
        aggregate.records[other.description] = Governor(ownership: .init()).govern(change, from: "odoo", onto: nil).state
        #expect(router.route(entityKey: EntityKey.of(other), aggregate: &aggregate, source: "odoo").isEmpty)
    }
}
