import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimChargebee
import WeftSimKit
import WeftSimZendesk
import WeftTools

/// Chargebee end to end over real HTTP: the Chargebee simulator sends its webhooks (Basic auth) to a Weft node whose
/// Chargebee flows go to Odoo and to Zendesk; the same Odoo records and entitlements come out as for Stripe.
@Suite("Chargebee to Odoo and a desk end to end", .serialized)
struct ChargebeeEndToEndTests {
    static let apiKey = "cb_e2e_api_key"
    static let webhookUsername = "weft"
    static let webhookPassword = "cb-e2e-webhook-password"
    static let zendeskToken = "zd-cb-e2e-token"
    static let zendeskEmail = "weft@acme-desk.example"
    static let zendeskFields = DeskFieldMap(
        tier: "weft_tier", status: "weft_status", standing: "weft_standing", overdueAmount: "weft_overdue_amount")
    static let rules = EntitlementRules(
        tiers: [
            .init(name: "basic", rank: 1, prices: ["basic-USD-monthly"], supportLevel: "standard"),
            .init(name: "pro", rank: 2, prices: ["pro-USD-monthly"], supportLevel: "priority"),
        ], graceDays: 7)

    /// The simulated site's clock (unix seconds), moved by the tests.
    final class Clock: Sendable {
        private let seconds: Mutex<Int>
        init(daysAgo: Int) { seconds = Mutex(Int(Date().timeIntervalSince1970) - daysAgo * 86_400) }
        var now: Int { seconds.withLock { $0 } }
        func advance(_ by: Int) { seconds.withLock { $0 += by } }
    }

    /// A server whose routes are mounted once the Weft node is listening: the simulator's webhooks must name the
    /// node's URL, and the node's catch-up the simulator's, and both listen on port 0. Requests that come before the
    /// routes are mounted wait for them (503 if they never are).
    final class LateRoutes: Sendable {
        typealias Responder = RouterResponder<BasicRequestContext>
        private struct State {
            var responder: Responder?
            var closed = false
            var waiting: [CheckedContinuation<Responder?, Never>] = []
        }
        private let state = Mutex(State())

        func mount(_ router: Router<BasicRequestContext>) { release(router.buildResponder()) }

        /// Answers 503 from now on if nothing was mounted.
        func close() { release(nil) }

        private func release(_ responder: Responder?) {
            let waiting = state.withLock { state in
                if let responder { state.responder = responder }
                state.closed = true
                defer { state.waiting = [] }
                return state.waiting
            }
            for continuation in waiting { continuation.resume(returning: responder) }
        }

