import Foundation
import Testing

@testable import WeftSimChargebee

/// Compares the simulator's answers with Chargebee's published OpenAPI description
/// (`../shared/reference/specs/chargebee/chargebee_api_v1_spec.json`, API v1; skipped when it is not there).
///
/// The simulator speaks API v2 (product catalog 2.0), which the v1 description does not cover, so this checks what
/// the two share: an attribute both have has the same JSON type and, where the description lists its values, one of
/// them (v2's own values are listed in `v2Values`); an error has the members and codes the description gives its
/// status. And Chargebee leaves an attribute without a value out: no answer holds a `null` anywhere.
@Suite struct SpecConformanceTests {
    static let specURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/reference/specs/chargebee/chargebee_api_v1_spec.json")

    static var specPresent: Bool { FileManager.default.fileExists(atPath: specURL.path) }

    /// Values v2 adds to enumerations the v1 description closes (product catalog 2.0 and later event types).
    static let v2Values: [String: Set<String>] = [
        "event_type": [
            "item_created", "item_price_created", "credit_note_created", "credit_note_updated", "invoice_updated",
            "payment_refunded", "refund_initiated", "subscription_changes_scheduled",
        ],
        "entity_type": ["plan_item_price", "addon_item_price", "charge_item_price"],
    ]

    let schemas: [String: Any]

    init() throws {
        let data = try Data(contentsOf: Self.specURL)
        let spec = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let components = try #require(spec["components"] as? [String: Any])
        schemas = try #require(components["schemas"] as? [String: Any])
    }

    /// A schema with its `$ref`s followed.
    func resolved(_ schema: Any?) -> [String: Any]? {
        var current = schema as? [String: Any]
        while let reference = current?["$ref"] as? String {
            current = schemas[String(reference.split(separator: "/").last ?? "")] as? [String: Any]
        }
        return current
    }

    static func kind(_ value: JSON) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Every `null` in `value`, by path.
    static func nulls(in value: JSON, at path: String) -> [String] {
        switch value {
        case .null: [path]
        case .array(let items): items.enumerated().flatMap { nulls(in: $0.element, at: "\(path)[\($0.offset)]") }
        case .object(let members): members.flatMap { nulls(in: $0.value, at: "\(path).\($0.key)") }
        default: []
        }
    }

    /// How `value` departs from `schema` in the attributes both have.
    func problems(_ value: JSON, schema: [String: Any], at path: String) -> [String] {
        guard case .object(let members) = value, let properties = schema["properties"] as? [String: Any] else { return [] }
        var found: [String] = []
        for (name, member) in members {
            guard let property = resolved(properties[name]) else { continue }
            let types = (property["type"] as? [String]) ?? [(property["type"] as? String)].compactMap { $0 }
            let kind = Self.kind(member)
            let typeMatches = types.isEmpty || types.contains(kind) || (kind == "integer" && types.contains("number"))
            if !typeMatches { found.append("\(path).\(name): \(kind), described as \(types)") }
            if case .string(let text) = member, let values = property["enum"] as? [String], !values.contains(text),
                !(Self.v2Values[name]?.contains(text) ?? false)
            {
                found.append("\(path).\(name): \"\(text)\" is not one of \(values)")
            }
            if case .object = member, let nested = property["properties"] != nil ? property : nil {
                found += problems(member, schema: nested, at: "\(path).\(name)")
            }
            if case .array(let items) = member, let itemSchema = resolved(property["items"]), itemSchema["properties"] != nil {
                for (index, item) in items.enumerated() {
                    found += problems(item, schema: itemSchema, at: "\(path).\(name)[\(index)]")
                }
            }
        }
        return found
    }

    func reply(_ simulator: ChargebeeSimulator, _ method: String, _ path: String, _ parameters: [(String, String)] = [])
        -> APIReply
    {
        simulator.handle(
            method: method, path: path, params: FormBody(pairs: parameters), authorization: nil, idempotencyKey: nil,
            authenticated: true
        ).reply
    }

    /// A customer's life: subscribed, a renewal declined and retried, paid by hand, part refunded through a credit note,
    /// cancelled. Then every resource and event the simulator lists is compared.
    @Test(.enabled(if: specPresent, "needs ../shared/reference/specs/chargebee/chargebee_api_v1_spec.json"))
    func resourcesAndEventsAgreeWithTheDescription() throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        let (customer, subscription, _) = simulator.subscribe()
        _ = simulator.post(
            "/api/v2/customers/\(customer)/update_billing_info",
            [("billing_address[line1]", "1 Main St"), ("billing_address[city]", "Berlin"), ("billing_address[country]", "DE")])
        simulator.setPaymentOutcome(.decline, forCustomer: customer)
        clock.advance(31 * 86_400)
        let renewed = J(bytes: simulator.renewSubscription(subscription).body)
        let unpaid = try #require(renewed["invoice"]["id"].string)
        _ = simulator.post("/api/v2/invoices/\(unpaid)/record_payment", [("transaction[payment_method]", "bank_transfer")])
        let note = simulator.post(
            "/api/v2/credit_notes", [("reference_invoice_id", unpaid), ("type", "refundable"), ("total", "1000")]
        ).json["credit_note"]["id"].string
        _ = simulator.post("/api/v2/credit_notes/\(try #require(note))/refund", [("refund_amount", "1000")])
        _ = simulator.post("/api/v2/subscriptions/\(subscription)/cancel_for_items", [("end_of_term", "false")])

