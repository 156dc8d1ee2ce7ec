import Foundation
import WeftCore

/// Maps Odoo's error shapes (exception class names, HTTP statuses, XML-RPC fault codes) to `OdooError`.
enum OdooErrorMapping {
    /// From an exception class name (`odoo.exceptions.ValidationError`) and message, with the HTTP status if any.
    static func fromException(name: String, message: String, status: Int?, operation: String?) -> OdooError {
        let shortName = name.split(separator: ".").last.map(String.init) ?? name
        let kind: OdooError.Kind
        switch shortName {
        case "AccessDenied", "Unauthorized", "SessionExpiredException":
            kind = .authentication
        case "AccessError", "Forbidden":
            kind = .accessDenied
        case "MissingError":
            kind = .missingRecord
        case "ValidationError", "UserError", "RedirectWarning", "UnprocessableEntity":
            kind = message.contains("doesn't exist") && message.hasPrefix("Object ") ? .notFound : .validation
        case "NotFound":
            kind = .notFound
        case "AttributeError" where message.contains("does not exist"):
            kind = .notFound
        case "LockError", "ConcurrencyError", "SerializationFailure", "LockNotAvailable", "Conflict":
            kind = .conflict
        case "TooManyRequests":
            kind = .rateLimited
        case "OperationalError", "InterfaceError", "ServiceUnavailable", "PoolError":
            kind = .unavailable
        case "ValueError", "TypeError", "KeyError", "AttributeError", "BadRequest", "Exception":
            kind = .invalidRequest
        default:
            kind = status.map(kindForStatus) ?? .unavailable
        }
        return OdooError(kind: kind, message: message, operation: operation, status: status, remoteName: name)
    }

    /// From an HTTP status alone (no readable Odoo error body).
    static func kindForStatus(_ status: Int) -> OdooError.Kind {
        switch status {
        case 401: .authentication
        case 403: .accessDenied
        case 404: .notFound
        case 409: .conflict
        case 422: .validation
        case 429: .rateLimited
        case 400, 405, 413, 415: .invalidRequest
        case 500..<600: .unavailable
        default: .invalidResponse
        }
    }

    /// From an XML-RPC fault. Odoo's codes: 1 other (traceback), 2 UserError family, 3 AccessDenied, 4 AccessError;
    /// the legacy `/xmlrpc/` endpoints send the class name (or "warning -- Class\n\nmessage") as a string code.
    static func fromFault(code: Int64?, codeText: String?, message: String, operation: String?) -> OdooError {
        if let codeText {
            if codeText.hasPrefix("warning -- ") {
                let rest = codeText.dropFirst("warning -- ".count)
                let parts = rest.split(separator: "\n", maxSplits: 1)
                let name = parts.first.map(String.init) ?? "UserError"
                let text = parts.count > 1 ? String(parts[1]) : message
                return fromException(name: name, message: text, status: nil, operation: operation)
            }
            return fromException(name: codeText, message: message, status: nil, operation: operation)
        }
        // The traceback's last line is "ExceptionClass: message".
        let lastLine = message.split(separator: "\n").last.map(String.init) ?? message
        switch code {
        case 3:
            return OdooError(kind: .authentication, message: message, operation: operation, remoteName: "fault 3")
        case 4:
            return OdooError(kind: .accessDenied, message: message, operation: operation, remoteName: "fault 4")
        case 2:
            let kind: OdooError.Kind =
                message.hasPrefix("Record does not exist")
                ? .missingRecord
                : message.hasPrefix("Object ") && message.contains("doesn't exist") ? .notFound : .validation
            return OdooError(kind: kind, message: message, operation: operation, remoteName: "fault 2")
        default:
            if let colon = lastLine.firstIndex(of: ":"), !lastLine[..<colon].contains(" ") {
                let name = String(lastLine[..<colon])
                let text = lastLine[lastLine.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                var error = fromException(name: name, message: text, status: nil, operation: operation)
                error.remoteName = "fault \(code.map(String.init) ?? "?") \(name)"
                return error
            }
            return OdooError(kind: .unavailable, message: lastLine, operation: operation, remoteName: "fault \(code ?? 1)")
        }
    }
}
