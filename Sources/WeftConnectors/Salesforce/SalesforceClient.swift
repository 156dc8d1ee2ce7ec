import Foundation
package import Logging
import NIOHTTP1
package import WeftCore

/// The Salesforce REST calls Weft makes, over the shared outbound client: SOQL queries (following
/// `nextRecordsUrl`), single records (get, create, update, upsert by external ID) and sObject Collections (split into
/// calls of at most `collectionSize` records). Every call carries the cached access token; a 401 re-authenticates once
/// and repeats the call. Every response's `Sforce-Limit-Info` goes to `limits`. Failures are `SalesforceAPIError`,
/// whose `outcome` says retry or reject.
package struct SalesforceClient: Sendable {
    package let http: OutboundHTTPClient
    package let configuration: SalesforceConfiguration
    package let authenticator: SalesforceAuthenticator
    package let limits: SalesforceLimitTracker

    /// - Parameters:
    ///   - authenticator: share one per org so all clients share the token (default: a new one for `configuration`).
    ///   - limits: receives every `Sforce-Limit-Info` reading.
    package init(
        http: OutboundHTTPClient, configuration: SalesforceConfiguration, authenticator: SalesforceAuthenticator? = nil,
        limits: SalesforceLimitTracker = SalesforceLimitTracker()
    ) {
        self.http = http
        self.configuration = configuration
        self.authenticator = authenticator ?? SalesforceAuthenticator(configuration: configuration, http: http)
        self.limits = limits
    }

    // MARK: Query

    /// The first page of a SOQL query (`GET …/query?q=`, or `…/queryAll` with `includeDeleted` for deleted and
    /// archived records).
    package func queryPage(_ soql: SalesforceSOQL, includeDeleted: Bool = false, logger: Logger)
        async throws(SalesforceAPIError) -> SalesforceQueryPage
    {
        if let bad = soql.invalidIdentifier {
            throw SalesforceAPIError(kind: .invalid, message: "refusing to send SOQL: '\(bad)' is not a Salesforce API name")
        }
        let resource = includeDeleted ? "queryAll" : "query"
        let answer = try await send(
            .GET, configuration.dataPath + "/" + resource, query: [("q", soql.text)], body: nil,
            extraHeaders: queryHeaders, logger: logger)
        return SalesforceQueryPage(json: answer.json)
    }

    /// The page after `page` (`GET {nextRecordsUrl}`); `nil` when `page` was the last.
    package func nextPage(after page: SalesforceQueryPage, logger: Logger) async throws(SalesforceAPIError)
        -> SalesforceQueryPage?
    {
        guard let next = page.nextRecordsURL else { return nil }
        guard next.hasPrefix("/services/data/") else {
            throw SalesforceAPIError(
                kind: .invalidResponse, message: "Salesforce returned a nextRecordsUrl outside /services/data/")
        }
        let (path, query) = Self.split(next)
        let answer = try await send(.GET, path, rawQuery: query, body: nil, extraHeaders: queryHeaders, logger: logger)
        return SalesforceQueryPage(json: answer.json)
    }

    /// Every page of a query, fetched as the sequence is iterated.
    package func queryPages(_ soql: SalesforceSOQL, includeDeleted: Bool = false, logger: Logger) -> SalesforceQueryPages {
        SalesforceQueryPages(client: self, soql: soql, includeDeleted: includeDeleted, logger: logger)
    }

    /// Every record of a query, following `nextRecordsUrl`; `onPage` sees each page as it arrives (e.g. to
    /// checkpoint or to stream instead of collecting).
    package func query(
        _ soql: SalesforceSOQL, logger: Logger, onPage: (SalesforceQueryPage) async -> Void = { _ in }
    ) async throws(SalesforceAPIError) -> [SalesforceRecord] {
        try await collect(soql, includeDeleted: false, logger: logger, onPage: onPage)
    }

    /// Like `query(_:logger:onPage:)` over the `queryAll` resource: deleted (`IsDeleted = true`) and archived records
    /// included.
    package func queryAll(
        _ soql: SalesforceSOQL, logger: Logger, onPage: (SalesforceQueryPage) async -> Void = { _ in }
    ) async throws(SalesforceAPIError) -> [SalesforceRecord] {
        try await collect(soql, includeDeleted: true, logger: logger, onPage: onPage)
    }

    private func collect(
        _ soql: SalesforceSOQL, includeDeleted: Bool, logger: Logger, onPage: (SalesforceQueryPage) async -> Void
    ) async throws(SalesforceAPIError) -> [SalesforceRecord] {
        var records: [SalesforceRecord] = []
        var page: SalesforceQueryPage? = try await queryPage(soql, includeDeleted: includeDeleted, logger: logger)
        while let current = page {
            await onPage(current)
            records.append(contentsOf: current.records)
            page = try await nextPage(after: current, logger: logger)
        }
        return records
    }

    // MARK: Records

    /// One record by id (`GET /sobjects/{type}/{id}?fields=`); all fields when `fields` is empty.
    package func get(_ type: String, id: String, fields: [String] = [], logger: Logger) async throws(SalesforceAPIError)
        -> SalesforceRecord
    {
        try Self.checkNames([type] + fields)
        let query = fields.isEmpty ? [] : [("fields", fields.joined(separator: ","))]
        let answer = try await send(
            .GET, sobjectsPath(type, id), query: query, body: nil, logger: logger)
        guard let record = SalesforceRecord(json: answer.json, fallbackType: type) else {
            throw SalesforceAPIError(kind: .invalidResponse, message: "Salesforce answered GET \(type)/\(id) without a record")
        }
        return record
    }

    /// Creates a record (`POST /sobjects/{type}/` → 201 `{"id","success","errors"}`); returns its id.
    package func create(_ type: String, fields: [String: JSONValue], logger: Logger) async throws(SalesforceAPIError)
        -> String
    {
        try Self.checkNames([type] + fields.keys)
        let answer = try await send(
            .POST, sobjectsPath(type) + "/", body: .object(fields), logger: logger)
        let result = SalesforceSaveResult(json: answer.json)
        if let failure = result.failure { throw failure }
        guard let id = result.id else {
            throw SalesforceAPIError(kind: .invalidResponse, message: "Salesforce created a \(type) without returning its id")
        }
        return id
    }

    /// Updates fields of a record (`PATCH /sobjects/{type}/{id}` → 204). A `.null` value clears a field.
    package func update(_ type: String, id: String, fields: [String: JSONValue], logger: Logger)
        async throws(SalesforceAPIError)
    {
        try Self.checkNames([type] + fields.keys)
        _ = try await send(.PATCH, sobjectsPath(type, id), body: .object(fields), logger: logger)
    }

    /// Creates or updates the record whose `externalIDField` holds `value`
    /// (`PATCH /sobjects/{type}/{field}/{value}`): 201 created, 200 updated (204 before API 46.0). Several matches
    /// (300) throw `.ambiguous` naming the records; with `updateOnly` a missing record is a 404 instead of an insert.
    package func upsert(
        _ type: String, externalIDField: String, value: String, fields: [String: JSONValue], updateOnly: Bool = false,
        logger: Logger
    ) async throws(SalesforceAPIError) -> SalesforceUpsertResult {
        try Self.checkNames([type, externalIDField] + fields.keys)
        var body = fields
        body.removeValue(forKey: externalIDField)
        let answer = try await send(
            .PATCH, sobjectsPath(type, externalIDField, value), query: updateOnly ? [("updateOnly", "true")] : [],
            body: .object(body), logger: logger)
        if answer.status == 204 { return SalesforceUpsertResult(id: nil, created: false) }
        let result = SalesforceSaveResult(json: answer.json)
        if let failure = result.failure { throw failure }
        return SalesforceUpsertResult(id: result.id, created: result.created ?? (answer.status == 201))
    }

    // MARK: Transport

    private var queryHeaders: [(String, String)] {
        configuration.queryBatchSize.map { [("Sforce-Query-Options", "batchSize=\($0)")] } ?? []
    }

    /// `{dataPath}/sobjects/{segments…}`, each segment percent-encoded.
    func sobjectsPath(_ segments: String...) -> String {
        ([configuration.dataPath + "/sobjects"] + segments.map(Self.encodeSegment)).joined(separator: "/")
    }

    static func checkNames(_ names: some Sequence<String>) throws(SalesforceAPIError) {
        for name in names where !SalesforceSOQL.isIdentifier(name) {
            throw SalesforceAPIError(kind: .invalid, message: "'\(name)' is not a Salesforce API name")
        }
    }

    private static let segmentAllowed = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func encodeSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: segmentAllowed) ?? text
    }

    private static func split(_ url: String) -> (path: String, query: String?) {
        guard let mark = url.firstIndex(of: "?") else { return (url, nil) }
        return (String(url[..<mark]), String(url[url.index(after: mark)...]))
    }

    /// Calls `path` on the token's instance and parses the JSON answer (`.null` for an empty body). 2xx succeed; a
    /// 401 re-authenticates once and repeats the call; `REQUEST_LIMIT_EXCEEDED` holds the target's request gate.
    func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], rawQuery: String? = nil, body: JSONValue?,
        extraHeaders: [(String, String)] = [], logger: Logger
    ) async throws(SalesforceAPIError) -> (status: Int, json: JSONValue) {
        var queryString = FormEncoding.encode(query)
        if let rawQuery { queryString = queryString.isEmpty ? rawQuery : queryString + "&" + rawQuery }
        let target = queryString.isEmpty ? path : path + "?" + queryString
        let bytes = body.map { Array($0.serialized()) }
        var reauthenticated = false
        while true {
            let token = try await authenticator.token(logger: logger)
            var headers: HTTPHeaders = [
                "Authorization": "Bearer \(token.accessToken)", "Accept": "application/json",
                "User-Agent": "weft-salesforce/1",
            ]
            if bytes != nil { headers.add(name: "Content-Type", value: "application/json") }
            for (name, value) in extraHeaders { headers.add(name: name, value: value) }
            let request = OutboundHTTPRequest(
                method: method, url: token.instanceURL + target, headers: headers, body: bytes,
                timeout: configuration.requestTimeout)
            let response: OutboundHTTPResponse
            do {
                response = try await http.send(request, logger: logger)
            } catch {
                throw SalesforceAPIError(kind: error.isCancellation ? .cancelled : .transport, message: error.message)
            }
            limits.record(header: response.headers.first(name: "sforce-limit-info"))
            if response.status == 401 && !reauthenticated {
                reauthenticated = true
                logger.debug("salesforce session expired; re-authenticating", metadata: ["weft.http.path": "\(path)"])
                await authenticator.invalidate(token)
                continue
            }
            guard (200..<300).contains(response.status) else {
                let error = SalesforceAPIError.from(
                    response, method: method.rawValue, path: path,
                    holds: (configuration.concurrencyLimitHold, configuration.dailyLimitHold))
                if error.kind == .rateLimited { http.gate.didReceiveRateLimit(retryAfter: error.retryAfter) }
                throw error
            }
            if response.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
                return (response.status, .null)
            }
            do {
                return (response.status, try JSONValue.parse(Data(response.body)))
            } catch {
                throw SalesforceAPIError(
                    kind: .invalidResponse,
                    message: "Salesforce answered \(method.rawValue) \(path) with a body that is not JSON",
                    status: response.status)
            }
        }
    }
}
