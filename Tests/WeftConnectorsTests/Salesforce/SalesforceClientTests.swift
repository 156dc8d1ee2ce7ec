import Foundation
import Synchronization
import Testing
import WeftCore
import WeftSimKit
import WeftSimSalesforce

@testable import WeftConnectors

@Suite struct SalesforceClientTests {
    private func tokenCalls(_ simulator: SalesforceSimulator) -> Int {
        simulator.requestLog.all.filter { $0.path == "/services/oauth2/token" }.count
    }

    @Test func concurrentCallsShareOneJWTBearerToken() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let client = salesforceClient(salesforceConfiguration(base))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask { _ = try await client.query("SELECT Id FROM Account", logger: salesforceLogger) }
                }
                try await group.waitForAll()
            }
            #expect(await client.authenticator.tokenRequests == 1)
            #expect(self.tokenCalls(simulator) == 1)
        }
    }

    @Test func anExpiredSessionReauthenticatesOnceAndRepeatsTheCall() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let client = salesforceClient(salesforceConfiguration(base))
            let id = try await client.create("Account", fields: ["Name": "Acme"], logger: salesforceLogger)
            simulator.expireSessions()
            // Five calls see the same 401: one new token between them, and every call succeeds.
            let names = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await client.get("Account", id: id, fields: ["Name"], logger: salesforceLogger).string("Name")
                    }
                }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            #expect(names == Array(repeating: "Acme", count: 5))
            #expect(await client.authenticator.tokenRequests == 2)
            #expect(simulator.requestLog.all.filter { $0.status == 401 }.count == 5)
        }
    }

    @Test func a401AfterReauthenticatingIsARejection() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let client = salesforceClient(salesforceConfiguration(base))
            simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 401, pathPrefix: "/services/data"))
            let error = await #expect(throws: SalesforceAPIError.self) {
                _ = try await client.query("SELECT Id FROM Account", logger: salesforceLogger)
            }
            #expect(error?.kind == .unauthorized)
            #expect(error?.isRetryable == false)
            #expect(error?.message.contains("connected app") == true)
            #expect(await client.authenticator.tokenRequests == 2)
        }
    }

    @Test func tokenRefusalsAreClearAndSecretFree() async throws {
        let simulator = makeSalesforceSimulator(preAuthorized: [], runAs: nil)
        try await withSalesforce(simulator) { base in
            let jwt = salesforceClient(salesforceConfiguration(base))
            let unapproved = await #expect(throws: SalesforceAPIError.self) {
                _ = try await jwt.query("SELECT Id FROM Account", logger: salesforceLogger)
            }
            #expect(unapproved?.kind == .unauthorized)
            #expect(unapproved?.message.contains("user hasn't approved this consumer") == true)
            #expect(unapproved?.message.contains("pre-authorize the user on the connected app") == true)
            #expect(unapproved.map { "\($0)".contains("PRIVATE KEY") } == false)

            let wrongSecret = salesforceClient(
                salesforceConfiguration(
                    base, authentication: .clientCredentials(clientID: salesforceConsumerKey, clientSecret: "guessed-secret")))
            let refused = await #expect(throws: SalesforceAPIError.self) {
                _ = try await wrongSecret.query("SELECT Id FROM Account", logger: salesforceLogger)
            }
            #expect(refused?.message.contains("consumer secret") == true)
            #expect(refused.map { "\($0)".contains("guessed-secret") } == false)

            let noRunAs = salesforceClient(
                salesforceConfiguration(
                    base,
                    authentication: .clientCredentials(clientID: salesforceConsumerKey, clientSecret: salesforceClientSecret)))
            let missingUser = await #expect(throws: SalesforceAPIError.self) {
                _ = try await noRunAs.query("SELECT Id FROM Account", logger: salesforceLogger)
            }
            #expect(missingUser?.message.contains("Run As") == true)
            #expect(missingUser.map { "\($0)".contains(salesforceClientSecret) } == false)
            #expect(missingUser?.outcome == .reject(missingUser!.failure))
        }
    }

    @Test func clientCredentialsWorkAgainstTheMyDomainHost() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let client = salesforceClient(
                SalesforceConfiguration(
                    instanceURL: base,
                    authentication: .clientCredentials(clientID: salesforceConsumerKey, clientSecret: salesforceClientSecret)))
            let id = try await client.create("Account", fields: ["Name": "Via client credentials"], logger: salesforceLogger)
            #expect(id.count == 18)
        }
    }

    @Test func queriesFollowNextRecordsUrl() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let client = salesforceClient(salesforceConfiguration(base, queryBatchSize: 200))
            let accounts = (0..<450).map { SalesforceRecord(type: "Account", fields: ["Name": .string("Paged \($0)")]) }
            let created = try await client.createCollection(accounts, logger: salesforceLogger)
            #expect(created.allSatisfy { $0.success })

            let sizes = Mutex<[Int]>([])
            let records = try await client.query("SELECT Id, Name FROM Account WHERE Name LIKE 'Paged %'", logger: salesforceLogger) {
                page in sizes.withLock { $0.append(page.records.count) }
            }
            #expect(sizes.withLock { $0 } == [200, 200, 50])
            #expect(records.count == 450)
            #expect(Set(records.compactMap(\.id)) == Set(created.compactMap(\.id)))
            #expect(records.allSatisfy { $0.type == "Account" && $0.string("Name")?.hasPrefix("Paged ") == true })

            var pages = 0
            var totals: Set<Int> = []
            for try await page in client.queryPages("SELECT Id FROM Account", logger: salesforceLogger) {
                pages += 1
                totals.insert(page.totalSize)
            }
            #expect(pages == 3)
            #expect(totals == [450])
        }
    }

    @Test func soqlLiteralsCannotBreakOutOfTheirQuotes() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let client = salesforceClient(salesforceConfiguration(base))
            _ = try await client.create("Account", fields: ["Name": "O'Brien & Sons"], logger: salesforceLogger)
            _ = try await client.create("Account", fields: ["Name": "Other"], logger: salesforceLogger)
            let name = "O'Brien & Sons"
            let exact = try await client.query("SELECT Id, Name FROM Account WHERE Name = \(name)", logger: salesforceLogger)
            #expect(exact.map { $0.string("Name") } == ["O'Brien & Sons"])
            let injection = "x' OR Name != 'x"
            let none = try await client.query("SELECT Id FROM Account WHERE Name = \(injection)", logger: salesforceLogger)
            #expect(none.isEmpty)
            let bad = await #expect(throws: SalesforceAPIError.self) {
                _ = try await client.query("SELECT \(field: "Id FROM User --") FROM Account", logger: salesforceLogger)
            }
            #expect(bad?.kind == .invalid)
        }
    }

    @Test func upsertCreatesThenUpdatesAndRefusesSeveralMatches() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let client = salesforceClient(salesforceConfiguration(base))
            let fields: [String: JSONValue] = ["Name": "Deal K/1", "StageName": "Prospecting", "CloseDate": "2024-06-30"]
            let first = try await client.upsert(
                "Opportunity", externalIDField: "Weft_Key__c", value: "K/1", fields: fields, logger: salesforceLogger)
            #expect(first.created)
            let second = try await client.upsert(
                "Opportunity", externalIDField: "Weft_Key__c", value: "K/1", fields: ["StageName": "Closed Won"],
                logger: salesforceLogger)
            #expect(!second.created)
            #expect(second.id == first.id)
            let read = try await client.get(
                "Opportunity", id: try #require(first.id), fields: ["StageName", "Weft_Key__c"], logger: salesforceLogger)
            #expect(read.string("StageName") == "Closed Won")
            #expect(read.string("Weft_Key__c") == "K/1")

            let missing = await #expect(throws: SalesforceAPIError.self) {
                _ = try await client.upsert(
                    "Opportunity", externalIDField: "Weft_Key__c", value: "K2", fields: fields, updateOnly: true,
                    logger: salesforceLogger)
            }
            #expect(missing?.kind == .notFound)

            // ERP_Order_Ref__c is an External ID but not Unique: two records can share a value.
            var ids: [String] = []
            for name in ["Dup A", "Dup B"] {
                ids.append(
                    try await client.create(
                        "Opportunity",
                        fields: [
                            "Name": .string(name), "StageName": "Prospecting", "CloseDate": "2024-06-30", "ERP_Order_Ref__c": "S0042",
                        ],
                        logger: salesforceLogger))
            }
            let ambiguous = await #expect(throws: SalesforceAPIError.self) {
                _ = try await client.upsert(
                    "Opportunity", externalIDField: "ERP_Order_Ref__c", value: "S0042", fields: ["StageName": "Closed Won"],
                    logger: salesforceLogger)
            }
            #expect(ambiguous?.kind == .ambiguous)
            #expect(Set(ambiguous?.matchingIDs ?? []) == Set(ids))
            #expect(ids.allSatisfy { ambiguous?.message.contains($0) == true })
            guard case .reject(let failure)? = ambiguous?.outcome else {
                Issue.record("a 300 should be a rejection")
                return
            }
            #expect(failure.kind == .rejected)
        }
    }

    @Test func collectionsSplitAtTwoHundredAndKeepPerRecordResultsInOrder() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let client = salesforceClient(salesforceConfiguration(base))
            var records = (0..<405).map { index in
                SalesforceRecord(
                    type: "Opportunity",
                    fields: [
                        "Name": .string("Bulk \(index)"), "StageName": "Prospecting", "CloseDate": "2024-06-30",
                        "Weft_Key__c": .string("B\(index)"),
                    ])
            }
            records[201].fields["StageName"] = nil  // required
            let upserted = try await client.upsertCollection(
                "Opportunity", externalIDField: "Weft_Key__c", records, logger: salesforceLogger)
            #expect(upserted.count == 405)
            #expect(simulator.requestLog.all.filter { $0.path.hasSuffix("/composite/sobjects/Opportunity/Weft_Key__c") }.count == 3)
            #expect(upserted.enumerated().allSatisfy { $0.offset == 201 ? !$0.element.success : $0.element.success })
            #expect(upserted.filter(\.success).allSatisfy { $0.created == true })
            let failed = upserted[201]
            #expect(failed.errors.first?.statusCode == "REQUIRED_FIELD_MISSING")
            #expect(failed.errors.first?.fields == ["StageName"])
            #expect(failed.failure?.kind == .invalid)
            #expect(failed.failure?.message.contains("StageName") == true)

            // Results come back in input order: each id reads back its own key.
            let sample = try await client.get(
                "Opportunity", id: try #require(upserted[404].id), fields: ["Weft_Key__c"], logger: salesforceLogger)
            #expect(sample.string("Weft_Key__c") == "B404")

            var changes = (0..<201).map { index in
                SalesforceRecord(type: "Opportunity", id: upserted[index].id, fields: ["StageName": "Closed Won"])
            }
            changes[7].fields["StageName"] = .null  // a required field cannot be cleared
            let updated = try await client.updateCollection(changes, logger: salesforceLogger)
            #expect(updated.count == 201)
            #expect(updated[7].success == false)
            #expect(updated[7].errors.first?.statusCode == "REQUIRED_FIELD_MISSING")
            #expect(updated.enumerated().filter { $0.offset != 7 }.allSatisfy { $0.element.success })
            #expect(updated.map(\.id) == changes.map(\.id))

            let again = try await client.upsertCollection(
                "Opportunity", externalIDField: "Weft_Key__c", Array(records[0..<3]), logger: salesforceLogger)
            #expect(again.map(\.created) == [false, false, false])
        }
    }

    @Test func updatesWriteAndFieldErrorsNameTheField() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let client = salesforceClient(salesforceConfiguration(base))
            let id = try await client.create(
                "Opportunity", fields: ["Name": "Write-back", "StageName": "Closed Won", "CloseDate": "2024-06-30"],
                logger: salesforceLogger)
            try await client.update(
                "Opportunity", id: id,
                fields: ["ERP_Order_Ref__c": "S00042", "Invoice_Status__c": "paid", "Payment_Standing__c": "good"],
                logger: salesforceLogger)
            let read = try await client.get("Opportunity", id: id, logger: salesforceLogger)
            #expect(read.string("ERP_Order_Ref__c") == "S00042")
            #expect(read.string("Invoice_Status__c") == "paid")
            #expect(read.type == "Opportunity")
            #expect(read.id == id)

            let invalid = await #expect(throws: SalesforceAPIError.self) {
                try await client.update("Opportunity", id: id, fields: ["Not_A_Field__c": "x"], logger: salesforceLogger)
            }
            #expect(invalid?.kind == .invalid)
            #expect(invalid?.message.contains("Not_A_Field__c") == true)
            #expect(invalid?.isRetryable == false)

            let gone = await #expect(throws: SalesforceAPIError.self) {
                _ = try await client.get("Opportunity", id: "0065g00000ZZZZZAAA", logger: salesforceLogger)
            }
            #expect(gone?.kind == .notFound)
            #expect(gone?.failure.kind == .dependencyMissing)
        }
    }

    @Test func theLimitHeaderIsTrackedAndAnExhaustedAllocationHoldsTheGate() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let readings = Mutex<[String]>([])
            let limits = SalesforceLimitTracker { used, max in readings.withLock { $0.append("\(used)/\(max)") } }
            let gate = RecordingGate()
            let client = salesforceClient(salesforceConfiguration(base), gate: gate, limits: limits)
            simulator.setApiUsage(used: 100)
            _ = try await client.query("SELECT Id FROM Account", logger: salesforceLogger)
            _ = try await client.query("SELECT Id FROM Account", logger: salesforceLogger)
            #expect(readings.withLock { $0 } == ["101/15000", "102/15000"])
            #expect(limits.latest == SalesforceAPIUsage(used: 102, max: 15_000))
            #expect(gate.recorded.isEmpty)

            simulator.setApiUsage(used: 15_000)
            let limited = await #expect(throws: SalesforceAPIError.self) {
                _ = try await client.create("Account", fields: ["Name": "Too many"], logger: salesforceLogger)
            }
            #expect(limited?.kind == .rateLimited)
            guard case .retry(let failure)? = limited?.outcome else {
                Issue.record("REQUEST_LIMIT_EXCEEDED should be a retry")
                return
            }
            #expect(failure.kind == .rateLimited)
            #expect(failure.retryAfter == .seconds(900))
            #expect(gate.recorded == [.seconds(900)])
            #expect(limits.latest == SalesforceAPIUsage(used: 15_000, max: 15_000))
        }
    }

    @Test func serverErrorsAreRetries() async throws {
        let simulator = makeSalesforceSimulator()
        try await withSalesforce(simulator) { base in
            let client = salesforceClient(salesforceConfiguration(base))
            simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 503, pathPrefix: "/services/data"))
            let error = await #expect(throws: SalesforceAPIError.self) {
                _ = try await client.query("SELECT Id FROM Account", logger: salesforceLogger)
            }
            #expect(error?.kind == .unavailable)
            #expect(error?.codes == ["SERVER_UNAVAILABLE"])
            #expect(error?.isRetryable == true)
        }
    }
}
