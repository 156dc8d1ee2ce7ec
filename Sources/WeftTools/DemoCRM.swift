public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import WeftConnectors
public import WeftCore
import WeftServer
public import WeftSimHubSpot

/// Credentials and subscriptions of the CRM simulators as `weft demo`, `weft bench --deals` and `weft simulate`
/// set them up (throwaway values for in-memory simulators).
public enum CRMDemoDefaults {
    /// The HubSpot private app access token the simulator accepts.
    public static let hubSpotToken = "pat-na1-weft-simulator"
    /// The HubSpot app's client secret (the v3 webhook signing key).
    public static let hubSpotClientSecret = "hubspot-simulator-client-secret"
    /// What the app subscribes to: what a won deal's order depends on (docs/connectors/hubspot.md).
    public static let hubSpotSubscriptions: [HubSpotSimulator.Configuration.Subscription] = [
        .init(id: 1, subscriptionType: "deal.creation"),
        .init(id: 2, subscriptionType: "deal.propertyChange", propertyName: "dealstage"),
        .init(id: 3, subscriptionType: "deal.propertyChange", propertyName: "amount"),
        .init(id: 4, subscriptionType: "line_item.propertyChange", propertyName: "hs_sku"),
        .init(id: 5, subscriptionType: "company.propertyChange", propertyName: "country"),
    ]
    /// The Salesforce connected app's consumer key and secret (client credentials flow).
    public static let salesforceConsumerKey = "3MVG9weft.simulator.consumer.key"
    public static let salesforceConsumerSecret = "weft-simulator-consumer-secret"
    /// The fields of the Opportunity outbound message (docs/connectors/salesforce.md, setup step 4).
    public static let salesforceOutboundFields = [
        "StageName", "IsWon", "Weft_Key__c", "AccountId", "Amount", "CloseDate", "CurrencyIsoCode", "SystemModstamp",
    ]
}

/// A sales person's HubSpot (the simulator's API, as edits in the CRM UI) and what Weft and Odoo show for deals.
public struct CRMProbe: Sendable {
    let hubspot: HubSpotSimulator
    let http: HarnessHTTP
    let client: HTTPClient
    let weftURL: String
    let adminToken: String
    let odooURL: String
    let odooKey: String

    public init(
        hubspot: HubSpotSimulator, client: HTTPClient, weftURL: String, adminToken: String, odooURL: String, odooKey: String
    ) {
        self.hubspot = hubspot
        self.http = HarnessHTTP(client: client)
        self.client = client
        self.weftURL = weftURL
        self.adminToken = adminToken
        self.odooURL = odooURL
        self.odooKey = odooKey
    }

    /// What `seedDeal` created.
    public struct SeededDeal: Sendable {
        public var deal: String
        public var lineItem: String
        public var company: String
        public var contact: String
    }

    /// Creates a HubSpot record; returns its id.
    func create(_ type: String, _ properties: [String: String?], associations: String = "[]") throws -> String {
        var fields: [String: JSONValue] = [:]
        for (key, value) in properties { if let value { fields[key] = .string(value) } }
        let body =
            "{\"properties\":\(String(decoding: JSONValue.object(fields).serialized(), as: UTF8.self)),\"associations\":\(associations)}"
        let result = hubspot.call("POST", "/crm/v3/objects/\(type)", body: body)
        guard result.status == 201, let id = try JSONValue.parse(Data(result.body))["id"]?.stringValue else {
            throw HarnessError("HubSpot: creating a \(type) answered \(result.status): \(String(decoding: result.body, as: UTF8.self))")
        }
        return id
    }

