import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Testing
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimKit
import WeftSimStripe
import WeftTools

/// Plan changes end to end over real HTTP: the Stripe simulator prorates an upgrade and a downgrade
/// (`proration_behavior=always_invoice`) and sends its signed webhooks to a Weft node whose Stripe flow goes to Odoo.
/// Odoo gets what Stripe booked: an invoice for the prorated difference on an upgrade; a credit note for a downgrade
/// (Odoo posts no negative invoice) that the next renewal, paid from the customer's credit balance, uses up.
@Suite("Stripe plan changes to Odoo end to end", .serialized)
struct StripePlanChangeTests {
    static let apiKey = "sk_test_plan_change"
    static let rules = EntitlementRules(
        tiers: [
            .init(name: "basic", rank: 1, products: ["prod_plan_basic"], supportLevel: "standard"),
            .init(name: "pro", rank: 2, products: ["prod_plan_pro"], supportLevel: "priority"),
        ], graceDays: 7)

    struct Harness: Sendable {
        let stripe: StripeSimulator
        let node: TestNode
        let basicPrice: String
        let proPrice: String

        func call(_ method: String, _ path: String, _ parameters: [(String, String)] = []) throws -> JSONValue {
            let result = stripe.call(method, path, parameters: parameters)
            let body = try JSONValue.parse(Data(result.body))
            guard (200..<300).contains(result.status) else {
                throw HarnessError("Stripe \(method) \(path): \(result.status) \(body.serialized())")
            }
            return body
        }

        func settle() async throws {
            await stripe.waitUntilDeliveriesSettled()
            _ = try await node.drain()
        }

        /// A customer with a card, subscribed to `price`: customer, subscription and subscription item ids.
        func subscribe(_ name: String, price: String) throws -> (customer: String, subscription: String, item: String) {
            let customer = try call("POST", "/v1/customers", [("name", name), ("email", "\(name.prefix(3).lowercased())@example.com")])
            let customerID = try #require(customer["id"]?.stringValue)
            let subscription = try call(
                "POST", "/v1/subscriptions",
                [("customer", customerID), ("items[0][price]", price), ("default_payment_method", "pm_card_visa")])
            let subscriptionID = try #require(subscription["id"]?.stringValue)
            let item = try #require(subscription["items"]?["data"]?[0]?["id"]?.stringValue)
            return (customerID, subscriptionID, item)
        }

        /// Moves the subscription to `price`, invoicing the proration at once.
        func change(_ subscription: String, item: String, to price: String) throws -> JSONValue {
            try call(
                "POST", "/v1/subscriptions/\(subscription)",
                [("items[0][id]", item), ("items[0][price]", price), ("proration_behavior", "always_invoice")])
        }

        /// The partner's customer invoices and credit notes in Odoo, by Weft's key (`stripe_invoice_<id>`).
        func odooMoves(_ customer: String) async throws -> (invoices: [String: JSONValue], creditNotes: [String: JSONValue]) {
            let partner = try await node.odooRead(
                "res.partner", [["ref", "=", .string("stripe_customer_\(customer)")]], fields: ["id"]
            ).first?["id"]?.intValue
            let moves = try await node.odooRead(
                "account.move", [["partner_id", "=", .int(partner ?? -1)], ["move_type", "in", ["out_invoice", "out_refund"]]],
                fields: ["ref", "move_type", "state", "payment_state", "amount_total", "amount_residual"])
            var invoices: [String: JSONValue] = [:]
            var creditNotes: [String: JSONValue] = [:]
            for move in moves {
                guard let ref = move["ref"]?.stringValue else { continue }
                if move["move_type"]?.stringValue == "out_refund" { creditNotes[ref] = move } else { invoices[ref] = move }
            }
            return (invoices, creditNotes)
        }
    }

