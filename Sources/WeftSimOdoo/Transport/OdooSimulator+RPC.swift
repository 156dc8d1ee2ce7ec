import HTTPTypes
import Hummingbird
import WeftCore
import WeftXMLRPC

extension OdooSimulator {
    /// `POST /jsonrpc` and `POST /web/webclient/version_info`.
    func jsonrpc(_ request: Request, path: String, bytes: [UInt8], call: inout Call) -> Response {
        guard request.method == .post else {
            if flavour.is19 {
                return Self.response(
                    415, "text/html; charset=utf-8",
                    "<!doctype html>\n<html lang=en>\n<title>415 Unsupported Media Type</title>\n<h1>Unsupported Media Type</h1>\n"
                        + "<p>Request inferred type is compatible with [&#39;http&#39;, &#39;json2&#39;] but &#39;\(path)&#39; is type=&#39;jsonrpc&#39;."
                        + "<br><br>Please verify the Content-Type request header and try again.</p>\n")
            }
            return Self.response(
                400, "text/html; charset=utf-8",
                "<!doctype html>\n<html lang=en>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n"
                    + "<p>Request inferred type is compatible with [&#39;http&#39;] but &#39;\(path)&#39; is type=&#39;json&#39;.</p>\n")
        }
        guard let envelope = Self.parseJSON(bytes), let object = envelope.objectValue else {
            return Self.response(400, "text/html; charset=utf-8", "Invalid JSON data")
        }
        let id = OdooValue(object["id"] ?? .null)
        let outcome: Result<MethodResult, OdooError>
        if path == "/web/webclient/version_info" {
            outcome = .success(.value(versionInfo))
        } else {
            let params = object["params"]?.objectValue ?? [:]
            let missing = ["service", "method", "args"].filter { params[$0] == nil }
            if !missing.isEmpty {
                let quoted = missing.map { "'\($0)'" }
                let list =
                    quoted.count == 1
                    ? quoted[0]
                    : (quoted.count == 2
                        ? quoted.joined(separator: " and ") : quoted.dropLast().joined(separator: ", ") + ", and " + quoted.last!)
                let owner = flavour.is19 ? "JSONRPC.jsonrpc()" : "RPC.jsonrpc()"
                outcome = .failure(
                    .builtin(
                        "TypeError",
                        "\(owner) missing \(missing.count) required positional argument\(missing.count == 1 ? "" : "s"): \(list)"))
            } else {
                let service = params["service"]?.stringValue ?? ""
                let method = params["method"]?.stringValue ?? ""
                let args = params["args"]?.arrayValue ?? []
                do {
                    outcome = .success(try dispatchService(service, method, args, into: &call))
                } catch {
                    outcome = .failure(error)
                }
            }
        }
        var members: [(String, OdooValue)] = [("jsonrpc", "2.0"), ("id", id)]
        switch outcome {
        case .success(.none): break
        case .success(.value(let value)): members.append(("result", value))
        case .success(.created(let ids, let single)):
            members.append(("result", single && ids.count == 1 ? .int(ids[0]) : .array(ids.map(OdooValue.int))))
        case .failure(let error):
            let data: [(String, OdooValue)] =
                flavour.is19
                ? [
                    ("name", .string(error.name)), ("message", .string(error.message)), ("arguments", .array([.string(error.message)])),
                    ("context", .object([])), ("debug", .string(error.traceback)),
                ]
                : [
                    ("name", .string(error.name)), ("debug", .string(error.traceback)), ("message", .string(error.message)),
                    ("arguments", .array([.string(error.message)])), ("context", .object([])),
                ]
            members.append(
                ("error", .object([("code", .int(flavour.is19 ? 0 : 200)), ("message", "Odoo Server Error"), ("data", .object(data))])))
        }
        return Self.response(200, "application/json; charset=utf-8", OdooValue.object(members).jsonText)
    }

    /// `POST /xmlrpc/2/<service>` and the legacy `POST /xmlrpc/<service>` (string fault codes).
    func xmlrpc(_ request: Request, path: String, bytes: [UInt8], call: inout Call) -> Response {
        guard request.method == .post else {
            return Self.response(
                405, "text/html; charset=utf-8",
                "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n"
                    + "<p>The method is not allowed for the requested URL.</p>\n",
                headers: [(.allow, flavour.is19 ? "OPTIONS, POST" : "POST, OPTIONS")])
        }
        let parts = path.split(separator: "/").map(String.init)
        let legacy = !(parts.count == 3 && parts[1] == "2")
        guard parts.count == (legacy ? 2 : 3) else { return Self.response(404, "text/html; charset=utf-8", Self.htmlError(404)) }
        let service = parts[parts.count - 1]
        let outcome: Result<MethodResult, OdooError>
        do {
            let decoded = try XMLRPC.decodeCall(bytes)
            let args = decoded.params.map { JSONValue($0) }
            do {
                outcome = .success(try dispatchService(service, decoded.method, args, into: &call))
            } catch {
                outcome = .failure(error)
            }
        } catch {
            outcome = .failure(.other("xml.parsers.expat.ExpatError", Self.expatMessage(error, bytes)))
        }
        var value: OdooValue?
        var failure: OdooError?
        switch outcome {
        case .success(.none): failure = .builtin("TypeError", "cannot marshal None unless allow_none is enabled")
        case .success(.value(let result)): value = result
        case .success(.created(let ids, let single)): value = single && ids.count == 1 ? .int(ids[0]) : .array(ids.map(OdooValue.int))
        case .failure(let error): failure = error
        }
        if let value {
            if let encoded = value.xmlrpc { return Self.response(200, "text/xml; charset=utf-8", XMLRPC.encodeResponse(encoded)) }
            failure = .builtin("TypeError", "cannot marshal None unless allow_none is enabled")
        }
        let error = failure ?? .builtin("Exception", "empty result")
        let text: String
        if legacy {
            let fault = error.legacyXMLRPCFault
            text = XMLRPC.encodeFault(code: .string(fault.code), message: fault.message)
        } else {
            let fault = error.xmlrpcFault
            text = XMLRPC.encodeFault(code: .int(fault.code), message: fault.message)
        }
        return Self.response(200, "text/xml; charset=utf-8", text)
    }

    /// Expat's wording for a body Python's XML-RPC parser rejects: "no element found" when the document ends early,
    /// "not well-formed (invalid token)" otherwise; line from 1, column from 0, as expat counts.
    static func expatMessage(_ error: XMLRPCError, _ bytes: [UInt8]) -> String {
        let atEnd = error.offset >= bytes.count || error.message.contains("end of document")
        let offset = atEnd ? bytes.count : min(error.offset, bytes.count)
        let prefix = bytes[..<offset]
        let line = prefix.filter { $0 == 0x0A }.count + 1
        let column = offset - ((prefix.lastIndex(of: 0x0A)).map { $0 + 1 } ?? 0)
        let reason = atEnd ? "no element found" : "not well-formed (invalid token)"
        return "\(reason): line \(line), column \(column)"
    }
}
