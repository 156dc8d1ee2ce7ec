import NIOHTTP1
import Testing
import WeftSimKit

@testable import WeftSimSalesforce

@Suite struct SalesforceQueryTests {
    /// Seeds an account and three opportunities at one-second steps; returns the opportunity ids.
    private func seed(_ simulator: SalesforceSimulator, _ clock: TestClock) throws -> (account: String, opportunities: [String]) {
        let account = try #require(simulator.call("POST", api + "/sobjects/Account", body: #"{"Name":"Acme"}"#).json["id"].string)
        let product = try #require(
            simulator.call("POST", api + "/sobjects/Product2", body: #"{"Name":"Widget","ProductCode":"W-1"}"#).json["id"].string)
        var ids: [String] = []
        for (name, stage) in [("Alpha", "Closed Won"), ("Beta", "Prospecting"), ("Gamma", "Closed Won")] {
            clock.advance(ms: 1000)
            let body = #"{"Name":"\#(name)","StageName":"\#(stage)","CloseDate":"2024-07-01","AccountId":"\#(account)"}"#
            let id = try #require(simulator.call("POST", api + "/sobjects/Opportunity", body: body).json["id"].string)
            ids.append(id)
        }
        clock.advance(ms: 1000)
        let line = #"{"OpportunityId":"\#(ids[0])","Product2Id":"\#(product)","Quantity":2,"UnitPrice":10}"#
        #expect(simulator.call("POST", api + "/sobjects/OpportunityLineItem", body: line).status == 201)
        return (account, ids)
    }

    @Test func filtersOrderingRelationshipsAndChildSubqueries() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        let (_, ids) = try seed(simulator, clock)
        try await withOrg(simulator, clock: clock) { base, token in
            let query =
                "SELECT Id, Name, Account.Name, (SELECT Id, ProductCode, Quantity, UnitPrice FROM OpportunityLineItems) "
                + "FROM Opportunity WHERE SystemModstamp > 2024-06-01T00:00:01Z AND IsWon = true AND Id IN ('\(ids[0])', '\(ids[2].prefix(15))') "
                + "ORDER BY SystemModstamp DESC, Id ASC LIMIT 10"
            let answer = try await request(.GET, base + api + "/query?q=" + soql(query), token: token)
            #expect(answer.status == 200)
            let json = answer.json
            #expect(json["totalSize"] == 2)
            #expect(json["done"] == true)
            #expect(json["nextRecordsUrl"] == .null)
            let records = try #require(json["records"].array)
            // Adding the line item touched Alpha (its amount rolled up), so it is the most recently modified.
            #expect(records.map { $0["Name"] } == ["Alpha", "Gamma"])
            #expect(inOrder(answer.body, ["attributes", "Id", "Name", "Account", "OpportunityLineItems"]))
            #expect(records[0]["Account"]["Name"] == "Acme")
            #expect(records[0]["Account"]["attributes"]["type"] == "Account")
            #expect(records[1]["OpportunityLineItems"] == .null)
            let lines = records[0]["OpportunityLineItems"]
            #expect(lines["totalSize"] == 1)
            #expect(lines["done"] == true)
            #expect(lines["records"][0]["ProductCode"] == "W-1")
            #expect(lines["records"][0]["Quantity"].number == 2)
            #expect(inOrder(answer.body, ["OpportunityLineItems", "totalSize", "done", "records"]))

            let or =
                "SELECT Name FROM Opportunity WHERE (StageName = 'prospecting' OR Name LIKE 'gam%') AND NOT Name = 'Alpha' ORDER BY Name"
            let orAnswer = try await request(.GET, base + api + "/query?q=" + soql(or), token: token)
            #expect(orAnswer.json["records"].array?.map { $0["Name"] } == ["Beta", "Gamma"])
            let notIn = "SELECT Name FROM Opportunity WHERE Name NOT IN ('Alpha','Beta') AND CloseDate >= 2024-07-01"
            #expect(try await request(.GET, base + api + "/query?q=" + soql(notIn), token: token).json["totalSize"] == 1)
            let count = try await request(.GET, base + api + "/query?q=" + soql("SELECT COUNT() FROM Opportunity"), token: token)
            #expect(count.json["totalSize"] == 3)
        }
    }

    @Test func malformedQueriesAndUnknownColumns() async throws {
        let clock = TestClock()
        try await withOrg(makeSimulator(clock: clock), clock: clock) { base, token in
            let malformed = try await request(.GET, base + api + "/query?q=" + soql("SELECT Id FORM Account"), token: token)
            #expect(malformed.status == 400)
            #expect(malformed.json[0]["errorCode"] == "MALFORMED_QUERY")
            let column = try await request(.GET, base + api + "/query?q=" + soql("SELECT Id, Foo__c FROM Account"), token: token)
            #expect(column.status == 400)
            #expect(column.json[0]["errorCode"] == "INVALID_FIELD")
            #expect(column.json[0]["message"].string?.contains("No such column 'Foo__c' on entity 'Account'") == true)
            #expect(column.json[0]["message"].string?.contains("ERROR at Row:1:Column:12") == true)
            let quoted = try await request(
                .GET, base + api + "/query?q=" + soql("SELECT Id FROM Account WHERE SystemModstamp > '2024-01-01T00:00:00Z'"), token: token)
            #expect(quoted.json[0]["errorCode"] == "INVALID_FIELD")
            let mixed = try await request(
                .GET, base + api + "/query?q=" + soql("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'"), token: token)
            #expect(mixed.json[0]["errorCode"] == "MALFORMED_QUERY")
            let type = try await request(.GET, base + api + "/query?q=" + soql("SELECT Id FROM Nope"), token: token)
            #expect(type.json[0]["errorCode"] == "INVALID_TYPE")
        }
    }