    /// A company, a contact, a line item and a deal associated with them (deal stage `appointmentscheduled`), created
    /// as a sales person would in the CRM.
    public func seedDeal(
        company: String, email: String, sku: String?, amount: String?, quantity: String = "2", price: String = "450.00",
        product: String = "Weft Pro"
    ) throws -> SeededDeal {
        func link(_ id: String, _ type: Int) -> String {
            #"{"to":{"id":"\#(id)"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":\#(type)}]}"#
        }
        let companyID = try create("companies", ["name": company, "country": "DE", "city": "Berlin"])
        let contactID = try create("contacts", ["email": email, "firstname": "Ada", "lastname": "Buyer"])
        let lineID = try create("line_items", ["name": product, "hs_sku": sku, "quantity": quantity, "price": price])
        // Deal → company 5 (primary), deal → contact 3, deal → line item 19.
        let dealID = try create(
            "deals",
            ["dealname": "\(company) expansion", "dealstage": "appointmentscheduled", "amount": amount, "closedate": "2026-11-30"],
            associations: "[\(link(companyID, 5)),\(link(contactID, 3)),\(link(lineID, 19))]")
        return SeededDeal(deal: dealID, lineItem: lineID, company: companyID, contact: contactID)
    }

    /// Edits a record's properties in the CRM.
    public func update(_ type: String, _ id: String, _ properties: [String: String]) throws {
        let body =
            "{\"properties\":\(String(decoding: JSONValue.object(properties.mapValues { .string($0) }).serialized(), as: UTF8.self))}"
        let result = hubspot.call("PATCH", "/crm/v3/objects/\(type)/\(id)", body: body)
        guard result.status == 200 else { throw HarnessError("HubSpot: PATCH \(type)/\(id) answered \(result.status)") }
    }

    /// Creates a sellable product in Odoo's catalogue with `default_code` = the SKU.
    public func odooProduct(sku: String, name: String, price: Double) async throws {
        _ = try await http.odoo(
            odooURL, apiKey: odooKey, database: nil, model: "product.product", method: "create",
            body: ["vals_list": [["name": .string(name), "default_code": .string(sku), "list_price": .double(price), "sale_ok": true]]])
    }

    func odooRead(_ model: String, _ domain: JSONValue, _ fields: [String]) async throws -> [JSONValue] {
        try await http.odoo(
            odooURL, apiKey: odooKey, database: nil, model: model, method: "search_read",
            body: ["domain": domain, "fields": .array(fields.map { .string($0) })]
        ).arrayValue ?? []
    }

    func odooCount(_ model: String, _ domain: JSONValue) async throws -> Int {
        try await http.odooCount(odooURL, apiKey: odooKey, database: nil, model: model, domain: domain)
    }

    /// The Odoo sales orders made for a HubSpot deal (`client_order_ref` = `hubspot_deal_<id>`).
    public func orders(deal: String) async throws -> [JSONValue] {
        try await odooRead(
            "sale.order", [["client_order_ref", "=", .string("hubspot_deal_\(deal)")]],
            ["name", "state", "partner_id", "order_line", "amount_untaxed"])
    }

    /// The lines of a deal's order.
    func orderLines(deal: String) async throws -> [JSONValue] {
        try await odooRead(
            "sale.order.line", [["order_id.client_order_ref", "=", .string("hubspot_deal_\(deal)")]],
            ["product_id", "product_uom_qty", "price_unit"])
    }

    /// Weft's open business exceptions (`GET /v1/exceptions`).
    public func exceptions() async throws -> [JSONValue] {
        var request = HTTPClientRequest(url: "\(weftURL)/v1/exceptions")
        request.headers.add(name: "Authorization", value: "Bearer \(adminToken)")
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 4 << 20)
        guard response.status.code == 200 else { throw HarnessError("GET /v1/exceptions answered \(response.status.code)") }
        return try JSONValue.parse(Data(body.readableBytesView))["exceptions"]?.arrayValue ?? []
    }

    /// The open exception about a deal, if any.
    func exception(deal: String) async throws -> JSONValue? {
        try await exceptions().first { $0["subject"]?.stringValue == "hubspot/deal/\(deal)" }
    }
}