        private func responder() async -> Responder? {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> (Bool, Responder?) in
                    if state.closed { return (true, state.responder) }
                    state.waiting.append(continuation)
                    return (false, nil)
                }
                if ready.0 { continuation.resume(returning: ready.1) }
            }
        }

        var router: Router<BasicRequestContext> {
            let router = Router()
            for method in [HTTPRequest.Method.get, .post, .delete] {
                router.on("**", method: method) { request, context in
                    guard let responder = await self.responder() else { return Response(status: .serviceUnavailable) }
                    return try await responder.respond(to: request, context: context)
                }
            }
            return router
        }
    }

    struct Harness: Sendable {
        let node: TestNode
        let chargebee: ChargebeeSimulator
        let clock: Clock
        let zendesk: ZendeskSimulator
        let zendeskURL: String

        /// Waits until every webhook was answered and everything it caused was delivered.
        func settle() async throws {
            await chargebee.waitUntilDeliveriesSettled()
            _ = try await node.drain()
        }

        func post(_ path: String, _ parameters: [(String, String)] = []) throws -> JSONValue {
            let result = chargebee.call("POST", path, parameters: parameters)
            guard result.status == 200 else {
                throw HarnessError("POST \(path): \(result.status) \(String(decoding: result.body, as: UTF8.self))")
            }
            return try JSONValue.parse(Data(result.body))
        }

        /// A customer on `plan`, charged at once: (customer, subscription, first invoice).
        func subscribe(_ name: String, plan: String, autoCollection: Bool = true) throws -> (String, String, String) {
            let parts = name.split(separator: " ").map(String.init)
            let customer = try post(
                "/api/v2/customers",
                [
                    ("first_name", parts[0]), ("last_name", parts.dropFirst().joined(separator: " ")),
                    ("email", "billing@\(parts[0].lowercased()).example"), ("billing_address[line1]", "1 Main St"),
                    ("billing_address[city]", "London"), ("billing_address[country]", "GB"), ("preferred_currency_code", "USD"),
                ])
            let customerID = try #require(customer["customer"]?["id"]?.stringValue)
            let created = try post(
                "/api/v2/customers/\(customerID)/subscription_for_items", [("subscription_items[item_price_id][0]", plan)])
            return (
                customerID, try #require(created["subscription"]?["id"]?.stringValue),
                try #require(created["invoice"]?["id"]?.stringValue)
            )
        }

        func termLength(_ subscription: String) throws -> Int {
            let body = try JSONValue.parse(Data(chargebee.call("GET", "/api/v2/subscriptions/\(subscription)").body))
            let start = try #require(body["subscription"]?["current_term_start"]?.intValue)
            let end = try #require(body["subscription"]?["current_term_end"]?.intValue)
            return Int(end - start)
        }

        /// The entitlement as a support tool asks for it.
        func lookup(_ path: String) async throws -> (status: Int, body: JSONValue) {
            try await node.entitlementLookup(path)
        }

        /// The organisation Zendesk holds for a Chargebee customer.
        func organization(_ customer: String) throws -> JSONValue? {
            let answer = zendesk.call("GET", "/api/v2/organizations/search.json?external_id=chargebee_customer_\(customer)")
            return try answer.json()["organizations"]?.arrayValue?.first
        }

        /// The Odoo records Weft made for a Chargebee customer, found by the keys Weft gives them.
        func odoo(_ customer: String) async throws -> OdooView {
            let partners = try await node.odooRead(
                "res.partner", [["ref", "=", .string("chargebee_customer_\(customer)")]], fields: ["id", "name", "category_id"])
            let partnerID = partners.first?["id"]?.intValue ?? -1
            let invoices = try await node.odooRead(
                "account.move", [["partner_id", "=", .int(partnerID)], ["move_type", "=", "out_invoice"]],
                fields: ["ref", "state", "payment_state", "amount_total", "amount_residual"])
            let pastDue = try await node.odooCount(
                "res.partner", [["id", "=", .int(partnerID)], ["category_id.name", "=", "Past due"]])
            let creditNotes = try await node.odooRead(
                "account.move", [["partner_id", "=", .int(partnerID)], ["move_type", "=", "out_refund"]],
                fields: ["ref", "state", "payment_state", "amount_total", "amount_residual", "reversed_entry_id"])
            return OdooView(
                partners: partners.count, name: partners.first?["name"]?.stringValue, creditNotes: creditNotes,
                invoices: Dictionary(
                    invoices.compactMap { row in row["ref"]?.stringValue.map { ($0, row) } }, uniquingKeysWith: { first, _ in first }),
                invoiceCount: invoices.count,
                payments: try await node.odooCount(
                    "account.payment", [["partner_id", "=", .int(partnerID)], ["payment_type", "=", "inbound"]]),
                refunds: try await node.odooCount("account.move", [["move_type", "=", "out_refund"]]), pastDue: pastDue == 1)
        }
    }

    struct OdooView {
        var partners: Int
        var name: String?
        /// The partner's credit notes (`out_refund`).
        var creditNotes: [JSONValue]
        /// By `ref` (`chargebee_invoice_<id>`).
        var invoices: [String: JSONValue]
        var invoiceCount: Int
        var payments: Int
        var refunds: Int
        var pastDue: Bool

        func invoice(_ id: String) -> JSONValue? { invoices["chargebee_invoice_\(id)"] }
    }

    /// Starts Zendesk (with Weft's fields defined), a Chargebee site whose clock starts `daysAgo`, and a Weft node whose
    /// `chargebee` system flows to Odoo and Zendesk; the site's webhooks go to the node with Basic auth.
    static func withChargebee(
        daysAgo: Int = 1, faults: WebhookFaultPlan = .init(), odooAccounting: Bool = false,
        _ body: @Sendable @escaping (Harness) async throws -> Void
    ) async throws {
        let logger = Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() })
        let clock = Clock(daysAgo: daysAgo)
        let zendesk = ZendeskSimulator(configuration: .init(agentEmail: zendeskEmail, apiTokens: [zendeskToken], logger: logger))
        for key in zendeskFields.fieldNames {
            let created = zendesk.call(
                "POST", "/api/v2/organization_fields.json",
                body: #"{"organization_field":{"key":"\#(key)","type":"text","title":"\#(key)"}}"#)
            #expect(created.status == 201)
        }
        let zendeskRouter = Router()
        zendesk.addRoutes(to: zendeskRouter)
        let late = LateRoutes()
        try await SimulatorServer.withRunning(router: zendeskRouter, logger: logger) { zendeskPort in
            try await SimulatorServer.withRunning(router: late.router, logger: logger) { chargebeePort in
                let zendeskURL = "http://127.0.0.1:\(zendeskPort)"
                defer { late.close() }
                try await TestNode.with(
                    entitlements: rules,
                    extraSystems: [
                        "chargebee": .chargebee(
                            ChargebeeSystemConfiguration(
                                baseURL: "http://127.0.0.1:\(chargebeePort)", apiKey: .environment("CB_KEY"),
                                webhookUsername: webhookUsername, webhookPasswords: [.environment("CB_HOOK")],
                                catchUpInterval: .seconds(3600))),
                        "zendesk": .desk(
                            DeskSystemConfiguration(
                                kind: .zendesk, baseURL: zendeskURL, email: zendeskEmail, apiKey: .environment("ZD"),
                                fields: zendeskFields)),
                    ],
                    extraFlows: [
                        Flow(name: "chargebee_to_erp", source: "chargebee", target: "odoo"),
                        Flow(name: "chargebee_to_desk", source: "chargebee", target: "zendesk"),
                    ],
                    extraEnvironment: ["CB_KEY": apiKey, "CB_HOOK": webhookPassword, "ZD": zendeskToken],
                    odooAccounting: odooAccounting, logger: logger
                ) { node in
                    let chargebee = ChargebeeSimulator(
                        configuration: .init(
                            apiKeys: [apiKey],
                            catalog: [
                                .init(id: "basic-USD-monthly", itemID: "basic", name: "Basic", price: 1000),
                                .init(id: "pro-USD-monthly", itemID: "pro", name: "Pro", price: 3000),
                            ], idSeed: 31, now: { clock.now },
                            webhooks: .init(
                                endpoints: [
                                    .init(
                                        url: "\(node.weftURL)/hooks/chargebee", username: webhookUsername,
                                        password: webhookPassword)
                                ], faults: faults),
                            logger: logger))
                    let router = Router()
                    chargebee.addRoutes(to: router)
                    late.mount(router)
                    // The catch-up's first pass (at start, before any event exists) is over before the test begins.
                    try await waitUntil { try await node.store.cursor(CatchUpService.reachedCursorName("chargebee")) != nil }
                    try await withThrowingTaskGroup(of: Void.self) { tasks in
                        tasks.addTask { try await chargebee.runDelivery() }
                        defer { tasks.cancelAll() }
                        try await body(
                            Harness(node: node, chargebee: chargebee, clock: clock, zendesk: zendesk, zendeskURL: zendeskURL))
                    }
                }
            }
        }
    }

    @Test func aPaidSubscriptionLandsInOdooOnceEvenWithEveryWebhookSentTwice() async throws {
        try await Self.withChargebee(faults: WebhookFaultPlan(duplicateRate: 1)) { cb in
            let (customer, subscription, invoice) = try cb.subscribe("Ada Lovelace", plan: "pro-USD-monthly")
            try await cb.settle()

            // Every event was delivered twice and answered 200 both times; the inbox holds each once.
            let attempts = cb.chargebee.deliveryAttempts
            let distinct = Set(attempts.map(\.eventID))
            // customer_created, subscription_created, invoice_generated, payment_succeeded.
            #expect(distinct.count == 4)
            #expect(attempts.filter(\.isDuplicate).count == distinct.count)
            #expect(attempts.allSatisfy { $0.status == 200 })
            #expect(try await cb.node.store.listEvents(status: nil, limit: 100).count == distinct.count)

            let odoo = try await cb.odoo(customer)
            #expect(odoo.partners == 1)
            #expect(odoo.name == "Ada Lovelace")
            #expect(odoo.invoiceCount == 1)
            let booked = try #require(odoo.invoice(invoice))
            #expect(booked["state"]?.stringValue == "posted")
            #expect(booked["payment_state"]?.stringValue == "paid")
            #expect(booked["amount_total"]?.doubleValue == 30)
            #expect(odoo.payments == 1)
            #expect(!odoo.pastDue)

            let entitlement = try await cb.lookup("chargebee/\(customer)")
            #expect(entitlement.status == 200)
            #expect(entitlement.body["account"]?.stringValue == "chargebee/customer/\(customer)")
            #expect(entitlement.body["status"]?.stringValue == "active")
            #expect(entitlement.body["tier"]?.stringValue == "pro")
            #expect(entitlement.body["subscription"]?.stringValue == "chargebee/subscription/\(subscription)")
            let organization = try #require(try cb.organization(customer))
            #expect(organization["name"]?.stringValue == "Ada Lovelace")
            #expect(organization["organization_fields"]?["weft_tier"]?.stringValue == "pro")
            #expect(organization["organization_fields"]?["weft_standing"]?.stringValue == "good")
            // The same account by the Odoo partner's id.
            let partnerID = try #require(
                try await cb.node.odooRead(
                    "res.partner", [["ref", "=", .string("chargebee_customer_\(customer)")]], fields: ["id"]
                ).first?["id"]?.intValue)
            #expect(try await cb.lookup("odoo/\(partnerID)").body["account"]?.stringValue == "chargebee/customer/\(customer)")
        }
    }

    @Test func aFailedRenewalIsPastDueInOdooTheDeskAndTheLookupUntilTheRetrySucceeds() async throws {
        // The term starts 35 days ago, so the renewal falls a few days before now.
        try await Self.withChargebee(daysAgo: 35) { cb in
            let (customer, renewalInvoice) = try await Self.declinedRenewal(cb, "Grace Hopper")
            let failed = try await cb.odoo(customer)
            #expect(failed.pastDue)
            #expect(failed.invoiceCount == 2)
            #expect(failed.invoice(renewalInvoice)?["state"]?.stringValue == "posted")
            #expect(failed.invoice(renewalInvoice)?["payment_state"]?.stringValue == "not_paid")
            #expect(failed.payments == 1)
            let pastDue = try await cb.lookup("chargebee/\(customer)")
            #expect(pastDue.body["status"]?.stringValue == "past_due")
            #expect(pastDue.body["standing"]?["state"]?.stringValue == "overdue")
            #expect(pastDue.body["standing"]?["overdue_amount_minor"]?.intValue == 1000)
            #expect(pastDue.body["standing"]?["overdue_currency"]?.stringValue == "USD")
            let organization = try #require(try cb.organization(customer))
            #expect(organization["organization_fields"]?["weft_status"]?.stringValue == "past_due")
            #expect(organization["organization_fields"]?["weft_standing"]?.stringValue == "overdue")
            #expect(organization["organization_fields"]?["weft_overdue_amount"]?.stringValue == "10.00 USD")

            // The scheduled dunning retry charges the card again, successfully this time.
            cb.clock.advance(3 * 86_400)
            cb.chargebee.setPaymentOutcome(.succeed, forCustomer: customer)
            _ = try cb.post("/__sim/invoices/\(renewalInvoice)/dunning_retry")
            try await cb.settle()

            let recovered = try await cb.odoo(customer)
            #expect(!recovered.pastDue)
            #expect(recovered.partners == 1)
            #expect(recovered.invoice(renewalInvoice)?["payment_state"]?.stringValue == "paid")
            #expect(recovered.payments == 2)
            let good = try await cb.lookup("chargebee/\(customer)")
            #expect(good.body["status"]?.stringValue == "active")
            #expect(good.body["standing"]?["state"]?.stringValue == "good")
            let cleared = try #require(try cb.organization(customer))
            #expect(cleared["id"]?.intValue == organization["id"]?.intValue)
            #expect(cleared["organization_fields"]?["weft_standing"]?.stringValue == "good")
            #expect(cleared["organization_fields"]?["weft_overdue_amount"] == .null)
        }
    }

    /// Also against Odoo Accounting, whose card payment gets no journal entry: the invoice's residual stays whole, and
    /// the credit still settles only what the card did not pay.
    @Test(arguments: [false, true])
    func anUpgradeBooksTheProratedInvoiceNetOfTheCreditAndRaisesTheTier(odooAccounting: Bool) async throws {
        // Half way through a term that started 20 days ago: the upgrade falls a few days before now.
        try await Self.withChargebee(daysAgo: 20, odooAccounting: odooAccounting) { cb in
            let (customer, subscription, first) = try cb.subscribe("Alan Turing", plan: "basic-USD-monthly")
            try await cb.settle()
            #expect(try await cb.lookup("chargebee/\(customer)").body["tier"]?.stringValue == "basic")

            cb.clock.advance(try cb.termLength(subscription) / 2)
            let changed = try cb.post(
                "/api/v2/subscriptions/\(subscription)/update_for_items", [("subscription_items[item_price_id][0]", "pro-USD-monthly")])
            let upgrade = try #require(changed["invoice"]?["id"]?.stringValue)
            try await cb.settle()

            let odoo = try await cb.odoo(customer)
            #expect(odoo.partners == 1)
            #expect(odoo.invoiceCount == 2)
            #expect(odoo.invoice(first)?["amount_total"]?.doubleValue == 10)
            // As Chargebee books it: half of Pro (15.00) invoiced, the unused half of Basic (5.00) credited on a credit
            // note against the first invoice, and that credit taken off the upgrade invoice; the card paid 10.00.
            let prorated = try #require(odoo.invoice(upgrade))
            #expect(prorated["amount_total"]?.doubleValue == 15)
            #expect(prorated["state"]?.stringValue == "posted")
            #expect(prorated["payment_state"]?.stringValue == (odooAccounting ? "in_payment" : "paid"))
            // With Accounting the card's 10.00 is not reconciled yet: what is left is exactly that.
            #expect(prorated["amount_residual"]?.doubleValue == (odooAccounting ? 10 : 0))
            #expect(odoo.payments == 2)
            #expect(odoo.creditNotes.count == 1)
            let note = try #require(odoo.creditNotes.first)
            #expect(note["amount_total"]?.doubleValue == 5)
            #expect(note["state"]?.stringValue == "posted")
            // Used up by the upgrade invoice. Odoo 18/19 call a move settled only by moves of the opposite type
            // `reversed` (the captured wire: an invoice paid by another invoice's credit note).
            #expect(note["payment_state"]?.stringValue == "reversed")
            #expect(note["amount_residual"]?.doubleValue == 0)
            #expect(note["reversed_entry_id"]?[0]?.intValue == odoo.invoice(first)?["id"]?.intValue)
            let entitlement = try await cb.lookup("chargebee/\(customer)")
            #expect(entitlement.body["tier"]?.stringValue == "pro")
            #expect(entitlement.body["status"]?.stringValue == "active")
            #expect(try cb.organization(customer)?["organization_fields"]?["weft_tier"]?.stringValue == "pro")
        }
    }

    @Test func aDowngradeBooksACreditNoteThatTheNextRenewalUsesUp() async throws {
        try await Self.withChargebee(daysAgo: 20) { cb in
            let (customer, subscription, first) = try cb.subscribe("Grace Hopper", plan: "pro-USD-monthly")
            try await cb.settle()
            #expect(try await cb.lookup("chargebee/\(customer)").body["tier"]?.stringValue == "pro")

            cb.clock.advance(try cb.termLength(subscription) / 2)
            let changed = try cb.post(
                "/api/v2/subscriptions/\(subscription)/update_for_items", [("subscription_items[item_price_id][0]", "basic-USD-monthly")])
            #expect(changed["invoice"] == nil)
            let creditNote = try #require(changed["credit_notes"]?[0]?["id"]?.stringValue)
            try await cb.settle()

            // The unused half of Pro (15.00) less half of Basic (5.00) is kept as the customer's credit: a credit note
            // against the paid invoice, left open in Odoo (an outstanding credit), no money back.
            let downgraded = try await cb.odoo(customer)
            #expect(downgraded.invoiceCount == 1)
            #expect(downgraded.invoice(first)?["payment_state"]?.stringValue == "paid")
            #expect(downgraded.creditNotes.count == 1)
            let note = try #require(downgraded.creditNotes.first)
            let key = ExternalRef(system: "chargebee", kind: .refund, id: creditNote).xmlidName
            #expect(note["ref"]?.stringValue?.contains("[\(key)]") == true)
            #expect(note["amount_total"]?.doubleValue == 10)
            #expect(note["state"]?.stringValue == "posted")
            #expect(note["payment_state"]?.stringValue == "not_paid")
            #expect(note["amount_residual"]?.doubleValue == 10)
            #expect(downgraded.payments == 1)
            let entitlement = try await cb.lookup("chargebee/\(customer)")
            #expect(entitlement.body["tier"]?.stringValue == "basic")
            #expect(entitlement.body["support_level"]?.stringValue == "standard")
            #expect(try cb.organization(customer)?["organization_fields"]?["weft_tier"]?.stringValue == "basic")

            // The renewal bills Basic (10.00) and Chargebee pays it entirely from the credit: no charge.
            let renewal = cb.chargebee.renewSubscription(subscription)
            #expect(renewal.status == 200)
            let renewalInvoice = try #require(try JSONValue.parse(Data(renewal.body))["invoice"]?["id"]?.stringValue)
            try await cb.settle()
            let renewed = try await cb.odoo(customer)
            #expect(renewed.invoiceCount == 2)
            let booked = try #require(renewed.invoice(renewalInvoice))
            #expect(booked["amount_total"]?.doubleValue == 10)
            // Settled by the credit note alone: Odoo 18/19 show `reversed` (see the upgrade test).
            #expect(booked["payment_state"]?.stringValue == "reversed")
            #expect(renewed.payments == 1)
            #expect(renewed.creditNotes.count == 1)
            #expect(renewed.creditNotes.first?["payment_state"]?.stringValue == "reversed")
            #expect(renewed.creditNotes.first?["amount_residual"]?.doubleValue == 0)
            #expect(try await cb.lookup("chargebee/\(customer)").body["standing"]?["state"]?.stringValue == "good")
        }
    }

    /// A renewal whose card was declined: (customer, renewal invoice), past due everywhere.
    static func declinedRenewal(_ cb: Harness, _ name: String) async throws -> (String, String) {
        let (customer, subscription, _) = try cb.subscribe(name, plan: "basic-USD-monthly")
        try await cb.settle()
        #expect(try await cb.lookup("chargebee/\(customer)").body["status"]?.stringValue == "active")
        cb.chargebee.setPaymentOutcome(.decline, forCustomer: customer)
        cb.clock.advance(try cb.termLength(subscription))
        let renewal = cb.chargebee.renewSubscription(subscription)
        #expect(renewal.status == 200)
        let invoice = try #require(try JSONValue.parse(Data(renewal.body))["invoice"]?["id"]?.stringValue)
        try await cb.settle()
        #expect(try await cb.odoo(customer).pastDue)
        return (customer, invoice)
    }

    /// An adjustment credit note lowers what an unpaid invoice asks for. Odoo gets it applied to the open invoice at
    /// once (not once the invoice is paid, as a refund would be), and the dunning retry then pays only the rest.
    @Test func anAdjustmentCreditNoteLowersTheOpenInvoiceInOdooAndTheRetryPaysTheRest() async throws {
        try await Self.withChargebee(daysAgo: 35) { cb in
            let (customer, renewal) = try await Self.declinedRenewal(cb, "Grace Hopper")
            _ = try cb.post(
                "/api/v2/credit_notes",
                [("reference_invoice_id", renewal), ("type", "adjustment"), ("total", "400"), ("reason_code", "other")])
            try await cb.settle()

            let adjusted = try await cb.odoo(customer)
            let open = try #require(adjusted.invoice(renewal))
            #expect(open["amount_total"]?.doubleValue == 10)
            #expect(open["payment_state"]?.stringValue == "partial")
            #expect(open["amount_residual"]?.doubleValue == 6)
            #expect(adjusted.creditNotes.count == 1)
            #expect(adjusted.creditNotes.first?["amount_total"]?.doubleValue == 4)
            #expect(adjusted.creditNotes.first?["amount_residual"]?.doubleValue == 0)
            #expect(adjusted.pastDue)
            let standing = try await cb.lookup("chargebee/\(customer)").body["standing"]
            #expect(standing?["overdue_amount_minor"]?.intValue == 600)

            cb.clock.advance(3 * 86_400)
            cb.chargebee.setPaymentOutcome(.succeed, forCustomer: customer)
            _ = try cb.post("/__sim/invoices/\(renewal)/dunning_retry")
            try await cb.settle()
            let paid = try await cb.odoo(customer)
            #expect(paid.invoice(renewal)?["payment_state"]?.stringValue == "paid")
            #expect(paid.invoice(renewal)?["amount_residual"]?.doubleValue == 0)
            #expect(paid.payments == 2)
            #expect(paid.creditNotes.count == 1)
            #expect(!paid.pastDue)
            // No money went back for the adjustment.
            #expect(try await cb.node.odooCount("account.payment", [["payment_type", "=", "outbound"]]) == 0)
        }
    }

    /// Adjusted to zero, the invoice is paid in Chargebee with no payment at all: in Odoo its credit notes settle it,
    /// nothing is paid back, and the customer is no longer past due. Before adjustments were applied to open
    /// invoices, such an invoice stayed open in Odoo for good (a refund waits for a payment that never comes).
    @Test func anInvoiceAdjustedToZeroIsSettledInOdooByItsCreditNotesAlone() async throws {
        try await Self.withChargebee(daysAgo: 35) { cb in
            let (customer, renewal) = try await Self.declinedRenewal(cb, "Alan Turing")
            for total in ["300", "700"] {
                _ = try cb.post(
                    "/api/v2/credit_notes", [("reference_invoice_id", renewal), ("type", "adjustment"), ("total", total)])
            }
            #expect(
                try JSONValue.parse(Data(cb.chargebee.call("GET", "/api/v2/invoices/\(renewal)").body))["invoice"]?["status"]?
                    .stringValue == "paid")
            try await cb.settle()

            let settled = try await cb.odoo(customer)
            let invoice = try #require(settled.invoice(renewal))
            #expect(invoice["amount_residual"]?.doubleValue == 0)
            // Settled only by moves of the opposite type: Odoo 18/19 show `reversed` (see the upgrade test).
            #expect(invoice["payment_state"]?.stringValue == "reversed")
            #expect(settled.creditNotes.map { $0["amount_total"]?.doubleValue }.compactMap { $0 }.sorted() == [3, 7])
            #expect(settled.creditNotes.allSatisfy { $0["amount_residual"]?.doubleValue == 0 })
            #expect(settled.payments == 1)
            #expect(try await cb.node.odooCount("account.payment", [["payment_type", "=", "outbound"]]) == 0)
            #expect(!settled.pastDue)
            #expect(try await cb.lookup("chargebee/\(customer)").body["standing"]?["state"]?.stringValue == "good")

            // Voided, the 3.00 adjustment is taken back: its credit note is cancelled in Odoo (unreconciled first), and
            // the invoice asks for 3.00 again, past due as in Chargebee.
            let three = try #require(
                settled.creditNotes.first { $0["amount_total"]?.doubleValue == 3 }?["ref"]?.stringValue)
            let noteID = try #require(
                try JSONValue.parse(Data(cb.chargebee.call("GET", "/api/v2/credit_notes").body))["list"]?.arrayValue?.compactMap {
                    $0["credit_note"]?["id"]?.stringValue
                }.first { three.contains("[\(ExternalRef(system: "chargebee", kind: .refund, id: $0).xmlidName)]") })
            _ = try cb.post("/api/v2/credit_notes/\(noteID)/void", [("comment", "issued by mistake")])
            try await cb.settle()
            let reopened = try await cb.odoo(customer)
            #expect(reopened.invoice(renewal)?["amount_residual"]?.doubleValue == 3)
            #expect(reopened.invoice(renewal)?["payment_state"]?.stringValue == "partial")
            #expect(
                reopened.creditNotes.map { "\($0["amount_total"]?.doubleValue ?? 0) \($0["state"]?.stringValue ?? "")" }.sorted()
                    == ["3.0 cancel", "7.0 posted"])
            #expect(reopened.pastDue)
            #expect(try await cb.lookup("chargebee/\(customer)").body["standing"]?["overdue_amount_minor"]?.intValue == 300)
            #expect(try await cb.node.odooCount("account.payment", [["payment_type", "=", "outbound"]]) == 0)
        }
    }

    /// Dunning ends without payment and the invoice is written off: Chargebee settles it with an adjustment credit
    /// note (reason `write_off`). Odoo gets that credit note, settling the invoice without money back or in, and the
    /// customer is no longer past due.
    @Test func aWrittenOffInvoiceIsSettledInOdooByTheWriteOffCreditNote() async throws {
        try await Self.withChargebee(daysAgo: 35) { cb in
            let (customer, renewal) = try await Self.declinedRenewal(cb, "Ada Lovelace")
            _ = try cb.post("/__sim/invoices/\(renewal)/exhaust_dunning")
            try await cb.settle()
            #expect(try await cb.odoo(customer).pastDue)

            let written = try cb.post("/api/v2/invoices/\(renewal)/write_off", [("comment", "customer unreachable")])
            #expect(written["invoice"]?["status"]?.stringValue == "paid")
            try await cb.settle()
            let settled = try await cb.odoo(customer)
            let invoice = try #require(settled.invoice(renewal))
            #expect(invoice["amount_residual"]?.doubleValue == 0)
            #expect(invoice["payment_state"]?.stringValue == "reversed")
            #expect(settled.creditNotes.count == 1)
            #expect(settled.creditNotes.first?["amount_total"]?.doubleValue == 10)
            #expect(settled.creditNotes.first?["ref"]?.stringValue?.contains("write_off") == true)
            #expect(settled.payments == 1)
            #expect(try await cb.node.odooCount("account.payment", [["payment_type", "=", "outbound"]]) == 0)
            #expect(!settled.pastDue)
        }
    }

    @Test func wrongBasicAuthIs401AndStoresNothing() async throws {
        try await Self.withChargebee { cb in
            // A real event body, as Chargebee would send it.
            cb.chargebee.pauseDeliveries()
            _ = try cb.post("/api/v2/customers", [("first_name", "Eve"), ("email", "eve@example.com")])
            let list = try JSONValue.parse(Data(cb.chargebee.call("GET", "/api/v2/events", parameters: [("limit", "1")]).body))
            let event = try #require(list["list"]?.arrayValue?.first?["event"])
            let body = event.serialized()
            let url = "\(cb.node.weftURL)/hooks/chargebee"
            func basic(_ user: String, _ password: String) -> String {
                "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
            }
            let refused: [String?] = [
                nil, "Bearer \(Self.webhookPassword)", "Basic not-base64!", basic(Self.webhookUsername, "wrong-password"),
                basic("someone", Self.webhookPassword), basic(Self.webhookUsername, Self.webhookPassword + "x"),
            ]
            for authorization in refused {
                let answer = try await Self.post(url, body: body, authorization: authorization)
                #expect(answer.status == 401, "\(authorization ?? "no header")")
                #expect(answer.authenticate?.hasPrefix("Basic") == true)
                #expect(answer.body.contains("bad_credentials"))
                #expect(!answer.body.contains(Self.webhookPassword))
            }
            #expect(try await cb.node.store.listEvents(status: nil, limit: 100).isEmpty)

            let good = basic(Self.webhookUsername, Self.webhookPassword)
            let notAnEvent = try await Self.post(url, body: Data(#"{"id":"ev_1","object":"customer"}"#.utf8), authorization: good)
            #expect(notAnEvent.status == 400)
            #expect(notAnEvent.body.contains("malformed_event"))
            let tooLarge = try await Self.post(url, body: Data(repeating: 0x20, count: 65 * 1024), authorization: good)
            #expect(tooLarge.status == 413)
            #expect(try await cb.node.store.listEvents(status: nil, limit: 100).isEmpty)

            let accepted = try await Self.post(url, body: body, authorization: good)
            #expect(accepted.status == 200)
            #expect(accepted.body == #"{"received":true,"duplicate":false}"#)
            let again = try await Self.post(url, body: body, authorization: good)
            #expect(again.body == #"{"received":true,"duplicate":true}"#)
            #expect(try await cb.node.store.listEvents(status: nil, limit: 100).count == 1)
        }
    }

    @Test func catchUpProcessesEventsWhoseWebhooksNeverArrived() async throws {
        try await Self.withChargebee { cb in
            cb.chargebee.pauseDeliveries()
            let (customer, _, invoice) = try cb.subscribe("Katherine Johnson", plan: "pro-USD-monthly")
            #expect(cb.chargebee.deliveryAttempts.isEmpty)

            let catchUp = try #require(cb.node.node.catchUps.first { $0.system == "chargebee" })
            // customer_created, subscription_created, invoice_generated, payment_succeeded.
            #expect(try await catchUp.runOnce() == 4)
            _ = try await cb.node.drain()
            let odoo = try await cb.odoo(customer)
            #expect(odoo.partners == 1)
            #expect(odoo.invoice(invoice)?["payment_state"]?.stringValue == "paid")
            #expect(odoo.payments == 1)
            #expect(try await cb.lookup("chargebee/\(customer)").body["tier"]?.stringValue == "pro")
            #expect(try await cb.node.store.cursor(CatchUpService.reachedCursorName("chargebee")) != nil)
            // A second pass finds nothing new (the overlap brings the same events again).
            #expect(try await catchUp.runOnce() == 0)

            // The webhooks arrive late: acknowledged as duplicates, nothing is booked twice.
            cb.chargebee.resumeDeliveries()
            try await cb.settle()
            #expect(cb.chargebee.deliveryAttempts.count == 4)
            #expect(cb.chargebee.deliveryAttempts.allSatisfy { $0.status == 200 })
            #expect(try await cb.node.store.listEvents(status: nil, limit: 100).count == 4)
            let after = try await cb.odoo(customer)
            #expect(after.partners == 1)
            #expect(after.invoiceCount == 1)
            #expect(after.payments == 1)
        }
    }

    static func post(_ url: String, body: Data, authorization: String?) async throws
        -> (status: Int, body: String, authenticate: String?)
    {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return (Int(response.status.code), text, response.headers.first(name: "WWW-Authenticate"))
    }
}
