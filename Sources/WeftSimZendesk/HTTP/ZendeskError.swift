import WeftSimKit

/// An error answer, with Zendesk's status and body.
///
/// Shapes: 401 `{"error":"Couldn't authenticate you"}`; 404 `{"error":"RecordNotFound","description":"Not found"}`;
/// 422 `{"error":"RecordInvalid","description":"Record validation errors","details":{field:[{description,error}]}}`;
/// 429 is plain text (`Number of allowed API requests per minute exceeded`) with `Retry-After`, except the incremental
/// export's (JSON, `APIRateLimitExceeded`).
struct ZendeskError: Error, Sendable {
    var status: Int
    var body: [UInt8]
    var contentType = "application/json; charset=utf-8"
    var headers: [(String, String)] = []

    init(status: Int, json: JSON) {
        self.status = status
        self.body = json.bytes
    }

    init(status: Int, text: String, headers: [(String, String)] = []) {
        self.status = status
        self.body = Array(text.utf8)
        self.contentType = "text/plain; charset=utf-8"
        self.headers = headers
    }

    static let unauthenticated = ZendeskError(status: 401, json: ["error": "Couldn't authenticate you"])

    static let notFound = ZendeskError(status: 404, json: ["error": "RecordNotFound", "description": "Not found"])

    static let invalidEndpoint = ZendeskError(
        status: 404, json: ["error": "InvalidEndpoint", "description": "Not found"])

    static func rateLimited(retryAfter: Int) -> ZendeskError {
        ZendeskError(
            status: 429, text: "Number of allowed API requests per minute exceeded",
            headers: [("Retry-After", String(retryAfter))])
    }

    /// The incremental export's own limit (10 requests a minute): JSON, unlike the account's plain-text 429, as
    /// client libraries have seen it (cloudbees-oss/zendesk-java-client#319).
    static func exportRateLimited(retryAfter: Int) -> ZendeskError {
        var error = ZendeskError(
            status: 429,
            json: [
                "error": "APIRateLimitExceeded",
                "description": "Number of allowed incremental export API requests per minute exceeded",
            ])
        error.headers = [("Retry-After", String(retryAfter))]
        return error
    }

    /// Offset pagination stops at page 100 (10,000 records): deeper pages are refused, saying to page by cursor
    /// (Zendesk's "New limits for offset-based pagination", 2024; the body as clients have reported it).
    static let paginationTooDeep = ZendeskError(
        status: 400,
        json: [
            "errors": [
                [
                    "code": "InvalidPaginationDepth",
                    "title":
                        "Pagination requests using Offset Pagination are limited to page 100 or up to 10000 records (page * per_page)",
                    "detail":
                        "There are limits to the page depth in Offset Pagination. Offset Pagination will be deprecated fully in the near future.\nPlease switch to Cursor Pagination at the earliest.",
                ]
            ]
        ])

    /// A 422 with one problem on `field` (`error` is Zendesk's code, e.g. `DuplicateValue`, `InvalidValue`, `BlankValue`).
    static func recordInvalid(field: String, description: String, error: String, extra: [(String, JSON)] = []) -> ZendeskError {
        var problem = JSONObject([("description", .string(description)), ("error", .string(error))])
        for (key, value) in extra { problem[key] = value }
        return ZendeskError(
            status: 422,
            json: [
                "error": "RecordInvalid", "description": "Record validation errors",
                "details": .object(JSONObject([(field, .array([.object(problem)]))])),
            ])
    }

    /// A `start_time` less than a minute in the past (or in the future) on an incremental export. The code is the one
    /// client libraries match (`StartTimeTooRecent`); the description is unverified (see docs/simulators/zendesk.md).
    static let startTimeTooRecent = ZendeskError(
        status: 400,
        json: ["error": "StartTimeTooRecent", "description": "Too recent start_time. Use a start_time older than 1 minute"])

    static func badRequest(_ error: String, _ description: String) -> ZendeskError {
        ZendeskError(status: 400, json: ["error": .string(error), "description": .string(description)])
    }
}