extension DemoStory {
    /// CRM: a won HubSpot deal becomes a confirmed Odoo sales order; an incomplete one is a business exception until
    /// the sales person fixes it; duplicated webhooks change nothing.
    func crmChapter(_ checks: Checks) async throws {
        say("\n== 11. Odoo's catalogue has the product a sales person sells")
        try await crm.odooProduct(sku: "WEFT-PRO", name: "Weft Pro", price: 500)
        say("   Odoo: product.product 'Weft Pro' created with default_code WEFT-PRO")
        let product = try await crm.odooCount("product.product", [["default_code", "=", "WEFT-PRO"]]) == 1
        check(checks, product, "Odoo: one product with SKU WEFT-PRO")

        say("\n== 12. A sales person wins a deal in HubSpot")
        let won = try crm.seedDeal(company: "Initech GmbH", email: "buyer@initech.example", sku: "WEFT-PRO", amount: "900")
        say(
            "   HubSpot: company \(won.company) 'Initech GmbH', contact \(won.contact), line item \(won.lineItem) "
                + "(2 × WEFT-PRO at 450.00), deal \(won.deal) of 900 created")
        try crm.update("deals", won.deal, ["dealstage": "closedwon"])
        say("   HubSpot: deal \(won.deal) moved to closedwon")
        let confirmed = try await eventually { try await crm.orders(deal: won.deal).first?["state"]?.stringValue == "sale" }
        let orders = try await crm.orders(deal: won.deal)
        let order = orders.first
        if let order {
            say(
                "   Odoo: sale.order \(order["name"]?.stringValue ?? "?") for \(order["partner_id"]?[1]?.stringValue ?? "?"), "
                    + "state \(order["state"]?.stringValue ?? "?"), untaxed \(order["amount_untaxed"]?.doubleValue.map { String(format: "%.2f", $0) } ?? "?")"
            )
        }
        check(
            checks, confirmed && orders.count == 1,
            "Odoo: one confirmed sale.order (state sale) for deal \(won.deal), client_order_ref hubspot_deal_\(won.deal)")
        check(checks, order?["partner_id"]?[1]?.stringValue == "Initech GmbH", "Odoo: the order is Initech GmbH's")
        let lines = try await crm.orderLines(deal: won.deal)
        check(
            checks,
            lines.count == 1 && lines.first?["product_uom_qty"]?.doubleValue == 2 && lines.first?["price_unit"]?.doubleValue == 450
                && (lines.first?["product_id"]?[1]?.stringValue ?? "").contains("Weft Pro"),
            "Odoo: its one line is 2 × Weft Pro at 450.00 (the deal's line item)")
        let contact = try await crm.odooRead("res.partner", [["email", "=", "buyer@initech.example"]], ["parent_id"])
        check(
            checks, contact.count == 1 && contact.first?["parent_id"]?[1]?.stringValue == "Initech GmbH",
            "Odoo: the deal's contact is a person of the company")

        say("\n== 13. A second deal is won without an amount and without a SKU on its line")
        let incomplete = try crm.seedDeal(company: "Globex AG", email: "buyer@globex.example", sku: nil, amount: nil, quantity: "3")
        say("   HubSpot: company 'Globex AG', line item \(incomplete.lineItem) without hs_sku, deal \(incomplete.deal) without amount")
        try crm.update("deals", incomplete.deal, ["dealstage": "closedwon"])
        say("   HubSpot: deal \(incomplete.deal) moved to closedwon")
        let listed = try await eventually { try await crm.exception(deal: incomplete.deal) != nil }
        let exception = try await crm.exception(deal: incomplete.deal)
        let problems = exception?["problems"]?.arrayValue?.compactMap(\.stringValue) ?? []
        for problem in problems { say("   Weft: exception deal_incomplete — \(problem)") }
        check(
            checks,
            listed && exception?["type"]?.stringValue == "deal_incomplete" && problems.contains { $0.contains("no amount") }
                && problems.contains { $0.contains("has no SKU") },
            "Weft: GET /v1/exceptions lists deal \(incomplete.deal) as deal_incomplete (no amount, a line without SKU)")
        let noOrder = try await crm.orders(deal: incomplete.deal).isEmpty
        let noPartner = try await crm.odooCount("res.partner", [["name", "=", "Globex AG"]]) == 0
        check(checks, noOrder && noPartner, "Odoo: no order and no partner for Globex (nothing half-created)")

        say("\n== 14. The sales person fixes the line's SKU and the deal's amount")
        try crm.update("line_items", incomplete.lineItem, ["hs_sku": "WEFT-PRO"])
        try crm.update("deals", incomplete.deal, ["amount": "1350"])
        say("   HubSpot: line item \(incomplete.lineItem) hs_sku WEFT-PRO; deal \(incomplete.deal) amount 1350")
        let fixed = try await eventually { try await crm.orders(deal: incomplete.deal).first?["state"]?.stringValue == "sale" }
        let fixedOrder = try await crm.orders(deal: incomplete.deal).first
        if let fixedOrder {
            say(
                "   Odoo: sale.order \(fixedOrder["name"]?.stringValue ?? "?") for \(fixedOrder["partner_id"]?[1]?.stringValue ?? "?") confirmed"
            )
        }
        check(
            checks, fixed && fixedOrder?["partner_id"]?[1]?.stringValue == "Globex AG",
            "Odoo: a confirmed sale.order for Globex appeared")
        let gone = try await eventually { try await crm.exception(deal: incomplete.deal) == nil }
        say("   Weft: open exceptions: \(try await crm.exceptions().count)")
        check(checks, gone, "Weft: the exception is gone")

        say("\n== 15. HubSpot delivers every webhook twice")
        let eventsBefore = try await node.store.listEvents(status: nil, limit: 50_000)
        let snapshotsBefore = eventsBefore.filter { $0.type == HubSpotDealSnapshot.eventType }.count
        let attemptsBefore = crm.hubspot.webhookDeliveries.count
        crm.hubspot.setWebhookFaults(WeftSimHubSpot.WebhookFaultPlan(duplicateRate: 1))
        try crm.update("deals", won.deal, ["amount": "950"])
        say("   HubSpot: deal \(won.deal) amount 900 → 950 (its order exists: from now on it is Odoo's)")
        await crm.hubspot.waitUntilDeliveriesSettled()
        crm.hubspot.setWebhookFaults(WeftSimHubSpot.WebhookFaultPlan())
        let attempts = crm.hubspot.webhookDeliveries.dropFirst(attemptsBefore).filter(\.succeeded)
        let sentIDs = attempts.flatMap(\.eventIDs)
        say("   HubSpot: \(attempts.count) webhook requests carrying \(sentIDs.count) events (\(Set(sentIDs).count) distinct)")
        check(checks, sentIDs.count > Set(sentIDs).count, "HubSpot: the same event ids were delivered more than once")
        // The change was read (a new snapshot of the deal) and carried through the pipeline.
        let read = try await eventually {
            try await node.store.listEvents(status: nil, limit: 50_000).filter { $0.type == HubSpotDealSnapshot.eventType }.count
                > snapshotsBefore
        }
        let drained = try await eventually {
            let stats = try await node.store.stats(now: Date())
            let events: Int = (stats.eventsByStatus[.pending] ?? 0) + (stats.eventsByStatus[.processing] ?? 0)
            let commands: Int = stats.commandsByTarget.values.reduce(0) { $0 + ($1[.pending] ?? 0) + ($1[.inFlight] ?? 0) }
            return events + commands == 0
        }
        check(checks, read && drained, "Weft: the edited deal was read and processed; queues drained")
        let stored = try await node.store.listEvents(status: nil, limit: 50_000).filter { $0.type.hasPrefix("hubspot.") }.map(\.eventID)
        say("   Weft: \(stored.count) HubSpot webhook events stored in all")
        check(checks, Set(stored).count == stored.count, "Weft: each HubSpot webhook event stored once")
        let after = try await crm.orders(deal: won.deal)
        check(
            checks, after.count == 1 && after.first?["amount_untaxed"]?.doubleValue == order?["amount_untaxed"]?.doubleValue,
            "Odoo: still one order for deal \(won.deal), unchanged")
        let hubspotOrders = try await crm.odooCount("sale.order", [["client_order_ref", "=like", "hubspot_deal_%"]])
        check(checks, hubspotOrders == 2, "Odoo: two orders from HubSpot in all (Initech, Globex)")
    }
}
