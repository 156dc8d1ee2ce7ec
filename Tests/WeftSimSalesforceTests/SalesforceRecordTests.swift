import NIOHTTP1
import Testing
import WeftSimKit

@testable import WeftSimSalesforce

@Suite struct SalesforceRecordTests {
    @Test func idsCarryKeyPrefixAndCaseSafeSuffix() {
        // Known pairs: the suffix flags upper-case letters per 5-character chunk.
        #expect(SalesforceID.normalise("001A0000006Vm9r") == "001A0000006Vm9rIAC")
        #expect(SalesforceID.normalise("003000000000000") == "003000000000000AAA")
        #expect(SalesforceID.normalise("001A0000006Vm9rIAC") == "001A0000006Vm9rIAC")
        #expect(SalesforceID.normalise("001A0000006Vm9rXXX") == nil)
        #expect(SalesforceID.normalise("not-an-id") == nil)
        let id = SalesforceID.make(prefix: "006", pod: "5g", serial: 123_456)
        #expect(id.count == 18)
        #expect(id.hasPrefix("006"))
        #expect(SalesforceID.normalise(String(id.prefix(15))) == id)
    }

    @Test func createReadUpdateDelete() async throws {
        let clock = TestClock()
        try await withOrg(makeSimulator(clock: clock), clock: clock) { base, token in
            let created = try await request(
                .POST, base + api + "/sobjects/Account/", json: #"{"Name":"Acme","Industry":"Energy"}"#, token: token)
            #expect(created.status == 201)
            let id = try #require(created.json["id"].string)
            #expect(id.hasPrefix("001") && id.count == 18)
            #expect(created.json["success"] == true)
            #expect(created.json["errors"] == [])

            let read = try await request(.GET, base + api + "/sobjects/Account/\(id)", token: token)
            #expect(read.status == 200)
            #expect(read.json["attributes"] == ["type": "Account", "url": .string("\(api)/sobjects/Account/\(id)")])
            #expect(read.json["Name"] == "Acme")
            #expect(read.json["IsDeleted"] == false)
            #expect(read.json["CreatedDate"] == "2024-06-01T00:00:00.000+0000")
            #expect(read.json["SystemModstamp"] == "2024-06-01T00:00:00.000+0000")
            #expect(read.json["Weft_Key__c"] == .null)

            clock.advance(ms: 1_500)
            let patched = try await request(.PATCH, base + api + "/sobjects/Account/\(id)", json: #"{"Phone":"+49 30 1234"}"#, token: token)
            #expect(patched.status == 204)
            #expect(patched.body.isEmpty)
            let fields = try await request(.GET, base + api + "/sobjects/Account/\(id)?fields=Phone,SystemModstamp", token: token)
            #expect(fields.json["Phone"] == "+49 30 1234")
            #expect(fields.json["SystemModstamp"] == "2024-06-01T00:00:01.500+0000")
            #expect(fields.json["Name"] == .null)
            #expect(inOrder(fields.body, ["attributes", "Phone", "SystemModstamp"]))
            #expect(fields.json.object?.count == 3)

            let deleted = try await request(.DELETE, base + api + "/sobjects/Account/\(id)", token: token)
            #expect(deleted.status == 204)
            let gone = try await request(.GET, base + api + "/sobjects/Account/\(id)", token: token)
            #expect(gone.status == 404)
            #expect(gone.json[0]["errorCode"] == "ENTITY_IS_DELETED")
            let unknown = try await request(.GET, base + api + "/sobjects/Account/001000000000000AAA", token: token)
            #expect(unknown.json == [["message": "The requested resource does not exist", "errorCode": "NOT_FOUND"]])
        }
    }

    /// With State and Country/Territory Picklists, a code sets the name and a name the code; an ISO code written as
    /// the country's text, a state of another country, or a state without a country is refused as Salesforce refuses
    /// it. Without them, the code fields do not exist and the text fields take any text.
    @Test func stateAndCountryPicklistsKeepCodesAndNamesInStep() async throws {
        let clock = TestClock()
        try await withOrg(makeSimulator(clock: clock, stateAndCountryPicklists: true), clock: clock) { base, token in
            let created = try await request(
                .POST, base + api + "/sobjects/Account/", json: #"{"Name":"Acme","BillingCountryCode":"US","BillingStateCode":"CA"}"#,
                token: token)
            #expect(created.status == 201, "\(created.body)")
            let id = try #require(created.json["id"].string)
            func read() async throws -> JSON {
                try await request(.GET, base + api + "/sobjects/Account/\(id)", token: token).json
            }
            var account = try await read()
            #expect(account["BillingCountry"] == "United States" && account["BillingState"] == "California")
            #expect(account["BillingCountryCode"] == "US" && account["BillingStateCode"] == "CA")

            // A name sets the code.
            let byName = try await request(
                .PATCH, base + api + "/sobjects/Account/\(id)", json: #"{"BillingCountry":"Canada","BillingState":"Ontario"}"#,
                token: token)
            #expect(byName.status == 204, "\(byName.body)")
            account = try await read()
            #expect(account["BillingCountryCode"] == "CA" && account["BillingStateCode"] == "ON")

            let refusals: [(String, String, String)] = [
                (
                    #"{"BillingCountry":"US"}"#, "BillingCountry",
                    "There's a problem with this country, even though it may appear correct. Please select a country/territory from the list of valid countries.: Billing Country"
                ),
                (
                    #"{"BillingState":"CA"}"#, "BillingState",
                    "There's a problem with this state, even though it may appear correct. Please select a state from the list of valid states.: Billing State/Province"
                ),
                (
                    #"{"BillingStateCode":"TX"}"#, "BillingStateCode",
                    "The existing country/territory doesn't recognize the state value for field: Billing State/Province Code"
                ),
                (
                    #"{"BillingCountryCode":"XX"}"#, "BillingCountryCode",
                    "The BillingCountryCode field contains XX, which isn't an available country/territory."
                ),
                (
                    #"{"ShippingState":"Ontario"}"#, "ShippingState",
                    "A country/territory must be specified before specifying a state value for field: Shipping State/Province"
                ),
                // A new country whose states do not include the record's state.
                (
                    #"{"BillingCountryCode":"DE"}"#, "BillingStateCode",
                    "The existing country/territory doesn't recognize the state value for field: Billing State/Province Code"
                ),
            ]
            for (body, field, message) in refusals {
                let answer = try await request(.PATCH, base + api + "/sobjects/Account/\(id)", json: body, token: token)
                #expect(answer.status == 400, "\(body)")
                #expect(
                    answer.json == [["message": .string(message), "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": [.string(field)]]])
            }
            #expect(try await read() == account)
            // The country and its state change together; clearing the country code clears its name.
            let moved = try await request(
                .PATCH, base + api + "/sobjects/Account/\(id)", json: #"{"BillingCountryCode":"DE","BillingStateCode":null}"#,
                token: token)
            #expect(moved.status == 204, "\(moved.body)")
            account = try await read()
            #expect(account["BillingCountry"] == "Germany" && account["BillingState"] == .null && account["BillingStateCode"] == .null)

            let describe = try await request(.GET, base + api + "/sobjects/Account/describe", token: token).json
            let code = describe["fields"].array?.first { $0["name"] == "BillingCountryCode" }
            #expect(code?["type"] == "picklist")
            #expect(code?["picklistValues"].array?.contains { $0["value"] == "GB" && $0["label"] == "United Kingdom" } == true)
        }
        try await withOrg(makeSimulator(clock: clock), clock: clock) { base, token in
            let text = try await request(
                .POST, base + api + "/sobjects/Account/", json: #"{"Name":"Acme","BillingCountry":"US","BillingState":"CA"}"#, token: token)
            #expect(text.status == 201)
            let query = try await request(
                .GET, base + api + "/query?q=" + soql("SELECT Id, BillingCountryCode FROM Account"), token: token)
            #expect(query.status == 400)
            #expect(query.json[0]["errorCode"] == "INVALID_FIELD")
        }
    }

    @Test func validationErrorsAreJSONArrays() async throws {
        let clock = TestClock()
        try await withOrg(makeSimulator(clock: clock), clock: clock) { base, token in
            let unknown = try await request(.POST, base + api + "/sobjects/Account/", json: #"{"Name":"A","Foo__c":"x"}"#, token: token)
            #expect(unknown.status == 400)
            #expect(unknown.json == [["message": "No such column 'Foo__c' on sobject of type Account", "errorCode": "INVALID_FIELD"]])
            let missing = try await request(.POST, base + api + "/sobjects/Opportunity/", json: #"{"Name":"O"}"#, token: token)
            #expect(missing.status == 400)
            #expect(missing.json[0]["errorCode"] == "REQUIRED_FIELD_MISSING")
            #expect(missing.json[0]["fields"] == ["StageName", "CloseDate"])
            #expect(missing.json[0]["message"] == "Required fields are missing: [StageName, CloseDate]")
            let account = try await request(
                .POST, base + api + "/sobjects/Account/", json: #"{"Name":"A","Weft_Key__c":"k1"}"#, token: token)
            let duplicate = try await request(
                .POST, base + api + "/sobjects/Account/", json: #"{"Name":"B","Weft_Key__c":"K1"}"#, token: token)
            #expect(duplicate.status == 400)
            #expect(duplicate.json[0]["errorCode"] == "DUPLICATE_VALUE")
            #expect(duplicate.json[0]["message"].string?.hasSuffix(account.json["id"].string ?? "?") == true)
            let badReference = try await request(
                .POST, base + api + "/sobjects/Contact/", json: #"{"LastName":"L","AccountId":"006000000000000AAA"}"#, token: token)
            #expect(badReference.json[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION")
            let notJSON = try await request(.POST, base + api + "/sobjects/Account/", json: "{nope", token: token)
            #expect(notJSON.json[0]["errorCode"] == "JSON_PARSER_ERROR")
        }
    }

    /// What an org refuses that the simulator used to take: text over a field's length, an email that is not one, and
    /// an owner that is not a user of the org (another object's id used to be stored as no owner at all).
    @Test func overlongTextBadEmailsAndUnknownOwnersAreRefused() async throws {
        let clock = TestClock()
        try await withOrg(makeSimulator(clock: clock), clock: clock) { base, token in
            let city = String(repeating: "x", count: 41)
            let long = try await request(
                .POST, base + api + "/sobjects/Account/", json: #"{"Name":"A","BillingCity":"\#(city)"}"#, token: token)
            #expect(long.status == 400)
            #expect(long.json[0]["errorCode"] == "STRING_TOO_LONG")
            #expect(long.json[0]["message"].string?.hasSuffix("(max length=40)") == true)
            #expect(long.json[0]["fields"] == ["BillingCity"])
            let fits = try await request(
                .POST, base + api + "/sobjects/Account/", json: #"{"Name":"A","BillingCity":"\#(city.dropLast())"}"#, token: token)
            #expect(fits.status == 201)
            let email = try await request(
                .POST, base + api + "/sobjects/Contact/", json: #"{"LastName":"L","Email":"not an email"}"#, token: token)
            #expect(email.json[0]["errorCode"] == "INVALID_EMAIL_ADDRESS")
            let wrongType = try await request(
                .POST, base + api + "/sobjects/Account/", json: #"{"Name":"B","OwnerId":"001000000000000AAA"}"#, token: token)
            #expect(wrongType.json[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION")
            let unknownUser = try await request(
                .POST, base + api + "/sobjects/Account/", json: #"{"Name":"C","OwnerId":"005000000000000AAA"}"#, token: token)
            #expect(unknownUser.json[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY")
        }
    }

    @Test func opportunityStageDerivesIsWonWhichIsReadOnly() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        try await withOrg(simulator, clock: clock) { base, token in
            let created = try await request(
                .POST, base + api + "/sobjects/Opportunity/",
                json: #"{"Name":"Deal","StageName":"Prospecting","CloseDate":"2024-07-31","Amount":1200}"#, token: token)
            let id = try #require(created.json["id"].string)
            #expect(id.hasPrefix("006"))
            var read = try await request(.GET, base + api + "/sobjects/Opportunity/\(id)", token: token)
            #expect(read.json["IsWon"] == false)
            #expect(read.json["IsClosed"] == false)
            #expect(read.json["Probability"].number == 10)
            #expect(read.json["CloseDate"] == "2024-07-31")
            #expect(read.json["Amount"].number == 1200)
            #expect(read.body.contains(#""Amount":1200.0"#))
            #expect(read.json["CurrencyIsoCode"] == "USD")

            _ = try await request(.PATCH, base + api + "/sobjects/Opportunity/\(id)", json: #"{"StageName":"Closed Won"}"#, token: token)
            read = try await request(.GET, base + api + "/sobjects/Opportunity/\(id)", token: token)
            #expect(read.json["IsWon"] == true)
            #expect(read.json["IsClosed"] == true)
            #expect(read.json["ForecastCategoryName"] == "Closed")

            let write = try await request(.PATCH, base + api + "/sobjects/Opportunity/\(id)", json: #"{"IsWon":false}"#, token: token)
            #expect(write.status == 400)
            #expect(write.json[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE")
            #expect(write.json[0]["fields"] == ["IsWon"])
            #expect(simulator.record("Opportunity", id: id)?["IsWon"] == true)
            let badStage = try await request(
                .PATCH, base + api + "/sobjects/Opportunity/\(id)", json: #"{"StageName":"Won-ish"}"#, token: token)
            #expect(badStage.status == 400)
        }
    }

    @Test func lineItemsRollUpIntoTheOpportunityAmount() async throws {
        let clock = TestClock()
        let simulator = makeSimulator(clock: clock)
        try await withOrg(simulator, clock: clock) { base, token in
            let product = try await request(
                .POST, base + api + "/sobjects/Product2/", json: #"{"Name":"Widget","ProductCode":"W-1","IsActive":true}"#, token: token)
            let productID = try #require(product.json["id"].string)
            #expect(productID.hasPrefix("01t"))
            let opportunity = try await request(
                .POST, base + api + "/sobjects/Opportunity/",
                json: #"{"Name":"Deal","StageName":"Qualification","CloseDate":"2024-07-31","Amount":1}"#, token: token)
            let opportunityID = try #require(opportunity.json["id"].string)
            let first = try await request(
                .POST, base + api + "/sobjects/OpportunityLineItem/",
                json: #"{"OpportunityId":"\#(opportunityID)","Product2Id":"\#(productID)","Quantity":3,"UnitPrice":12.5}"#, token: token)
            #expect(first.status == 201)
            let lineID = try #require(first.json["id"].string)
            #expect(lineID.hasPrefix("00k"))
            _ = try await request(
                .POST, base + api + "/sobjects/OpportunityLineItem/",
                json: #"{"OpportunityId":"\#(opportunityID)","Product2Id":"\#(productID)","Quantity":2,"TotalPrice":50}"#, token: token)
            let line = try await request(.GET, base + api + "/sobjects/OpportunityLineItem/\(lineID)", token: token)
            #expect(line.json["TotalPrice"].number == 37.5)
            #expect(line.json["ProductCode"] == "W-1")
            #expect(simulator.record("Opportunity", id: opportunityID)?["Amount"] == .double(87.5))
            #expect(simulator.record("Opportunity", id: opportunityID)?["HasOpportunityLineItem"] == true)
            // A written amount does not stick while products define it.
            _ = try await request(.PATCH, base + api + "/sobjects/Opportunity/\(opportunityID)", json: #"{"Amount":5}"#, token: token)
            #expect(simulator.record("Opportunity", id: opportunityID)?["Amount"] == .double(87.5))
            _ = try await request(.PATCH, base + api + "/sobjects/OpportunityLineItem/\(lineID)", json: #"{"Quantity":1}"#, token: token)
            #expect(simulator.record("Opportunity", id: opportunityID)?["Amount"] == .double(62.5))
            _ = try await request(.DELETE, base + api + "/sobjects/OpportunityLineItem/\(lineID)", token: token)
            #expect(simulator.record("Opportunity", id: opportunityID)?["Amount"] == .double(50))
            let both = try await request(
                .POST, base + api + "/sobjects/OpportunityLineItem/",
                json: #"{"OpportunityId":"\#(opportunityID)","Product2Id":"\#(productID)","Quantity":2,"TotalPrice":50,"UnitPrice":25}"#,
                token: token)
            #expect(both.json[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION")
            // Neither a price book entry nor a product: Salesforce's field integrity error, in its own words.
            let bare = try await request(
                .POST, base + api + "/sobjects/OpportunityLineItem/",
                json: #"{"OpportunityId":"\#(opportunityID)","Quantity":1,"UnitPrice":5}"#, token: token)
            #expect(bare.status == 400)
            #expect(bare.json[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION")
            #expect(bare.json[0]["message"].string?.hasPrefix("field integrity exception: PricebookEntryId, unknown") == true)
            #expect(bare.json[0]["fields"] == ["PricebookEntryId", "unknown"])
        }
    }

    @Test func upsertByExternalID() async throws {
        let clock = TestClock()
        try await withOrg(makeSimulator(clock: clock), clock: clock) { base, token in
            let url = base + api + "/sobjects/Account/Weft_Key__c/acc-1"
            let inserted = try await request(.PATCH, url, json: #"{"Name":"First"}"#, token: token)
            #expect(inserted.status == 201)
            #expect(inserted.json["created"] == true)
            #expect(inserted.json["success"] == true)
            let id = try #require(inserted.json["id"].string)
            let updated = try await request(.PATCH, url, json: #"{"Name":"Second"}"#, token: token)
            #expect(updated.status == 200)
            #expect(updated.json == ["id": .string(id), "success": true, "errors": [], "created": false])
            let read = try await request(.GET, url, token: token)
            #expect(read.json["Name"] == "Second")
            #expect(read.json["Weft_Key__c"] == "acc-1")

            let updateOnly = try await request(
                .PATCH, base + api + "/sobjects/Account/Weft_Key__c/acc-2?updateOnly=true", json: #"{"Name":"X"}"#, token: token)
            #expect(updateOnly.status == 404)
            #expect(updateOnly.json[0]["errorCode"] == "NOT_FOUND")

            let notExternal = try await request(.PATCH, base + api + "/sobjects/Account/Name/Acme", json: #"{"Phone":"1"}"#, token: token)
            #expect(notExternal.status == 404)
            #expect(notExternal.json[0]["message"] == "Provided external ID field does not exist or is not accessible: Name")

            // ERP_Order_Ref__c is an External ID but not Unique: two records can share a value.
            for name in ["A", "B"] {
                let body = #"{"Name":"\#(name)","StageName":"Prospecting","CloseDate":"2024-07-01","ERP_Order_Ref__c":"SO-7"}"#
                #expect(try await request(.POST, base + api + "/sobjects/Opportunity/", json: body, token: token).status == 201)
            }
            let ambiguous = try await request(
                .PATCH, base + api + "/sobjects/Opportunity/ERP_Order_Ref__c/SO-7", json: #"{"Amount":1}"#, token: token)
            #expect(ambiguous.status == 300)
            #expect(ambiguous.json.array?.count == 2)
            #expect(ambiguous.json[0].string?.hasPrefix(api + "/sobjects/Opportunity/006") == true)
        }
    }
}
