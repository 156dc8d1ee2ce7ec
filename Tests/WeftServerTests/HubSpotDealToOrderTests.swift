import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimHubSpot
import WeftSimKit
import WeftTools

/// Deal won in HubSpot → confirmed sales order in Odoo, over real HTTP: the HubSpot simulator (API and signed
/// webhooks), a Weft node and the Odoo simulator.
@Suite(.serialized) struct HubSpotDealToOrderTests {
    static let token = "pat-na1-e2e"
    static let clientSecret = "hubspot-e2e-client-secret"

    /// A HubSpot simulator whose webhooks go to the node's `/hooks/hubspot`, and the node.
    static func withCRM(
        requirements: DealRequirements = DealRequirements(), statusBack: Bool = false,
        _ body: @Sendable @escaping (HubSpotSimulator, TestNode) async throws -> Void
    ) async throws {
        let hubspot = HubSpotSimulator(
            configuration: .init(
                accessTokens: [token], customProperties: ["deals": ["erp_order_ref", "invoice_status", "payment_standing"]],
                webhooks: .init(
                    clientSecret: clientSecret,
                    subscriptions: [
                        .init(id: 1, subscriptionType: "deal.creation"),
                        .init(id: 2, subscriptionType: "deal.propertyChange", propertyName: "dealstage"),
                        .init(id: 3, subscriptionType: "deal.propertyChange", propertyName: "amount"),
                        .init(id: 4, subscriptionType: "line_item.propertyChange", propertyName: "hs_sku"),
                        .init(id: 5, subscriptionType: "company.propertyChange", propertyName: "country"),
                        // Weft's own writes come back as webhooks too: they must stop at Weft.
                        .init(id: 6, subscriptionType: "deal.propertyChange", propertyName: "invoice_status"),
                        .init(id: 7, subscriptionType: "deal.propertyChange", propertyName: "erp_order_ref"),
                    ])))
        let router = Router()
        hubspot.addRoutes(to: router)
        try await SimulatorServer.withRunning(router: router, logger: Logger(label: "hubspot", factory: { _ in SwiftLogNoOpLogHandler() }))
        {
            port in
            let crm = HubSpotSystemConfiguration(
                baseURL: "http://127.0.0.1:\(port)", accessToken: .environment("HUBSPOT_TOKEN"),
                clientSecrets: [.environment("HUBSPOT_SECRET")], currency: CurrencyCode(rawValue: "EUR")!,
                requirements: requirements, rateLimit: nil, catchUpInterval: .seconds(3600))
            try await TestNode.with(
                extraSystems: ["hubspot": .hubspot(crm)],
                extraFlows: [Flow(name: "deals_to_erp", source: "hubspot", target: "odoo")]
                    + (statusBack ? [Flow(name: "status_to_crm", source: "odoo", target: "hubspot")] : []),
                extraEnvironment: ["HUBSPOT_TOKEN": token, "HUBSPOT_SECRET": clientSecret],
                odooStatusInterval: .milliseconds(200),
                logger: ProcessInfo.processInfo.environment["WEFT_TEST_LOG"] != nil
                    ? Logger(label: "e2e", factory: { StreamLogHandler.standardError(label: $0) })
                    : Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() })
            ) { node in
                hubspot.setWebhookTarget("\(node.weftURL)/hooks/hubspot")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await hubspot.runDelivery() }
                    defer { group.cancelAll() }
                    try await body(hubspot, node)
                }
            }
        }
    }

    /// Creates a product in Odoo, as the ERP's catalogue would have it.
    static func odooProduct(_ node: TestNode, sku: String, name: String) async throws {
        _ = try await node.http.odoo(
            node.odooURL, apiKey: TestNode.odooKey, database: nil, model: "product.product", method: "create",
            body: ["vals_list": [["name": .string(name), "default_code": .string(sku), "list_price": 100, "sale_ok": true]]])
    }

    /// A company, a contact, a line item and a deal associated with them, created as a sales person would.
    static func seedDeal(
        _ hubspot: HubSpotSimulator, company: String, sku: String?, amount: String?, quantity: String = "2",
        country: String? = "DE"
    ) throws -> (deal: String, lineItem: String, company: String) {
        func create(_ type: String, _ properties: [String: String?], associations: String = "[]") throws -> String {
            let props = properties.compactMapValues { $0 }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
            let result = hubspot.call(
                "POST", "/crm/v3/objects/\(type)", body: #"{"properties":{\#(props)},"associations":\#(associations)}"#)
            guard result.status == 201, let id = try JSONValue.parse(Data(result.body))["id"]?.stringValue else {
                throw HarnessError("creating a \(type) answered \(result.status): \(String(decoding: result.body, as: UTF8.self))")
            }
            return id
        }
        func link(_ id: String, _ type: Int) -> String {
            #"{"to":{"id":"\#(id)"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":\#(type)}]}"#
        }
        let companyID = try create("companies", ["name": company, "country": country, "city": "Berlin"])
        let contactID = try create(
            "contacts", ["email": "buyer@\(company.lowercased().filter(\.isLetter)).example", "firstname": "Ada", "lastname": "Buyer"])
        let lineID = try create("line_items", ["name": "Pro plan", "hs_sku": sku, "quantity": quantity, "price": "450.00"])
        let dealID = try create(
            "deals",
            ["dealname": "\(company) expansion", "dealstage": "appointmentscheduled", "amount": amount, "closedate": "2026-11-30"],
            associations: "[\(link(companyID, 5)),\(link(contactID, 3)),\(link(lineID, 19))]")
        return (dealID, lineID, companyID)
    }

    static func patch(_ hubspot: HubSpotSimulator, _ type: String, _ id: String, _ properties: String) throws {
        let result = hubspot.call("PATCH", "/crm/v3/objects/\(type)/\(id)", body: #"{"properties":\#(properties)}"#)
        guard result.status == 200 else { throw HarnessError("PATCH \(type)/\(id) answered \(result.status)") }
    }

    static func orders(_ node: TestNode, deal: String) async throws -> [JSONValue] {
        try await node.odooRead(
            "sale.order", [["client_order_ref", "=", .string("hubspot_deal_\(deal)")]],
            fields: ["name", "state", "partner_id", "order_line", "amount_untaxed"])
    }

    static func exceptions(_ node: TestNode) async throws -> [JSONValue] {
        try await node.adminJSON("/v1/exceptions")["exceptions"]?.arrayValue ?? []
    }

    @Test func aWonDealBecomesOneConfirmedOrderWhateverTheDeliveries() async throws {
        try await Self.withCRM { hubspot, node in
            // Every webhook request is sent twice and shuffled within windows of 3.
            hubspot.setWebhookFaults(WebhookFaultPlan(duplicateRate: 1, reorderWindow: 3))
            try await Self.odooProduct(node, sku: "SKU-PRO", name: "Pro plan")
            let seeded = try Self.seedDeal(hubspot, company: "Acme GmbH", sku: "SKU-PRO", amount: "900")
            try Self.patch(hubspot, "deals", seeded.deal, #"{"dealstage":"closedwon"}"#)
            // The simulator holds a partly filled reordering window until asked to settle.
            await hubspot.waitUntilDeliveriesSettled()
            do {
                try await waitUntil { try await Self.orders(node, deal: seeded.deal).first?["state"]?.stringValue == "sale" }
            } catch {
                for event in try await node.store.listEvents(status: nil, limit: 100) {
                    print(
                        "EVENT", event.type, event.entityKey, event.status, event.outcome ?? "-",
                        String(decoding: event.payload.prefix(600), as: UTF8.self))
                }
                for command in try await node.store.listCommands(filter: CommandFilter(), limit: 100) {
                    print("COMMAND", command.command.payload.kind, command.status, command.lastError ?? "-")
                }
                print("DELIVERIES", hubspot.webhookDeliveries.count, hubspot.pendingDeliveries)
                throw error
            }
            await hubspot.waitUntilDeliveriesSettled()
            _ = try await node.drain()

            let orders = try await Self.orders(node, deal: seeded.deal)
            #expect(orders.count == 1)
            #expect(orders.first?["order_line"]?.arrayValue?.count == 1)
            #expect(orders.first?["amount_untaxed"]?.doubleValue == 900)
            let lines = try await node.odooRead(
                "sale.order.line", [["order_id.client_order_ref", "=", .string("hubspot_deal_\(seeded.deal)")]],
                fields: ["product_uom_qty", "price_unit"])
            #expect(lines.first?["product_uom_qty"]?.doubleValue == 2)
            #expect(lines.first?["price_unit"]?.doubleValue == 450)
            // The company and its contact, once each; the contact belongs to the company.
            #expect(try await node.odooCount("res.partner", [["name", "=", "Acme GmbH"], ["is_company", "=", true]]) == 1)
            let people = try await node.odooRead(
                "res.partner", [["email", "=", "buyer@acmegmbh.example"]], fields: ["parent_id", "name"])
            #expect(people.count == 1)
            #expect(people.first?["parent_id"]?[1]?.stringValue == "Acme GmbH")
            // Duplicated webhook requests were answered and stored once.
            #expect(hubspot.webhookDeliveries.count >= 2)
            let events = try await node.store.listEvents(status: nil, limit: 1000)
            let webhookIDs = events.filter { $0.type.hasPrefix("hubspot.") }.map(\.eventID)
            #expect(Set(webhookIDs).count == webhookIDs.count)

            // An edit after the order exists, and a replay of every deal snapshot, leave one order.
            try Self.patch(hubspot, "deals", seeded.deal, #"{"amount":"950"}"#)
            await hubspot.waitUntilDeliveriesSettled()
            try await waitUntil {
                try await node.store.listEvents(status: nil, limit: 1000).filter { $0.type == HubSpotDealSnapshot.eventType }.count >= 2
            }
            let snapshots = try await node.store.listEvents(status: nil, limit: 1000).filter { $0.type == HubSpotDealSnapshot.eventType }
            _ = try await node.store.append(
                snapshots.map { event in
                    IncomingEvent(
                        system: event.system, eventID: SourceEventID("replay-\(event.eventID)"), type: event.type,
                        entityKey: event.entityKey, occurredAt: event.occurredAt, receivedAt: Date(), payload: event.payload,
                        traceID: .random())
                })
            node.node.events.ring()
            _ = try await node.drain()
            #expect(try await Self.orders(node, deal: seeded.deal).count == 1)
            #expect(try await node.odooCount("sale.order", []) == 1)
            let delivered = try await node.store.listCommands(filter: CommandFilter(kind: "upsert_order"), limit: 100)
            #expect(delivered.allSatisfy { $0.status == .delivered })
        }
    }

    @Test func anIncompleteWonDealIsAnExceptionUntilTheCRMRecordIsFixed() async throws {
        try await Self.withCRM { hubspot, node in
            try await Self.odooProduct(node, sku: "SKU-PRO", name: "Pro plan")
            // No SKU on the line and no amount.
            let seeded = try Self.seedDeal(hubspot, company: "Globex", sku: nil, amount: nil)
            try Self.patch(hubspot, "deals", seeded.deal, #"{"dealstage":"closedwon"}"#)
            try await waitUntil { !(try await Self.exceptions(node)).isEmpty }
            _ = try await node.drain()
            let open = try await Self.exceptions(node)
            #expect(open.count == 1)
            #expect(open.first?["type"]?.stringValue == "deal_incomplete")
            #expect(open.first?["subject"]?.stringValue == "hubspot/deal/\(seeded.deal)")
            let problems = open.first?["problems"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(problems.contains { $0.contains("no amount") })
            #expect(problems.contains { $0.contains("has no SKU") })
            #expect(try await node.odooCount("sale.order", []) == 0)
            #expect(try await node.odooCount("res.partner", [["name", "=", "Globex"]]) == 0)

            // Fixed in the CRM: the line gets its SKU, the deal its amount.
            try Self.patch(hubspot, "line_items", seeded.lineItem, #"{"hs_sku":"SKU-PRO"}"#)
            try Self.patch(hubspot, "deals", seeded.deal, #"{"amount":"900"}"#)
            try await waitUntil { try await Self.orders(node, deal: seeded.deal).first?["state"]?.stringValue == "sale" }
            _ = try await node.drain()
            #expect(try await Self.exceptions(node).isEmpty)
            #expect(try await node.odooCount("sale.order", []) == 1)
        }
    }

    @Test func aSKUOdooDoesNotKnowIsRefusedUntilTheLineIsFixed() async throws {
        try await Self.withCRM { hubspot, node in
            try await Self.odooProduct(node, sku: "SKU-PRO", name: "Pro plan")
            let seeded = try Self.seedDeal(hubspot, company: "Initech", sku: "SKU-TYPO", amount: "900")
            try Self.patch(hubspot, "deals", seeded.deal, #"{"dealstage":"closedwon"}"#)
            try await waitUntil { try await Self.exceptions(node).contains { $0["type"]?.stringValue == "deal_not_in_erp" } }
            let refused = try await Self.exceptions(node).first { $0["type"]?.stringValue == "deal_not_in_erp" }
            #expect(refused?["problems"]?[0]?.stringValue?.contains("SKU-TYPO") == true)
            // Nothing was created for the refused order: no partner, no order.
            #expect(try await node.odooCount("sale.order", []) == 0)
            #expect(try await node.odooCount("res.partner", [["name", "=", "Initech"]]) == 0)

            try Self.patch(hubspot, "line_items", seeded.lineItem, #"{"hs_sku":"SKU-PRO"}"#)
            try await waitUntil { try await Self.orders(node, deal: seeded.deal).first?["state"]?.stringValue == "sale" }
            _ = try await node.drain()
            #expect(try await Self.exceptions(node).isEmpty)
        }
    }

    static func dealProperties(_ hubspot: HubSpotSimulator, _ id: String) throws -> JSONValue {
        let result = hubspot.call("GET", "/crm/v3/objects/deals/\(id)?properties=erp_order_ref,invoice_status,payment_standing")
        return try JSONValue.parse(Data(result.body))["properties"] ?? .null
    }

    /// Calls an Odoo method over JSON-2 as an accountant's client would.
    static func odoo(_ node: TestNode, _ model: String, _ method: String, _ body: JSONValue) async throws -> JSONValue {
        try await node.http.odoo(node.odooURL, apiKey: TestNode.odooKey, database: nil, model: model, method: method, body: body)
    }

    @Test func orderInvoiceAndPaymentStatusReachTheDealAndStopThere() async throws {
        try await Self.withCRM(statusBack: true) { hubspot, node in
            try await Self.odooProduct(node, sku: "SKU-PRO", name: "Pro plan")
            let seeded = try Self.seedDeal(hubspot, company: "Umbrella", sku: "SKU-PRO", amount: "900")
            try Self.patch(hubspot, "deals", seeded.deal, #"{"dealstage":"closedwon"}"#)
            try await waitUntil {
                try Self.dealProperties(hubspot, seeded.deal)["invoice_status"]?.stringValue == "not_invoiced"
            }
            let order = try #require(try await Self.orders(node, deal: seeded.deal).first)
            let orderID = try #require(order["id"]?.intValue)
            #expect(try Self.dealProperties(hubspot, seeded.deal)["erp_order_ref"]?.stringValue?.hasPrefix("S") == true)
            #expect(try Self.dealProperties(hubspot, seeded.deal)["payment_standing"]?.stringValue == "good")

            // The accountant invoices the order and posts the invoice.
            let wizard = try await Self.odoo(
                node, "sale.advance.payment.inv", "create",
                [
                    "vals_list": [["advance_payment_method": "delivered"]],
                    "context": ["active_model": "sale.order", "active_ids": [.int(orderID)]],
                ])
            let wizardID = try #require(wizard.arrayValue?.first?.intValue ?? wizard.intValue)
            _ = try await Self.odoo(node, "sale.advance.payment.inv", "create_invoices", ["ids": [.int(wizardID)]])
            let invoice = try #require(
                try await node.odooRead("account.move", [["invoice_origin", "=", order["name"] ?? .null]], fields: ["id"]).first?["id"]?
                    .intValue)
            _ = try await Self.odoo(node, "account.move", "action_post", ["ids": [.int(invoice)]])
            try await waitUntil { try Self.dealProperties(hubspot, seeded.deal)["invoice_status"]?.stringValue == "invoiced" }

            // The customer pays.
            let register = try await Self.odoo(
                node, "account.payment.register", "create",
                ["vals_list": [[:]], "context": ["active_model": "account.move", "active_ids": [.int(invoice)]]])
            let registerID = try #require(register.arrayValue?.first?.intValue ?? register.intValue)
            _ = try await Self.odoo(node, "account.payment.register", "action_create_payments", ["ids": [.int(registerID)]])
            try await waitUntil { try Self.dealProperties(hubspot, seeded.deal)["invoice_status"]?.stringValue == "paid" }
            await hubspot.waitUntilDeliveriesSettled()
            _ = try await node.drain()

            // Three statuses, three writes: Weft's writes came back as webhooks and stopped there (no ping-pong), and
            // the order was not touched again.
            let writes = hubspot.requestLog.all.filter { $0.method == "POST" && $0.path.hasSuffix("/deals/batch/update") }
            #expect(writes.count == 3)
            #expect(try await Self.orders(node, deal: seeded.deal).count == 1)
            let statusCommands = try await node.store.listCommands(filter: CommandFilter(kind: "update_deal_status"), limit: 100)
            #expect(statusCommands.count == 3)
            #expect(statusCommands.allSatisfy { $0.status == .delivered })
            let orderCommands = try await node.store.listCommands(filter: CommandFilter(kind: "upsert_order"), limit: 100)
            #expect(orderCommands.count == 1)
        }
    }

    @Test func webhooksWithoutAValidSignatureStoreNothing() async throws {
        try await Self.withCRM { _, node in
            let body =
                #"[{"eventId":1,"subscriptionId":2,"portalId":3,"occurredAt":1764547200000,"subscriptionType":"deal.propertyChange","attemptNumber":0,"objectId":42,"propertyName":"dealstage","propertyValue":"closedwon"}]"#
            let timestamp = String(Int64(Date().timeIntervalSince1970 * 1000))
            for (signature, expected) in [("bm90IHRoZSBzaWduYXR1cmU=", 401), ("", 401)] {
                var request = HTTPClientRequest(url: "\(node.weftURL)/hooks/hubspot")
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                if !signature.isEmpty { request.headers.add(name: "X-HubSpot-Signature-v3", value: signature) }
                request.headers.add(name: "X-HubSpot-Request-Timestamp", value: timestamp)
                request.body = .bytes(Array(body.utf8))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                #expect(Int(response.status.code) == expected)
            }
            #expect(try await node.store.listEvents(status: nil, limit: 10).isEmpty)
        }
    }
}
