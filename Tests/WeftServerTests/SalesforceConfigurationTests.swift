import Foundation
import Testing
import WeftCore
import WeftRuntime

@testable import WeftConnectors
@testable import WeftServer

/// `type: salesforce` in the configuration, and the opportunity snapshot's canonical deal.
@Suite struct SalesforceConfigurationTests {
    static func load(_ system: String, flows: String = "flows:\n  won: { from: salesforce, to: odoo }\n")
        -> (WeftConfiguration?, [String])
    {
        let text = """
            store: { sqlite: ./weft.db }
            systems:
              salesforce:
            \(system.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
              odoo: { type: odoo, url: "https://acme.odoo.com", database: acme, login: bot, api_key_env: ODOO }
            \(flows)
            """
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        return (configuration, problems.map(\.message))
    }

    @Test func jwtBearerWithAKeyFileAndEverySetting() throws {
        let (configuration, problems) = Self.load(
            """
            type: salesforce
            instance_url: https://acme.my.salesforce.com
            login_url: https://test.salesforce.com
            api_version: v61.0
            consumer_key: 3MVG9key
            username: integration@acme.example
            private_key_file: /etc/weft/sf.key
            organization_id: 00D5g000004SimA
            currency: EUR
            vat_field: VAT_Number__c
            deal_requirements: [amount, lines, contact_email]
            rate_limit: { per_second: 5, burst: 5 }
            timeout_seconds: 12
            catch_up: { interval_seconds: 30, overlap_seconds: 120 }
            state_country_picklists: true
            """)
        #expect(problems.isEmpty)
        guard case .salesforce(let salesforce)? = configuration?.systems["salesforce"] else {
            Issue.record("no salesforce system: \(problems)")
            return
        }
        #expect(salesforce.instanceURL == "https://acme.my.salesforce.com")
        #expect(salesforce.loginURL == "https://test.salesforce.com")
        #expect(salesforce.apiVersion == "61.0")
        #expect(
            salesforce.authentication
                == .jwtBearer(consumerKey: "3MVG9key", username: "integration@acme.example", privateKey: .file("/etc/weft/sf.key")))
        #expect(salesforce.organizationID == "00D5g000004SimA")
        #expect(salesforce.currency.rawValue == "EUR")
        #expect(salesforce.vatField == "VAT_Number__c")
        #expect(salesforce.requirements.required == [.amount, .lines, .contactEmail])
        #expect(salesforce.rateLimit == RateLimit(perSecond: 5, burst: 5))
        #expect(salesforce.timeout == .seconds(12))
        #expect(salesforce.catchUpInterval == .seconds(30))
        #expect(salesforce.catchUpOverlap == .seconds(120))
        #expect(salesforce.stateCountryPicklists)
        #expect(WeftNode.opportunityMapping(salesforce).addressCodes && WeftNode.accountMapping(salesforce).addressCodes)
        #expect(configuration?.flows.first?.source == "salesforce")
    }

    /// In an org with State and Country/Territory Picklists the opportunity's account is read with its state and
    /// country codes, which are what the canonical address holds.
    @Test func withPicklistsTheAccountsAddressIsReadAsCodes() throws {
        let mapping = SalesforceOpportunityMapping(addressCodes: true)
        #expect(mapping.accountFields.contains("BillingCountryCode") && !mapping.accountFields.contains("BillingCountry"))
        #expect(!SalesforceOpportunityMapping().accountFields.contains("BillingCountryCode"))
        let row = try JSONValue.parse(
            Data(
                #"""
                {"attributes":{"type":"Opportunity"},"Id":"0065g000001AbCdAAK","Name":"Expansion","StageName":"Closed Won",
                 "IsWon":true,"IsClosed":true,"Amount":100,"CloseDate":"2026-11-30","AccountId":"0015g000001XyZaAAC",
                 "IsDeleted":false,"SystemModstamp":"2026-11-30T10:00:00.000+0000",
                 "Account":{"attributes":{"type":"Account"},"Name":"Acme Inc","BillingCity":"Albany",
                   "BillingStateCode":"NY","BillingCountryCode":"US","SystemModstamp":"2026-11-30T11:00:00.000+0000"},
                 "OpportunityLineItems":null,"OpportunityContactRoles":null}
                """#.utf8))
        let record = try #require(SalesforceRecord(json: row))
        let snapshot = try #require(SalesforceOpportunitySnapshot(row: record))
        let deal = snapshot.deal(system: "salesforce", mapping: mapping)
        #expect(deal.account?.address == PostalAddress(city: "Albany", state: "NY", country: "US"))
    }

    @Test func clientCredentialsWithTheSecretFromTheEnvironment() {
        let (configuration, problems) = Self.load(
            """
            type: salesforce
            instance_url: https://acme.my.salesforce.com
            client_id: 3MVG9key
            client_secret_env: SF_SECRET
            """)
        #expect(problems.isEmpty)
        guard case .salesforce(let salesforce)? = configuration?.systems["salesforce"] else {
            Issue.record("no salesforce system: \(problems)")
            return
        }
        #expect(salesforce.authentication == .clientCredentials(clientID: "3MVG9key", clientSecret: .environment("SF_SECRET")))
        #expect(salesforce.organizationID == nil)
        #expect(salesforce.catchUpInterval == .seconds(60))
    }

    @Test func mistakesAreNamedWithTheFix() {
        let cases: [(String, String)] = [
            (
                "type: salesforce\ninstance_url: https://a.my.salesforce.com\nconsumer_key: k\nusername: u\nprivate_key: abc",
                "private_key_file"
            ),
            ("type: salesforce\ninstance_url: https://a.my.salesforce.com\nconsumer_key: k\nusername: u", "private_key_file"),
            (
                "type: salesforce\ninstance_url: https://a.my.salesforce.com\nclient_id: c\nclient_secret_env: S\nconsumer_key: k",
                "not both"
            ),
            ("type: salesforce\ninstance_url: https://a.my.salesforce.com\nclient_id: c\nclient_secret: plain", "client_secret_env"),
            ("type: salesforce\nclient_id: c\nclient_secret_env: S", "instance_url is required"),
            (
                "type: salesforce\ninstance_url: https://a.my.salesforce.com\nclient_id: c\nclient_secret_env: S\norganization_id: 001abc",
                "00D"
            ),
            (
                "type: salesforce\ninstance_url: https://a.my.salesforce.com\nclient_id: c\nclient_secret_env: S\nvat_field: VAT Number",
                "API name"
            ),
            (
                "type: salesforce\ninstance_url: https://a.my.salesforce.com\nclient_id: c\nclient_secret_env: S\ncatch_up: { enabled: false }",
                "cannot be turned off"
            ),
            (
                "type: salesforce\ninstance_url: https://a.my.salesforce.com\nclient_id: c\nclient_secret_env: S\napi_version: \"40.0\"",
                "46.0"
            ),
        ]
        for (system, expected) in cases {
            let (_, problems) = Self.load(system)
            #expect(problems.contains { $0.contains(expected) }, "\(system) → \(problems)")
        }
        // Salesforce receives the status of its won opportunities' orders, from Odoo and from nothing else.
        let (_, flowProblems) = Self.load(
            "type: salesforce\ninstance_url: https://a.my.salesforce.com\nclient_id: c\nclient_secret_env: S",
            flows: "flows:\n  back: { from: salesforce, to: salesforce }\n")
        #expect(flowProblems.contains { $0.contains("salesforce system") && $0.contains("from an odoo system") })
    }

    @Test func theExampleConfigurationLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/salesforce-odoo.yaml").path
        let (configuration, problems) = ConfigurationLoader.load(path: path)
        #expect(problems.isEmpty, "\(problems.map(\.message))")
        #expect(configuration?.systems["salesforce"]?.type == "salesforce")
    }

    @Test func aSnapshotIsTheCanonicalDeal() throws {
        let row = try JSONValue.parse(
            Data(
                #"""
                {"attributes":{"type":"Opportunity","url":"/services/data/v62.0/sobjects/Opportunity/0065g000001AbCdAAK"},
                 "Id":"0065g000001AbCdAAK","Name":"Acme expansion","StageName":"Closed Won","IsWon":true,"IsClosed":true,
                 "Amount":1234.5,"CloseDate":"2026-11-30","CurrencyIsoCode":"JPY","AccountId":"0015g000001XyZaAAC",
                 "IsDeleted":false,"SystemModstamp":"2026-11-30T10:00:00.000+0000",
                 "Account":{"attributes":{"type":"Account"},"Name":"Acme KK","BillingStreet":"1-1 Chiyoda\nBuilding 2",
                   "BillingCity":"Tokyo","BillingPostalCode":"100-0001","BillingState":null,"BillingCountry":"jp",
                   "VAT_Number__c":"T1234","SystemModstamp":"2026-11-30T11:00:00.000+0000"},
                 "OpportunityLineItems":{"totalSize":2,"done":true,"records":[
                   {"attributes":{"type":"OpportunityLineItem"},"Id":"00k5g000000B","ProductCode":"SKU-B","Name":"B",
                    "Quantity":1.0,"UnitPrice":34.5,"IsDeleted":false,"SystemModstamp":"2026-11-30T09:00:00.000+0000"},
                   {"attributes":{"type":"OpportunityLineItem"},"Id":"00k5g000000A","ProductCode":"SKU-A","Name":"A",
                    "Quantity":2.0,"UnitPrice":600.0,"IsDeleted":false,"SystemModstamp":"2026-11-30T09:00:00.000+0000"}]},
                 "OpportunityContactRoles":{"totalSize":1,"done":true,"records":[
                   {"attributes":{"type":"OpportunityContactRole"},"Id":"00K5g000000R","ContactId":"0035g000000C",
                    "IsPrimary":true,"SystemModstamp":"2026-11-30T08:00:00.000+0000",
                    "Contact":{"attributes":{"type":"Contact"},"FirstName":"Ada","LastName":"Buyer","Name":"Ada Buyer",
                      "Email":"ada@acme.example","Phone":null,"SystemModstamp":"2026-11-30T12:30:00.000Z"}}]}}
                """#.utf8))
        let record = try #require(SalesforceRecord(json: row))
        let snapshot = try #require(SalesforceOpportunitySnapshot(row: record))
        // Stored and parsed back, it says the same; the same content is the same event.
        let parsed = try #require(SalesforceOpportunitySnapshot.parse(snapshot.payload))
        #expect(parsed == snapshot)
        #expect(parsed.eventID(system: "salesforce") == snapshot.eventID(system: "salesforce"))
        #expect(snapshot.modifiedAt == Date(timeIntervalSince1970: 1_796_041_800))  // the contact's 12:30 Z

        let deal = snapshot.deal(
            system: "salesforce", mapping: SalesforceOpportunityMapping(vatField: "VAT_Number__c"))
        #expect(deal.ref == ExternalRef(system: "salesforce", kind: .deal, id: "0065g000001AbCdAAK"))
        #expect(deal.won == true)
        #expect(deal.stage == "Closed Won")
        // JPY has no minor unit: 1234.5 rounds to 1234 (banker's rounding).
        #expect(deal.amount == Money(amountMinor: 1234, currency: CurrencyCode(rawValue: "JPY")!))
        #expect(deal.closeDate == "2026-11-30")
        #expect(deal.account?.ref == ExternalRef(system: "salesforce", kind: .account, id: "0015g000001XyZaAAC"))
        #expect(deal.account?.address?.line1 == "1-1 Chiyoda")
        #expect(deal.account?.address?.line2 == "Building 2")
        #expect(deal.account?.address?.country == "JP")
        #expect(deal.account?.taxID == "T1234")
        #expect(deal.contact?.name == "Ada Buyer")
        #expect(deal.contact?.email == "ada@acme.example")
        #expect(deal.lines?.map(\.sku) == ["SKU-A", "SKU-B"])
        #expect(deal.lines?.map(\.quantity) == [2, 1])
        #expect(deal.lines?.map(\.unitAmountMinor) == [600, 34])
        #expect(DealRequirements().problems(of: deal).isEmpty)
    }
}