    static func withStripe(_ body: @Sendable @escaping (Harness) async throws -> Void) async throws {
        let logger = Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() })
        var configuration = StripeSimulator.Configuration()
        configuration.apiKeys = [apiKey]
        configuration.webhooks.baseRetryDelay = .milliseconds(20)
        configuration.webhooks.maxRetryDelay = .milliseconds(500)
        configuration.logger = logger
        let stripe = StripeSimulator(configuration: configuration)
        // The endpoint exists before the node (its secret goes in the node's configuration); its URL follows the node.
        let endpoint = try JSONValue.parse(
            Data(
                stripe.call(
                    "POST", "/v1/webhook_endpoints", parameters: [("url", "http://127.0.0.1:1/hooks/stripe"), ("enabled_events[]", "*")]
                ).body))
        let endpointID = try #require(endpoint["id"]?.stringValue)
        let secret = try #require(endpoint["secret"]?.stringValue)
        let router = Router()
        stripe.addRoutes(to: router)
        try await SimulatorServer.withRunning(router: router, logger: logger) { port in
            try await TestNode.with(
                entitlements: rules, stripeAPIURL: "http://127.0.0.1:\(port)",
                extraEnvironment: ["SECRET": secret, "STRIPE_KEY": apiKey]
            ) { node in
                _ = stripe.call("POST", "/v1/webhook_endpoints/\(endpointID)", parameters: [("url", "\(node.weftURL)/hooks/stripe")])
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await stripe.runDelivery() }
                    defer { tasks.cancelAll() }
                    var prices: [String] = []
                    for (product, amount) in [("prod_plan_basic", 1000), ("prod_plan_pro", 3000)] {
                        _ = stripe.call("POST", "/v1/products", parameters: [("id", product), ("name", product)])
                        let price = try JSONValue.parse(
                            Data(
                                stripe.call(
                                    "POST", "/v1/prices",
                                    parameters: [
                                        ("product", product), ("unit_amount", String(amount)), ("currency", "usd"),
                                        ("recurring[interval]", "month"),
                                    ]
                                ).body))
                        prices.append(try #require(price["id"]?.stringValue))
                    }
                    try await body(Harness(stripe: stripe, node: node, basicPrice: prices[0], proPrice: prices[1]))
                }
            }
        }
    }

    @Test func anUpgradeIsInvoicedForTheProratedDifferenceAndRaisesTheTier() async throws {
        try await Self.withStripe { h in
            let (customer, subscription, item) = try h.subscribe("Katherine Johnson", price: h.basicPrice)
            try await h.settle()
            #expect(try await h.node.entitlementLookup("stripe/\(customer)").body["tier"]?.stringValue == "basic")

            let changed = try h.change(subscription, item: item, to: h.proPrice)
            let upgrade = try #require(changed["latest_invoice"]?.stringValue)
            try await h.settle()

            let moves = try await h.odooMoves(customer)
            #expect(moves.invoices.count == 2)
            #expect(moves.creditNotes.isEmpty)
            // Stripe's proration lines (unused Basic credited, remaining Pro charged) on one invoice, paid by card.
            let prorated = try #require(moves.invoices["stripe_invoice_\(upgrade)"])
            let stripeInvoice = try h.call("GET", "/v1/invoices/\(upgrade)")
            let total = try #require(stripeInvoice["total"]?.intValue)
            #expect(total > 0)
            #expect(prorated["amount_total"]?.doubleValue == Double(total) / 100)
            #expect(prorated["payment_state"]?.stringValue == "paid")
            let entitlement = try await h.node.entitlementLookup("stripe/\(customer)").body
            #expect(entitlement["tier"]?.stringValue == "pro")
            #expect(entitlement["support_level"]?.stringValue == "priority")
        }
    }

    @Test func aDowngradeIsACreditNoteThatTheRenewalUsesUp() async throws {
        try await Self.withStripe { h in
            let (customer, subscription, item) = try h.subscribe("Dorothy Vaughan", price: h.proPrice)
            try await h.settle()
            #expect(try await h.node.entitlementLookup("stripe/\(customer)").body["tier"]?.stringValue == "pro")

            // Straight after paying for Pro: the unused Pro is credited, the rest of the month of Basic charged; the
            // invoice is negative and Stripe credits the difference to the customer's balance.
            let changed = try h.change(subscription, item: item, to: h.basicPrice)
            let downgrade = try #require(changed["latest_invoice"]?.stringValue)
            let credit = try #require(try h.call("GET", "/v1/invoices/\(downgrade)")["total"]?.intValue)
            #expect(credit < 0)
            #expect(try h.call("GET", "/v1/customers/\(customer)")["balance"]?.intValue == credit)
            try await h.settle()

            let downgraded = try await h.odooMoves(customer)
            #expect(downgraded.invoices.count == 1)
            let note = try #require(downgraded.creditNotes["stripe_invoice_\(downgrade)"])
            #expect(note["state"]?.stringValue == "posted")
            #expect(note["amount_total"]?.doubleValue == Double(-credit) / 100)
            #expect(note["payment_state"]?.stringValue == "not_paid")  // an outstanding credit: no money went back
            let entitlement = try await h.node.entitlementLookup("stripe/\(customer)").body
            #expect(entitlement["tier"]?.stringValue == "basic")
            #expect(entitlement["support_level"]?.stringValue == "standard")

            // The renewal bills a month of Basic; the credit balance pays it, no charge.
            let renewal = h.stripe.renewSubscription(subscription)
            #expect(renewal.status == 200)
            let renewed = try #require(try JSONValue.parse(Data(renewal.body))["id"]?.stringValue)
            let stripeRenewal = try h.call("GET", "/v1/invoices/\(renewed)")
            #expect(stripeRenewal["status"]?.stringValue == "paid")
            #expect(stripeRenewal["amount_paid"]?.intValue == 0)
            try await h.settle()

            let after = try await h.odooMoves(customer)
            let booked = try #require(after.invoices["stripe_invoice_\(renewed)"])
            #expect(booked["amount_total"]?.doubleValue == 10)
            #expect(booked["amount_residual"]?.doubleValue == 0)
            // Settled by a credit note alone: Odoo 18/19 show `reversed` (as on the captured wire).
            #expect(booked["payment_state"]?.stringValue == "reversed")
            // The credit note paid it and keeps the rest of the credit open, as Stripe's balance does.
            let used = try #require(after.creditNotes["stripe_invoice_\(downgrade)"])
            #expect(used["amount_residual"]?.doubleValue == Double(-credit - 1000) / 100)
            #expect(used["payment_state"]?.stringValue == "partial")
            #expect(try await h.node.odooCount("account.payment", [["partner_id.ref", "=", .string("stripe_customer_\(customer)")]]) == 1)
        }
    }
}