    @Test func pagingWithNextRecordsUrlAndBatchSize() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        var records: [String] = []
        for index in 0..<450 { records.append(#"{"attributes":{"type":"Account"},"Name":"A\#(index)"}"#) }
        for start in stride(from: 0, to: 450, by: 150) {
            let body = #"{"records":[\#(records[start..<start + 150].joined(separator: ","))]}"#
            #expect(simulator.call("POST", api + "/composite/sobjects", body: body).status == 200)
        }
        try await withOrg(simulator, clock: clock) { base, token in
            let options = [("Sforce-Query-Options", "batchSize=200")]
            var answer = try await request(
                .GET, base + api + "/query?q=" + soql("SELECT Id, Name FROM Account ORDER BY Name"), token: token, headers: options)
            var names: [String] = []
            var pages = 0
            while true {
                pages += 1
                #expect(answer.json["totalSize"] == 450)
                names += answer.json["records"].array?.compactMap { $0["Name"].string } ?? []
                guard let next = answer.json["nextRecordsUrl"].string else { break }
                #expect(answer.json["done"] == false)
                #expect(next.hasPrefix(api + "/query/01g"))
                answer = try await request(.GET, base + next, token: token)
            }
            #expect(pages == 3)
            #expect(names.count == 450)
            #expect(Set(names).count == 450)
            #expect(names == names.sorted { $0.lowercased() < $1.lowercased() })
            let whole = try await request(.GET, base + api + "/query?q=" + soql("SELECT Id FROM Account"), token: token)
            #expect(whole.json["records"].array?.count == 450)
            #expect(whole.json["done"] == true)
        }
    }

    /// A parent's children beyond `childRecordsPerPage` come as a first page of the child result, with its own
    /// `nextRecordsUrl`; the parent's own result is done. `OFFSET` stops at 2,000.
    @Test func childSubqueriesPageTheirRecordsAndOffsetStopsAt2000() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock, childRecordsPerPage: 3)
        let (_, ids) = try seed(simulator, clock)
        let product = try #require(
            simulator.call("POST", api + "/sobjects/Product2", body: #"{"Name":"Gadget","ProductCode":"G-1"}"#).json["id"].string)
        for quantity in 2...7 {
            let line = #"{"OpportunityId":"\#(ids[0])","Product2Id":"\#(product)","Quantity":\#(quantity),"UnitPrice":5}"#
            #expect(simulator.call("POST", api + "/sobjects/OpportunityLineItem", body: line).status == 201)
        }
        try await withOrg(simulator, clock: clock) { base, token in
            let query = "SELECT Id, Name, (SELECT Id, Quantity FROM OpportunityLineItems ORDER BY Quantity) FROM Opportunity ORDER BY Name"
            let answer = try await request(.GET, base + api + "/query?q=" + soql(query), token: token)
            #expect(answer.json["done"] == true)
            let alpha = answer.json["records"][0]
            #expect(alpha["Name"] == "Alpha")
            var children = alpha["OpportunityLineItems"]
            #expect(children["totalSize"] == 7)
            #expect(children["done"] == false)
            var quantities: [Double] = []
            while true {
                quantities += children["records"].array?.compactMap { $0["Quantity"].number } ?? []
                guard let next = children["nextRecordsUrl"].string else { break }
                #expect(next.hasPrefix(api + "/query/01g"))
                children = try await request(.GET, base + next, token: token).json
            }
            #expect(quantities == [2, 2, 3, 4, 5, 6, 7])
            #expect(children["done"] == true)

            let deep = try await request(.GET, base + api + "/query?q=" + soql("SELECT Id FROM Account LIMIT 10 OFFSET 2001"), token: token)
            #expect(deep.status == 400)
            #expect(deep.json[0]["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE")
            #expect(deep.json[0]["message"] == "Maximum SOQL offset allowed is 2000")
            let edge = try await request(.GET, base + api + "/query?q=" + soql("SELECT Id FROM Account LIMIT 10 OFFSET 2000"), token: token)
            #expect(edge.status == 200)
        }
    }

    @Test func queryAllIncludesDeletedRowsAndQueryDoesNot() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        let (_, ids) = try seed(simulator, clock)
        try await withOrg(simulator, clock: clock) { base, token in
            #expect(try await request(.DELETE, base + api + "/sobjects/Opportunity/\(ids[1])", token: token).status == 204)
            let text = soql("SELECT Id, IsDeleted FROM Opportunity WHERE Name = 'Beta'")
            let live = try await request(.GET, base + api + "/query?q=" + text, token: token)
            #expect(live.json["totalSize"] == 0)
            let all = try await request(.GET, base + api + "/queryAll?q=" + text, token: token)
            #expect(all.json["totalSize"] == 1)
            #expect(all.json["records"][0]["IsDeleted"] == true)
            // Deleting the opportunity with products deletes its line items too.
            _ = try await request(.DELETE, base + api + "/sobjects/Opportunity/\(ids[0])", token: token)
            let lines = try await request(
                .GET, base + api + "/queryAll?q=" + soql("SELECT Id, IsDeleted FROM OpportunityLineItem"), token: token)
            #expect(lines.json["records"][0]["IsDeleted"] == true)
        }
    }
}
