import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimKit
import WeftSimStripe

/// The demo's script: each chapter changes something in Stripe (or, in the last chapters, HubSpot), waits for Weft to
/// carry it to Odoo and the desks, and says what changed where. Checks are collected; the demo fails if any did not hold.
struct DemoStory: Sendable {
    let stripe: StripeSimulator
    let odoo: OdooProbe
    let odooFaults: FaultInjector
    let node: WeftNode
    let desks: DeskProbe
    let crm: CRMProbe
    let say: @Sendable (String) -> Void

    final class Checks: @unchecked Sendable {
        var failures: [String] = []
        var passed = 0
    }

    func tell() async -> [String] {
        let checks = Checks()
        do {
            try await chapters(checks)
        } catch {
            checks.failures.append("the story stopped: \(error)")
        }
        say("\n== Consistency summary")
        do {
            let stats = try await node.store.stats(now: Date())
            let pending = (stats.eventsByStatus[.pending] ?? 0) + (stats.eventsByStatus[.processing] ?? 0)
            check(checks, pending == 0, "every accepted event processed (\(stats.eventsByStatus[.done] ?? 0) done, \(pending) pending)")
            check(checks, (stats.eventsByStatus[.failed] ?? 0) == 0, "no event failed")
            check(checks, stats.deadCommandsByKind.isEmpty, "no dead letters (\(stats.deadCommandsByKind))")
            let delivered = stats.commandsByTarget["odoo"]?[.delivered] ?? 0
            say("   Weft delivered \(delivered) commands to Odoo")
        } catch {
            checks.failures.append("cannot read Weft's store: \(error)")
        }
        say(checks.failures.isEmpty ? "\nAll \(checks.passed) checks held." : "\n\(checks.failures.count) check(s) failed:")
        for failure in checks.failures { say("   ✗ \(failure)") }
        return checks.failures
    }

    func check(_ checks: Checks, _ condition: Bool, _ text: String) {
        if condition {
            checks.passed += 1
            say("   ✓ \(text)")
        } else {
            checks.failures.append(text)
            say("   ✗ \(text)")
        }
    }

    /// Calls the Stripe simulator's API; throws on an error status.
    @discardableResult
    func stripeCall(_ method: String, _ path: String, _ parameters: [(String, String)] = []) throws -> JSONValue {
        let result = stripe.call(method, path, parameters: parameters)
        let body = (try? JSONValue.parse(Data(result.body))) ?? .null
        guard (200..<300).contains(result.status) else {
            throw HarnessError("Stripe \(method) \(path) answered \(result.status): \(body["error"]?["message"]?.stringValue ?? "")")
        }
        return body
    }

