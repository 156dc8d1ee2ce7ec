import Logging
import NIOHTTP1
import WeftCore

/// `POST /json/2/<model>/<method>` with a bearer key and named parameters (Odoo 19+).
struct OdooJSON2Transport: OdooTransport {
    let http: OdooHTTP

    func execute(_ call: OdooCall, logger: Logger) async throws(OdooError) -> JSONValue {
        let configuration = http.configuration
        var headers: HTTPHeaders = ["Authorization": "bearer \(configuration.apiKey)", "Accept": "application/json"]
        if let database = configuration.database { headers.add(name: "X-Odoo-Database", value: database) }
        let response = try await http.post(
            path: "/json/2/\(call.model)/\(call.method)", contentType: "application/json",
            body: Array(call.json2Body.serialized()), extraHeaders: headers, operation: call.operation, logger: logger)
        guard response.status == 200 else { throw OdooHTTP.statusError(response, operation: call.operation) }
        return try OdooHTTP.parseJSON(response, operation: call.operation)
    }

    func serverVersion(logger: Logger) async throws(OdooError) -> OdooServerVersion {
        let response = try await http.get(path: "/web/version", operation: "web.version", logger: logger)
        guard response.status == 200 else { throw OdooHTTP.statusError(response, operation: "web.version") }
        guard let version = OdooServerVersion(try OdooHTTP.parseJSON(response, operation: "web.version")) else {
            throw OdooError(kind: .invalidResponse, message: "unreadable /web/version", operation: "web.version")
        }
        return version
    }
}
