import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WeftSimKit

@testable import WeftSimZendesk

@Suite struct ZendeskTicketAndLimitTests {
    @Test func ticketsTakeTheRequestersOrganizationAndTheFirstComment() async throws {
        let simulator = makeSimulator()
        let org = simulator.call("POST", "/api/v2/organizations.json", body: #"{"organization":{"name":"Acme"}}"#)
            .json["organization"]["id"]
        let user = simulator.call(
            "POST", "/api/v2/users/create_or_update.json",
            body: #"{"user":{"name":"Ann","email":"ann@acme.com","organization_id":\#(org.int ?? 0)}}"#
        ).json["user"]["id"]
        try await app(simulator).test(.live) { client in
            let created = try await client.api(
                .post, "/api/v2/tickets.json",
                #"{"ticket":{"subject":"Printer","comment":{"body":"It is on fire"},"requester_id":\#(user.int ?? 0),"priority":"high","tags":["Fire"]}}"#
            )
            #expect(created.status == 201)
            let ticket = created.json["ticket"]
            #expect(ticket["organization_id"] == org)
            #expect(ticket["description"] == "It is on fire")
            #expect(ticket["status"] == "new")
            #expect(ticket["tags"] == ["fire"])
            let id = try #require(ticket["id"].int)

            let updated = try await client.api(
                .put, "/api/v2/tickets/\(id).json", #"{"ticket":{"status":"closed","comment":{"body":"Fixed"}}}"#)
            #expect(updated.json["ticket"]["status"] == "closed")
            #expect(updated.json["ticket"]["description"] == "It is on fire")
            let closed = try await client.api(.put, "/api/v2/tickets/\(id).json", #"{"ticket":{"status":"open"}}"#)
            #expect(closed.status == 422)
            #expect(closed.json["details"]["status"][0]["description"] == "Status: closed prevents ticket update")

            let byOrg = try await client.api(.get, "/api/v2/organizations/\(org.int ?? 0)/tickets.json?page[size]=10")
            #expect(byOrg.json["tickets"].array?.map { $0["id"] } == [ticket["id"]])
            #expect(try await client.api(.get, "/api/v2/tickets.json").json["count"] == 1)
            #expect(try await client.api(.post, "/api/v2/tickets.json", #"{"ticket":{"subject":"x"}}"#).status == 422)
        }
    }

    @Test func perMinuteLimitAnswers429WithRetryAfterUntilTheNextMinute() async throws {
        let clock = TestClock(1_700_000_020)  // 40 s into a minute
        let simulator = makeSimulator(clock: clock, rateLimit: 3)
        try await app(simulator).test(.live) { client in
            for remaining in [2, 1, 0] {
                let ok = try await client.api(.get, "/api/v2/organizations.json")
                #expect(ok.status == 200)
                #expect(ok.headers[HTTPField.Name("X-Rate-Limit-Remaining")!] == String(remaining))
            }
            let limited = try await client.api(.get, "/api/v2/organizations.json")
            #expect(limited.status == 429)
            #expect(limited.headers[.retryAfter] == "20")
            #expect(limited.headers[HTTPField.Name("X-Rate-Limit-Remaining")!] == "0")
            #expect(limited.text == "Number of allowed API requests per minute exceeded")
            clock.advance(20)
            #expect(try await client.api(.get, "/api/v2/organizations.json").status == 200)
        }
    }

    @Test func injectedFaultsUseZendesksBodies() async throws {
        let simulator = makeSimulator()
        simulator.faults.set(FaultPlan(rateLimitRate: 1, retryAfterSeconds: 7))
        try await app(simulator).test(.live) { client in
            let limited = try await client.api(.get, "/api/v2/organizations.json")
            #expect(limited.status == 429)
            #expect(limited.headers[.retryAfter] == "7")
            #expect(limited.text == "Number of allowed API requests per minute exceeded")
        }
    }

    @Test func incrementalExportHasItsOwnLimitAndSkipsTheLastMinute() async throws {
        let clock = TestClock(1_700_000_000)
        let simulator = makeSimulator(clock: clock)
        for subject in ["one", "two", "three"] {
            _ = simulator.call("POST", "/api/v2/tickets.json", body: #"{"ticket":{"subject":"\#(subject)","comment":{"body":"b"}}}"#)
            clock.advance(30)
        }
        // Tickets changed at t0, t0+30, t0+60; now is t0+90: the last one is younger than a minute.
        try await app(simulator).test(.live) { client in
            let first = try await client.api(.get, "/api/v2/incremental/tickets/cursor.json?start_time=1699999000&per_page=1")
            #expect(first.json["tickets"].array?.map { $0["subject"] } == ["one"])
            #expect(first.json["end_of_stream"] == false)
            let cursor = try #require(first.json["after_cursor"].string)
            #expect(first.json["after_url"].string?.contains("cursor=") == true)
            let second = try await client.api(
                .get,
                "/api/v2/incremental/tickets/cursor.json?cursor=\(cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")
            #expect(second.json["tickets"].array?.map { $0["subject"] } == ["two"])
            #expect(second.json["end_of_stream"] == true)

            for _ in 3...10 {
                #expect(try await client.api(.get, "/api/v2/incremental/tickets/cursor.json?start_time=0").status == 200)
            }
            let limited = try await client.api(.get, "/api/v2/incremental/tickets/cursor.json?start_time=0")
            #expect(limited.status == 429)
            #expect(limited.headers[.retryAfter] != nil)
            // The export's own limit answers JSON, unlike the account's plain-text 429.
            #expect(limited.json["error"] == "APIRateLimitExceeded")
            #expect(limited.json["description"] == "Number of allowed incremental export API requests per minute exceeded")
            #expect(try await client.api(.get, "/api/v2/tickets.json").status == 200)
        }
    }

    @Test func incrementalExportRefusesAStartTimeLessThanAMinuteOld() async throws {
        let clock = TestClock(1_700_000_000)
        let simulator = makeSimulator(clock: clock)
        try await app(simulator).test(.live) { client in
            for start in [1_700_000_000 - 59, 1_700_000_000, 1_700_000_000 + 3_600] {
                let refused = try await client.api(.get, "/api/v2/incremental/tickets/cursor.json?start_time=\(start)")
                #expect(refused.status == 400)
                #expect(
                    refused.text
                        == #"{"error":"StartTimeTooRecent","description":"Too recent start_time. Use a start_time older than 1 minute"}"#
                )
            }
            let accepted = try await client.api(.get, "/api/v2/incremental/tickets/cursor.json?start_time=\(1_700_000_000 - 60)")
            #expect(accepted.status == 200)
            #expect(accepted.json["end_of_stream"] == true)
        }
    }

    @Test func deletedTicketsLeaveTheTicketEndpointsAndStayInTheExport() async throws {
        let clock = TestClock(1_700_000_000)
        let simulator = makeSimulator(clock: clock)
        let org = try #require(
            simulator.call("POST", "/api/v2/organizations.json", body: #"{"organization":{"name":"Acme"}}"#)
                .json["organization"]["id"].int)
        func create(_ subject: String) throws -> Int {
            try #require(
                simulator.call(
                    "POST", "/api/v2/tickets.json",
                    body: #"{"ticket":{"subject":"\#(subject)","comment":{"body":"b"},"organization_id":\#(org)}}"#
                ).json["ticket"]["id"].int)
        }
        let kept = try create("Kept")
        let gone = try create("Gone")
        clock.advance(90)
        try await app(simulator).test(.live) { client in
            let deleted = try await client.api(.delete, "/api/v2/tickets/\(gone).json")
            #expect(deleted.status == 204)
            #expect(deleted.text.isEmpty)

            let notFound = #"{"error":"RecordNotFound","description":"Not found"}"#
            let shown = try await client.api(.get, "/api/v2/tickets/\(gone).json")
            #expect(shown.status == 404)
            #expect(shown.text == notFound)
            #expect(try await client.api(.put, "/api/v2/tickets/\(gone).json", #"{"ticket":{"status":"open"}}"#).status == 404)
            #expect(try await client.api(.delete, "/api/v2/tickets/\(gone).json").status == 404)
            let list = try await client.api(.get, "/api/v2/tickets.json")
            #expect(list.json["tickets"].array?.map { $0["id"].int } == [kept])
            #expect(list.json["count"] == 1)
            let byOrg = try await client.api(.get, "/api/v2/organizations/\(org)/tickets.json")
            #expect(byOrg.json["tickets"].array?.map { $0["id"].int } == [kept])

            // The export holds the deletion back for a minute like any change, then shows it with status "deleted".
            let early = try await client.api(.get, "/api/v2/incremental/tickets/cursor.json?start_time=0")
            #expect(early.json["tickets"].array?.map { $0["id"].int } == [kept])
            clock.advance(61)
            let export = try await client.api(.get, "/api/v2/incremental/tickets/cursor.json?start_time=0")
            let tickets = export.json["tickets"].array ?? []
            #expect(tickets.map { $0["id"].int } == [kept, gone])
            #expect(tickets.map { $0["status"] } == ["new", "deleted"])
            #expect(tickets.last?["organization_id"].int == org)
            #expect(tickets.last?["updated_at"] == .string(Timestamps.iso8601(1_700_000_090)))
            let excluded = try await client.api(
                .get, "/api/v2/incremental/tickets/cursor.json?start_time=0&exclude_deleted=true")
            #expect(excluded.json["tickets"].array?.map { $0["id"].int } == [kept])
        }
    }
}
