import NIOHTTP1
import Testing
import WeftSimKit

@testable import WeftSimHubSpot

@Suite struct HubSpotObjectsTests {
    @Test func rejectsAMissingOrWrongToken() async throws {
        let simulator = makeSimulator()
        try await withServer(simulator) { base in
            for auth in [nil, "Bearer pat-na1-wrong"] {
                let answer = try await request(.GET, base + "/crm/v3/objects/deals", auth: auth)
                #expect(answer.status == 401)
                #expect(answer.json["category"] == "INVALID_AUTHENTICATION")
                #expect(answer.json["status"] == "error")
                #expect(answer.json["message"].string?.hasPrefix("Authentication credentials not found") == true)
                #expect(answer.json["correlationId"].string?.count == 36)
            }
        }
    }

    /// A private app's token carries the scopes it was granted: a call that needs another is refused with 403
    /// `MISSING_SCOPES`, naming the scopes of which one would do; reads, writes, owners, property definitions and
    /// associations each need their own.
    @Test func callsNeedTheScopeOfWhatTheyTouch() async throws {
        let simulator = makeSimulator(scopes: ["crm.objects.companies.read", "crm.objects.contacts.write"])
        try await withServer(simulator) { base in
            #expect(try await request(.GET, base + "/crm/v3/objects/companies").status == 200)
            #expect(
                try await request(.POST, base + "/crm/v3/objects/companies/search", #"{"filterGroups":[]}"#).status == 200)
            #expect(try await request(.POST, base + "/crm/v3/objects/contacts", #"{"properties":{"email":"a@b.co"}}"#).status == 201)
            // The properties guide lists the object's read scope among those of which one is required.
            #expect(try await request(.GET, base + "/crm/v3/properties/companies/industry").status == 200)
            let dealReads = [
                "crm.schemas.deals.read", "crm.objects.deals.sensitive.read.v2", "crm.objects.deals.read",
                "crm.objects.deals.highly_sensitive.read.v2",
            ]
            let refused: [(HTTPMethod, String, String?, [String])] = [
                (.POST, "/crm/v3/objects/companies", #"{"properties":{"name":"Acme"}}"#, ["crm.objects.companies.write"]),
                (.POST, "/crm/v3/objects/companies/batch/update", #"{"inputs":[]}"#, ["crm.objects.companies.write"]),
                (.GET, "/crm/v3/objects/deals", nil, dealReads),
                (.POST, "/crm/v3/objects/line_items/batch/read", #"{"inputs":[]}"#, ["crm.objects.line_items.read", "e-commerce"]),
                (.GET, "/crm/v3/owners", nil, ["crm.objects.owners.read"]),
                (.GET, "/crm/v3/properties/deals/dealstage", nil, ["crm.objects.deals.read", "crm.schemas.deals.read"]),
                (.POST, "/crm/v4/associations/deals/companies/batch/read", #"{"inputs":[]}"#, dealReads),
            ]
            for (method, path, body, scopes) in refused {
                let answer = try await request(method, base + path, body)
                #expect(answer.status == 403, "\(path)")
                #expect(answer.json["category"] == "MISSING_SCOPES", "\(path)")
                #expect(
                    answer.json["message"]
                        == "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes."
                )
                #expect(answer.json["links"]["scopes"] == "https://developers.hubspot.com/scopes")
                #expect(answer.json["errors"][0]["context"]["requiredGranularScopes"] == .array(scopes.map { .string($0) }), "\(path)")
            }
            // Any one of the listed scopes will do: a token with the schema scope alone reads deals.
            let schemaOnly = makeSimulator(scopes: ["crm.schemas.deals.read"])
            try await withServer(schemaOnly) { other in
                let deals = try await request(.GET, other + "/crm/v3/objects/deals")
                #expect(deals.status == 200)
            }
            #expect(simulator.call("GET", "/crm/v3/objects/deals").status == 200)
        }
    }

    @Test func createsReadsAndUpdatesADealKeepingModificationTimes() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        try await withServer(simulator) { base in
            let created = try await request(
                .POST, base + "/crm/v3/objects/deals",
                #"{"properties":{"dealname":"Big","amount":1000,"dealstage":"qualifiedtobuy","pipeline":"default"}}"#)
            #expect(created.status == 201)
            let id = try #require(created.json["id"].string)
            #expect(created.json["properties"]["amount"] == "1000")
            #expect(created.json["properties"]["hs_object_id"].string == id)
            #expect(created.json["createdAt"] == "2023-11-14T22:13:20.000Z")
            #expect(created.json["archived"] == false)
            #expect(created.header("X-HubSpot-RateLimit-Max") == "190")
            #expect(created.header("X-HubSpot-RateLimit-Remaining") == "189")
            #expect(created.header("X-HubSpot-RateLimit-Interval-Milliseconds") == "10000")
            #expect(created.header("X-HubSpot-RateLimit-Daily") == "650000")

            clock.advance(ms: 5_000)
            let patched = try await request(
                .PATCH, base + "/crm/v3/objects/deals/\(id)", #"{"properties":{"dealstage":"closedwon"}}"#)
            #expect(patched.status == 200)
            #expect(patched.json["updatedAt"] == "2023-11-14T22:13:25.000Z")

            let read = try await request(.GET, base + "/crm/v3/objects/deals/\(id)?properties=dealstage,erp_order_ref")
            #expect(read.json["properties"]["dealstage"] == "closedwon")
            #expect(read.json["properties"]["erp_order_ref"] == .null)
            #expect(read.json["properties"]["hs_lastmodifieddate"] == "2023-11-14T22:13:25.000Z")
            #expect(read.json["properties"]["createdate"] == "2023-11-14T22:13:20.000Z")
            #expect(read.json["properties"]["dealname"] == .null)

            let missing = try await request(.GET, base + "/crm/v3/objects/deals/1")
            #expect(missing.status == 404)
            #expect(missing.json["category"] == "OBJECT_NOT_FOUND")

            #expect(try await request(.DELETE, base + "/crm/v3/objects/deals/\(id)").status == 204)
            #expect(try await request(.GET, base + "/crm/v3/objects/deals/\(id)").status == 404)
            let archived = try await request(.GET, base + "/crm/v3/objects/deals/\(id)?archived=true")
            #expect(archived.json["archived"] == true)
        }
    }

    @Test func unknownAndReadOnlyPropertiesAreValidationErrors() async throws {
        let simulator = makeSimulator()
        try await withServer(simulator) { base in
            let answer = try await request(
                .POST, base + "/crm/v3/objects/deals", #"{"properties":{"dealname":"X","colour":"red"}}"#)
            #expect(answer.status == 400)
            #expect(answer.json["category"] == "VALIDATION_ERROR")
            #expect(answer.json["message"].string?.hasPrefix("Property values were not valid: [") == true)
            #expect(answer.json["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST")
            #expect(answer.json["errors"][0]["context"]["propertyName"][0] == "colour")
            let readOnly = try await request(
                .POST, base + "/crm/v3/objects/deals", #"{"properties":{"hs_object_id":"5"}}"#)
            #expect(readOnly.json["errors"][0]["code"] == "READ_ONLY_VALUE")
            // Nothing was created by either call.
            #expect(try await request(.GET, base + "/crm/v3/objects/deals").json["results"].array?.isEmpty == true)
        }
    }

    /// A dropdown (a company's `industry`) takes only its options' internal values (`INVALID_OPTION` otherwise, nothing
    /// written); an empty value clears it. The property API shows the options, for a client to check its values by.
    @Test func dropdownsTakeOnlyTheirOptionsAndThePropertyAPIShowsThem() async throws {
        let simulator = makeSimulator()
        try await withServer(simulator) { base in
            for bad in ["Computer Software", "computer_software", "Information and communication"] {
                let answer = try await request(
                    .POST, base + "/crm/v3/objects/companies", #"{"properties":{"name":"Acme","industry":"\#(bad)"}}"#)
                #expect(answer.status == 400, "\(bad)")
                #expect(answer.json["errors"][0]["code"] == "INVALID_OPTION", "\(bad)")
                #expect(answer.json["errors"][0]["context"]["propertyName"][0] == "industry")
                #expect(answer.json["errors"][0]["message"].string?.hasPrefix("\(bad) was not one of the allowed options: [") == true)
            }
            #expect(try await request(.GET, base + "/crm/v3/objects/companies").json["results"].array?.isEmpty == true)
            let created = try await request(
                .POST, base + "/crm/v3/objects/companies", #"{"properties":{"name":"Acme","industry":"COMPUTER_SOFTWARE"}}"#)
            #expect(created.status == 201)
            let id = try #require(created.json["id"].string)
            let cleared = try await request(.PATCH, base + "/crm/v3/objects/companies/\(id)", #"{"properties":{"industry":""}}"#)
            #expect(cleared.status == 200)

            let industry = try await request(.GET, base + "/crm/v3/properties/companies/industry")
            #expect(industry.status == 200)
            #expect(industry.json["name"] == "industry")
            #expect(industry.json["type"] == "enumeration")
            #expect(industry.json["fieldType"] == "select")
            #expect(industry.json["hubspotDefined"] == true)
            let options = industry.json["options"].array ?? []
            #expect(options.count == 147)
            #expect(options.contains { $0["value"] == "COMPUTER_SOFTWARE" && $0["label"] == "Computer Software" })
            // A text property has no options; an unknown one is a 404; the type may be named by its id.
            let name = try await request(.GET, base + "/crm/v3/properties/0-2/name")
            #expect(name.json["type"] == "string")
            #expect(name.json["options"].array?.isEmpty == true)
            let unknown = try await request(.GET, base + "/crm/v3/properties/companies/colour")
            #expect(unknown.status == 404)
            #expect(unknown.json["category"] == "OBJECT_NOT_FOUND")
            let all = try await request(.GET, base + "/crm/v3/properties/companies")
            #expect(all.json["results"].array?.contains { $0["name"] == "industry" } == true)
            #expect(try await request(.GET, base + "/crm/v3/properties/widgets/name").status == 400)
        }
    }

    /// A contact's email HubSpot would not take is a validation error naming it (`INVALID_EMAIL`); nothing is written.
    /// Addresses HubSpot does take (a plus, subdomains, a long top-level domain) pass.
    @Test func contactEmailsMustBeAddresses() async throws {
        let simulator = makeSimulator()
        try await withServer(simulator) { base in
            for bad in ["bob", "bob@", "@globex.test", "bob@globex", "bob@globex.", "bob smith@globex.test", "a@b@c.io"] {
                let answer = try await request(
                    .POST, base + "/crm/v3/objects/contacts", #"{"properties":{"email":"\#(bad)"}}"#)
                #expect(answer.status == 400, "\(bad)")
                #expect(answer.json["errors"][0]["code"] == "INVALID_EMAIL", "\(bad)")
                #expect(answer.json["errors"][0]["message"] == .string("Email address \(bad) is invalid"))
            }
            #expect(try await request(.GET, base + "/crm/v3/objects/contacts").json["results"].array?.isEmpty == true)
            for good in ["ada+crm@mail.acme.test", "o'brien@example.co.uk", "x@y.museum"] {
                let answer = try await request(
                    .POST, base + "/crm/v3/objects/contacts", #"{"properties":{"email":"\#(good)"}}"#)
                #expect(answer.status == 201, "\(good)")
            }
        }
    }

    @Test func contactEmailsAreUnique() async throws {
        let simulator = makeSimulator()
        try await withServer(simulator) { base in
            let first = try await request(.POST, base + "/crm/v3/objects/contacts", #"{"properties":{"email":"A@x.io"}}"#)
            let id = try #require(first.json["id"].string)
            let second = try await request(.POST, base + "/crm/v3/objects/contacts", #"{"properties":{"email":"a@x.io"}}"#)
            #expect(second.status == 409)
            #expect(second.json["category"] == "CONFLICT")
            #expect(second.json["message"].string == "Contact already exists. Existing ID: \(id)")
            let byEmail = try await request(.GET, base + "/crm/v3/objects/contacts/a@x.io?idProperty=email")
            #expect(byEmail.json["id"].string == id)
        }
    }

    /// A batch that fails at one input on a value another record holds is one 409 that keeps none of the batch: the
    /// inputs before it were written and kept without their webhooks (HubSpot answers the whole batch with the error).
    @Test func aBatchRefusedAtOneInputWritesNoneOfIt() async throws {
        let simulator = makeSimulator()
        try await withServer(simulator) { base in
            _ = try await request(.POST, base + "/crm/v3/objects/contacts", #"{"properties":{"email":"taken@x.io"}}"#)
            let batch = try await request(
                .POST, base + "/crm/v3/objects/contacts/batch/create",
                #"{"inputs":[{"properties":{"email":"new@x.io"}},{"properties":{"email":"taken@x.io"}}]}"#)
            #expect(batch.status == 409)
            let listed = try await request(.GET, base + "/crm/v3/objects/contacts?properties=email")
            #expect(listed.json["results"].array?.count == 1, "\(listed.json)")
            let missing = try await request(.GET, base + "/crm/v3/objects/contacts/new@x.io?idProperty=email")
            #expect(missing.status == 404)
        }
    }

    @Test func batchUpsertReadUpdateAndLimits() async throws {
        let simulator = makeSimulator()
        try await withServer(simulator) { base in
            let upsert =
                #"{"inputs":[{"idProperty":"weft_deal_key","id":"K1","properties":{"dealname":"One"}},"#
                + #"{"idProperty":"weft_deal_key","id":"K2","properties":{"dealname":"Two"}}]}"#
            let first = try await request(.POST, base + "/crm/v3/objects/deals/batch/upsert", upsert)
            #expect(first.status == 200)
            #expect(first.json["status"] == "COMPLETE")
            #expect(first.json["results"].array?.map { $0["new"] } == [true, true])
            let again = try await request(.POST, base + "/crm/v3/objects/deals/batch/upsert", upsert)
            #expect(again.json["results"].array?.map { $0["new"] } == [false, false])
            let ids = again.json["results"].array?.compactMap { $0["id"].string } ?? []
            #expect(Set(ids) == Set(first.json["results"].array?.compactMap { $0["id"].string } ?? []))

            let read = try await request(
                .POST, base + "/crm/v3/objects/deals/batch/read",
                #"{"properties":["dealname"],"inputs":[{"id":"\#(ids[0])"},{"id":"999"}]}"#)
            #expect(read.status == 207)
            #expect(read.json["numErrors"] == 1)
            #expect(read.json["errors"][0]["category"] == "OBJECT_NOT_FOUND")
            #expect(read.json["errors"][0]["context"]["ids"] == ["999"])
            #expect(read.json["results"][0]["properties"]["dealname"] != .null)

            let byKey = try await request(
                .POST, base + "/crm/v3/objects/deals/batch/read",
                #"{"idProperty":"weft_deal_key","properties":["dealname"],"inputs":[{"id":"K2"}]}"#)
            #expect(byKey.json["results"][0]["properties"]["dealname"] == "Two")

            let update = try await request(
                .POST, base + "/crm/v3/objects/deals/batch/update",
                #"{"inputs":[{"id":"\#(ids[0])","properties":{"invoice_status":"paid"}}]}"#)
            #expect(update.json["results"][0]["properties"]["invoice_status"] == "paid")

            let duplicate = try await request(
                .POST, base + "/crm/v3/objects/deals/batch/update",
                #"{"inputs":[{"id":"\#(ids[0])","properties":{}},{"id":"\#(ids[0])","properties":{}}]}"#)
            #expect(duplicate.status == 400)

            let inputs = (0..<101).map { #"{"properties":{"dealname":"D\#($0)"}}"# }.joined(separator: ",")
            let tooMany = try await request(.POST, base + "/crm/v3/objects/deals/batch/create", #"{"inputs":[\#(inputs)]}"#)
            #expect(tooMany.status == 400)
            #expect(tooMany.json["category"] == "VALIDATION_ERROR")

            let notUnique = try await request(
                .POST, base + "/crm/v3/objects/deals/batch/upsert",
                #"{"inputs":[{"idProperty":"dealname","id":"X","properties":{}}]}"#)
            #expect(notUnique.status == 400)
        }
    }

    @Test func aConfiguredPathPrefixReplacesTheDefault() async throws {
        let simulator = makeSimulator(paths: .init(objects: "/crm/objects/2025-09", associations: "/crm/v4"))
        try await withServer(simulator) { base in
            let created = try await request(
                .POST, base + "/crm/objects/2025-09/companies", #"{"properties":{"name":"Acme"}}"#)
            #expect(created.status == 201)
            #expect(try await request(.GET, base + "/crm/v3/objects/companies").status == 404)
        }
    }

    @Test func theTenSecondWindowAndTheSearchLimitAnswer429() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock, rateLimits: .init(perTenSeconds: 3, perDay: 100, searchPerSecond: 2))
        try await withServer(simulator) { base in
            for _ in 0..<3 { #expect(try await request(.GET, base + "/crm/v3/objects/deals").status == 200) }
            let limited = try await request(.GET, base + "/crm/v3/objects/deals")
            #expect(limited.status == 429)
            #expect(limited.json["errorType"] == "RATE_LIMIT")
            #expect(limited.json["policyName"] == "TEN_SECONDLY_ROLLING")
            #expect(limited.json["message"] == "You have reached your ten_secondly_rolling limit.")
            #expect(limited.header("X-HubSpot-RateLimit-Remaining") == "0")
            clock.advance(ms: 9_999)
            #expect(try await request(.GET, base + "/crm/v3/objects/deals").status == 429)
            clock.advance(ms: 1)
            #expect(try await request(.GET, base + "/crm/v3/objects/deals").status == 200)

            for _ in 0..<2 { #expect(try await request(.POST, base + "/crm/v3/objects/deals/search", "{}").status == 200) }
            let search = try await request(.POST, base + "/crm/v3/objects/deals/search", "{}")
            #expect(search.status == 429)
            #expect(search.json["policyName"] == "SECONDLY")
            #expect(search.header("X-HubSpot-RateLimit-Max") == nil)
        }
    }
}
