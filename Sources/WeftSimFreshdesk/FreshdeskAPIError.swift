/// An API error exactly as Freshdesk renders it.
struct FreshdeskAPIError: Error, Sendable {
    /// One entry of `errors` in a validation failure.
    struct FieldError: Sendable {
        var field: String
        var message: String
        var code: String
        var additionalInfo: [String: FDJSON]?

        var json: FDJSON {
            var members: [String: FDJSON] = ["field": .string(field), "message": .string(message), "code": .string(code)]
            if let additionalInfo { members["additional_info"] = .object(additionalInfo) }
            return .object(members)
        }
    }

    var status: Int
    /// `nil` answers a single space, as Freshdesk does for a missing record.
    var body: FDJSON?
    var headers: [(String, String)] = []

    /// `{"description":"Validation failed","errors":[…]}`.
    static func validation(_ errors: [FieldError], status: Int = 400) -> Self {
        Self(status: status, body: ["description": "Validation failed", "errors": .array(errors.map(\.json))])
    }

    static let invalidCredentials = Self(
        status: 401, body: ["code": "invalid_credentials", "message": "You have to be logged in to perform this action."])

    static let invalidJSON = Self(
        status: 400, body: ["code": "invalid_json", "message": "Request body has invalid json format"])

    static let notFound = Self(status: 404, body: nil)

    static func methodNotAllowed(_ method: String, allowed: [String]) -> Self {
        Self(
            status: 405,
            body: [
                "message":
                    .string("\(method) Method is not allowed. It should be one of these method(s): \(allowed.joined(separator: ", "))")
            ],
            headers: [("Allow", allowed.joined(separator: ", "))])
    }

    static func rateLimited(retryAfter: Int) -> Self {
        Self(
            status: 429,
            body: ["code": "rate_limit_exceeded", "message": "You have exceeded the limit of requests per minute"],
            headers: [("Retry-After", String(retryAfter))])
    }

    /// The body sent for an injected fault with `status`.
    static func injected(status: Int) -> FDJSON {
        switch status {
        case 429: ["code": "rate_limit_exceeded", "message": "You have exceeded the limit of requests per minute"]
        case 503: ["code": "service_unavailable", "message": "Service is temporarily unavailable"]
        default: ["code": "internal_error", "message": "We're sorry, but something went wrong."]
        }
    }
}

/// One API answer: status, extra headers and the JSON body.
struct FreshdeskReply: Sendable {
    var status: Int
    var body: FDJSON?
    var headers: [(String, String)] = []

    init(status: Int = 200, body: FDJSON?, headers: [(String, String)] = []) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    init(_ error: FreshdeskAPIError) {
        self.init(status: error.status, body: error.body, headers: error.headers)
    }

    var bodyBytes: [UInt8] { body?.bytes ?? [0x20] }
}

extension FreshdeskAPIError.FieldError {
    static func invalidField(_ field: String) -> Self {
        Self(field: field, message: "Unexpected/invalid field in request", code: "invalid_field")
    }

    static func missingField(_ field: String, type: String) -> Self {
        Self(field: field, message: "It should be a/an \(type)", code: "missing_field")
    }

    static func mismatch(_ field: String, expected: String, given: FDJSON) -> Self {
        Self(
            field: field, message: "Value set is of type \(given.typeName).It should be a/an \(expected)",
            code: "datatype_mismatch")
    }

    static func invalidValue(_ field: String, _ message: String) -> Self {
        Self(field: field, message: message, code: "invalid_value")
    }
}
