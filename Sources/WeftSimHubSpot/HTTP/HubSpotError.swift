import WeftSimKit

/// An error answer with HubSpot's status and body: `{"status":"error","message",…,"correlationId","category"}`.
///
/// Shapes (see docs/simulators/hubspot.md for sources): 401 `INVALID_AUTHENTICATION`; 404 `OBJECT_NOT_FOUND`;
/// 400 `VALIDATION_ERROR` (property problems carry `PROPERTY_DOESNT_EXIST`/`INVALID_OPTION`… in the message and in
/// `errors`); 403 `MISSING_SCOPES` with `errors[].context.requiredGranularScopes`; 409 `CONFLICT`; 429 `RATE_LIMIT` with
/// `policyName`.
struct HubSpotError: Error, Sendable {
    var status: Int
    var body: JSON

    init(status: Int, body: JSON) {
        self.status = status
        self.body = body
    }

    /// A standard error body. `correlationId` is filled in when the answer is sent.
    init(status: Int, category: String, message: String, extra: [(String, JSON)] = []) {
        var object = JSONObject([
            ("status", "error"), ("message", .string(message)), ("correlationId", ""), ("category", .string(category)),
        ])
        for (key, value) in extra { object[key] = value }
        self.init(status: status, body: .object(object))
    }

    static let unauthenticated = HubSpotError(
        status: 401, category: "INVALID_AUTHENTICATION",
        message:
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
            + "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview")

    /// 403 `MISSING_SCOPES`: the token's app lacks every scope of `required` (any one of them would do). The body of
    /// HubSpot's "Using object APIs" guide, links included.
    static func missingScopes(_ required: [String]) -> HubSpotError {
        HubSpotError(
            status: 403, category: "MISSING_SCOPES",
            message:
                "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: "
                + "https://developers.hubspot.com/scopes.",
            extra: [
                (
                    "errors",
                    [
                        [
                            "message": "One or more of the following scopes are required.",
                            "context": ["requiredGranularScopes": .strings(required)],
                        ]
                    ]
                ),
                ("links", ["scopes": "https://developers.hubspot.com/scopes"]),
            ])
    }

    static func notFound(_ message: String = "resource not found") -> HubSpotError {
        HubSpotError(status: 404, category: "OBJECT_NOT_FOUND", message: message)
    }

    static func validation(_ message: String, errors: [JSON] = []) -> HubSpotError {
        HubSpotError(
            status: 400, category: "VALIDATION_ERROR", message: message,
            extra: errors.isEmpty ? [] : [("errors", .array(errors))])
    }

    /// A 400 for property values, as HubSpot words it: `Property values were not valid: [{…}]` with the problems as a
    /// JSON array inside the message, and the same problems under `errors` (`code` = `PROPERTY_DOESNT_EXIST`…).
    static func invalidProperties(_ problems: [PropertyProblem]) -> HubSpotError {
        let inner = JSON.array(
            problems.map { problem in
                [
                    "isValid": false, "message": .string(problem.message), "error": .string(problem.code),
                    "name": .string(problem.name), "localizedErrorMessage": .string(problem.message),
                ]
            })
        let errors = problems.map { problem -> JSON in
            [
                "message": .string(problem.message), "code": .string(problem.code),
                "context": ["propertyName": .strings([problem.name])],
            ]
        }
        return validation(
            "Property values were not valid: " + String(decoding: inner.bytes, as: UTF8.self), errors: errors)
    }

    /// 429 for the ten-second window (`TEN_SECONDLY_ROLLING`), the daily limit (`DAILY`) or the search API's
    /// per-second limit (`SECONDLY`).
    static func rateLimited(policy: RatePolicy) -> HubSpotError {
        HubSpotError(
            status: 429,
            body: [
                "status": "error", "message": .string(policy.message), "errorType": "RATE_LIMIT", "correlationId": "",
                "policyName": .string(policy.rawValue),
            ])
    }

    static func conflict(_ message: String) -> HubSpotError {
        HubSpotError(status: 409, category: "CONFLICT", message: message)
    }
}

/// One property problem in a 400.
struct PropertyProblem: Sendable, Hashable {
    var name: String
    var code: String
    var message: String

    static func doesNotExist(_ name: String) -> PropertyProblem {
        PropertyProblem(name: name, code: "PROPERTY_DOESNT_EXIST", message: "Property \"\(name)\" does not exist")
    }

    static func readOnly(_ name: String) -> PropertyProblem {
        PropertyProblem(name: name, code: "READ_ONLY_VALUE", message: "\(name) is a read only property; its value cannot be set.")
    }
}

/// The rate-limit policies HubSpot names in a 429.
enum RatePolicy: String, Sendable {
    case tenSecondlyRolling = "TEN_SECONDLY_ROLLING"
    case daily = "DAILY"
    case secondly = "SECONDLY"

    var message: String {
        switch self {
        case .tenSecondlyRolling: "You have reached your ten_secondly_rolling limit."
        case .daily: "You have reached your daily limit."
        case .secondly: "You have reached your secondly limit."
        }
    }
}
