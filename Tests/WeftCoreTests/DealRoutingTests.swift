import Foundation
import Testing
import WeftCore

@Suite("Deals: requirements and routing to orders")
struct DealRoutingTests {
    let flows = [Flow(name: "deals_to_erp", source: "hubspot", target: "odoo")]
    let dealRef = ExternalRef(system: "hubspot", kind: .deal, id: "42")
    let accountRef = ExternalRef(system: "hubspot", kind: .account, id: "7")

    func completeDeal(won: Bool = true) -> Deal {
        Deal(
            ref: dealRef, name: "Acme expansion", stage: won ? "closedwon" : "qualifiedtobuy", won: won,
            amount: Money(amountMinor: 90_000, currency: CurrencyCode(rawValue: "EUR")!), closeDate: "2026-11-30",
            account: Customer(ref: accountRef, name: "Acme", address: PostalAddress(country: "DE")),
            lines: [DealLine(id: "1", sku: "SKU-PRO", name: "Pro", quantity: 2, unitAmountMinor: 45_000)])
    }

    func apply(_ aggregate: inout Aggregate, _ deal: Deal, at millis: Int64) {
        let change = CanonicalChange(ref: deal.ref, fields: deal.changeFields, version: .init(millis: millis))
        aggregate.records[deal.ref.description] =
            Governor(ownership: .init()).govern(change, from: "hubspot", onto: aggregate.record(deal.ref)).state
    }

    @Test func aCompleteDealMeetsTheDefaultRequirements() {
        #expect(DealRequirements().problems(of: completeDeal()).isEmpty)
    }

    @Test func eachMissingRequirementIsNamedWithWhatToFix() {
        var deal = completeDeal()
        deal.amount = nil
        deal.closeDate = nil
        deal.lines = [DealLine(id: "1", name: "Pro", quantity: 0)]
        deal.account = Customer(ref: accountRef, name: "Acme")
        let all = DealRequirements(required: Set(DealRequirements.Requirement.allCases))
        let problems = all.problems(of: deal)
        #expect(problems.count == 6)
        #expect(problems[0].contains("no amount"))
        #expect(problems[1].contains("no close date"))
        #expect(problems.contains("line Pro has no SKU: pick a product that has one"))
        #expect(problems.contains { $0.contains("quantity 0") })
        #expect(problems.contains { $0.contains("no country") })
        #expect(problems.contains { $0.contains("no contact with an email") })
        // Not required, not checked.
        #expect(DealRequirements(required: [.closeDate]).problems(of: deal).count == 1)
        deal.lines = []
        #expect(DealRequirements(required: [.lines]).problems(of: deal) == ["the deal has no line items: add at least one product"])
    }

    @Test func aWonCompleteDealIsOneOrderAndAnUnchangedRereadEmitsNothing() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = Aggregate()
        apply(&aggregate, completeDeal(won: false), at: 1)
        #expect(router.route(entityKey: .of(dealRef), aggregate: &aggregate, source: "hubspot").isEmpty)
        apply(&aggregate, completeDeal(), at: 2)
        let commands = router.route(entityKey: .of(dealRef), aggregate: &aggregate, source: "hubspot")
        #expect(commands.map(\.payload.kind) == ["upsert_order"])
        #expect(commands.first?.target == "odoo")
        #expect(commands.first?.payload.subject == dealRef)
        apply(&aggregate, completeDeal(), at: 3)
        #expect(router.route(entityKey: .of(dealRef), aggregate: &aggregate, source: "hubspot").isEmpty)
    }

    @Test func anIncompleteWonDealIsAnExceptionUntilFixedThenAnOrder() {
        let router = CommandRouter(flows: flows, ownership: .init())
        var aggregate = Aggregate()
        var deal = completeDeal()
        deal.lines = [DealLine(id: "1", name: "Pro", quantity: 2)]
        apply(&aggregate, deal, at: 1)
        #expect(router.route(entityKey: .of(dealRef), aggregate: &aggregate, source: "hubspot").isEmpty)
        let open = router.incompleteDeals(in: aggregate)
        #expect(open.count == 1)
        #expect(open.first?.problems == ["line Pro has no SKU: pick a product that has one"])
        deal.lines = [DealLine(id: "1", sku: "SKU-PRO", name: "Pro", quantity: 2)]
        apply(&aggregate, deal, at: 2)
        #expect(router.incompleteDeals(in: aggregate).isEmpty)
        #expect(router.route(entityKey: .of(dealRef), aggregate: &aggregate, source: "hubspot").map(\.payload.kind) == ["upsert_order"])
    }

    @Test func requirementsAreTheDealsCRMsAndDeletedOrLostDealsAreNoExceptions() {
        let router = CommandRouter(flows: flows, ownership: .init(), dealRequirements: ["hubspot": DealRequirements(required: [])])
        var aggregate = Aggregate()
        var deal = completeDeal()
        deal.amount = nil
        apply(&aggregate, deal, at: 1)
        #expect(router.incompleteDeals(in: aggregate).isEmpty)
        #expect(router.route(entityKey: .of(dealRef), aggregate: &aggregate, source: "hubspot").count == 1)
        let strict = CommandRouter(flows: flows, ownership: .init())
        deal.deleted = true
        apply(&aggregate, deal, at: 2)
        #expect(strict.incompleteDeals(in: aggregate).isEmpty)
        deal.deleted = nil
        deal.won = false
        apply(&aggregate, deal, at: 3)
        #expect(strict.incompleteDeals(in: aggregate).isEmpty)
    }
}
