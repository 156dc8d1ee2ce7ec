import NIOHTTP1
import Testing
import WeftSimKit

@testable import WeftSimHubSpot

@Suite struct HubSpotSearchTests {
    /// Five deals: amounts 100…500, stages alternating, the last without a stage.
    private func seed(_ simulator: HubSpotSimulator, clock: TestClock) {
        for index in 1...5 {
            let stage = index == 5 ? "" : (index % 2 == 0 ? "closedwon" : "qualifiedtobuy")
            _ = simulator.call(
                "POST", "/crm/v3/objects/deals",
                body: #"{"properties":{"dealname":"Deal \#(index)","amount":"\#(index * 100)","dealstage":"\#(stage)"}}"#)
            clock.advance(ms: 1_000)
        }
    }

    @Test func filtersSortsAndPages() async throws {
        let clock = TestClock()
        // The test's clock stands still, so the search API's per-second limit is raised for it.
        let simulator = makeSimulator(clock: clock, rateLimits: .init(perTenSeconds: 190, perDay: 1000, searchPerSecond: 100))
        seed(simulator, clock: clock)
        try await withServer(simulator) { base in
            let url = base + "/crm/v3/objects/deals/search"
            func names(_ body: String) async throws -> [String] {
                let answer = try await request(.POST, url, body)
                return answer.json["results"].array?.compactMap { $0["properties"]["dealname"].string } ?? []
            }
            #expect(
                try await names(#"{"filterGroups":[{"filters":[{"propertyName":"amount","operator":"GTE","value":"300"}]}]}"#)
                    == ["Deal 3", "Deal 4", "Deal 5"])
            #expect(
                try await names(#"{"filterGroups":[{"filters":[{"propertyName":"amount","operator":"LT","value":250}]}]}"#)
                    == ["Deal 1", "Deal 2"])
            #expect(
                try await names(
                    #"{"filterGroups":[{"filters":[{"propertyName":"dealstage","operator":"IN","values":["closedwon"]}]}]}"#)
                    == ["Deal 2", "Deal 4"])
            #expect(
                try await names(
                    #"{"filterGroups":[{"filters":[{"propertyName":"dealstage","operator":"NOT_HAS_PROPERTY"}]}]}"#)
                    == ["Deal 5"])
            #expect(
                try await names(
                    #"{"filterGroups":[{"filters":[{"propertyName":"dealstage","operator":"NEQ","value":"closedwon"},"#
                        + #"{"propertyName":"dealstage","operator":"HAS_PROPERTY"}]}]}"#) == ["Deal 1", "Deal 3"])
            // Groups are ORed; a sort orders the result.
            #expect(
                try await names(
                    #"{"filterGroups":[{"filters":[{"propertyName":"amount","operator":"EQ","value":"100"}]},"#
                        + #"{"filters":[{"propertyName":"amount","operator":"GT","value":"400"}]}],"#
                        + #""sorts":[{"propertyName":"amount","direction":"DESCENDING"}]}"#) == ["Deal 5", "Deal 1"])
            // Dates compare as times, with unix milliseconds as the filter value.
            #expect(
                try await names(
                    #"{"filterGroups":[{"filters":[{"propertyName":"hs_lastmodifieddate","operator":"GTE","value":"1700000003000"}]}]}"#)
                    == ["Deal 4", "Deal 5"])

            let page = try await request(.POST, url, #"{"limit":2,"properties":["dealname"]}"#)
            #expect(page.json["total"] == 5)
            #expect(page.json["paging"]["next"]["after"] == "2")
            #expect(page.json["results"][0]["properties"]["amount"] == .null)
            let last = try await request(.POST, url, #"{"limit":2,"after":"4"}"#)
            #expect(last.json["results"].array?.count == 1)
            #expect(last.json["paging"] == .null)

            let tooBig = try await request(.POST, url, #"{"limit":201}"#)
            #expect(tooBig.status == 400)
            let pastCeiling = try await request(.POST, url, #"{"limit":10,"after":"10000"}"#)
            #expect(pastCeiling.status == 400)
            let unknown = try await request(
                .POST, url, #"{"filterGroups":[{"filters":[{"propertyName":"colour","operator":"EQ","value":"red"}]}]}"#)
            #expect(unknown.status == 400)
            #expect(unknown.json["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST")
            let badOperator = try await request(
                .POST, url, #"{"filterGroups":[{"filters":[{"propertyName":"amount","operator":"ABOUT","value":"1"}]}]}"#)
            #expect(badOperator.status == 400)
        }
    }
}
