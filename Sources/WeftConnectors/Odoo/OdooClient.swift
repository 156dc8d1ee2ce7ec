public import AsyncHTTPClient
public import Logging
import Synchronization
public import WeftCore

/// A client for one Odoo database over JSON-2, JSON-RPC or XML-RPC, with identical behaviour on all three.
///
/// Calls use JSON-2 conventions (named parameters, `ids`, `context`); the RPC transports translate them to
/// `execute_kw`. Results are normalised (`create` always returns a list of ids, `None` becomes `null`) and every
/// failure is an `OdooError`. Every HTTP request first awaits the injected `RequestGate`.
public struct OdooClient: Sendable {
    /// The configuration this client was built with.
    public let configuration: OdooConfiguration
    let transport: any OdooTransport
    let cache = OdooLookupCache()
    /// The external ids the current delivery batch knows (see `remembering(_:)`); `nil` outside a batch.
    private(set) var externalIDMemo: OdooExternalIDMemo?

    /// - Parameters:
    ///   - configuration: where and how to reach Odoo.
    ///   - httpClient: the shared HTTP client (its pool bounds connections per host; see `OutboundHTTP`).
    ///   - gate: admission for each request (the target's rate limit).
    public init(configuration: OdooConfiguration, httpClient: HTTPClient, gate: any RequestGate = OpenGate()) {
        self.configuration = configuration
        let http = OdooHTTP(http: OutboundHTTPClient(client: httpClient, gate: gate), configuration: configuration)
        switch configuration.transport {
        case .json2: transport = OdooJSON2Transport(http: http)
        case .jsonrpc: transport = OdooJSONRPCTransport(http: http)
        case .xmlrpc: transport = OdooXMLRPCTransport(http: http)
        }
    }

    /// This client, answering external-id lookups from `memo` where it knows the names and keeping it up to date.
    func remembering(_ memo: OdooExternalIDMemo) -> OdooClient {
        var client = self
        client.externalIDMemo = memo
        return client
    }

    /// Calls `model.method`.
    /// - Parameters:
    ///   - ids: record ids for record methods (`write`, `action_post`); `nil` for `@api.model` methods.
    ///   - params: named parameters, as JSON-2 takes them (`vals_list`, `domain`, `fields`, …).
    ///   - context: the call's context (`active_model`, `active_ids`, `active_test`, …).
    public func call(
        model: String, method: String, ids: [Int64]? = nil, params: [String: JSONValue] = [:],
        context: [String: JSONValue]? = nil, logger: Logger
    ) async throws(OdooError) -> JSONValue {
        do {
            return try await transport.execute(
                OdooCall(model: model, method: method, ids: ids, params: params, context: context), logger: logger)
        } catch {
            // A database upgraded in place (Odoo Online moves saas~18.3 to 18.4, then 19.0, under a running Weft)
            // answers the names it no longer has so: what was read of its version and fields is read again, and if the
            // release did change, the call is one to make again in the new release's names (transient), not a
            // rejection that would dead-letter every command caught in flight.
            guard Self.suggestsUpgrade(error) else { throw error }
            let before = cache.version
            cache.forgetSchema()
            if let before, let now = try? await serverVersion(logger: logger), now != before {
                throw OdooError(
                    kind: .unavailable, message: "Odoo was upgraded from \(before) to \(now) under this call (\(error.message))",
                    operation: error.operation)
            }
            throw error
        }
    }

    /// Whether `error` is Odoo refusing a name it does not have (a field, a keyword argument).
    static func suggestsUpgrade(_ error: OdooError) -> Bool {
        error.message.contains("Invalid field") || error.message.contains("unexpected keyword argument")
    }

    /// The server version, asked once (`/web/version` for JSON-2, `common.version` otherwise) and cached.
    public func serverVersion(logger: Logger) async throws(OdooError) -> OdooServerVersion {
        if let version = cache.version { return version }
        let version = try await transport.serverVersion(logger: logger)
        cache.version = version
        return version
    }

    /// `search_read`: the records matching `domain`, each with `id` and `fields`.
    public func searchRead(
        model: String, domain: JSONValue, fields: [String], limit: Int? = nil, order: String? = nil,
        context: [String: JSONValue]? = nil, logger: Logger
    ) async throws(OdooError) -> [[String: JSONValue]] {
        var params: [String: JSONValue] = ["domain": domain, "fields": .array(fields.map(JSONValue.string))]
        if let limit { params["limit"] = .int(Int64(limit)) }
        if let order { params["order"] = .string(order) }
        let result = try await call(model: model, method: "search_read", params: params, context: context, logger: logger)
        return try Self.records(result, operation: "\(model).search_read")
    }