    /// Polls until `condition` holds (at most 30 s).
    func eventually(_ condition: @Sendable () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    func partner(named name: String) async throws -> JSONValue? {
        try await odoo.read("res.partner", [["name", "=", .string(name)]], ["id", "name", "email", "category_id", "ref"]).first
    }

    func pastDueTagged(_ name: String) async throws -> Bool {
        try await odoo.count("res.partner", [["name", "=", .string(name)], ["category_id.name", "=", "Past due"]]) == 1
    }

    func chapters(_ checks: Checks) async throws {
        say("\n== 1. A new customer signs up in Stripe")
        let customer = try stripeCall("POST", "/v1/customers", [("name", "Ada Lovelace Ltd"), ("email", "ada@example.com")])
        let customerID = customer["id"]?.stringValue ?? ""
        say("   Stripe: customer \(customerID) created")
        let created = try await eventually { try await partner(named: "Ada Lovelace Ltd") != nil }
        check(checks, created, "Odoo: res.partner 'Ada Lovelace Ltd' exists")

        say("\n== 2. They subscribe; Stripe invoices and charges them")
        let product = try stripeCall("POST", "/v1/products", [("name", "Weft Cloud")])
        let price = try stripeCall(
            "POST", "/v1/prices",
            [("product", product["id"]?.stringValue ?? ""), ("unit_amount", "4900"), ("currency", "usd"), ("recurring[interval]", "month")])
        let subscription = try stripeCall(
            "POST", "/v1/subscriptions",
            [("customer", customerID), ("items[0][price]", price["id"]?.stringValue ?? ""), ("default_payment_method", "pm_card_visa")])
        say(
            "   Stripe: subscription \(subscription["id"]?.stringValue ?? "?") \(subscription["status"]?.stringValue ?? "?"), first invoice paid"
        )
        let paid = try await eventually {
            try await odoo.count(
                "account.move",
                [
                    ["move_type", "=", "out_invoice"], ["partner_id.name", "=", "Ada Lovelace Ltd"],
                    ["payment_state", "in", ["paid", "in_payment"]],
                ]) == 1
        }
        check(checks, paid, "Odoo: one posted customer invoice for Ada, payment_state paid (in_payment with Odoo Accounting)")

        say("\n== 3. The next payment fails, then the card is updated and it succeeds")
        stripe.forcePaymentMethod("pm_card_chargeDeclined", forCustomer: customerID)
        try stripeCall(
            "POST", "/v1/invoiceitems", [("customer", customerID), ("amount", "1500"), ("currency", "usd"), ("description", "Extra seats")])
        let invoice = try stripeCall("POST", "/v1/invoices", [("customer", customerID), ("pending_invoice_items_behavior", "include")])
        let invoiceID = invoice["id"]?.stringValue ?? ""
        try stripeCall("POST", "/v1/invoices/\(invoiceID)/finalize")
        let failed = stripe.call("POST", "/v1/invoices/\(invoiceID)/pay")
        say("   Stripe: invoice \(invoiceID) payment declined (HTTP \(failed.status))")
        let pastDue = try await eventually { try await pastDueTagged("Ada Lovelace Ltd") }
        check(checks, pastDue, "Odoo: Ada is tagged 'Past due'")
        stripe.forcePaymentMethod(nil, forCustomer: customerID)
        try stripeCall("POST", "/v1/invoices/\(invoiceID)/pay", [("payment_method", "pm_card_visa")])
        say("   Stripe: invoice \(invoiceID) paid with a new card")
        let cleared = try await eventually { try await !pastDueTagged("Ada Lovelace Ltd") }
        check(checks, cleared, "Odoo: the 'Past due' tag is gone")
        let bothPaid = try await eventually {
            try await odoo.count(
                "account.move",
                [
                    ["move_type", "=", "out_invoice"], ["partner_id.name", "=", "Ada Lovelace Ltd"],
                    ["payment_state", "in", ["paid", "in_payment"]],
                ]) == 2
        }
        check(checks, bothPaid, "Odoo: both invoices paid, each registered once")

        say("\n== 4. Support refunds part of the first charge, and credits an invoice before it is paid")
        let charges = try stripeCall("GET", "/v1/charges", [("customer", customerID), ("limit", "10")])
        let firstCharge = charges["data"]?.arrayValue?.last?["id"]?.stringValue ?? ""
        let refund = try stripeCall("POST", "/v1/refunds", [("charge", firstCharge), ("amount", "1000")])
        say("   Stripe: refund \(refund["id"]?.stringValue ?? "?") of 10.00 USD on \(firstCharge)")
        let credited = try await eventually {
            try await odoo.count(
                "account.move",
                [
                    ["move_type", "=", "out_refund"], ["partner_id.name", "=", "Ada Lovelace Ltd"], ["state", "=", "posted"],
                    ["payment_state", "in", ["paid", "in_payment"]],
                ]) == 1
        }
        check(checks, credited, "Odoo: one posted credit note for Ada, settled by the money paid back")
        try stripeCall(
            "POST", "/v1/invoiceitems", [("customer", customerID), ("amount", "2000"), ("currency", "usd"), ("description", "Training")])
        let training = try stripeCall("POST", "/v1/invoices", [("customer", customerID), ("pending_invoice_items_behavior", "include")])
        let trainingID = training["id"]?.stringValue ?? ""
        try stripeCall("POST", "/v1/invoices/\(trainingID)/finalize")
        let note = try stripeCall("POST", "/v1/credit_notes", [("invoice", trainingID), ("amount", "500"), ("reason", "order_change")])
        say("   Stripe: credit note \(note["number"]?.stringValue ?? "?") takes 5.00 off invoice \(trainingID) before it is paid")
        let adjusted = try await eventually {
            try await odoo.count(
                "account.move",
                [
                    ["move_type", "=", "out_invoice"], ["partner_id.name", "=", "Ada Lovelace Ltd"], ["amount_total", "=", 20],
                    ["payment_state", "=", "partial"],
                ]) == 1
        }
        check(checks, adjusted, "Odoo: the 20.00 invoice is posted with the 5.00 credit note applied to it")
        try stripeCall("POST", "/v1/invoices/\(trainingID)/pay", [("payment_method", "pm_card_visa")])
        say("   Stripe: invoice \(trainingID) paid: 15.00 charged")
        let settledByBoth = try await eventually {
            try await odoo.count(
                "account.move",
                [
                    ["move_type", "=", "out_invoice"], ["partner_id.name", "=", "Ada Lovelace Ltd"], ["amount_total", "=", 20],
                    ["payment_state", "in", ["paid", "in_payment"]],
                ]) == 1
        }
        check(checks, settledByBoth, "Odoo: that invoice is paid by the 15.00 charge and the credit note together")

        say("\n== 5. Stripe delivers every webhook twice")
        stripe.setWebhookFaults(WebhookFaultPlan(duplicateRate: 1))
        try stripeCall("POST", "/v1/customers/\(customerID)", [("name", "Ada Lovelace & Co")])
        let renamed = try await eventually { try await partner(named: "Ada Lovelace & Co") != nil }
        check(checks, renamed, "Odoo: the partner was renamed")
        let onePartner = try await odoo.count("res.partner", [["name", "=like", "Ada Lovelace%"]]) == 1
        check(checks, onePartner, "Odoo: still exactly one partner for Ada (duplicates stored once)")

        say("\n== 6. Stripe delivers webhooks out of order")
        stripe.setWebhookFaults(WebhookFaultPlan(reorderWindow: 3))
        try stripeCall("POST", "/v1/customers/\(customerID)", [("email", "ada@lovelace.example")])
        try stripeCall("POST", "/v1/customers/\(customerID)", [("email", "billing@lovelace.example")])
        try stripeCall("POST", "/v1/customers/\(customerID)", [("phone", "+44 20 7946 0000")])
        stripe.setWebhookFaults(WebhookFaultPlan())
        let newest = try await eventually {
            try await partner(named: "Ada Lovelace & Co")?["email"]?.stringValue == "billing@lovelace.example"
        }
        check(checks, newest, "Odoo: the newest email won (older changes arriving late were dropped as stale)")

        say("\n== 7. Odoo is down for three seconds")
        odooFaults.set(FaultPlan(outageSeconds: 3))
        try stripeCall("POST", "/v1/customers/\(customerID)", [("name", "Ada Lovelace Group")])
        let opened = try await eventually {
            node.dispatchers["odoo"].map { if case .closed = $0.breakerState { false } else { true } } ?? false
        }
        check(checks, opened, "Weft: the breaker to Odoo opened; the change waits in the outbox")
        let recovered = try await eventually { try await partner(named: "Ada Lovelace Group") != nil }
        check(checks, recovered, "Odoo: the change arrived after the outage (nothing lost)")
        odooFaults.clear()

        say("\n== 8. Catch-up: a webhook that never arrives")
        stripe.pauseDeliveries()
        let late = try stripeCall("POST", "/v1/customers", [("name", "Grace Hopper Inc"), ("email", "grace@example.com")])
        say("   Stripe: customer \(late["id"]?.stringValue ?? "?") created while webhooks are paused")
        let caughtUp = try await eventually { try await partner(named: "Grace Hopper Inc") != nil }
        check(checks, caughtUp, "Odoo: Grace arrived through /v1/events catch-up")
        stripe.resumeDeliveries()
        await stripe.waitUntilDeliveriesSettled()
        let settled = try await eventually {
            let stats = try await node.store.stats(now: Date())
            let events: Int = (stats.eventsByStatus[.pending] ?? 0) + (stats.eventsByStatus[.processing] ?? 0)
            let odoo: [CommandStatus: Int] = stats.commandsByTarget["odoo"] ?? [:]
            let commands: Int = (odoo[.pending] ?? 0) + (odoo[.inFlight] ?? 0)
            return events + commands == 0
        }
        check(checks, settled, "Weft: queues drained")
        let oneGrace = try await odoo.count("res.partner", [["name", "=", "Grace Hopper Inc"]]) == 1
        check(checks, oneGrace, "Odoo: exactly one partner for Grace (the late webhook was a duplicate)")

        try await supportChapter(checks, customerID: customerID)
        try await crmChapter(checks)
    }

    /// Support desks: Zendesk and Freshdesk show each account's entitlement; dunning reaches them in the same pass
    /// as Odoo; the lookup answers by the desks' own ids, even while Odoo and Stripe are down.
    func supportChapter(_ checks: Checks, customerID: String) async throws {
        let account = "stripe_customer_\(customerID)"
        say("\n== 9. Support desks: Zendesk and Freshdesk show Ada's entitlement")
        let organized = try await eventually { try await desks.organization(account)?["weft_standing"]?.stringValue == "good" }
        check(checks, organized, "Zendesk: an organization for Ada, standing good, status active")
        let companied = try await eventually { try await desks.company(account)?["weft_standing"]?.stringValue == "good" }
        check(checks, companied, "Freshdesk: a company for Ada with the same fields")

        say("\n== 10. Dunning reaches every desk: a payment fails, then recovers")
        stripe.forcePaymentMethod("pm_card_chargeDeclined", forCustomer: customerID)
        try stripeCall(
            "POST", "/v1/invoiceitems",
            [("customer", customerID), ("amount", "2500"), ("currency", "usd"), ("description", "Support plan")])
        let invoice = try stripeCall("POST", "/v1/invoices", [("customer", customerID), ("pending_invoice_items_behavior", "include")])
        let invoiceID = invoice["id"]?.stringValue ?? ""
        try stripeCall("POST", "/v1/invoices/\(invoiceID)/finalize")
        _ = stripe.call("POST", "/v1/invoices/\(invoiceID)/pay")
        say("   Stripe: invoice \(invoiceID) of 25.00 USD declined")
        let zendeskOverdue = try await eventually {
            try await desks.organization(account)?["weft_overdue_amount"]?.stringValue == "25.00 USD"
        }
        check(checks, zendeskOverdue, "Zendesk: Ada is overdue by 25.00 USD, status past_due")
        let freshdeskOverdue = try await eventually {
            try await desks.company(account)?["weft_standing"]?.stringValue == "overdue"
        }
        check(checks, freshdeskOverdue, "Freshdesk: Ada's company says overdue")
        // Odoo has its own dispatcher: its tag may land a moment after the desks' fields.
        let taggedAgain = try await eventually { try await pastDueTagged("Ada Lovelace Group") }
        check(checks, taggedAgain, "Odoo: Ada is tagged 'Past due' again")

        let organizationID = try await desks.organizationID(account) ?? 0
        say("   Odoo and Stripe go down; an agent looks Ada up by the Zendesk organization id \(organizationID)")
        odooFaults.set(FaultPlan(outageSeconds: 60))
        desks.stripeFaults.set(FaultPlan(outageSeconds: 60))
        let during = try await desks.lookup("zendesk/\(organizationID)")
        check(
            checks, during?["status"]?.stringValue == "past_due" && during?["account"]?.stringValue == "stripe/customer/\(customerID)",
            "Weft: GET /v1/entitlements/zendesk/\(organizationID) answers past_due with Odoo and Stripe down")
        odooFaults.clear()
        desks.stripeFaults.clear()

        stripe.forcePaymentMethod(nil, forCustomer: customerID)
        try stripeCall("POST", "/v1/invoices/\(invoiceID)/pay", [("payment_method", "pm_card_visa")])
        say("   Stripe: invoice \(invoiceID) paid with a new card")
        let zendeskGood = try await eventually {
            let fields = try await desks.organization(account)
            return fields?["weft_standing"]?.stringValue == "good" && fields?["weft_overdue_amount"] == .null
        }
        check(checks, zendeskGood, "Zendesk: standing good again, the overdue amount cleared")
        let freshdeskGood = try await eventually { try await desks.company(account)?["weft_standing"]?.stringValue == "good" }
        check(checks, freshdeskGood, "Freshdesk: standing good again")
        await stripe.waitUntilDeliveriesSettled()
        let settled = try await eventually {
            let stats = try await node.store.stats(now: Date())
            let events: Int = (stats.eventsByStatus[.pending] ?? 0) + (stats.eventsByStatus[.processing] ?? 0)
            let commands: Int = stats.commandsByTarget.values.reduce(0) { $0 + ($1[.pending] ?? 0) + ($1[.inFlight] ?? 0) }
            return events + commands == 0
        }
        check(checks, settled, "Weft: queues drained for Odoo and both desks")
        let oneOrganization = try await desks.organizationCount() == 2
        check(checks, oneOrganization, "Zendesk: one organization per account (Ada and Grace), however many updates")
    }
}

/// Reads the desks through their APIs and Weft's lookup, as an agent's tool would.
struct DeskProbe: Sendable {
    let http: HarnessHTTP
    let client: HTTPClient
    let weftURL: String
    let zendeskURL: String
    let freshdeskURL: String
    let stripeFaults: FaultInjector

