import Foundation
import Logging
import NIOHTTP1
import WeftCore

/// The HTTP steps the three transports share: send through the gate, map transport failures, map bare statuses.
struct OdooHTTP: Sendable {
    let http: OutboundHTTPClient
    let configuration: OdooConfiguration

    func post(
        path: String, contentType: String, body: [UInt8], extraHeaders: HTTPHeaders = [:], operation: String,
        logger: Logger
    ) async throws(OdooError) -> OutboundHTTPResponse {
        var headers = extraHeaders
        headers.replaceOrAdd(name: "Content-Type", value: contentType)
        headers.replaceOrAdd(name: "User-Agent", value: "weft-odoo/1")
        return try await send(
            OutboundHTTPRequest(
                method: .POST, url: configuration.url + path, headers: headers, body: body,
                timeout: configuration.callTimeout),
            operation: operation, logger: logger)
    }

    func get(path: String, operation: String, logger: Logger) async throws(OdooError) -> OutboundHTTPResponse {
        try await send(
            OutboundHTTPRequest(
                method: .GET, url: configuration.url + path, headers: ["User-Agent": "weft-odoo/1"],
                timeout: configuration.callTimeout),
            operation: operation, logger: logger)
    }

    private func send(_ request: OutboundHTTPRequest, operation: String, logger: Logger) async throws(OdooError)
        -> OutboundHTTPResponse
    {
        do {
            return try await http.send(request, logger: logger)
        } catch {
            if error.isCancellation { throw OdooError(kind: .cancelled, message: error.message, operation: operation) }
            throw OdooError(kind: .transport, message: error.message, operation: operation)
        }
    }

    /// The error for a non-success response: Odoo's JSON error body when there is one, else the status alone.
    static func statusError(_ response: OutboundHTTPResponse, operation: String) -> OdooError {
        var error: OdooError
        if let value = try? JSONValue.parse(Data(response.body)), let name = value["name"]?.stringValue {
            error = OdooErrorMapping.fromException(
                name: name, message: value["message"]?.stringValue ?? "", status: response.status, operation: operation)
        } else {
            let kind = OdooErrorMapping.kindForStatus(response.status)
            let message =
                switch kind {
                case .notFound: "not found (wrong URL, database or model?)"
                case .authentication: "API key refused"
                case .rateLimited: "rate limited"
                case .unavailable: "server unavailable"
                default: "unexpected HTTP status"
                }
            error = OdooError(kind: kind, message: message, operation: operation, status: response.status)
        }
        if response.status == 429 { error.kind = .rateLimited }
        if response.status == 429 || response.status == 503 { error.retryAfter = response.retryAfter() }
        return error
    }

    static func parseJSON(_ response: OutboundHTTPResponse, operation: String) throws(OdooError) -> JSONValue {
        if response.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return .null }
        do {
            return try JSONValue.parse(Data(response.body))
        } catch {
            throw OdooError(
                kind: .invalidResponse, message: "response is not JSON", operation: operation, status: response.status)
        }
    }
}