    /// `read`: the records with these ids that still exist.
    public func read(
        model: String, ids: [Int64], fields: [String], context: [String: JSONValue]? = nil, logger: Logger
    ) async throws(OdooError) -> [[String: JSONValue]] {
        guard !ids.isEmpty else { return [] }
        let result = try await call(
            model: model, method: "read", ids: ids, params: ["fields": .array(fields.map(JSONValue.string))],
            context: context, logger: logger)
        return try Self.records(result, operation: "\(model).read")
    }

    /// `create` with a list of values; returns the new ids in order, whatever shape the transport answered with.
    public func create(
        model: String, values: [[String: JSONValue]], context: [String: JSONValue]? = nil, logger: Logger
    ) async throws(OdooError) -> [Int64] {
        guard !values.isEmpty else { return [] }
        let result = try await call(
            model: model, method: "create", params: ["vals_list": .array(values.map(JSONValue.object))], context: context,
            logger: logger)
        let ids: [Int64]
        switch result {
        case .int(let id): ids = [id]
        case .array(let elements): ids = elements.compactMap(\.intValue)
        default: ids = []
        }
        guard ids.count == values.count else {
            throw OdooError(
                kind: .invalidResponse, message: "create returned \(ids.count) ids for \(values.count) records",
                operation: "\(model).create")
        }
        return ids
    }

    /// `write` the same values on `ids`.
    public func write(
        model: String, ids: [Int64], values: [String: JSONValue], context: [String: JSONValue]? = nil, logger: Logger
    ) async throws(OdooError) {
        guard !ids.isEmpty, !values.isEmpty else { return }
        _ = try await call(model: model, method: "write", ids: ids, params: ["vals": .object(values)], context: context, logger: logger)
    }

    /// `search_count`.
    public func searchCount(model: String, domain: JSONValue, logger: Logger) async throws(OdooError) -> Int64 {
        let result = try await call(model: model, method: "search_count", params: ["domain": domain], logger: logger)
        guard let count = result.intValue else {
            throw OdooError(kind: .invalidResponse, message: "search_count did not return a number", operation: "\(model).search_count")
        }
        return count
    }

    /// `name_search`, with the domain parameter named as this server expects (`args` ≤ 18, `domain` 19+; an Online
    /// release in between is asked again with the other name if it refuses the first, and remembered).
    public func nameSearch(
        model: String, name: String, domain: JSONValue = [], limit: Int = 8, logger: Logger
    ) async throws(OdooError) -> [(id: Int64, name: String)] {
        let parameter = try await nameSearchDomainParameter(logger: logger)
        func search(_ parameter: String) async throws(OdooError) -> JSONValue {
            try await call(
                model: model, method: "name_search",
                params: ["name": .string(name), parameter: domain, "limit": .int(Int64(limit))], logger: logger)
        }
        let result: JSONValue
        do {
            result = try await search(parameter)
        } catch  where Self.refusesKeyword(error, parameter) {
            let other = parameter == "domain" ? "args" : "domain"
            result = try await search(other)
            cache.storeFlag(other == "domain", for: "name_search.domain")
        }
        return (result.arrayValue ?? []).compactMap { pair in
            guard let id = pair[0]?.intValue else { return nil }
            return (id, pair[1]?.stringValue ?? "")
        }
    }

    static func records(_ value: JSONValue, operation: String) throws(OdooError) -> [[String: JSONValue]] {
        guard let elements = value.arrayValue else {
            throw OdooError(kind: .invalidResponse, message: "expected a list of records", operation: operation)
        }
        return elements.compactMap(\.objectValue)
    }
}

/// Values that do not change while Weft runs: server version, installed models, ids of countries, currencies,
/// journals and tags.
final class OdooLookupCache: Sendable {
    private struct State {
        var version: OdooServerVersion?
        var ids: [String: Int64] = [:]
        var flags: [String: Bool] = [:]
        var fields: [String: [String: JSONValue]] = [:]
    }

    private let state = Mutex(State())

    var version: OdooServerVersion? {
        get { state.withLock { $0.version } }
        set { state.withLock { $0.version = newValue } }
    }

    func id(_ key: String) -> Int64? { state.withLock { $0.ids[key] } }
    func storeID(_ id: Int64, for key: String) { state.withLock { $0.ids[key] = id } }
    func flag(_ key: String) -> Bool? { state.withLock { $0.flags[key] } }
    func storeFlag(_ value: Bool, for key: String) { state.withLock { $0.flags[key] = value } }
    func fields(of model: String) -> [String: JSONValue]? { state.withLock { $0.fields[model] } }
    /// Forgets what depends on the server's release (its version, fields, `name_search`'s parameter); record ids stay.
    func forgetSchema() {
        state.withLock { state in
            state.version = nil
            state.fields = [:]
            state.flags["name_search.domain"] = nil
        }
    }
    func storeFields(_ fields: [String: JSONValue], of model: String) { state.withLock { $0.fields[model] = fields } }
}
