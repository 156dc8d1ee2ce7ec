import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import WeftCore

/// A company as the connector reads it.
struct FreshdeskCompany: Sendable, Hashable {
    var id: Int64
    var name: String
    var domains: [String]
    var customFields: [String: JSONValue]

    init?(_ json: JSONValue) {
        guard let id = json["id"]?.intValue else { return nil }
        self.id = id
        self.name = json["name"]?.stringValue ?? ""
        self.domains = (json["domains"]?.arrayValue ?? []).compactMap(\.stringValue).map { $0.lowercased() }
        self.customFields = json["custom_fields"]?.objectValue ?? [:]
    }

    /// The text of custom field `name`, `nil` when empty or unset.
    func text(_ name: String) -> String? {
        guard let value = customFields[name], let text = value.stringValue, !text.isEmpty else { return nil }
        return text
    }
}

/// A contact as the connector reads it.
struct FreshdeskContact: Sendable, Hashable {
    var id: Int64
    var email: String?
    var companyID: Int64?
    /// `other_companies` (the multiple-companies feature): ids, whether listed as numbers or `{company_id}` objects.
    var otherCompanyIDs: [Int64]

    init?(_ json: JSONValue) {
        guard let id = json["id"]?.intValue else { return nil }
        self.id = id
        self.email = json["email"]?.stringValue?.lowercased()
        self.companyID = json["company_id"]?.intValue
        self.otherCompanyIDs = (json["other_companies"]?.arrayValue ?? []).compactMap {
            $0.intValue ?? $0["company_id"]?.intValue
        }
    }
}

/// The few Freshdesk API v2 calls the target makes, through the shared outbound client (gate, deadline, 429s).
struct FreshdeskClient: Sendable {
    let configuration: FreshdeskConfiguration
    let http: OutboundHTTPClient

    private var authorization: String {
        "Basic " + Data("\(configuration.apiKey):X".utf8).base64EncodedString()
    }

    /// `GET /api/v2/search/companies?query="…"`: first page (30) of matches.
    func searchCompanies(_ query: String, logger: Logger) async throws(FreshdeskError) -> [FreshdeskCompany] {
        let encoded = Self.encodeQueryValue("\"\(query)\"")
        let json = try await call(.GET, "/api/v2/search/companies?query=\(encoded)", operation: "search companies", logger: logger)
        return (json["results"]?.arrayValue ?? []).compactMap(FreshdeskCompany.init)
    }

    /// `GET /api/v2/companies/autocomplete?name=`.
    func autocompleteCompanies(name: String, logger: Logger) async throws(FreshdeskError) -> [(id: Int64, name: String)] {
        let json = try await call(
            .GET, "/api/v2/companies/autocomplete?name=\(Self.encodeQueryValue(name))", operation: "autocomplete companies",
            logger: logger)
        return (json["companies"]?.arrayValue ?? []).compactMap { item in
            guard let id = item["id"]?.intValue else { return nil }
            return (id, item["name"]?.stringValue ?? "")
        }
    }

    func company(_ id: Int64, logger: Logger) async throws(FreshdeskError) -> FreshdeskCompany {
        let json = try await call(.GET, "/api/v2/companies/\(id)", operation: "get company", logger: logger)
        guard let company = FreshdeskCompany(json) else {
            throw FreshdeskError(kind: .invalidResponse, operation: "get company", message: "no company in the response")
        }
        return company
    }

    func createCompany(_ body: JSONValue, logger: Logger) async throws(FreshdeskError) -> FreshdeskCompany {
        let json = try await call(.POST, "/api/v2/companies", body: body, operation: "create company", logger: logger)
        guard let company = FreshdeskCompany(json) else {
            throw FreshdeskError(kind: .invalidResponse, operation: "create company", message: "no company in the response")
        }
        return company
    }

    func updateCompany(_ id: Int64, _ body: JSONValue, logger: Logger) async throws(FreshdeskError) -> FreshdeskCompany {
        let json = try await call(.PUT, "/api/v2/companies/\(id)", body: body, operation: "update company", logger: logger)
        guard let company = FreshdeskCompany(json) else {
            throw FreshdeskError(kind: .invalidResponse, operation: "update company", message: "no company in the response")
        }
        return company
    }

    /// `GET /api/v2/tickets/{id}`: the ticket object (a ticket in Trash is shown with `"deleted": true`).
    func ticket(_ id: Int64, logger: Logger) async throws(FreshdeskError) -> JSONValue {
        let json = try await call(.GET, "/api/v2/tickets/\(id)", operation: "get ticket", logger: logger)
        guard json["id"]?.intValue == id else {
            throw FreshdeskError(kind: .invalidResponse, operation: "get ticket", message: "no ticket \(id) in the response")
        }
        return json
    }

    /// `GET /api/v2/contacts?email=`: the contacts whose primary email is `email` (deleted and blocked ones are not
    /// listed).
    func contacts(email: String, logger: Logger) async throws(FreshdeskError) -> [FreshdeskContact] {
        let json = try await call(
            .GET, "/api/v2/contacts?email=\(Self.encodeQueryValue(email))", operation: "find contact", logger: logger)
        return (json.arrayValue ?? []).compactMap(FreshdeskContact.init)
    }

    func contact(_ id: Int64, logger: Logger) async throws(FreshdeskError) -> FreshdeskContact {
        let json = try await call(.GET, "/api/v2/contacts/\(id)", operation: "get contact", logger: logger)
        guard let contact = FreshdeskContact(json) else {
            throw FreshdeskError(kind: .invalidResponse, operation: "get contact", message: "no contact in the response")
        }
        return contact
    }

