/// An error answered in Stripe's error body: `{"error":{"type","code","message","param","doc_url",…}}`.
struct StripeError: Error, Sendable {
    var status: Int
    var type: String
    var code: String?
    var message: String
    var param: String?
    var declineCode: String?
    /// Extra members of the error hash (`charge`, `payment_intent`, …).
    var extra: [(String, JSON)] = []
    /// Whether an idempotent request that ended in this error saves it for replay.
    /// Validation failures are not saved; errors after execution started (card errors, 500s) are.
    var savesIdempotentResult = false
    /// Extra response headers (`Stripe-Rate-Limited-Reason`).
    var headers: [(String, String)] = []

    func body(requestID: String) -> JSON {
        var error: JSON = [:]
        if let code { error["code"] = .string(code) }
        if let declineCode { error["decline_code"] = .string(declineCode) }
        if let code { error["doc_url"] = .string("https://stripe.com/docs/error-codes/\(code.replacingUnderscores)") }
        error["message"] = .string(message)
        if let param { error["param"] = .string(param) }
        for (key, value) in extra { error[key] = value }
        error["request_log_url"] = .string("https://dashboard.stripe.com/test/logs/\(requestID)")
        error["type"] = .string(type)
        return ["error": error]
    }

    // MARK: Constructors for the errors Stripe answers

    static func invalidRequest(_ message: String, code: String? = nil, param: String? = nil, status: Int = 400) -> Self {
        StripeError(status: status, type: "invalid_request_error", code: code, message: message, param: param)
    }

    static func missingParam(_ param: String) -> Self {
        .invalidRequest("Missing required param: \(param).", code: "parameter_missing", param: param)
    }

    static func unknownParam(_ param: String) -> Self {
        .invalidRequest(
            "Received unknown parameter: \(param)", code: "parameter_unknown", param: param)
    }

    static func invalidInteger(_ param: String, _ value: String) -> Self {
        .invalidRequest("Invalid integer: \(value)", code: "parameter_invalid_integer", param: param)
    }

    static func invalidEmpty(_ param: String) -> Self {
        .invalidRequest(
            "You passed an empty string for '\(param)'. We assume empty values are an attempt to unset a parameter; "
                + "however '\(param)' cannot be unset. You should remove '\(param)' from your request or supply a "
                + "non-empty value.",
            code: "parameter_invalid_empty", param: param)
    }

    static func invalidEnum(_ param: String, _ value: String, allowed: [String]) -> Self {
        .invalidRequest(
            "Invalid \(param): must be one of \(allowed.joined(separator: ", "))", param: param)
    }

    static func invalidArray(_ param: String) -> Self {
        .invalidRequest("Invalid array", param: param)
    }

    static func invalidHash(_ param: String) -> Self {
        .invalidRequest("Invalid object", param: param)
    }

    static func missing(_ kind: String, _ id: String, param: String = "id") -> Self {
        .invalidRequest("No such \(kind): '\(id)'", code: "resource_missing", param: param, status: 404)
    }

    static func unrecognizedURL(method: String, path: String) -> Self {
        .invalidRequest(
            "Unrecognized request URL (\(method): \(path)). Please see https://stripe.com/docs or we can help at "
                + "https://support.stripe.com/.",
            status: 404)
    }

    static let noAPIKey = StripeError(
        status: 401, type: "invalid_request_error", code: nil,
        message: "You did not provide an API key. You need to provide your API key in the Authorization header, "
            + "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication "
            + "for details, or we can help at https://support.stripe.com/.")

    static func invalidAPIKey(_ key: String) -> Self {
        let visible = key.count > 4 ? String(key.suffix(4)) : ""
        let prefix = key.hasPrefix("sk_test_") ? "sk_test_" : (key.hasPrefix("sk_live_") ? "sk_live_" : "")
        let masked = prefix + String(repeating: "*", count: max(0, key.count - prefix.count - visible.count)) + visible
        return StripeError(
            status: 401, type: "invalid_request_error", code: "api_key_invalid",
            message: "Invalid API Key provided: \(masked)")
    }

    static func idempotencyMismatch(_ key: String) -> Self {
        StripeError(
            status: 400, type: "idempotency_error", code: nil,
            message: "Keys for idempotent requests can only be used with the same parameters they were first used "
                + "with. Try using a key other than '\(key)' if you meant to execute a different request.")
    }

    static let idempotencyKeyTooLong = StripeError(
        status: 400, type: "invalid_request_error", code: nil,
        message: "Invalid idempotency key: keys must be at most 255 characters long.")

    static let rateLimited = StripeError(
        status: 429, type: "invalid_request_error", code: "rate_limit",
        message: "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
        headers: [("Stripe-Rate-Limited-Reason", "global-rate")])

    static func apiError(status: Int) -> Self {
        StripeError(
            status: status, type: "api_error", code: nil,
            message: "An unknown error occurred while processing your request. Please try again later.")
    }
}

extension String {
    fileprivate var replacingUnderscores: String {
        String(map { $0 == "_" ? "-" : $0 })
    }
}