    func get(_ url: String, authorization: String) async throws -> JSONValue {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: authorization)
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status.code == 200 else { throw HarnessError("GET \(url) answered \(response.status.code)") }
        return try JSONValue.parse(Data(body.readableBytesView))
    }

    var zendeskAuthorization: String { "Basic " + Data("weft@demo.example/token:\(Demo.zendeskToken)".utf8).base64EncodedString() }

    /// The organization fields of the account's Zendesk organization.
    func organization(_ account: String) async throws -> JSONValue? {
        try await get(
            "\(zendeskURL)/api/v2/organizations/search.json?external_id=\(account)", authorization: zendeskAuthorization
        )["organizations"]?[0]?["organization_fields"]
    }

    func organizationID(_ account: String) async throws -> Int64? {
        try await get(
            "\(zendeskURL)/api/v2/organizations/search.json?external_id=\(account)", authorization: zendeskAuthorization
        )["organizations"]?[0]?["id"]?.intValue
    }

    func organizationCount() async throws -> Int {
        try await get("\(zendeskURL)/api/v2/organizations.json?page[size]=100", authorization: zendeskAuthorization)[
            "organizations"]?.arrayValue?.count ?? 0
    }

    /// The custom fields of the account's Freshdesk company.
    func company(_ account: String) async throws -> JSONValue? {
        let companies = try await get(
            "\(freshdeskURL)/api/v2/companies?per_page=100",
            authorization: "Basic " + Data("\(Demo.freshdeskKey):X".utf8).base64EncodedString())
        return companies.arrayValue?.first { $0["custom_fields"]?["weft_account"]?.stringValue == account }?["custom_fields"]
    }

    /// Weft's entitlement lookup.
    func lookup(_ path: String) async throws -> JSONValue? {
        try await get("\(weftURL)/v1/entitlements/\(path)", authorization: "Bearer demo-admin")
    }
}