    func createContact(_ body: JSONValue, logger: Logger) async throws(FreshdeskError) -> FreshdeskContact {
        let json = try await call(.POST, "/api/v2/contacts", body: body, operation: "create contact", logger: logger)
        guard let contact = FreshdeskContact(json) else {
            throw FreshdeskError(kind: .invalidResponse, operation: "create contact", message: "no contact in the response")
        }
        return contact
    }

    func updateContact(_ id: Int64, _ body: JSONValue, logger: Logger) async throws(FreshdeskError) -> FreshdeskContact {
        let json = try await call(.PUT, "/api/v2/contacts/\(id)", body: body, operation: "update contact", logger: logger)
        guard let contact = FreshdeskContact(json) else {
            throw FreshdeskError(kind: .invalidResponse, operation: "update contact", message: "no contact in the response")
        }
        return contact
    }

    /// `GET /api/v2/company_fields`: the API names of every company field.
    /// The company fields by name, each with its choices when it is a dropdown (`custom_dropdown`; a choice listed as
    /// a string or as `{"label","value"}`), `nil` otherwise.
    func companyFields(logger: Logger) async throws(FreshdeskError) -> [String: [String]?] {
        let json = try await call(.GET, "/api/v2/company_fields", operation: "list company fields", logger: logger)
        var fields: [String: [String]?] = [:]
        for field in json.arrayValue ?? [] {
            guard let name = field["name"]?.stringValue else { continue }
            guard field["type"]?.stringValue == "custom_dropdown" else {
                fields[name] = .some(nil)
                continue
            }
            fields[name] = (field["choices"]?.arrayValue ?? []).compactMap { $0.stringValue ?? $0["value"]?.stringValue }
        }
        return fields
    }

    // MARK: Transport

    /// One answer of the API, whatever its status: the HTTP response (status, headers such as `Link`, raw body) and
    /// the body parsed as JSON (`nil` when it is not JSON).
    struct Response: Sendable {
        var http: OutboundHTTPResponse
        var json: JSONValue?

        var status: Int { http.status }
        var headers: HTTPHeaders { http.headers }

        /// The parsed body of a 2xx answer; otherwise the error Freshdesk's answer describes.
        func checked(operation: String) throws(FreshdeskError) -> JSONValue {
            guard (200..<300).contains(http.status) else {
                throw FreshdeskClient.error(for: http, parsed: json, operation: operation)
            }
            guard let json else {
                throw FreshdeskError(
                    kind: .invalidResponse, operation: operation, status: http.status, message: "response is not JSON")
            }
            return json
        }
    }

    /// Sends one authenticated request (API key as the Basic user name) through the outbound client and returns the
    /// answer without judging its status. Only transport failures and cancellation throw.
    /// - Parameters:
    ///   - method: the HTTP method.
    ///   - path: the path below the account's base URL, with its query (already encoded).
    ///   - body: a JSON body.
    ///   - operation: names the call in errors (`list tickets`).
    ///   - logger: where the request is traced.
    func send(
        _ method: HTTPMethod, _ path: String, body: JSONValue? = nil, operation: String, logger: Logger
    ) async throws(FreshdeskError) -> Response {
        var headers: HTTPHeaders = [
            "Authorization": authorization, "Accept": "application/json", "User-Agent": "weft-freshdesk/1",
        ]
        var bytes: [UInt8]?
        if let body {
            headers.add(name: "Content-Type", value: "application/json")
            bytes = Array(body.serialized())
        }
        let response: OutboundHTTPResponse
        do {
            response = try await http.send(
                OutboundHTTPRequest(
                    method: method, url: configuration.baseURL + path, headers: headers, body: bytes,
                    timeout: configuration.requestTimeout),
                logger: logger)
        } catch {
            throw FreshdeskError(
                kind: error.isCancellation ? .cancelled : .transport, operation: operation, message: error.message)
        }
        return Response(http: response, json: try? JSONValue.parse(Data(response.body)))
    }

    private func call(
        _ method: HTTPMethod, _ path: String, body: JSONValue? = nil, operation: String, logger: Logger
    ) async throws(FreshdeskError) -> JSONValue {
        try await send(method, path, body: body, operation: operation, logger: logger).checked(operation: operation)
    }

    static func error(for response: OutboundHTTPResponse, parsed: JSONValue?, operation: String) -> FreshdeskError {
        let status = response.status
        let kind: FreshdeskError.Kind =
            switch status {
            case 400, 422: .validation
            case 401: .authentication
            case 403: .accessDenied
            case 404: .notFound
            case 409: .conflict
            case 429: .rateLimited
            case 500..<600: .unavailable
            default: .invalidResponse
            }
        let errors: [FreshdeskError.FieldError] = (parsed?["errors"]?.arrayValue ?? []).map { item in
            FreshdeskError.FieldError(
                field: item["field"]?.stringValue ?? "", code: item["code"]?.stringValue ?? "",
                message: item["message"]?.stringValue ?? "", companyID: item["additional_info"]?["company_id"]?.intValue,
                contactID: item["additional_info"]?["user_id"]?.intValue)
        }
        let message =
            parsed?["message"]?.stringValue ?? parsed?["description"]?.stringValue
            ?? (status == 404 ? "not found" : "HTTP \(status)")
        return FreshdeskError(
            kind: kind, operation: operation, status: status, message: String(message.prefix(300)), errors: errors,
            retryAfter: status == 429 || status == 503 ? response.retryAfter() : nil)
    }

    /// Percent-encodes a query value (everything but unreserved characters).
    static func encodeQueryValue(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
