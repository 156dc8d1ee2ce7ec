import Foundation
import Testing

@testable import WeftSimStripe

/// Compares the simulator's objects with Stripe's published fixtures (`fixtures3.json`, API 2026-07-29.dahlia):
/// the same keys, and the same JSON type for every key (a fixture `null` accepts anything; the simulator may
/// answer `null` for the fields listed in `nullable`, which Stripe leaves null for these objects).
@Suite struct ConformanceTests {
    static let fixturesURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/reference/specs/stripe/fixtures3.json")

    static var fixturesPresent: Bool { FileManager.default.fileExists(atPath: fixturesURL.path) }

    /// Fields the fixture fills in but a fresh simulator object has as `null` (as real Stripe does for them).
    static let nullable: Set<String> = [
        "address", "discount", "shipping", "rendering_options", "package_dimensions", "custom_unit_amount",
        "transform_quantity", "billing_cycle_anchor_config", "cancel_at", "canceled_at", "ended_at",
        "next_pending_invoice_item_invoice", "pause_collection", "pending_invoice_item_interval", "pending_update",
        "transfer_data", "trial_end", "trial_start", "billing_thresholds", "due_date", "effective_at",
        "from_invoice", "last_finalization_error", "next_payment_attempt", "shipping_cost", "shipping_details",
        "webhooks_delivered_at", "customer_shipping", "customer_address", "parent", "last_payment_error",
        "next_action", "payment_method_configuration_details", "processing", "automatic_payment_methods",
        "balance_transaction", "destination_details", "source", "customer", "default_price", "description",
        "url", "canceled_at", "liability", "flexible", "payment_method_options", "status", "installments",
        "three_d_secure", "wallet", "credited_items", "subscription_details", "quote_details",
        "invoice_item_details", "subscription_item_details", "price_details", "account_name",
        "default_payment_method", "payment_method_types", "name", "voided_at",
    ]

    private func compare(_ ours: JSON, _ fixture: JSON, path: String, depth: Int = 0) -> [String] {
        guard let fixtureObject = fixture.object, let ourObject = ours.object else { return [] }
        var problems: [String] = []
        let fixtureKeys = Set(fixtureObject.keys)
        let ourKeys = Set(ourObject.keys)
        for key in fixtureKeys.subtracting(ourKeys) { problems.append("\(path).\(key) missing") }
        for key in ourKeys.subtracting(fixtureKeys) { problems.append("\(path).\(key) extra") }
        for key in fixtureKeys.intersection(ourKeys) {
            let expected = fixtureObject[key] ?? .null
            let actual = ourObject[key] ?? .null
            if expected.isNull { continue }
            if actual.isNull {
                if !Self.nullable.contains(key) { problems.append("\(path).\(key) is null, fixture has a value") }
                continue
            }
            guard Self.kind(expected) == Self.kind(actual) else {
                problems.append("\(path).\(key) is \(Self.kind(actual)), fixture has \(Self.kind(expected))")
                continue
            }
            // Nested plain hashes are compared one level down; API objects and lists by their own fixtures.
            if depth == 0, expected.object?["object"] == nil, expected.object != nil {
                problems += compare(actual, expected, path: "\(path).\(key)", depth: 1)
            }
        }
        return problems
    }

