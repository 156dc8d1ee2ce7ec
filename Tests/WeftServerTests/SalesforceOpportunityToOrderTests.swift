import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import Prometheus
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimKit
import WeftSimSalesforce
import WeftTools

/// Opportunity won in Salesforce → confirmed sales order in Odoo, over real HTTP: the Salesforce simulator (REST API,
/// OAuth and Outbound Messages), a Weft node and the Odoo simulator.
@Suite(.serialized) struct SalesforceOpportunityToOrderTests {
    static let organizationID = "00D5g000004SimAEAU"
    static let clientID = "3MVG9weftE2EConsumerKey"
    static let clientSecret = "salesforce-e2e-consumer-secret"
    static let version = "/services/data/v62.0"

    /// A Salesforce org whose Outbound Message on Opportunity goes to the node's `/hooks/salesforce`, and the node.
    static func withCRM(
        requirements: DealRequirements = DealRequirements(), registry: PrometheusCollectorRegistry? = nil,
        _ body: @Sendable @escaping (SalesforceSimulator, TestNode) async throws -> Void
    ) async throws {
        var customFields = SalesforceSimulator.Configuration.defaultCustomFields
        customFields["Account", default: []].append(.init(name: "VAT_Number__c"))
        let salesforce = SalesforceSimulator(
            configuration: .init(
                organizationID: organizationID,
                connectedApps: [
                    clientID: .init(clientSecret: clientSecret, clientCredentialsRunAs: "integration@weft.example")
                ],
                customFields: customFields,
                outboundMessages: [
                    .init(
                        name: "Weft_Opportunity", sObjectType: "Opportunity", endpointURL: "http://127.0.0.1:9/unset",
                        fields: ["StageName", "IsWon", "Amount", "AccountId", "SystemModstamp"])
                ],
                logger: Logger(label: "salesforce", factory: { _ in SwiftLogNoOpLogHandler() })))
        let router = Router()
        salesforce.addRoutes(to: router)
        try await SimulatorServer.withRunning(
            router: router, logger: Logger(label: "salesforce", factory: { _ in SwiftLogNoOpLogHandler() })
        ) { port in
            let crm = SalesforceSystemConfiguration(
                instanceURL: "http://127.0.0.1:\(port)",
                authentication: .clientCredentials(clientID: clientID, clientSecret: .environment("SALESFORCE_SECRET")),
                organizationID: organizationID, currency: CurrencyCode(rawValue: "EUR")!, vatField: "VAT_Number__c",
                requirements: requirements, rateLimit: nil, catchUpInterval: .seconds(3600))
            try await TestNode.with(
                extraSystems: ["salesforce": .salesforce(crm)],
                extraFlows: [Flow(name: "opportunities_to_erp", source: "salesforce", target: "odoo")],
                extraEnvironment: ["SALESFORCE_SECRET": clientSecret],
                logger: ProcessInfo.processInfo.environment["WEFT_TEST_LOG"] != nil
                    ? Logger(label: "e2e", factory: { StreamLogHandler.standardError(label: $0) })
                    : Logger(label: "e2e", factory: { _ in SwiftLogNoOpLogHandler() }),
                registry: registry
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

    /// Creates a record through the simulator's REST API (as a sales person's edit would); returns its id.
    @discardableResult
    static func create(_ salesforce: SalesforceSimulator, _ type: String, _ fields: [String: JSONValue]) throws -> String {
        let body = String(decoding: JSONValue.object(fields).serialized(), as: UTF8.self)
        let result = salesforce.call("POST", "\(version)/sobjects/\(type)", body: body)
        guard result.status == 201, let id = try JSONValue.parse(Data(result.body))["id"]?.stringValue else {
            throw HarnessError("creating a \(type) answered \(result.status): \(String(decoding: result.body, as: UTF8.self))")
        }
        return id
    }

    static func update(_ salesforce: SalesforceSimulator, _ type: String, _ id: String, _ fields: [String: JSONValue]) throws {
        let body = String(decoding: JSONValue.object(fields).serialized(), as: UTF8.self)
        let result = salesforce.call("PATCH", "\(version)/sobjects/\(type)/\(id)", body: body)
        guard result.status == 204 else {
            throw HarnessError("PATCH \(type)/\(id) answered \(result.status): \(String(decoding: result.body, as: UTF8.self))")
        }
    }

    /// A product with its standard price, as the org's catalogue has it; returns the price book entry.
    static func product(_ salesforce: SalesforceSimulator, name: String, code: String?) throws -> String {
        var fields: [String: JSONValue] = ["Name": .string(name), "IsActive": true]
        if let code { fields["ProductCode"] = .string(code) }
        let product = try create(salesforce, "Product2", fields)
        return try create(
            salesforce, "PricebookEntry",
            [
                "Pricebook2Id": .string(salesforce.standardPricebookID), "Product2Id": .string(product), "UnitPrice": 500,
                "IsActive": true,
            ])
    }

    /// An account, its contact, and an opportunity with one line (2 × 450) and the contact as primary contact role.
    static func seedOpportunity(
        _ salesforce: SalesforceSimulator, account name: String, entry: String?, withAccount: Bool = true
    ) throws -> (opportunity: String, account: String) {
        let account = try create(
            salesforce, "Account",
            [
                "Name": .string(name), "BillingStreet": "Hauptstraße 1\nHinterhaus", "BillingCity": "Berlin",
                "BillingPostalCode": "10115", "BillingCountry": "DE", "VAT_Number__c": "DE123456789",
            ])
        let contact = try create(
            salesforce, "Contact",
            [
                "AccountId": .string(account), "FirstName": "Ada", "LastName": "Buyer",
                "Email": .string("buyer@\(name.lowercased().filter(\.isLetter)).example"),
            ])
        var fields: [String: JSONValue] = [
            "Name": .string("\(name) expansion"), "StageName": "Prospecting", "CloseDate": "2026-11-30",
        ]
        if withAccount { fields["AccountId"] = .string(account) }
        let opportunity = try create(salesforce, "Opportunity", fields)
        if let entry {
            try create(
                salesforce, "OpportunityLineItem",
                ["OpportunityId": .string(opportunity), "PricebookEntryId": .string(entry), "Quantity": 2, "UnitPrice": 450])
        }
        try create(
            salesforce, "OpportunityContactRole",
            ["OpportunityId": .string(opportunity), "ContactId": .string(contact), "IsPrimary": true, "Role": "Decision Maker"])
        return (opportunity, account)
    }

    static func orders(_ node: TestNode, opportunity: String) async throws -> [JSONValue] {
        try await node.odooRead(
            "sale.order", [["client_order_ref", "=", .string("salesforce_deal_\(opportunity)")]],
            fields: ["state", "partner_id", "order_line", "amount_untaxed", "origin"])
    }

    static func exceptions(_ node: TestNode) async throws -> [JSONValue] {
        try await node.adminJSON("/v1/exceptions")["exceptions"]?.arrayValue ?? []
    }

    static func outboundEvents(_ node: TestNode) async throws -> [InboxEvent] {
        try await node.store.listEvents(status: nil, limit: 1000).filter { $0.type.hasPrefix("salesforce.outbound.") }
    }

    @Test func aWonOpportunityBecomesOneConfirmedOrderWhateverTheDeliveries() async throws {
        try await Self.withCRM { salesforce, node in
            // Half the acknowledged notifications are sent again; due ones are shuffled within windows of 3.
            salesforce.setOutboundFaults(OutboundFaultPlan(duplicateRate: 0.5, reorderWindow: 3))
            let entry = try Self.product(salesforce, name: "Pro plan", code: "SKU-PRO")
            _ = try await node.http.odoo(
                node.odooURL, apiKey: TestNode.odooKey, database: nil, model: "product.product", method: "create",
                body: ["vals_list": [["name": "Pro plan", "default_code": "SKU-PRO", "list_price": 100, "sale_ok": true]]])
            let seeded = try Self.seedOpportunity(salesforce, account: "Acme GmbH", entry: entry)
            try Self.update(salesforce, "Opportunity", seeded.opportunity, ["StageName": "Closed Won"])
            try await waitUntil {
                try await Self.orders(node, opportunity: seeded.opportunity).first?["state"]?.stringValue == "sale"
            }
            salesforce.setOutboundFaults(OutboundFaultPlan())
            try await waitUntil { salesforce.pendingOutboundNotifications == 0 }
            _ = try await node.drain()

            let orders = try await Self.orders(node, opportunity: seeded.opportunity)
            #expect(orders.count == 1)
            #expect(orders.first?["order_line"]?.arrayValue?.count == 1)
            #expect(orders.first?["amount_untaxed"]?.doubleValue == 900)
            #expect(orders.first?["origin"]?.stringValue == "Acme GmbH expansion")
            let lines = try await node.odooRead(
                "sale.order.line", [["order_id.client_order_ref", "=", .string("salesforce_deal_\(seeded.opportunity)")]],
                fields: ["product_uom_qty", "price_unit"])
            #expect(lines.first?["product_uom_qty"]?.doubleValue == 2)
            #expect(lines.first?["price_unit"]?.doubleValue == 450)
            // The account and its primary contact, once each; the contact belongs to the company.
            let companies = try await node.odooRead(
                "res.partner", [["name", "=", "Acme GmbH"], ["is_company", "=", true]], fields: ["vat", "city", "street"])
            #expect(companies.count == 1)
            #expect(companies.first?["vat"]?.stringValue == "DE123456789")
            #expect(companies.first?["street"]?.stringValue == "Hauptstraße 1")
            let people = try await node.odooRead(
                "res.partner", [["email", "=", "buyer@acmegmbh.example"]], fields: ["parent_id", "name"])
            #expect(people.count == 1)
            #expect(people.first?["parent_id"]?[1]?.stringValue == "Acme GmbH")
            // Notifications were delivered more than once, and each was stored once.
            let delivered = salesforce.outboundDeliveries.filter(\.acknowledged).flatMap(\.notificationIDs)
            #expect(delivered.count > Set(delivered).count)
            let stored = try await Self.outboundEvents(node)
            #expect(Set(stored.map(\.eventID)).count == stored.count)
            #expect(Set(stored.map(\.eventID.rawValue)) == Set(delivered))
            #expect(stored.allSatisfy { $0.entityKey.rawValue == "salesforce/deal/\(seeded.opportunity)" })

            // An edit after the order exists, and a replay of every snapshot, leave one order.
            try Self.update(salesforce, "Opportunity", seeded.opportunity, ["NextStep": "Kick-off"])
            try await waitUntil {
                try await node.store.listEvents(status: nil, limit: 1000)
                    .filter { $0.type == SalesforceOpportunitySnapshot.eventType }.count >= 2
            }
            let snapshots = try await node.store.listEvents(status: nil, limit: 1000)
                .filter { $0.type == SalesforceOpportunitySnapshot.eventType }
            _ = try await node.store.append(
                snapshots.map { event in
                    IncomingEvent(
                        system: event.system, eventID: SourceEventID("replay-\(event.eventID)"), type: event.type,
                        entityKey: event.entityKey, occurredAt: event.occurredAt, receivedAt: Date(), payload: event.payload,
                        traceID: .random())
                })
            node.node.events.ring()
            _ = try await node.drain()
            #expect(try await Self.orders(node, opportunity: seeded.opportunity).count == 1)
            #expect(try await node.odooCount("sale.order", []) == 1)
            let commands = try await node.store.listCommands(filter: CommandFilter(kind: "upsert_order"), limit: 100)
            #expect(!commands.isEmpty)
            #expect(commands.allSatisfy { $0.status == .delivered })
        }
    }

    @Test func anIncompleteWonOpportunityIsAnExceptionUntilTheCRMRecordIsFixed() async throws {
        try await Self.withCRM { salesforce, node in
            let entry = try Self.product(salesforce, name: "Pro plan", code: "SKU-PRO")
            _ = try await node.http.odoo(
                node.odooURL, apiKey: TestNode.odooKey, database: nil, model: "product.product", method: "create",
                body: ["vals_list": [["name": "Pro plan", "default_code": "SKU-PRO", "list_price": 100, "sale_ok": true]]])
            // Won without an account and without products (so without an amount).
            let seeded = try Self.seedOpportunity(salesforce, account: "Globex", entry: nil, withAccount: false)
            try Self.update(salesforce, "Opportunity", seeded.opportunity, ["StageName": "Closed Won"])
            try await waitUntil { !(try await Self.exceptions(node)).isEmpty }
            _ = try await node.drain()
            let open = try await Self.exceptions(node)
            #expect(open.count == 1)
            #expect(open.first?["type"]?.stringValue == "deal_incomplete")
            #expect(open.first?["subject"]?.stringValue == "salesforce/deal/\(seeded.opportunity)")
            let problems = open.first?["problems"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(problems.contains { $0.contains("no amount") })
            #expect(problems.contains { $0.contains("no line items") })
            #expect(problems.contains { $0.contains("no company") })
            #expect(try await node.odooCount("sale.order", []) == 0)

            // Fixed in Salesforce: a product is added (the amount follows) and the account is set.
            try Self.create(
                salesforce, "OpportunityLineItem",
                ["OpportunityId": .string(seeded.opportunity), "PricebookEntryId": .string(entry), "Quantity": 2, "UnitPrice": 450])
            try Self.update(salesforce, "Opportunity", seeded.opportunity, ["AccountId": .string(seeded.account)])
            try await waitUntil {
                try await Self.orders(node, opportunity: seeded.opportunity).first?["state"]?.stringValue == "sale"
            }
            _ = try await node.drain()
            #expect(try await Self.exceptions(node).isEmpty)
            #expect(try await node.odooCount("sale.order", []) == 1)
        }
    }

    /// An Outbound Message body as Salesforce sends it.
    static func message(organizationID: String, notificationID: String, opportunity: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
        xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
        <soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">
        <OrganizationId>\(organizationID)</OrganizationId><ActionId>04k5g000000TestAAA</ActionId>
        <SessionId xsi:nil="true"/>
        <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00D5g000004SimA</EnterpriseUrl>
        <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00D5g000004SimA</PartnerUrl>
        <Notification><Id>\(notificationID)</Id>
        <sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
        <sf:Id>\(opportunity)</sf:Id><sf:IsWon>true</sf:IsWon><sf:StageName>Closed Won</sf:StageName>
        </sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>
        """
    }

    static func post(_ node: TestNode, _ body: String) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: "\(node.weftURL)/hooks/salesforce")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "text/xml; charset=utf-8")
        request.headers.add(name: "SOAPAction", value: "\"\"")
        request.body = .bytes(Array(body.utf8))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    @Test func outboundMessagesOfAnotherOrgOrMalformedStoreNothing() async throws {
        try await Self.withCRM { _, node in
            let foreign = try await Self.post(
                node,
                Self.message(
                    organizationID: "00D000000000001AAA", notificationID: "04l5g000000Foreign", opportunity: "0065g000001AbCdAAK"))
            #expect(foreign.status == 403)
            #expect(foreign.body.contains("<soapenv:Fault>"))
            #expect(foreign.body.contains("organization_mismatch"))
            #expect(!foreign.body.contains("<Ack>true</Ack>"))
            let malformed = try await Self.post(node, "<soapenv:Envelope>not a message")
            #expect(malformed.status == 400)
            #expect(malformed.body.contains("<soapenv:Fault>"))
            #expect(try await Self.outboundEvents(node).isEmpty)

            // The configured org's message (its 15-character id form) is stored once and acknowledged exactly.
            let own = Self.message(
                organizationID: String(Self.organizationID.prefix(15)), notificationID: "04l5g000000OwnAAA",
                opportunity: "0065g000001AbCdAAK")
            for _ in 0..<2 {
                let answer = try await Self.post(node, own)
                #expect(answer.status == 200)
                #expect(answer.body == SalesforceOutboundMessage.ackResponse)
            }
            let stored = try await Self.outboundEvents(node)
            #expect(stored.map(\.eventID.rawValue) == ["04l5g000000OwnAAA"])
            #expect(stored.first?.type == "salesforce.outbound.Opportunity")
            #expect(stored.first?.entityKey.rawValue == "salesforce/deal/0065g000001AbCdAAK")
        }
    }

    @Test func aSessionThatExpiresMidRunIsRenewed() async throws {
        try await Self.withCRM { salesforce, node in
            let entry = try Self.product(salesforce, name: "Pro plan", code: "SKU-PRO")
            _ = try await node.http.odoo(
                node.odooURL, apiKey: TestNode.odooKey, database: nil, model: "product.product", method: "create",
                body: ["vals_list": [["name": "Pro plan", "default_code": "SKU-PRO", "list_price": 100, "sale_ok": true]]])
            let first = try Self.seedOpportunity(salesforce, account: "Initech", entry: entry)
            try Self.update(salesforce, "Opportunity", first.opportunity, ["StageName": "Closed Won"])
            try await waitUntil { try await Self.orders(node, opportunity: first.opportunity).first?["state"]?.stringValue == "sale" }
            let tokensBefore = salesforce.requestLog.all.filter { $0.path == "/services/oauth2/token" && $0.status == 200 }.count
            #expect(tokensBefore == 1)

            // The org's session timeout ends Weft's session: the next read is refused once, then signs in again.
            salesforce.expireSessions()
            let second = try Self.seedOpportunity(salesforce, account: "Umbrella", entry: entry)
            try Self.update(salesforce, "Opportunity", second.opportunity, ["StageName": "Closed Won"])
            try await waitUntil {
                try await Self.orders(node, opportunity: second.opportunity).first?["state"]?.stringValue == "sale"
            }
            let log = salesforce.requestLog.all
            #expect(log.contains { $0.status == 401 && $0.path.hasPrefix(Self.version) })
            #expect(log.filter { $0.path == "/services/oauth2/token" && $0.status == 200 }.count == 2)
            #expect(try await node.odooCount("sale.order", []) == 2)
        }
    }

    @Test func theOrgsAPIUsageIsPublished() async throws {
        let registry = PrometheusCollectorRegistry()
        try await withMetricsFactory(PrometheusMetricsFactory(registry: registry)) {
            try await Self.withCRM(registry: registry) { salesforce, node in
                salesforce.setApiUsage(used: 4321)
                let entry = try Self.product(salesforce, name: "Pro plan", code: "SKU-PRO")
                let seeded = try Self.seedOpportunity(salesforce, account: "Hooli", entry: entry)
                try Self.update(salesforce, "Opportunity", seeded.opportunity, ["StageName": "Closed Won"])
                try await waitUntil { !(try await Self.exceptions(node)).isEmpty }
                var request = HTTPClientRequest(url: "\(node.weftURL)/metrics")
                request.method = .GET
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                let text = String(buffer: try await response.body.collect(upTo: 1 << 22))
                // `weft_salesforce_api_usage{system="salesforce",kind="used"} 4331.0`
                func value(_ kind: String) -> Double? {
                    text.split(separator: "\n").first {
                        $0.hasPrefix("weft_salesforce_api_usage{") && $0.contains(#"system="salesforce""#)
                            && $0.contains("kind=\"\(kind)\"")
                    }.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
                }
                #expect(value("max") == 15000)
                // The usage Salesforce reported with its last answer: what was set, plus Weft's calls since.
                #expect((value("used") ?? 0) > 4321)
                #expect(!text.contains(Self.clientSecret))
            }
        }
    }
}
