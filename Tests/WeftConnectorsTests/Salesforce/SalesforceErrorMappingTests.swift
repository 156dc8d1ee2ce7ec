import Foundation
import NIOHTTP1
import Testing
import WeftCore

@testable import WeftConnectors

@Suite struct SalesforceErrorMappingTests {
    private func response(_ status: Int, _ body: String, headers: HTTPHeaders = [:]) -> OutboundHTTPResponse {
        OutboundHTTPResponse(status: status, headers: headers, body: Array(body.utf8))
    }

    private func map(_ status: Int, _ body: String, headers: HTTPHeaders = [:]) -> SalesforceAPIError {
        SalesforceAPIError.from(
            response(status, body, headers: headers), method: "PATCH", path: "/services/data/v62.0/sobjects/Opportunity/x",
            holds: (.seconds(60), .seconds(900)))
    }

    @Test func requestLimitExceededIsARetryWithTheConfiguredHold() {
        let daily = map(403, #"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#)
        #expect(daily.kind == .rateLimited)
        #expect(daily.retryAfter == .seconds(900))
        #expect(daily.message.contains("24-hour"))
        guard case .retry(let failure) = daily.outcome else {
            Issue.record("expected a retry, got \(daily.outcome)")
            return
        }
        #expect(failure.kind == .rateLimited)
        #expect(failure.retryAfter == .seconds(900))

        let concurrent = map(
            403,
            #"[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#)
        #expect(concurrent.kind == .rateLimited)
        #expect(concurrent.retryAfter == .seconds(60))
        #expect(concurrent.isRetryable)
    }

    @Test func fieldErrorsAreRejectionsThatNameTheFieldsAndTheFix() {
        let invalid = map(
            400,
            #"[{"message":"No such column 'Weft_Key__c' on sobject of type Opportunity","errorCode":"INVALID_FIELD"}]"#)
        #expect(invalid.kind == .invalid)
        #expect(invalid.codes == ["INVALID_FIELD"])
        #expect(invalid.message.contains("create the field in Salesforce"))

        let missing = map(
            400,
            #"[{"message":"Required fields are missing: [CloseDate, StageName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["CloseDate","StageName"]}]"#
        )
        #expect(missing.fields == ["CloseDate", "StageName"])
        #expect(missing.message.contains("REQUIRED_FIELD_MISSING on CloseDate, StageName"))
        #expect(missing.message.contains("send a value for the required field"))
        guard case .reject(let failure) = missing.outcome else {
            Issue.record("expected a reject")
            return
        }
        #expect(failure.kind == .rejected)

        let duplicate = map(
            400,
            #"[{"message":"duplicate value found: Weft_Key__c duplicates value on record with id: 0065g00000AbCdEAAZ","errorCode":"DUPLICATE_VALUE","fields":[]}]"#
        )
        #expect(duplicate.kind == .invalid)
        #expect(duplicate.message.contains("DUPLICATE_VALUE"))
        #expect(duplicate.message.contains("merge the duplicates"))
    }

    @Test func lockedRowsAndUnavailableServersAreRetries() {
        let locked = map(
            400, #"[{"message":"unable to obtain exclusive access to this record","errorCode":"UNABLE_TO_LOCK_ROW"}]"#)
        #expect(locked.kind == .unavailable)
        #expect(locked.isRetryable)
        let busy = map(503, #"[{"message":"Server is busy","errorCode":"SERVER_UNAVAILABLE"}]"#, headers: ["Retry-After": "7"])
        #expect(busy.kind == .unavailable)
        #expect(busy.retryAfter == .seconds(7))
        let gateway = map(502, "<html>bad gateway</html>")
        #expect(gateway.kind == .unavailable)
        #expect(gateway.isRetryable)
    }

    @Test func severalExternalIDMatchesAreARejectNamingTheRecords() {
        let ambiguous = map(
            300,
            #"["/services/data/v62.0/sobjects/Account/0015g00000AAAAAAA1","/services/data/v62.0/sobjects/Account/0015g00000AAAAAAA2"]"#
        )
        #expect(ambiguous.kind == .ambiguous)
        #expect(ambiguous.matchingIDs == ["0015g00000AAAAAAA1", "0015g00000AAAAAAA2"])
        #expect(ambiguous.message.contains("0015g00000AAAAAAA1, 0015g00000AAAAAAA2"))
        #expect(!ambiguous.isRetryable)
        #expect(ambiguous.failure.kind == .rejected)
    }

    @Test func notFoundUnauthorizedAndForbiddenAreRejections() {
        let missing = map(404, #"[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]"#)
        #expect(missing.kind == .notFound)
        #expect(missing.failure.kind == .dependencyMissing)
        #expect(!missing.isRetryable)
        let session = map(401, #"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#)
        #expect(session.kind == .unauthorized)
        #expect(session.message.contains("connected app"))
        #expect(session.failure.kind == .unauthorized)
        let forbidden = map(403, #"[{"message":"The REST API is not enabled for this Organization.","errorCode":"API_DISABLED_FOR_ORG"}]"#)
        #expect(forbidden.kind == .forbidden)
        #expect(forbidden.message.contains("API Enabled"))
    }

    @Test func tokenErrorsSayWhatToFix() {
        func token(_ body: String, status: Int = 400) -> SalesforceAPIError {
            SalesforceAuthenticator.tokenError(
                status: status, json: try? JSONValue.parse(Data(body.utf8)), flow: "JWT bearer",
                response: response(status, body))
        }
        let approval = token(#"{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}"#)
        #expect(approval.kind == .unauthorized)
        #expect(approval.message.contains("invalid_grant: user hasn't approved this consumer"))
        #expect(approval.message.contains("pre-authorize the user on the connected app"))
        #expect(!approval.isRetryable)
        #expect(token(#"{"error":"invalid_grant","error_description":"audience is invalid"}"#).message.contains("test.salesforce.com"))
        #expect(token(#"{"error":"invalid_client_id","error_description":"client identifier invalid"}"#).message.contains("consumer key"))
        #expect(
            token(#"{"error":"invalid_grant","error_description":"no client credentials user enabled"}"#).message.contains("Run As"))
        let down = token(#"{"error":"unknown_error","error_description":"retry your request"}"#)
        #expect(down.isRetryable)
        #expect(token("", status: 503).isRetryable)
    }
}
