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

/// Salesforce Accounts and Contacts ↔ Odoo partners, both ways under field ownership, over real HTTP: the Salesforce
/// simulator (REST, OAuth, Outbound Messages), a Weft node, the Odoo simulator.
@Suite(.serialized) struct SalesforceAccountSyncTests {
    typealias Org = SalesforceOpportunityToOrderTests

    static let ownership = OwnershipRules(owners: [
        "account.name": "salesforce", "account.domain": "salesforce", "account.phone": "salesforce",
        "account.segment": "salesforce", "account.owner": "salesforce", "account.address": "odoo", "account.taxID": "odoo",
        "account.paymentTerms": "odoo", "contact.*": "salesforce",
    ])

    static func withAccounts(_ body: @Sendable @escaping (SalesforceSimulator, TestNode) async throws -> Void) async throws {
        var customFields = SalesforceSimulator.Configuration.defaultCustomFields
        customFields["Account", default: []].append(.init(name: "VAT_Number__c"))
        let salesforce = SalesforceSimulator(
            configuration: .init(
                organizationID: Org.organizationID,
                connectedApps: [
                    Org.clientID: .init(clientSecret: Org.clientSecret, clientCredentialsRunAs: "integration@weft.example")
                ],
                customFields: customFields,
                outboundMessages: [
                    .init(
                        name: "Weft_Account", sObjectType: "Account", endpointURL: "http://127.0.0.1:9/unset",
                        fields: ["Name", "SystemModstamp"]),
                    .init(
                        name: "Weft_Contact", sObjectType: "Contact", endpointURL: "http://127.0.0.1:9/unset",
                        fields: ["AccountId", "SystemModstamp"]),
                ],
                logger: Logger(label: "salesforce", factory: { _ in SwiftLogNoOpLogHandler() })))
        let router = Router()
        salesforce.addRoutes(to: router)
        try await SimulatorServer.withRunning(
            router: router, logger: Logger(label: "salesforce", factory: { _ in SwiftLogNoOpLogHandler() })
        ) { port in
            var crm = SalesforceSystemConfiguration(
                instanceURL: "http://127.0.0.1:\(port)",
                authentication: .clientCredentials(clientID: Org.clientID, clientSecret: .environment("SALESFORCE_SECRET")),
                organizationID: Org.organizationID, currency: CurrencyCode(rawValue: "EUR")!, vatField: "VAT_Number__c",
                rateLimit: nil, catchUpInterval: .seconds(3600))
            crm.accounts = SalesforceAccountFields(segment: nil, ownerEmail: nil, paymentTerms: nil)
            try await TestNode.with(
                extraSystems: ["salesforce": .salesforce(crm)],
                extraFlows: [
                    Flow(name: "crm_to_erp", source: "salesforce", target: "odoo"),
                    Flow(name: "erp_to_crm", source: "odoo", target: "salesforce"),
                ],
                extraEnvironment: ["SALESFORCE_SECRET": Org.clientSecret], odooStatusInterval: .milliseconds(200),
                ownership: ownership,
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

    static func account(_ salesforce: SalesforceSimulator, _ id: String) throws -> JSONValue {
        let result = salesforce.call("GET", "\(Org.version)/sobjects/Account/\(id)")
        guard result.status == 200 else { throw HarnessError("GET Account \(id) answered \(result.status)") }
        return try JSONValue.parse(Data(result.body))
    }

    static func partner(_ node: TestNode, account: String) async throws -> JSONValue? {
        let bindings = try await node.odooRead(
            "ir.model.data", [["module", "=", "weft"], ["name", "=", .string("salesforce_account_\(account)")]],
            fields: ["res_id"])
        guard let id = bindings.first?["res_id"]?.intValue else { return nil }
        return try await node.odooRead("res.partner", [["id", "=", .int(id)]], fields: ["name", "vat", "street", "phone"]).first
    }

    @Test func accountEditsOnBothSidesHonourOwnership() async throws {
        try await Self.withAccounts { salesforce, node in
            let account = try Org.create(
                salesforce, "Account",
                ["Name": "Globex AG", "Website": "https://www.globex.example", "Phone": "+41 44 1", "VAT_Number__c": "FROM-CRM"])
            try Org.create(
                salesforce, "Contact",
                ["FirstName": "Ada", "LastName": "Buyer", "Email": "ada@globex.example", "AccountId": .string(account)])
            // Salesforce → Odoo: the partner with what Salesforce owns (not its VAT), the contact under it.
            try await waitUntil { try await Self.partner(node, account: account)?["name"]?.stringValue == "Globex AG" }
            let created = try await Self.partner(node, account: account)
            let partnerID = try #require(created?["id"]?.intValue)
            #expect(created?["vat"] == false)
            #expect(created?["phone"]?.stringValue == "+41 44 1")
            try await waitUntil {
                try await node.odooCount("res.partner", [["parent_id", "=", .int(partnerID)], ["email", "=", "ada@globex.example"]]) == 1
            }
            // Odoo → Salesforce: the accountant's VAT and legal address; a rename in Odoo is not Odoo's to make.
            _ = try await node.http.odoo(
                node.odooURL, apiKey: TestNode.odooKey, database: nil, model: "res.partner", method: "write",
                body: [
                    "ids": [.int(partnerID)],
                    "vals": ["vat": "CHE-123.456.789", "street": "Bahnhofstrasse 1", "city": "Zürich", "name": "GLOBEX (Odoo)"],
                ])
            try await waitUntil {
                let shown = try Self.account(salesforce, account)
                return shown["VAT_Number__c"]?.stringValue == "CHE-123.456.789"
                    && shown["BillingStreet"]?.stringValue == "Bahnhofstrasse 1"
            }
            #expect(try Self.account(salesforce, account)["Name"]?.stringValue == "Globex AG")
            // Salesforce → Odoo again: the owner's rename arrives; its echo and Odoo's re-read change nothing more.
            try Org.update(salesforce, "Account", account, ["Name": "Globex Group AG"])
            try await waitUntil { try await Self.partner(node, account: account)?["name"]?.stringValue == "Globex Group AG" }
            let renamed = try await Self.partner(node, account: account)
            #expect(renamed?["vat"]?.stringValue == "CHE-123.456.789")
            let companies = try await node.odooCount("res.partner", [["name", "=like", "Globex%"], ["is_company", "=", true]])
            #expect(companies == 1)
        }
    }
}
