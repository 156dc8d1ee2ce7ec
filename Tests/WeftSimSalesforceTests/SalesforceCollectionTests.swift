import NIOHTTP1
import Testing
import WeftSimKit

@testable import WeftSimSalesforce

@Suite struct SalesforceCollectionTests {
    @Test func createUpdateUpsertDeleteInOrder() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        try await withOrg(simulator, clock: clock) { base, token in
            let url = base + api + "/composite/sobjects"
            let created = try await request(
                .POST, url,
                json:
                    #"{"allOrNone":false,"records":[{"attributes":{"type":"Account"},"Name":"A"},{"attributes":{"type":"Contact"},"FirstName":"No"},{"attributes":{"type":"Contact"},"LastName":"Lee"}]}"#,
                token: token)
            #expect(created.status == 200)
            let results = try #require(created.json.array)
            #expect(results.count == 3)
            #expect(results[0]["success"] == true)
            #expect(results[0]["errors"] == [])
            #expect(results[1]["success"] == false)
            #expect(results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING")
            #expect(results[1]["errors"][0]["fields"] == ["LastName"])
            #expect(results[2]["id"].string?.hasPrefix("003") == true)
            let accountID = try #require(results[0]["id"].string)

            let updated = try await request(
                .PATCH, url, json: #"{"records":[{"attributes":{"type":"Account"},"id":"\#(accountID)","Phone":"42"}]}"#, token: token)
            #expect(updated.json[0] == ["id": .string(accountID), "success": true, "errors": []])
            #expect(simulator.record("Account", id: accountID)?["Phone"] == "42")

            let upserted = try await request(
                .PATCH, url + "/Account/Weft_Key__c",
                json:
                    #"{"allOrNone":false,"records":[{"attributes":{"type":"Account"},"Weft_Key__c":"k-1","Name":"New"},{"attributes":{"type":"Account"},"Weft_Key__c":"k-1","Name":"Again"}]}"#,
                token: token)
            #expect(upserted.json[0]["created"] == true)
            #expect(upserted.json[1]["created"] == false)
            #expect(upserted.json[0]["id"] == upserted.json[1]["id"])

            let deleted = try await request(.DELETE, url + "?ids=\(accountID),001000000000000AAA&allOrNone=false", token: token)
            #expect(deleted.json[0]["success"] == true)
            #expect(deleted.json[1]["success"] == false)
            #expect(simulator.record("Account", id: accountID)?["IsDeleted"] == true)
        }
    }

    @Test func allOrNoneRollsBackEveryRecord() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        try await withOrg(simulator, clock: clock) { base, token in
            let answer = try await request(
                .POST, base + api + "/composite/sobjects",
                json: #"{"allOrNone":true,"records":[{"attributes":{"type":"Account"},"Name":"Kept?"},{"attributes":{"type":"Account"}}]}"#,
                token: token)
            #expect(answer.status == 200)
            #expect(answer.json[0]["success"] == false)
            #expect(answer.json[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK")
            #expect(answer.json[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING")
            #expect(simulator.records("Account").isEmpty)
            // A rolled-back create has no id (the record never existed); a rolled-back update keeps its own.
            #expect(answer.json[0]["id"] == .null)
            let kept = try await request(
                .POST, base + api + "/composite/sobjects",
                json: #"{"records":[{"attributes":{"type":"Account"},"Name":"Kept"}]}"#, token: token)
            let id = try #require(kept.json[0]["id"].string)
            let update = try await request(
                .PATCH, base + api + "/composite/sobjects",
                json:
                    #"{"allOrNone":true,"records":[{"attributes":{"type":"Account"},"id":"\#(id)","Name":"Renamed"},{"attributes":{"type":"Account"},"id":"001000000000000AAA","Name":"X"}]}"#,
                token: token)
            #expect(update.json[0]["id"].string == id)
            #expect(update.json[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK")
            #expect(simulator.record("Account", id: id)?["Name"] == "Kept")
        }
    }

    @Test func moreThan200RecordsAreRefused() async throws {
        let clock = TestClock()
        try await withOrg(makeSimulator(clock: clock), clock: clock) { base, token in
            let records = (0..<201).map { #"{"attributes":{"type":"Account"},"Name":"A\#($0)"}"# }.joined(separator: ",")
            let answer = try await request(.POST, base + api + "/composite/sobjects", json: #"{"records":[\#(records)]}"#, token: token)
            #expect(answer.status == 400)
            #expect(answer.json[0]["errorCode"] == "EXCEEDED_ID_LIMIT")
        }
    }
}

@Suite struct SalesforceLimitTests {
    @Test func everyResponseCarriesUsageAndThe403PastTheAllocation() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock, dailyApiRequests: 5)
        try await withOrg(simulator, clock: clock) { base, token in
            let first = try await request(.GET, base + api + "/limits", token: token)
            #expect(first.header("Sforce-Limit-Info") == "api-usage=1/5")
            #expect(first.json["DailyApiRequests"] == ["Max": 5, "Remaining": 4])
            let failing = try await request(.GET, base + api + "/sobjects/Account/001000000000000AAA", token: token)
            #expect(failing.status == 404)
            #expect(failing.header("Sforce-Limit-Info") == "api-usage=2/5")
            simulator.setApiUsage(used: 5)
            let refused = try await request(.GET, base + api + "/limits", token: token)
            #expect(refused.status == 403)
            #expect(refused.json == [["message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"]])
            #expect(simulator.apiUsage == 5)
        }
    }

    @Test func injectedFaultsUseSalesforceErrorBodies() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        try await withOrg(simulator, clock: clock) { base, token in
            simulator.faults.set(FaultPlan(errorRate: 1, errorStatus: 503, pathPrefix: "/services/data"))
            let answer = try await request(.GET, base + api + "/limits", token: token)
            #expect(answer.status == 503)
            #expect(answer.json[0]["errorCode"] == "SERVER_UNAVAILABLE")
            #expect(simulator.requestLog.all.last?.status == 503)
        }
    }
}
