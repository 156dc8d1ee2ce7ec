import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import WeftCore

/// Zendesk's REST calls over the shared outbound client: JSON in and out, statuses mapped to `ZendeskAPIError`.
struct ZendeskClient: Sendable {
    let http: OutboundHTTPClient
    let configuration: ZendeskConfiguration

    func get(_ path: String, query: [(String, String)] = [], logger: Logger) async throws(ZendeskAPIError) -> JSONValue {
        try await send(.GET, path, query: query, body: nil, logger: logger)
    }

    func post(_ path: String, _ body: JSONValue, logger: Logger) async throws(ZendeskAPIError) -> JSONValue {
        try await send(.POST, path, body: body, logger: logger)
    }

    func put(_ path: String, _ body: JSONValue, logger: Logger) async throws(ZendeskAPIError) -> JSONValue {
        try await send(.PUT, path, body: body, logger: logger)
    }

    /// Calls `path` (below the base URL, e.g. `/api/v2/organizations.json`) and parses the JSON answer.
    private func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: JSONValue?, logger: Logger
    ) async throws(ZendeskAPIError) -> JSONValue {
        var url = configuration.baseURL + path
        if !query.isEmpty {
            url += "?" + FormEncoding.encode(query)
        }
        var headers: HTTPHeaders = [
            "Authorization": configuration.authorization, "Accept": "application/json", "User-Agent": "weft-zendesk/1",
        ]
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        let request = OutboundHTTPRequest(
            method: method, url: url, headers: headers, body: body.map { Array($0.serialized()) },
            timeout: configuration.requestTimeout)
        let response: OutboundHTTPResponse
        do {
            response = try await http.send(request, logger: logger)
        } catch {
            throw ZendeskAPIError(kind: error.isCancellation ? .cancelled : .transport, message: error.message)
        }
        guard (200..<300).contains(response.status) else { throw Self.error(for: response, method: method, path: path) }
        if response.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return .null }
        do {
            return try JSONValue.parse(Data(response.body))
        } catch {
            throw ZendeskAPIError(
                kind: .invalidResponse, message: "Zendesk answered \(method.rawValue) \(path) with a body that is not JSON",
                status: response.status)
        }
    }

    /// Maps a non-2xx answer. Zendesk's bodies: `{"error":"RecordInvalid","description":…,"details":{field:[{description,
    /// error}]}}`, `{"error":"Couldn't authenticate you"}`, or plain text for 429.
    static func error(for response: OutboundHTTPResponse, method: HTTPMethod, path: String) -> ZendeskAPIError {
        let json = try? JSONValue.parse(Data(response.body))
        let code = json?["error"]?.stringValue
        var descriptions: [String] = []
        var codes: [String: [String]] = [:]
        for (field, problems) in (json?["details"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            for problem in problems.arrayValue ?? [] {
                if let description = problem["description"]?.stringValue { descriptions.append(description) }
                if let error = problem["error"]?.stringValue { codes[field, default: []].append(error) }
            }
        }
        if descriptions.isEmpty, let description = json?["description"]?.stringValue { descriptions.append(description) }
        let what = "\(method.rawValue) \(path)"
        let detail = ([code].compactMap { $0 } + descriptions).joined(separator: ": ")
        let status = response.status
        switch status {
        case 429:
            return ZendeskAPIError(
                kind: .rateLimited, message: "Zendesk rate limit on \(what)", status: status,
                retryAfter: response.retryAfter())
        case 401:
            return ZendeskAPIError(kind: .unauthorized, message: "Zendesk refused the credentials on \(what)", status: status)
        case 403:
            return ZendeskAPIError(kind: .forbidden, message: "Zendesk forbids \(what): \(detail)", status: status)
        case 404:
            return ZendeskAPIError(kind: .notFound, message: "Zendesk has no \(path): \(detail)", status: status)
        case _ where HTTPStatusClass(status: status) == .retryable:
            return ZendeskAPIError(
                kind: .unavailable, message: "Zendesk unavailable on \(what)", status: status,
                retryAfter: response.retryAfter())
        default:
            return ZendeskAPIError(
                kind: .invalid, message: "Zendesk refused \(what): \(detail.isEmpty ? "HTTP \(status)" : detail)",
                status: status, errorCodes: codes)
        }
    }
}
