import NIOHTTP1
import Testing
import WeftSimKit

@testable import WeftSimSalesforce

/// `OpportunityContactRole`: the contacts of an opportunity, one of them primary, queried as a child relationship with
/// parent fields, and deleted with the opportunity.
@Suite struct SalesforceContactRoleTests {
    @Test func onePrimaryContactPerOpportunityReadThroughTheChildRelationship() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        let account = try #require(simulator.call("POST", api + "/sobjects/Account", body: #"{"Name":"Acme"}"#).json["id"].string)
        let opportunity = try #require(
            simulator.call(
                "POST", api + "/sobjects/Opportunity",
                body: #"{"Name":"Deal","StageName":"Prospecting","CloseDate":"2024-07-01","AccountId":"\#(account)"}"#
            ).json["id"].string)
        var contacts: [String] = []
        var roles: [String] = []
        for name in ["Ada", "Bob"] {
            let contact = try #require(
                simulator.call(
                    "POST", api + "/sobjects/Contact",
                    body: #"{"LastName":"\#(name)","Email":"\#(name.lowercased())@acme.example","AccountId":"\#(account)"}"#
                ).json["id"].string)
            contacts.append(contact)
            clock.advance(ms: 1000)
            let created = simulator.call(
                "POST", api + "/sobjects/OpportunityContactRole",
                body: #"{"OpportunityId":"\#(opportunity)","ContactId":"\#(contact)","IsPrimary":true,"Role":"Decision Maker"}"#)
            #expect(created.status == 201)
            let id = try #require(created.json["id"].string)
            #expect(id.hasPrefix("00K"))
            roles.append(id)
        }
        // Marking Bob primary took the flag from Ada.
        #expect(simulator.record("OpportunityContactRole", id: roles[0])?["IsPrimary"] == false)
        #expect(simulator.record("OpportunityContactRole", id: roles[1])?["IsPrimary"] == true)
        // OpportunityId cannot be changed; a missing ContactId is refused.
        let moved = simulator.call(
            "PATCH", api + "/sobjects/OpportunityContactRole/\(roles[0])", body: #"{"OpportunityId":"\#(opportunity)"}"#)
        #expect(moved.status == 400)
        let missing = simulator.call(
            "POST", api + "/sobjects/OpportunityContactRole", body: #"{"OpportunityId":"\#(opportunity)"}"#)
        #expect(missing.status == 400)
        #expect(missing.json[0]["errorCode"] == "REQUIRED_FIELD_MISSING")

        let contactIDs = contacts
        try await withOrg(simulator, clock: clock) { base, token in
            let query =
                "SELECT Id, (SELECT ContactId, IsPrimary, Contact.Email FROM OpportunityContactRoles WHERE IsPrimary = true) "
                + "FROM Opportunity WHERE Id = '\(opportunity)'"
            let answer = try await request(.GET, base + api + "/query?q=" + soql(query), token: token)
            #expect(answer.status == 200)
            let children = answer.json["records"][0]["OpportunityContactRoles"]
            #expect(children["totalSize"] == 1)
            #expect(children["records"][0]["ContactId"] == .string(contactIDs[1]))
            #expect(children["records"][0]["Contact"]["Email"] == "bob@acme.example")

            // Roles are found by their own and by their contact's changes.
            let byContact =
                "SELECT OpportunityId FROM OpportunityContactRole WHERE SystemModstamp >= 2024-01-01T00:00:00Z "
                + "OR Contact.SystemModstamp >= 2024-01-01T00:00:00Z"
            let found = try await request(.GET, base + api + "/query?q=" + soql(byContact), token: token)
            #expect(found.json["totalSize"] == 2)
            // Roles go with their opportunity.
            #expect(simulator.call("DELETE", api + "/sobjects/Opportunity/\(opportunity)").status == 204)
            let after = try await request(.GET, base + api + "/query?q=" + soql(byContact), token: token)
            #expect(after.json["totalSize"] == 0)
        }
    }
}
