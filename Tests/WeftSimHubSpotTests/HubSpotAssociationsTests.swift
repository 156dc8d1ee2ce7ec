import NIOHTTP1
import Testing
import WeftSimKit

@testable import WeftSimHubSpot

@Suite struct HubSpotAssociationsTests {
    private func create(_ simulator: HubSpotSimulator, _ type: String, _ properties: String) throws -> String {
        let result = simulator.call("POST", "/crm/v3/objects/\(type)", body: #"{"properties":\#(properties)}"#)
        return try #require(result.json["id"].string)
    }

    @Test func createsDefaultLabelledAndBatchAssociationsAndListsThem() async throws {
        let simulator = makeSimulator()
        let contact = try create(simulator, "contacts", #"{"email":"a@acme.io"}"#)
        let company = try create(simulator, "companies", #"{"name":"Acme"}"#)
        let deal = try create(simulator, "deals", #"{"dealname":"D"}"#)
        let line = try create(simulator, "line_items", #"{"name":"Widget","quantity":"2","price":"10"}"#)
        try await withServer(simulator) { base in
            let byDefault = try await request(
                .PUT, base + "/crm/v4/objects/contacts/\(contact)/associations/default/companies/\(company)")
            #expect(byDefault.status == 200)
            #expect(byDefault.json["results"][0]["associationSpec"]["associationTypeId"] == 279)
            #expect(byDefault.json["results"][1]["associationSpec"]["associationTypeId"] == 280)

            let labelled = try await request(
                .PUT, base + "/crm/v4/objects/deals/\(deal)/associations/companies/\(company)",
                #"[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":5}]"#)
            #expect(labelled.status == 201)
            #expect(labelled.json["labels"] == ["Primary"])
            #expect(labelled.json["fromObjectTypeId"] == "0-3")

            let wrong = try await request(
                .PUT, base + "/crm/v4/objects/deals/\(deal)/associations/companies/\(company)",
                #"[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]"#)
            #expect(wrong.status == 400)

            let batch = try await request(
                .POST, base + "/crm/v4/associations/line_items/deals/batch/create",
                #"{"inputs":[{"from":{"id":"\#(line)"},"to":{"id":"\#(deal)"},"#
                    + #""types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":20}]},"#
                    + #"{"from":{"id":"1"},"to":{"id":"\#(deal)"},"#
                    + #""types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":20}]}]}"#)
            #expect(batch.status == 207)
            #expect(batch.json["results"].array?.count == 1)
            #expect(batch.json["numErrors"] == 1)

            let lines = try await request(.GET, base + "/crm/v4/objects/deals/\(deal)/associations/line_items")
            #expect(lines.json["results"][0]["toObjectId"].int == Int(line))
            #expect(lines.json["results"][0]["associationTypes"][0]["typeId"] == 19)

            let companies = try await request(.GET, base + "/crm/v4/objects/companies/\(company)/associations/deals")
            #expect(companies.json["results"][0]["associationTypes"][0]["typeId"] == 6)
            #expect(companies.json["results"][0]["associationTypes"][0]["label"] == "Primary")

            #expect(
                try await request(.DELETE, base + "/crm/v4/objects/deals/\(deal)/associations/companies/\(company)").status
                    == 204)
            let after = try await request(.GET, base + "/crm/v4/objects/companies/\(company)/associations/deals")
            #expect(after.json["results"].array?.isEmpty == true)
        }
    }

}
