import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import WeftCore
import WeftRuntime
import WeftSimKit
import WeftTools

@testable import WeftServer

/// `GET /v1/entitlements/{system}/{id}` over real HTTP: derived from what the pipeline stored, following a failed and
/// then a recovered payment, answering while Odoo is down, and refusing what it cannot answer.
@Suite("Entitlement lookup")
struct EntitlementLookupTests {
    static let rules = EntitlementRules(
        tiers: [.init(name: "pro", rank: 1, products: ["prod_weft_pro"], supportLevel: "priority")], graceDays: 7)

    /// Status code, decoded body (when 200) and the error code (otherwise).
    func lookup(_ node: TestNode, _ path: String, token: String? = TestNode.adminToken) async throws
        -> (status: UInt, view: EntitlementView?, code: String?)
    {
        var request = HTTPClientRequest(url: "\(node.weftURL)/v1/entitlements/\(path)")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        guard response.status == .ok else {
            let code = (try? JSONValue.parse(body))?["error"]?["code"]?.stringValue
            return (response.status.code, nil, code)
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return (200, try decoder.decode(EntitlementView.self, from: body), nil)
    }

    @Test func followsAFailedThenRecoveredPaymentAndAnswersWhileOdooIsDown() async throws {
        try await TestNode.with(entitlements: Self.rules) { node in
            let factory = StripeEventFactory(prefix: "N")
            let t: Int64 = 1_750_000_000
            let customer = "cus_N1"
            let failed = [
                factory.customerCreated(customer, name: "Customer N1", email: "n1@example.com", at: t),
                factory.subscription(
                    "sub_N1", customer: customer, status: "active", product: "prod_weft_pro", price: "price_weft_pro",
                    amount: 2500, periodEnd: t + 30 * 86_400, at: t + 1),
                factory.invoice("in_N1", customer: customer, status: "open", amount: 2500, type: "invoice.finalized", at: t + 2),
                factory.invoice(
                    "in_N1", customer: customer, status: "open", amount: 2500, type: "invoice.payment_failed", at: t + 3,
                    attempt: 1),
            ]
            #expect(await node.send(failed).abandoned.isEmpty)
            _ = try await node.drain()

            // Odoo is down: the lookup never calls it.
            node.faults.set(.init(outageSeconds: 600))
            let pastDue = try await lookup(node, "stripe/\(customer)")
            #expect(pastDue.status == 200)
            let view = try #require(pastDue.view)
            #expect(view.account == "stripe/customer/\(customer)")
            #expect(view.status == "past_due")
            #expect(view.tier == "pro")
            #expect(view.standing.state == "overdue")
            #expect(view.standing.overdueAmountMinor == 2500)
            #expect(view.standing.overdueCurrency == "USD")
            #expect(view.standing.overdueSince == Date(timeIntervalSince1970: Double(t + 3)))
            // The failure is more than seven days old: past the grace period, support dropped to the default.
            #expect(view.supportLevel == "basic")
            #expect(view.contractEnd == Date(timeIntervalSince1970: Double(t + 30 * 86_400)))
            #expect(view.subscription == "stripe/subscription/sub_N1")
            #expect(view.asOf == Date(timeIntervalSince1970: Double(t + 3)))
            // Stripe is not read on a schedule here: Weft cannot tell silence from an outage and does not claim either.
            #expect(view.stale == false && view.sourceReachedAt == nil)
            node.faults.clear()

            // The same account by its Odoo partner's id (the binding Weft recorded when it delivered the partner).
            let partners = try await node.odooRead(
                "res.partner", .array([.array([.string("ref"), .string("="), .string("stripe_customer_\(customer)")])]), fields: ["id"])
            let partnerID = try #require(partners.first?.objectValue?["id"]?.intValue)
            let byPartner = try #require(try await lookup(node, "odoo/\(partnerID)").view)
            #expect(byPartner.account == "stripe/customer/\(customer)")
            #expect(byPartner.status == "past_due")

            let paid = factory.invoice("in_N1", customer: customer, status: "paid", amount: 2500, type: "invoice.paid", at: t + 4)
            #expect(await node.send([paid]).abandoned.isEmpty)
            _ = try await node.drain()
            let recovered = try #require(try await lookup(node, "stripe/\(customer)").view)
            #expect(recovered.status == "active")
            #expect(recovered.standing.state == "good")
            #expect(recovered.supportLevel == "priority")
        }
    }

    @Test func refusesWhatItCannotAnswer() async throws {
        try await TestNode.with(entitlements: Self.rules) { node in
            let unknown = try await lookup(node, "stripe/cus_nobody")
            #expect(unknown.status == 404 && unknown.code == "unknown_account")
            let notBilling = try await lookup(node, "hubspot/42")
            #expect(notBilling.status == 404 && notBilling.code == "unknown_system")
            // Odoo partners are bound to accounts once delivered; this one is not.
            let unboundPartner = try await lookup(node, "odoo/999999")
            #expect(unboundPartner.status == 404 && unboundPartner.code == "unknown_account")
            let anonymous = try await lookup(node, "stripe/cus_nobody", token: nil)
            #expect(anonymous.status == 401)
            let wrongToken = try await lookup(node, "stripe/cus_nobody", token: "not-the-token")
            #expect(wrongToken.status == 401)
        }
    }

    /// With catch-up on, the lookup says when Stripe was last reached and is stale past the threshold; here Stripe's
    /// address refuses connections, so the scheduled read never succeeds until the test records one.
    @Test func isStaleWhileTheBillingPlatformCannotBeReached() async throws {
        var rules = Self.rules
        rules.staleAfterSeconds = 600
        try await TestNode.with(entitlements: rules, stripeCatchUpURL: "http://127.0.0.1:1") { node in
            let factory = StripeEventFactory(prefix: "S")
            #expect(
                await node.send([factory.customerCreated("cus_S1", name: "S1", email: "s1@example.com", at: 1_750_000_000)]).abandoned
                    .isEmpty)
            _ = try await node.drain()
            let never = try #require(try await lookup(node, "stripe/cus_S1").view)
            #expect(never.stale && never.sourceReachedAt == nil)
            #expect(never.status == "none")

            // A reach recorded in the store before this process knew any (another run's catch-up): read from there.
            let longAgo = Date().addingTimeInterval(-601)
            try await node.store.setCursor(CatchUpService.reachedCursorName("stripe"), to: String(StoreInstant.millis(longAgo)))
            let old = try #require(try await lookup(node, "stripe/cus_S1").view)
            #expect(old.stale)
            #expect(old.sourceReachedAt.map { abs($0.timeIntervalSince(longAgo)) < 1 } == true)  // ISO 8601 in whole seconds
            #expect(try #require(try await lookup(node, "stripe/cus_S1").view).stale)

            // Then a catch-up reaches Stripe: it stores the cursor and tells the node, as `CatchUpService` does.
            let reached = Date().addingTimeInterval(-60)
            try await node.store.setCursor(CatchUpService.reachedCursorName("stripe"), to: String(StoreInstant.millis(reached)))
            node.node.entitlementCache.reached("stripe", at: reached)
            let fresh = try #require(try await lookup(node, "stripe/cus_S1").view)
            #expect(!fresh.stale)
            #expect(fresh.sourceReachedAt.map { abs($0.timeIntervalSince(reached)) < 1 } == true)
        }
    }
}
