public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
public import WeftCore

/// Plain HTTP calls the harnesses make to check results: Weft's admin API and Odoo's JSON-2 API (as a user would).
public struct HarnessHTTP: Sendable {
    let client: HTTPClient

    public init(client: HTTPClient) {
        self.client = client
    }

    /// GET `url` with an optional bearer token; decodes JSON.
    public func get<T: Decodable>(_ type: T.Type, _ url: String, token: String? = nil) async throws -> T {
        var request = HTTPClientRequest(url: url)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 16 << 20)
        guard response.status == .ok else { throw HarnessError("GET \(url) answered \(response.status.code)") }
        return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
    }

    /// Whether `url` answers 200.
    public func isUp(_ url: String) async -> Bool {
        guard let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(2)) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 16)
        return response.status == .ok
    }

    /// Calls an Odoo JSON-2 method and returns its JSON result.
    public func odoo(_ baseURL: String, apiKey: String, database: String?, model: String, method: String, body: JSONValue)
        async throws -> JSONValue
    {
        var request = HTTPClientRequest(url: "\(baseURL)/json/2/\(model)/\(method)")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "bearer \(apiKey)")
        request.headers.add(name: "Content-Type", value: "application/json")
        if let database { request.headers.add(name: "X-Odoo-Database", value: database) }
        request.body = .bytes(ByteBuffer(bytes: body.serialized()))
        let response = try await client.execute(request, timeout: .seconds(60))
        let data = try await response.body.collect(upTo: 64 << 20)
        guard response.status == .ok else {
            throw HarnessError("Odoo \(model).\(method) answered \(response.status.code): \(String(buffer: data).prefix(300))")
        }
        return try JSONValue.parse(Data(data.readableBytesView))
    }

    /// `search_count` over JSON-2.
    public func odooCount(_ baseURL: String, apiKey: String, database: String?, model: String, domain: JSONValue) async throws
        -> Int
    {
        let result = try await odoo(
            baseURL, apiKey: apiKey, database: database, model: model, method: "search_count", body: ["domain": domain])
        guard let count = result.intValue else { throw HarnessError("search_count returned \(result)") }
        return Int(count)
    }

    /// Waits until Weft's queues are empty (every event processed, every command settled), polling the admin API.
    public func waitForDrain(_ baseURL: String, token: String, timeout: Duration) async throws -> StatsSnapshot {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var last: StatsSnapshot?
        while ContinuousClock.now < deadline {
            if let stats = try? await get(StatsSnapshot.self, "\(baseURL)/v1/stats", token: token) {
                last = stats
                if stats.isDrained { return stats }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw HarnessError("queues did not drain within \(timeout); last stats: \(String(describing: last))")
    }
}

/// The parts of `GET /v1/stats` harnesses read.
public struct StatsSnapshot: Decodable, Sendable, CustomStringConvertible {
    public var events: [String: Int]
    public var commands: [String: [String: Int]]
    public var deadCommandsByKind: [String: Int]

    enum CodingKeys: String, CodingKey {
        case events, commands
        case deadCommandsByKind = "dead_commands_by_kind"
    }

    /// No event pending or processing, no command pending or in flight.
    public var isDrained: Bool {
        (events["pending"] ?? 0) == 0 && (events["processing"] ?? 0) == 0
            && commands.values.allSatisfy { ($0["pending"] ?? 0) == 0 && ($0["in_flight"] ?? 0) == 0 }
    }

    public var description: String { "events \(events), commands \(commands), dead \(deadCommandsByKind)" }
}