    private static func kind(_ value: JSON) -> String {
        switch value {
        case .null: "null"
        case .bool: "bool"
        case .int, .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    @Test(.enabled(if: ConformanceTests.fixturesPresent, "needs ../shared/reference/specs/stripe/fixtures3.json"))
    func objectsMatchFixtureShapes() throws {
        let fixtures = try JSON.parse(Data(contentsOf: Self.fixturesURL))["resources"]
        let simulator = makeSimulator()
        let (customer, price) = simulator.seedCatalog()
        let subscription = simulator.post("/v1/subscriptions", [("customer", customer), ("items[0][price]", price)])
        let invoice = simulator.get("/v1/invoices/\(subscription["latest_invoice"].string ?? "")")
        let charge = simulator.get("/v1/charges")["data"][0]
        let refund = simulator.post("/v1/refunds", [("charge", charge["id"].string ?? "")])
        // The fixtures expand every expandable field; a charge's refunds are one since 2022-11-15.
        let expandedCharge = simulator.get("/v1/charges/\(charge["id"].string ?? "")", [("expand[]", "refunds")])
        let note = simulator.post(
            "/v1/credit_notes",
            [
                ("invoice", invoice["id"].string ?? ""), ("lines[0][type]", "invoice_line_item"),
                ("lines[0][invoice_line_item]", invoice["lines"]["data"][0]["id"].string ?? ""), ("lines[0][amount]", "100"),
                ("credit_amount", "100"),
            ])
        let event = simulator.get("/v1/events")["data"][0]
        let item = simulator.post("/v1/invoiceitems", [("customer", customer), ("amount", "100"), ("currency", "usd")])
        let endpoint = simulator.get(
            "/v1/webhook_endpoints/\(simulator.post("/v1/webhook_endpoints", [("url", "https://example.com/h"), ("enabled_events[]", "*")])["id"].string ?? "")"
        )
        let coupon = simulator.post(
            "/v1/coupons",
            [
                ("percent_off", "25.5"), ("duration", "repeating"), ("duration_in_months", "3"), ("name", "25.5% off"),
                ("redeem_by", "1900000000"),
            ])
        let discounted = simulator.post(
            "/v1/invoices",
            [("customer", customer), ("discounts[0][coupon]", coupon["id"].string ?? ""), ("expand[]", "discounts")])
        let objects: [(String, JSON)] = [
            ("coupon", simulator.get("/v1/coupons/\(coupon["id"].string ?? "")")),
            ("discount", discounted["discounts"][0]),
            ("customer", simulator.get("/v1/customers/\(customer)")),
            ("price", simulator.get("/v1/prices/\(price)")),
            ("product", simulator.get("/v1/products/\(simulator.get("/v1/prices/\(price)")["product"].string ?? "")")),
            ("subscription", subscription),
            ("subscription_item", subscription["items"]["data"][0]),
            ("invoice", invoice),
            ("line_item", invoice["lines"]["data"][0]),
            ("invoiceitem", item),
            ("payment_intent", simulator.get("/v1/payment_intents/\(charge["payment_intent"].string ?? "")")),
            ("charge", expandedCharge),
            ("refund", refund),
            ("credit_note", note),
            ("credit_note_line_item", note["lines"]["data"][0]),
            ("event", event),
            ("webhook_endpoint", endpoint),
        ]
        var problems: [String] = []
        for (name, object) in objects {
            #expect(object.object != nil, "\(name) was not returned")
            problems += compare(object, fixtures[name], path: name)
        }
        problems = problems.filter { !Self.deliberateDifferences.contains($0) }
        #expect(problems.sorted() == [], "shape differences from fixtures3.json")
    }

    /// Differences kept on purpose (documented in docs/simulators/stripe.md).
    static let deliberateDifferences: Set<String> = [
        // Stripe returns these on lists embedded in objects; the fixtures omit them.
        "invoice.lines.total_count extra", "subscription.items.total_count extra", "charge.refunds.total_count extra",
        // Real card charges carry a risk assessment the fixture leaves out.
        "charge.outcome.risk_level extra", "charge.outcome.risk_score extra",
        // Line items and invoice items name their price in `pricing.price_details` (the fixture omits that key).
        "line_item.pricing.price_details extra", "invoiceitem.pricing.price_details extra",
        // Invoice payment intents carry Stripe's default card options (the fixture's hash is empty).
        "payment_intent.payment_method_options.card extra",
        // A percent-off coupon has no currency (the fixture's sample names one).
        "coupon.currency is null, fixture has a value",
    ]
}

extension ConformanceTests {
    static let olderFixturesURL = fixturesURL.deletingLastPathComponent().appendingPathComponent(
        "fixtures3.2023-08-16.json")

    static var olderFixturesPresent: Bool { FileManager.default.fileExists(atPath: olderFixturesURL.path) }

    /// Before `2025-03-31.basil` a credit note and its lines have the shape of the 2023-08-16 fixtures.
    @Test(.enabled(if: ConformanceTests.olderFixturesPresent, "needs fixtures3.2023-08-16.json"))
    func olderCreditNotesMatchTheOlderFixtureShapes() throws {
        let fixtures = try JSON.parse(Data(contentsOf: Self.olderFixturesURL))["resources"]
        let simulator = StripeSimulator(configuration: .init(apiVersion: "2024-06-20", idSeed: 42, now: { 1_750_000_000 }))
        let (customer, price) = simulator.seedCatalog()
        let subscription = simulator.post("/v1/subscriptions", [("customer", customer), ("items[0][price]", price)])
        let invoice = simulator.get("/v1/invoices/\(subscription["latest_invoice"].string ?? "")")
        let note = simulator.post(
            "/v1/credit_notes",
            [
                ("invoice", invoice["id"].string ?? ""), ("lines[0][type]", "invoice_line_item"),
                ("lines[0][invoice_line_item]", invoice["lines"]["data"][0]["id"].string ?? ""), ("lines[0][amount]", "100"),
                ("refund_amount", "100"),
            ])
        var problems = compare(note, fixtures["credit_note"], path: "credit_note")
        problems += compare(note["lines"]["data"][0], fixtures["credit_note_line_item"], path: "credit_note_line_item")
        // Listed lines carry `total_count`, as on invoices.
        problems = problems.filter { $0 != "credit_note.lines.total_count extra" }
        #expect(problems.sorted() == [], "shape differences from fixtures3.2023-08-16.json")
    }
}
