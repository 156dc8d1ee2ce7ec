import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimKit
import WeftSimSalesforce
import WeftTools

/// Order, invoice and payment status of a won opportunity's Odoo order, back on the Salesforce opportunity, over real
/// HTTP: the Salesforce simulator (REST API, OAuth, Outbound Messages on every opportunity change), a Weft node with
/// flows both ways, and the Odoo simulator.
@Suite(.serialized) struct SalesforceStatusTests {
    typealias Opportunities = SalesforceOpportunityToOrderTests
    static let version = Opportunities.version

    /// A Salesforce org whose Outbound Message fires on every opportunity change (Weft's own writes included), and a
    /// node with `salesforce → odoo` and `odoo → salesforce`.
    static func withCRM(
        statusFields: [String: String]? = nil, _ body: @Sendable @escaping (SalesforceSimulator, TestNode) async throws -> Void
    ) async throws {
        let quiet = Logger(label: "salesforce", factory: { _ in SwiftLogNoOpLogHandler() })
        var customFields = SalesforceSimulator.Configuration.defaultCustomFields
        customFields["Account", default: []].append(.init(name: "VAT_Number__c"))
        let salesforce = SalesforceSimulator(
            configuration: .init(
                organizationID: Opportunities.organizationID,
                connectedApps: [
                    Opportunities.clientID: .init(
                        clientSecret: Opportunities.clientSecret, clientCredentialsRunAs: "integration@weft.example")
                ],
                customFields: customFields,
                outboundMessages: [
                    .init(
                        name: "Weft_Opportunity", sObjectType: "Opportunity", endpointURL: "http://127.0.0.1:9/unset",
                        fields: ["StageName", "IsWon", "Amount", "AccountId", "SystemModstamp", "Invoice_Status__c"])
                ],
                logger: quiet))
        let router = Router()
        salesforce.addRoutes(to: router)
        try await SimulatorServer.withRunning(router: router, logger: quiet) { port in
            var crm = SalesforceSystemConfiguration(
                instanceURL: "http://127.0.0.1:\(port)",
                authentication: .clientCredentials(
                    clientID: Opportunities.clientID, clientSecret: .environment("SALESFORCE_SECRET")),
                organizationID: Opportunities.organizationID, currency: CurrencyCode(rawValue: "EUR")!, rateLimit: nil,
                catchUpInterval: .seconds(3600))
            if let statusFields { crm.statusFields = statusFields }
            try await TestNode.with(
                extraSystems: ["salesforce": .salesforce(crm)],
                extraFlows: [
                    Flow(name: "opportunities_to_erp", source: "salesforce", target: "odoo"),
                    Flow(name: "status_to_crm", source: "odoo", target: "salesforce"),
                ],
                extraEnvironment: ["SALESFORCE_SECRET": Opportunities.clientSecret],
                odooStatusInterval: .milliseconds(200),
                logger: ProcessInfo.processInfo.environment["WEFT_TEST_LOG"] != nil
                    ? Logger(label: "e2e", factory: { StreamLogHandler.standardError(label: $0) })
                    : Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() })
            ) { node in
                salesforce.setOutboundEndpoint("\(node.weftURL)/hooks/salesforce")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await salesforce.runDelivery() }
                    defer { group.cancelAll() }
                    try await body(salesforce, node)
                }
            }
        }
    }

    /// A won opportunity (2 × 450 of `SKU-PRO`, known to Odoo) whose order Weft creates; returns the opportunity id.
    static func wonOpportunity(_ salesforce: SalesforceSimulator, _ node: TestNode) async throws -> String {
        let entry = try Opportunities.product(salesforce, name: "Pro plan", code: "SKU-PRO")
        _ = try await HubSpotDealToOrderTests.odoo(
            node, "product.product", "create",
            ["vals_list": [["name": "Pro plan", "default_code": "SKU-PRO", "list_price": 100, "sale_ok": true]]])
        let seeded = try Opportunities.seedOpportunity(salesforce, account: "Umbrella", entry: entry)
        try Opportunities.update(salesforce, "Opportunity", seeded.opportunity, ["StageName": "Closed Won"])
        return seeded.opportunity
    }

    static func field(_ salesforce: SalesforceSimulator, _ opportunity: String, _ name: String) -> String? {
        salesforce.record("Opportunity", id: opportunity)?[name]?.string
    }

    static func statusWrites(_ salesforce: SalesforceSimulator) -> [RequestLog.Entry] {
        salesforce.requestLog.all.filter { $0.method == "PATCH" && $0.path == "\(version)/composite/sobjects" }
    }

    @Test func orderInvoiceAndPaymentStatusReachTheOpportunityAndStopThere() async throws {
        try await Self.withCRM { salesforce, node in
            let opportunity = try await Self.wonOpportunity(salesforce, node)
            try await waitUntil { Self.field(salesforce, opportunity, "Invoice_Status__c") == "not_invoiced" }
            let order = try #require(try await Opportunities.orders(node, opportunity: opportunity).first)
            let orderID = try #require(order["id"]?.intValue)
            let orderName = try #require(
                try await node.odooRead("sale.order", [["id", "=", .int(orderID)]], fields: ["name"]).first?["name"]?.stringValue)
            #expect(Self.field(salesforce, opportunity, "ERP_Order_Ref__c") == orderName)
            #expect(Self.field(salesforce, opportunity, "Payment_Standing__c") == "good")

            // The accountant invoices the order and posts the invoice.
            let wizard = try await HubSpotDealToOrderTests.odoo(
                node, "sale.advance.payment.inv", "create",
                [
                    "vals_list": [["advance_payment_method": "delivered"]],
                    "context": ["active_model": "sale.order", "active_ids": [.int(orderID)]],
                ])
            let wizardID = try #require(wizard.arrayValue?.first?.intValue ?? wizard.intValue)
            _ = try await HubSpotDealToOrderTests.odoo(node, "sale.advance.payment.inv", "create_invoices", ["ids": [.int(wizardID)]])
            let invoice = try #require(
                try await node.odooRead("account.move", [["invoice_origin", "=", .string(orderName)]], fields: ["id"]).first?["id"]?
                    .intValue)
            _ = try await HubSpotDealToOrderTests.odoo(node, "account.move", "action_post", ["ids": [.int(invoice)]])
            try await waitUntil { Self.field(salesforce, opportunity, "Invoice_Status__c") == "invoiced" }

            // The customer pays.
            let register = try await HubSpotDealToOrderTests.odoo(
                node, "account.payment.register", "create",
                ["vals_list": [[:]], "context": ["active_model": "account.move", "active_ids": [.int(invoice)]]])
            let registerID = try #require(register.arrayValue?.first?.intValue ?? register.intValue)
            _ = try await HubSpotDealToOrderTests.odoo(
                node, "account.payment.register", "action_create_payments", ["ids": [.int(registerID)]])
            try await waitUntil { Self.field(salesforce, opportunity, "Invoice_Status__c") == "paid" }

            // Each write changed SystemModstamp and fired the Outbound Message: Weft was told, read the opportunity
            // again, and found nothing new.
            let writtenAt = try #require(salesforce.record("Opportunity", id: opportunity)?["SystemModstamp"]?.string)
            try await waitUntil {
                try await Opportunities.outboundEvents(node).contains { event in
                    (try? JSONValue.parse(event.payload))?["fields"]?["Invoice_Status__c"]?.stringValue == "paid"
                }
            }
            try await waitUntil {
                try await node.store.listEvents(status: nil, limit: 1000).contains { event in
                    event.type == SalesforceOpportunitySnapshot.eventType
                        && (try? JSONValue.parse(event.payload))?["opportunity"]?["SystemModstamp"]?.stringValue == writtenAt
                }
            }
            _ = try await node.drain()

            // Three status changes, three writes, and no ping-pong: the echo changed nothing Weft routes on.
            let statusCommands = try await node.store.listCommands(filter: CommandFilter(kind: "update_deal_status"), limit: 100)
                .sorted { $0.command.id < $1.command.id }
            let statuses = statusCommands.compactMap { record -> String? in
                guard case .updateDealStatus(let update) = record.command.payload else { return nil }
                return "\(update.status.orderState)/\(update.status.invoiceStatus)/\(update.status.paymentStanding)"
            }
            let expected = ["confirmed/not_invoiced/good", "confirmed/invoiced/good", "confirmed/paid/good"]
            #expect(statuses == expected)
            #expect(Self.statusWrites(salesforce).count == 3)
            #expect(salesforce.record("Opportunity", id: opportunity)?["SystemModstamp"]?.string == writtenAt)
            #expect(statusCommands.allSatisfy { $0.status == .delivered })
            #expect(statusCommands.allSatisfy { $0.targetRecord == TargetRecordID(model: "Opportunity", id: opportunity) })
            let orderCommands = try await node.store.listCommands(filter: CommandFilter(kind: "upsert_order"), limit: 100)
            #expect(orderCommands.count == 1)
            #expect(try await Opportunities.orders(node, opportunity: opportunity).count == 1)
        }
    }

    @Test func aMissingCustomFieldRejectsTheStatusNamingTheField() async throws {
        try await Self.withCRM(statusFields: ["order_ref": "ERP_Order_Ref__c", "order_state": "ERP_Order_State__c"]) {
            salesforce, node in
            let opportunity = try await Self.wonOpportunity(salesforce, node)
            try await waitUntil {
                try await node.store.listCommands(filter: CommandFilter(kind: "update_deal_status"), limit: 10)
                    .contains { $0.status == .dead }
            }
            _ = try await node.drain()
            let commands = try await node.store.listCommands(filter: CommandFilter(kind: "update_deal_status"), limit: 10)
            #expect(commands.count == 1)
            for command in commands {
                #expect(command.status == .dead)
                let message = command.lastError ?? ""
                #expect(message.contains("ERP_Order_State__c"))
                #expect(message.contains("create it on Opportunity"))
                #expect(!message.contains("ERP_Order_Ref__c"))
            }
            // Rejected, not retried: one write, and the opportunity is unchanged.
            #expect(Self.statusWrites(salesforce).count == 1)
            #expect(Self.field(salesforce, opportunity, "ERP_Order_Ref__c") == nil)
        }
    }

    static func load(_ salesforce: String, flows: String) -> (WeftConfiguration?, [ConfigurationProblem]) {
        ConfigurationLoader.load(
            text: """
                store: { sqlite: ./weft.db }
                systems:
                  salesforce:
                    type: salesforce
                    instance_url: https://acme.my.salesforce.com
                    client_id: 3MVG9key
                    client_secret_env: SF_SECRET
                \(salesforce)
                  odoo: { type: odoo, url: "https://acme.odoo.com", database: acme, login: bot, api_key_env: ODOO }
                  stripe: { type: stripe, webhook_secret_env: WH, catch_up: { enabled: false } }
                \(flows)
                """)
    }

    @Test func statusFieldsAndTheFlowBackAreConfigured() throws {
        let (configuration, problems) = Self.load(
            """
                status_fields:
                  order_ref: Order_Number__c
                  order_state: Order_State__c
                  invoice_status: null
            """,
            flows: "flows:\n  won: { from: salesforce, to: odoo }\n  back: { from: odoo, to: salesforce }")
        #expect(problems.isEmpty, "\(problems)")
        guard case .salesforce(let salesforce)? = configuration?.systems["salesforce"] else {
            Issue.record("no salesforce system")
            return
        }
        // Given parts are written; null and absent ones are not.
        #expect(salesforce.statusFields == ["order_ref": "Order_Number__c", "order_state": "Order_State__c"])
        #expect(configuration?.flows.map(\.target) == ["odoo", "salesforce"])

        let (defaults, _) = Self.load("", flows: "flows:\n  back: { from: odoo, to: salesforce }")
        guard case .salesforce(let plain)? = defaults?.systems["salesforce"] else {
            Issue.record("no salesforce system")
            return
        }
        #expect(
            plain.statusFields
                == ["order_ref": "ERP_Order_Ref__c", "invoice_status": "Invoice_Status__c", "payment_standing": "Payment_Standing__c"])
    }

    @Test func badStatusFieldsAndFlowsAreRefusedWithTheirLines() {
        let (_, problems) = Self.load(
            """
                status_fields:
                  order_ref: "Order Number"
                  payment: Payment__c
            """,
            flows: "flows:\n  wrong: { from: stripe, to: salesforce }")
        let lines = Dictionary(problems.map { ($0.message, $0.line) }, uniquingKeysWith: { first, _ in first })
        let apiName = lines.first { $0.key.contains("status_fields.order_ref must be an Opportunity field API name") }
        #expect(apiName?.value == 9)
        let unknown = lines.first { $0.key.contains("unknown key 'payment'") }
        #expect(unknown?.value == 10)
        let flow = lines.first { $0.key.contains("flows.wrong.to: salesforce is a salesforce system") }
        #expect(flow?.key.contains("from an odoo system") == true)
        #expect(flow?.value == 14)
    }
}
