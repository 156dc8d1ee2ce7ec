/// An exception the simulated Odoo raises; each transport renders it its own way.
///
/// `name` is the Python class path Odoo reports (`odoo.exceptions.ValidationError`, `builtins.ValueError`,
/// `werkzeug.exceptions.NotFound`), `message` its `str()`.
struct OdooError: Error, Sendable, CustomStringConvertible {
    private enum Family: Sendable {
        case user
        case missing
        case accessError
        case accessDenied
        case werkzeug(status: Int)
        case other
    }

    private let family: Family
    /// The Python class path.
    let name: String
    /// `str(exception)`.
    let message: String

    private init(_ family: Family, name: String, message: String) {
        self.family = family
        self.name = name
        self.message = message
    }

    var description: String { "\(name): \(message)" }

    static func validation(_ message: String) -> OdooError {
        OdooError(.user, name: "odoo.exceptions.ValidationError", message: message)
    }

    static func user(_ message: String) -> OdooError {
        OdooError(.user, name: "odoo.exceptions.UserError", message: message)
    }

    static func missing(model: String, ids: [Int64]) -> OdooError {
        let list = ids.map(String.init).joined(separator: ", ") + (ids.count == 1 ? "," : "")
        return OdooError(
            .missing, name: "odoo.exceptions.MissingError",
            message: "Record does not exist or has been deleted.\n(Record: \(model)(\(list)), User: 2)")
    }

    static func accessError(_ message: String) -> OdooError {
        OdooError(.accessError, name: "odoo.exceptions.AccessError", message: message)
    }

    static let accessDenied = OdooError(.accessDenied, name: "odoo.exceptions.AccessDenied", message: "Access Denied")

    /// A Python built-in exception (`ValueError`, `TypeError`, `KeyError`, `AttributeError`, `Exception`).
    static func builtin(_ type: String, _ message: String) -> OdooError {
        OdooError(.other, name: "builtins.\(type)", message: message)
    }

    /// Any other exception class, named by its full path (`psycopg2.OperationalError`).
    static func other(_ name: String, _ message: String) -> OdooError {
        OdooError(.other, name: name, message: message)
    }

    /// A werkzeug HTTP exception raised by the JSON-2 controller.
    static func werkzeug(_ status: Int, _ message: String) -> OdooError {
        let names = [400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 422: "UnprocessableEntity"]
        return OdooError(.werkzeug(status: status), name: "werkzeug.exceptions.\(names[status] ?? "HTTPException")", message: message)
    }

    /// The JSON-2 status: 401/404/422/400 for werkzeug exceptions, 422 user errors, 404 missing, 403 access, else 500.
    var json2Status: Int {
        switch family {
        case .user: return 422
        case .missing: return 404
        case .accessError, .accessDenied: return 403
        case .werkzeug(let status): return status
        case .other: return 500
        }
    }

    /// `arguments` as Odoo serialises them (werkzeug exceptions carry their status too).
    var arguments: OdooValue {
        if case .werkzeug(let status) = family { return .array([.string(message), .int(Int64(status))]) }
        return .array([.string(message)])
    }

    /// A short traceback ending with the exception line, in the shape Odoo puts in `debug` and in fault strings.
    var traceback: String {
        let shortName = name.hasPrefix("builtins.") ? String(name.dropFirst("builtins.".count)) : name
        var text = message
        if name == "builtins.KeyError" { text = PythonRepr.string(message) }
        if case .werkzeug(let status) = family {
            let reasons = [400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 422: "Unprocessable Entity"]
            text = "\(status) \(reasons[status] ?? ""): \(message)"
        }
        return "Traceback (most recent call last):\n  File \"weft-sim-odoo\", line 1, in dispatch\n\(shortName): \(text)\n"
    }

    /// The XML-RPC `/xmlrpc/2/` fault: 2 user errors, 3 access denied, 4 access error, 1 with a traceback otherwise.
    var xmlrpcFault: (code: Int64, message: String) {
        switch family {
        case .user, .missing: return (2, message)
        case .accessDenied: return (3, message)
        case .accessError: return (4, message)
        case .werkzeug, .other: return (1, traceback)
        }
    }

    /// The legacy `/xmlrpc/` fault, whose code is a string.
    var legacyXMLRPCFault: (code: String, message: String) {
        switch family {
        case .missing: return ("warning -- MissingError\n\n" + message, "")
        case .accessError: return ("warning -- AccessError\n\n" + message, "")
        case .accessDenied: return ("AccessDenied", message)
        case .user: return ("warning -- UserError\n\n" + message, "")
        case .werkzeug, .other: return (message, traceback)
        }
    }
}
