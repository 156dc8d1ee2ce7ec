import Foundation
import HTTPTypes
import Hummingbird
import WeftCore

extension OdooSimulator {
    /// What a JSON-2 call is answered with.
    struct JSON2Answer: Sendable {
        var status: Int
        var contentType: String
        var body: String
        /// A 401 carries `WWW-Authenticate: Bearer ` (with Odoo's trailing space).
        var challenges: Bool { status == 401 }
        /// That header; the lenient initialiser keeps the trailing space.
        static let challenge = HTTPField(name: .wwwAuthenticate, lenientValue: Array("Bearer ".utf8))

        static func json(_ status: Int, _ body: String) -> JSON2Answer {
            JSON2Answer(status: status, contentType: "application/json; charset=utf-8", body: body)
        }

        static func html(_ status: Int, _ body: String) -> JSON2Answer {
            JSON2Answer(status: status, contentType: "text/html; charset=utf-8", body: body)
        }

        var response: Response {
            var response = OdooSimulator.response(status, contentType, body)
            if challenges { response.headers.append(Self.challenge) }
            return response
        }
    }

    /// `POST /json/2/<model>/<method>` (Odoo 19).
    func json2(_ request: Request, path: String, bytes: [UInt8], call: inout Call) -> Response {
        json2(method: request.method, headers: request.headers, path: path, bytes: bytes, call: &call).response
    }

    /// `POST /json/2/<model>/<method>` (Odoo 19), from the request's method, headers and body, whether the router or
    /// `OdooJSON2FastPath` received it.
    func json2(
        method httpMethod: HTTPRequest.Method, headers: HTTPFields, path: String, bytes: [UInt8], call: inout Call
    ) -> JSON2Answer {
        guard flavour.is19 else { return .html(404, Self.htmlError(404)) }
        if let database = headers[.init("X-Odoo-Database")!], database != configuration.database {
            return .html(404, Self.noDatabasePage)
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard httpMethod == .post, parts.count == 4 else {
            return json2Error(.werkzeug(404, "Did you mean POST /json/2/<model>/<method>?"))
        }
        let model = parts[2]
        let method = parts[3]
        call.model = model
        call.odooMethod = method
        let contentType = headers[.contentType]?.split(separator: ";").first.map {
            Self.trimmingBlanks($0).lowercased()
        }
        if !bytes.isEmpty, contentType != "application/json" {
            return .html(415, Self.json2UnsupportedMedia)
        }
        var named: [String: JSONValue] = [:]
        if !bytes.isEmpty {
            guard let parsed = Self.parseJSON(bytes) else {
                return json2Error(.werkzeug(400, "could not parse the body as json: \(Self.jsonErrorMessage(bytes))"))
            }
            named = parsed.objectValue ?? [:]
        }
        let authorization = headers[.authorization] ?? ""
        let scheme = authorization.prefix(while: { !$0.isWhitespace }).lowercased()
        let key = Self.trimmingBlanks(authorization.drop(while: { !$0.isWhitespace }))
        guard scheme == "bearer", !key.isEmpty else {
            return json2Error(.werkzeug(401, "User not authenticated, use an API Key with a Bearer Authorization header."))
        }
        guard configuration.apiKeys.contains(key) else { return json2Error(.werkzeug(401, "Invalid apikey")) }
        let context = named.removeValue(forKey: "context")?.objectValue ?? [:]
        let idsValue = named.removeValue(forKey: "ids")
        do {
            let result = try execute(model: model, method: method, transport: .json2) { spec throws(OdooError) in
                var ids: [Int64] = []
                if let idsValue, !idsValue.isNull {
                    if spec.isModel { throw .werkzeug(422, "cannot call \(model).\(method) with ids") }
                    ids = idsValue.arrayValue?.compactMap(\.intValue) ?? idsValue.intValue.map { [$0] } ?? []
                }
                let bound = try ArgumentBinder.bindNamed(spec, named)
                return BoundCall(ids: ids, args: bound.args, extra: bound.extra, ctx: CallContext(context))
            }
            let payload: OdooValue
            switch result {
            case .none: payload = .null
            case .value(let value): payload = value
            case .created(let ids, _): payload = .array(ids.map(OdooValue.int))
            }
            return .json(200, payload.jsonText)
        } catch {
            return json2Error(error)
        }
    }

    /// `text` without leading and trailing spaces and tabs (the blanks of an HTTP header value), without Foundation's
    /// `CharacterSet`, which cost the simulator 2 % of its CPU on these two header reads per call.
    static func trimmingBlanks(_ text: some StringProtocol) -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else {
            return ""
        }
        return String(text[first...last])
    }

    private func json2Error(_ error: OdooError) -> JSON2Answer {
        let body = OdooValue.object([
            ("name", .string(error.name)), ("message", .string(error.message)), ("arguments", error.arguments), ("context", .object([])),
            ("debug", .string(error.traceback)),
        ])
        return .json(error.json2Status, body.jsonText)
    }

    static let noDatabasePage =
        "<!DOCTYPE html>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
        + "<p>No database is selected and the requested URL was not found in the server-wide controllers.</p>\n"
        + "<p>Please verify the hostname, <a href=/web/login>login</a> and try again.</p>\n\n"
        + "<!-- Alternatively, use the X-Odoo-Database header. -->\n"

    static let json2UnsupportedMedia =
        "<!doctype html>\n<html lang=en>\n<title>415 Unsupported Media Type</title>\n<h1>Unsupported Media Type</h1>\n"
        + "<p>Request inferred type is compatible with [&#39;http&#39;] but &#39;/json/2/&lt;__model__&gt;/&lt;__method__&gt;&#39; "
        + "is type=&#39;json2&#39;.<br><br>Please verify the Content-Type request header and try again.</p>\n"
}
