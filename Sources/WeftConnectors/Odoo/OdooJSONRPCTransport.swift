import Logging
import WeftCore

/// `POST /jsonrpc` with `common.authenticate` once, then `object.execute_kw` (Odoo ≤ 18; deprecated in 19).
struct OdooJSONRPCTransport: OdooTransport {
    let http: OdooHTTP
    let session = OdooSession()

    func execute(_ call: OdooCall, logger: Logger) async throws(OdooError) -> JSONValue {
        let database = try requireDatabase(operation: call.operation)
        let uid = try await authenticatedUID(database: database, logger: logger)
        let (args, kwargs) = call.executeKwArguments
        do {
            return try await rpc(
                service: "object", method: "execute_kw",
                args: [
                    .string(database), .int(uid), .string(http.configuration.apiKey), .string(call.model), .string(call.method),
                    .array(args), .object(kwargs),
                ],
                operation: call.operation, logger: logger)
        } catch {
            if error.kind == .authentication { session.invalidate() }
            throw error
        }
    }

    func serverVersion(logger: Logger) async throws(OdooError) -> OdooServerVersion {
        let value = try await rpc(service: "common", method: "version", args: [], operation: "common.version", logger: logger)
        guard let version = OdooServerVersion(value) else {
            throw OdooError(kind: .invalidResponse, message: "unreadable common.version", operation: "common.version")
        }
        return version
    }

    private func requireDatabase(operation: String) throws(OdooError) -> String {
        guard let database = http.configuration.database, !database.isEmpty else {
            throw OdooError(kind: .configuration, message: "a database name is required for JSON-RPC", operation: operation)
        }
        return database
    }

    private func authenticatedUID(database: String, logger: Logger) async throws(OdooError) -> Int64 {
        if let uid = session.cachedUID { return uid }
        let configuration = http.configuration
        let result = try await rpc(
            service: "common", method: "authenticate",
            args: [.string(database), .string(configuration.login), .string(configuration.apiKey), .object([:])],
            operation: "common.authenticate", logger: logger)
        guard let uid = result.intValue, uid > 0 else {
            throw OdooError(
                kind: .authentication, message: "login or API key refused for \(configuration.login)",
                operation: "common.authenticate")
        }
        session.store(uid)
        return uid
    }

    private func rpc(service: String, method: String, args: [JSONValue], operation: String, logger: Logger)
        async throws(OdooError) -> JSONValue
    {
        let id = session.nextRequestID()
        let body: JSONValue = [
            "jsonrpc": "2.0", "method": "call", "id": .int(Int64(id)),
            "params": ["service": .string(service), "method": .string(method), "args": .array(args)],
        ]
        let response = try await http.post(
            path: "/jsonrpc", contentType: "application/json", body: Array(body.serialized()), operation: operation,
            logger: logger)
        guard response.status == 200 else { throw OdooHTTP.statusError(response, operation: operation) }
        let envelope = try OdooHTTP.parseJSON(response, operation: operation)
        if let error = envelope["error"] {
            let data = error["data"]
            throw OdooErrorMapping.fromException(
                name: data?["name"]?.stringValue ?? "", message: data?["message"]?.stringValue ?? error["message"]?.stringValue ?? "",
                status: nil, operation: operation)
        }
        guard envelope.objectValue != nil else {
            throw OdooError(kind: .invalidResponse, message: "not a JSON-RPC response", operation: operation)
        }
        // A method returning None leaves `result` out.
        return envelope["result"] ?? .null
    }
}
