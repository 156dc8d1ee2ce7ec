import Testing
import WeftCore

@Suite("Governor: ownership, staleness, echoes")
struct GovernorTests {
    let customer = ExternalRef(system: "stripe", kind: .customer, id: "cus_1")

    func change(_ fields: [String: JSONValue], at millis: Int64, ordinals: [String: Int] = [:]) -> CanonicalChange {
        CanonicalChange(ref: customer, fields: fields, version: SourceVersion(millis: millis), fieldOrdinals: ordinals)
    }

    @Test func appliesNewFields() {
        let result = Governor(ownership: .init()).govern(change(["name": "Acme"], at: 10), from: "stripe", onto: nil)
        #expect(result.applied == ["name"])
        #expect(result.state.fields["name"] == "Acme")
        #expect(result.state.versions["name"] == SourceVersion(millis: 10))
        #expect(result.verdict == .applied)
    }

    @Test func dropsOlderChangesAsStale() {
        let governor = Governor(ownership: .init())
        let newer = governor.govern(change(["name": "New"], at: 20), from: "stripe", onto: nil).state
        let result = governor.govern(change(["name": "Old"], at: 10), from: "stripe", onto: newer)
        #expect(result.stale == ["name"])
        #expect(result.state.fields["name"] == "New")
        #expect(result.verdict == .stale)
    }

    @Test func equalValueIsAnEchoAndStillAdvancesTheVersion() {
        let governor = Governor(ownership: .init())
        let first = governor.govern(change(["name": "Acme"], at: 10), from: "stripe", onto: nil).state
        let echo = governor.govern(change(["name": "Acme"], at: 30), from: "stripe", onto: first)
        #expect(echo.verdict == .echo)
        #expect(echo.applied.isEmpty)
        // A change stamped between the two is now stale, not applied.
        let late = governor.govern(change(["name": "Between"], at: 20), from: "stripe", onto: echo.state)
        #expect(late.verdict == .stale)
    }

    @Test func dropsFieldsTheSourceDoesNotOwn() {
        let rules = OwnershipRules(owners: ["customer.address": "odoo", "customer.name": "stripe"])
        let result = Governor(ownership: rules).govern(
            change(["name": "Acme", "address": ["city": "Porto"]], at: 10), from: "stripe", onto: nil)
        #expect(result.applied == ["name"])
        #expect(result.unowned == ["address"])
        #expect(result.state.fields["address"] == nil)
    }

    @Test func aNonOwnerShowingTheOwnersValueIsAnEchoNotAnEdit() {
        let rules = OwnershipRules(owners: ["account.name": "hubspot", "account.taxID": "odoo"])
        let governor = Governor(ownership: rules)
        let account = ExternalRef(system: "hubspot", kind: .account, id: "7")
        let fromCRM = governor.govern(
            CanonicalChange(ref: account, fields: ["name": "Acme"], version: .init(millis: 10)), from: "hubspot", onto: nil)
        // Odoo reads back the name Weft wrote there, with its own VAT: the name is an echo, the VAT applies.
        let fromERP = governor.govern(
            CanonicalChange(ref: account, fields: ["name": "Acme", "taxID": "BE1"], version: .init(millis: 20)), from: "odoo",
            onto: fromCRM.state)
        #expect(fromERP.applied == ["taxID"])
        #expect(fromERP.unchanged == ["name"])
        #expect(fromERP.unowned.isEmpty)
        // An Odoo user renaming the company is a non-owner's edit: dropped and counted.
        let renamed = governor.govern(
            CanonicalChange(ref: account, fields: ["name": "Acme SA", "taxID": "BE1"], version: .init(millis: 30)),
            from: "odoo", onto: fromERP.state)
        #expect(renamed.unowned == ["name"])
        #expect(renamed.verdict == .unowned)
        #expect(renamed.state.fields["name"] == "Acme")
    }

    @Test func ordinalBreaksTiesWithinOneInstant() {
        let invoice = ExternalRef(system: "stripe", kind: .invoice, id: "in_1")
        let governor = Governor(ownership: .init())
        let paid = CanonicalChange(
            ref: invoice, fields: ["status": "paid"], version: .init(millis: 1000),
            fieldOrdinals: ["status": InvoiceStatus.paid.rank])
        let open = CanonicalChange(
            ref: invoice, fields: ["status": "open"], version: .init(millis: 1000),
            fieldOrdinals: ["status": InvoiceStatus.open.rank])
        let afterPaid = governor.govern(paid, from: "stripe", onto: nil).state
        let late = governor.govern(open, from: "stripe", onto: afterPaid)
        #expect(late.verdict == .stale)
        #expect(late.state.fields["status"] == "paid")
    }

    /// Two changes of one field at the same version, each naming the value it replaced: the one that replaced the
    /// other's value is the newer, in either arrival order. Without a replaced value, or across sources, a tie is still
    /// decided by arrival.
    @Test func ofTwoChangesOfOneInstantTheOneThatReplacedTheOthersValueWins() {
        let governor = Governor(ownership: .init())
        let start = governor.govern(change(["email": "a@example.com"], at: 1000), from: "stripe", onto: nil).state
        var first = change(["email": "b@example.com"], at: 2000)
        first.replaced = ["email": "a@example.com"]
        var second = change(["email": "c@example.com"], at: 2000)
        second.replaced = ["email": "b@example.com"]

        let inOrder = governor.govern(second, from: "stripe", onto: governor.govern(first, from: "stripe", onto: start).state)
        #expect(inOrder.applied == ["email"])
        #expect(inOrder.state.fields["email"] == "c@example.com")

        let reversed = governor.govern(first, from: "stripe", onto: governor.govern(second, from: "stripe", onto: start).state)
        #expect(reversed.stale == ["email"])
        #expect(reversed.state.fields["email"] == "c@example.com")

        // Without what it replaced, the later arrival wins the tie, as before.
        let plain = change(["email": "b@example.com"], at: 2000)
        let byArrival = governor.govern(plain, from: "stripe", onto: governor.govern(second, from: "stripe", onto: start).state)
        #expect(byArrival.state.fields["email"] == "b@example.com")

        // The value held was set by another source at the same instant: nothing says which came first.
        let other = governor.govern(change(["email": "z@example.com"], at: 2000), from: "odoo", onto: start).state
        #expect(governor.govern(first, from: "stripe", onto: other).state.fields["email"] == "b@example.com")
    }
}
