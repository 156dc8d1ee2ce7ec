/// An API error rendered as Chargebee renders it:
/// `{"message","type","api_error_code","param","error_code","error_msg","error_param","http_status_code"}`.
///
/// `type` is left out where Chargebee sends none (authentication failures); `error_code`/`error_msg`/`error_param`
/// are the legacy members Chargebee still sends beside the v2 ones. A member without a value (`param`) is left out.
struct ChargebeeError: Error, Sendable {
    var status: Int
    var type: String?
    var apiErrorCode: String
    var message: String
    var param: String?
    var errorCode: String?
    /// Whether the state changes made before the error stay (a declined `collect_payment` records its failed
    /// transaction); otherwise the request changes nothing.
    var keepsChanges = false

    var body: JSON {
        var body: JSON = ["message": .string(message)]
        body["type"] = .from(type)
        body["api_error_code"] = .string(apiErrorCode)
        body["param"] = .from(param)
        body["error_code"] = .string(errorCode ?? apiErrorCode)
        body["error_msg"] = .string(message)
        body["error_param"] = .from(param)
        body["http_status_code"] = .int(status)
        return body
    }

    /// Without `type`: a captured real response has none, though Chargebee's OpenAPI description lists it as required.
    static let authenticationFailed = ChargebeeError(
        status: 401, type: nil, apiErrorCode: "api_authentication_failed",
        message: "Sorry, authentication failed. Invalid api key", errorCode: "api_authentication_invalid_key")

    static let rateLimited = ChargebeeError(
        status: 429, type: "operation_failed", apiErrorCode: "api_request_limit_exceeded",
        message: "Sorry, access has been blocked temporarily due to request count exceeding acceptable limits.")

    static func internalError(status: Int) -> ChargebeeError {
        if status == 503 {
            return ChargebeeError(
                status: 503, type: "operation_failed", apiErrorCode: "internal_temporary_error",
                message: "Sorry, the request could not be processed now. Please retry after some time.")
        }
        return ChargebeeError(
            status: status, type: "operation_failed", apiErrorCode: "internal_error",
            message: "Sorry, Something went wrong when trying to process the request.")
    }

    static func notFound(param: String? = nil) -> ChargebeeError {
        ChargebeeError(
            status: 404, type: "invalid_request", apiErrorCode: "resource_not_found",
            message: "Sorry, we couldn't find that resource", param: param, errorCode: "resource_not_found")
    }

    static func unknownURL(_ method: String, _ path: String) -> ChargebeeError {
        ChargebeeError(
            status: 404, type: "invalid_request", apiErrorCode: "resource_not_found",
            message: "Sorry, we couldn't find that resource (\(method) \(path))")
    }

    static func methodNotSupported(_ method: String, _ path: String) -> ChargebeeError {
        ChargebeeError(
            status: 405, type: "invalid_request", apiErrorCode: "http_method_not_supported",
            message: "Sorry, the \(method) method is not supported for \(path)")
    }

    static func paramRequired(_ name: String) -> ChargebeeError {
        ChargebeeError(
            status: 400, type: "invalid_request", apiErrorCode: "invalid_request", message: "\(name) : cannot be blank",
            param: name, errorCode: "param_required")
    }

    static func paramInvalid(_ name: String, _ detail: String) -> ChargebeeError {
        ChargebeeError(
            status: 400, type: "invalid_request", apiErrorCode: "param_wrong_value", message: "\(name) : \(detail)",
            param: name, errorCode: "param_invalid_value")
    }

    static func duplicate(_ name: String, _ value: String) -> ChargebeeError {
        ChargebeeError(
            status: 400, type: "invalid_request", apiErrorCode: "duplicate_entry",
            message: "\(name) : The value \(value) is already present.", param: name, errorCode: "param_not_unique")
    }

    static func invalidState(_ message: String) -> ChargebeeError {
        ChargebeeError(
            status: 409, type: "invalid_request", apiErrorCode: "invalid_state_for_request", message: message,
            errorCode: "invalid_state_for_request")
    }

    static func paymentFailed(_ text: String) -> ChargebeeError {
        ChargebeeError(
            status: 402, type: "payment", apiErrorCode: "payment_processing_failed", message: text,
            errorCode: "payment_declined")
    }

    /// The spec's 422 `unable_to_process_request`: "returned when a client attempts to reuse an idempotency key with a
    /// different request payload".
    static func idempotencyMismatch() -> ChargebeeError {
        ChargebeeError(
            status: 422, type: "invalid_request", apiErrorCode: "unable_to_process_request",
            message: "The idempotency key was already used with a different request.",
            param: "chargebee-idempotency-key")
    }
}
