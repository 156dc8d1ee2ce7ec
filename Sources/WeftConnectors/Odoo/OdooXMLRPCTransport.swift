import Logging
import WeftCore
import WeftXMLRPC

/// `POST /xmlrpc/2/common` (authenticate, version) and `/xmlrpc/2/object` (`execute_kw`).
struct OdooXMLRPCTransport: OdooTransport {
    let http: OdooHTTP
    let session = OdooSession()

    func execute(_ call: OdooCall, logger: Logger) async throws(OdooError) -> JSONValue {
        guard let database = http.configuration.database, !database.isEmpty else {
            throw OdooError(kind: .configuration, message: "a database name is required for XML-RPC", operation: call.operation)
        }
        let uid = try await authenticatedUID(database: database, logger: logger)
        let (args, kwargs) = call.executeKwArguments
        do {
            return try await rpc(
                service: "object", method: "execute_kw",
                params: [
                    .string(database), .int(uid), .string(http.configuration.apiKey), .string(call.model), .string(call.method),
                    .array(args.map(XMLRPCValue.init)), .structure(kwargs.mapValues(XMLRPCValue.init)),
                ],
                operation: call.operation, logger: logger)
        } catch {
            if error.kind == .authentication { session.invalidate() }
            throw error
        }
    }

    func serverVersion(logger: Logger) async throws(OdooError) -> OdooServerVersion {
        let value = try await rpc(service: "common", method: "version", params: [], operation: "common.version", logger: logger)
        guard let version = OdooServerVersion(value) else {
            throw OdooError(kind: .invalidResponse, message: "unreadable common.version", operation: "common.version")
        }
        return version
    }

    private func authenticatedUID(database: String, logger: Logger) async throws(OdooError) -> Int64 {
        if let uid = session.cachedUID { return uid }
        let configuration = http.configuration
        let result = try await rpc(
            service: "common", method: "authenticate",
            params: [.string(database), .string(configuration.login), .string(configuration.apiKey), .structure([:])],
            operation: "common.authenticate", logger: logger)
        guard let uid = result.intValue, uid > 0 else {
            throw OdooError(
                kind: .authentication, message: "login or API key refused for \(configuration.login)",
                operation: "common.authenticate")
        }
        session.store(uid)
        return uid
    }

    private func rpc(service: String, method: String, params: [XMLRPCValue], operation: String, logger: Logger)
        async throws(OdooError) -> JSONValue
    {
        let body = XMLRPC.encodeCall(method: method, params: params)
        let response = try await http.post(
            path: "/xmlrpc/2/\(service)", contentType: "text/xml", body: Array(body.utf8), operation: operation,
            logger: logger)
        guard response.status == 200 else { throw OdooHTTP.statusError(response, operation: operation) }
        let decoded: XMLRPCResponse
        do {
            decoded = try XMLRPC.decodeResponse(response.body)
        } catch {
            throw OdooError(kind: .invalidResponse, message: "response is not XML-RPC", operation: operation, status: 200)
        }
        switch decoded {
        case .value(let value):
            return JSONValue(value)
        case .fault(let code, let message):
            // Odoo marshals with allow_none=False: a method returning None faults *after* committing its work.
            if message.contains("cannot marshal None") { return .null }
            throw OdooErrorMapping.fromFault(
                code: code.intValue, codeText: code.stringValue, message: message, operation: operation)
        }
    }
}