        let lists: [(path: String, key: String, schema: String)] = [
            ("/api/v2/customers", "customer", "Customer"), ("/api/v2/subscriptions", "subscription", "Subscription"),
            ("/api/v2/invoices", "invoice", "Invoice"), ("/api/v2/transactions", "transaction", "Transaction"),
            ("/api/v2/events", "event", "Event"),
        ]
        var compared = 0
        for list in lists {
            let answer = reply(simulator, "GET", list.path, [("limit", "100")])
            #expect(answer.status == 200)
            #expect(Self.nulls(in: answer.body, at: list.key).isEmpty, "\(Self.nulls(in: answer.body, at: list.key))")
            let schema = try #require(resolved(schemas[list.schema]))
            for entry in answer.body["list"].array ?? [] {
                let found = problems(entry[list.key], schema: schema, at: list.key)
                #expect(found.isEmpty, "\(found)")
                compared += 1
                // An event carries its resources as they were: each is held to its own description too.
                if list.key == "event", case .object(let content) = entry["event"]["content"] {
                    for (name, resource) in content {
                        let resourceSchema = lists.first { $0.key == name }.flatMap { resolved(schemas[$0.schema]) }
                        guard let resourceSchema else { continue }
                        let nested = problems(resource, schema: resourceSchema, at: "event.content.\(name)")
                        #expect(nested.isEmpty, "\(nested)")
                    }
                }
            }
        }
        #expect(compared >= 15)
        let credit = reply(simulator, "GET", "/api/v2/credit_notes", [("limit", "100")])
        #expect(Self.nulls(in: credit.body, at: "credit_note").isEmpty, "\(Self.nulls(in: credit.body, at: "credit_note"))")
    }

    /// Each error the simulator answers has the members, `type` and `api_error_code` Chargebee describes for its status.
    @Test(.enabled(if: specPresent, "needs ../shared/reference/specs/chargebee/chargebee_api_v1_spec.json"))
    func errorsAgreeWithTheDescription() throws {
        let simulator = makeSimulator(requestsPerMinute: 10)
        let (customer, _, _) = simulator.subscribe()
        var errors: [APIReply] = [
            // 401: no key.
            simulator.handle(
                method: "GET", path: "/api/v2/customers", params: FormBody(pairs: []), authorization: nil,
                idempotencyKey: nil
            ).reply,
            // 404: nothing under that id; no such resource at all.
            reply(simulator, "GET", "/api/v2/customers/nobody"),
            reply(simulator, "GET", "/api/v2/nothing/here"),
            // 405: a known resource, a method it does not take.
            reply(simulator, "DELETE", "/api/v2/customers"),
            reply(simulator, "GET", "/api/v2/customers/\(customer)/subscription_for_items"),
            // 400: a bad parameter; a duplicate id.
            reply(simulator, "POST", "/api/v2/customers", [("email", "not an email")]),
            reply(simulator, "POST", "/api/v2/customers", [("id", customer)]),
        ]
        // 429: past the rate limit (10 a minute; the eight calls above that were let in count).
        for _ in 0..<5 { errors.append(reply(simulator, "GET", "/api/v2/customers")) }
        // The first two of the last five are still let in.
        let statuses = Set(errors.map(\.status)).subtracting([200])
        #expect(statuses == [400, 401, 404, 405, 429])
        #expect(errors[3].status == 405 && errors[4].status == 405)
        for error in errors where error.status != 200 {
            let schema = try #require(resolved(schemas[String(error.status)]), "no description of a \(error.status)")
            // A captured real 401 has no `type`, though the description requires one: the capture wins.
            for required in schema["required"] as? [String] ?? [] where !(error.status == 401 && required == "type") {
                #expect(error.body[required] != .null, "a \(error.status) without \(required): \(error.body)")
            }
            #expect(Self.nulls(in: error.body, at: "error").isEmpty, "\(error.body)")
            let found = problems(error.body, schema: schema, at: "error \(error.status)")
            #expect(found.isEmpty, "\(found)")
        }
    }
}
