import Foundation
import HTTPTypes
public import Hummingbird
import Synchronization
import WeftCore
import WeftSimKit
import WeftXMLRPC

extension OdooSimulator {
    /// Adds the Odoo endpoints (`/json/2/…`, `/jsonrpc`, `/xmlrpc/…`, `/web/version`, `/json/version`,
    /// `/web/webclient/version_info`) behind the fault middleware, plus the inspection routes
    /// `GET /__sim/odoo/calls` and `GET /__sim/odoo/records/{model}`.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        let group = router.group().add(
            middleware: FaultMiddleware<Context>(faults: faults, log: requestLog) { status in
                (contentType: "text/html; charset=utf-8", body: Self.htmlError(status))
            })
        let methods: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch, .head, .options]
        let paths: [RouterPath] = [
            "/json/2", "/json/2/**", "/jsonrpc", "/xmlrpc/**", "/web/version", "/json/version", "/web/webclient/version_info",
        ]
        for path in paths {
            for method in methods {
                group.on(path, method: method) { [self] request, _ in
                    try await self.respond(request)
                }
            }
        }
        router.get("/__sim/odoo/calls") { [self] _, _ in
            Self.response(200, "application/json; charset=utf-8", Self.encodeJSON(self.calls))
        }
        router.get("/__sim/odoo/records/:model") { [self] _, context in
            let model = context.parameters.get("model") ?? ""
            let rows = self.records(model: model).map { OdooValue(.object($0)) }
            return Self.response(200, "application/json; charset=utf-8", OdooValue.array(rows).jsonText)
        }
    }

    func respond(_ request: Request) async throws -> Response {
        let path = request.uri.path
        let body = try await request.body.collect(upTo: 64 * 1024 * 1024)
        let bytes = Array(body.readableBytesView)
        var call = Call(method: request.method.rawValue, path: path, transport: "http", status: 200, atMs: elapsedMs)
        let response: Response
        if path == "/json/2" || path.hasPrefix("/json/2/") {
            call.transport = "json2"
            response = json2(request, path: path, bytes: bytes, call: &call)
        } else if path == "/jsonrpc" || path == "/web/webclient/version_info" {
            call.transport = "jsonrpc"
            response = jsonrpc(request, path: path, bytes: bytes, call: &call)
        } else if path.hasPrefix("/xmlrpc/") {
            call.transport = "xmlrpc"
            response = xmlrpc(request, path: path, bytes: bytes, call: &call)
        } else if request.method == .get, flavour.is19 {
            let version = release.withLock { $0 }.map { "\($0)+e" } ?? "19.0"
            let payload = OdooValue.object([("version_info", versionInfo["server_version_info"]!), ("version", .string(version))])
            response = Self.response(200, "application/json; charset=utf-8", payload.jsonText)
        } else {
            response = Self.response(404, "text/html; charset=utf-8", Self.htmlError(404))
        }
        call.status = Int(response.status.code)
        record(call)
        return response
    }

    // MARK: - Helpers

    static func response(_ status: Int, _ contentType: String, _ text: String, headers extra: [(HTTPField.Name, String)] = []) -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        for (name, value) in extra { headers[name] = value }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func encodeJSON(_ value: some Encodable) -> String {
        (try? JSONEncoder().encode(value)).flatMap { String(data: $0, encoding: .utf8) } ?? "null"
    }

    /// Werkzeug's HTML error page for `status`.
    static func htmlError(_ status: Int) -> String {
        let titles = [
            400: ("Bad Request", "The browser (or proxy) sent a request that this server could not understand."),
            404: (
                "Not Found",
                "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."
            ),
            405: ("Method Not Allowed", "The method is not allowed for the requested URL."),
            429: ("Too Many Requests", "This user has exceeded an allotted request count. Try again later."),
            500: (
                "Internal Server Error",
                "The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application."
            ),
            502: ("Bad Gateway", "The proxy server received an invalid response from an upstream server."),
            503: (
                "Service Unavailable",
                "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later."
            ),
            504: ("Gateway Timeout", "The connection to an upstream server timed out."),
        ]
        let (title, text) = titles[status] ?? ("Error", "The server could not complete the request.")
        return "<!doctype html>\n<html lang=en>\n<title>\(status) \(title)</title>\n<h1>\(title)</h1>\n<p>\(text)</p>\n"
    }

    /// Python's `json` error text for an unparsable body ("Expecting value: line 1 column 1 (char 0)").
    static func jsonErrorMessage(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes, as: UTF8.self)
        let scalars = Array(text.unicodeScalars)
        var offset = scalars.firstIndex { !" \t\r\n".unicodeScalars.contains($0) } ?? scalars.count
        if offset < scalars.count, "{[\"-0123456789tfn".unicodeScalars.contains(scalars[offset]) { offset = scalars.count }
        let prefix = scalars[..<offset]
        let line = prefix.filter { $0 == "\n" }.count + 1
        let column = offset - (prefix.lastIndex(of: "\n").map { $0 + 1 } ?? 0) + 1
        return "Expecting value: line \(line) column \(column) (char \(offset))"
    }

    static func parseJSON(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONValue.parse(Data(bytes))
    }
}
