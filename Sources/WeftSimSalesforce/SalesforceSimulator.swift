public import AsyncHTTPClient
import Foundation
import Synchronization
public import WeftSimKit

/// A stateful, in-memory Salesforce org over real HTTP: OAuth 2.0 JWT bearer and client credentials, the REST API's
/// sObject rows (Account, Contact, Opportunity, OpportunityLineItem, OpportunityContactRole, Product2, Pricebook2,
/// PricebookEntry), upsert by external id, SOQL queries with paging, sObject Collections, the daily API request limit,
/// and Outbound Messages (SOAP notifications, acknowledged and retried). See `docs/simulators/salesforce.md`.
///
/// Mount it with `addRoutes(to:)` and run `runDelivery()` for as long as outbound messages should flow (or drive the
/// sender step by step with `deliverPending(ignoringBackoff:)`).
public final class SalesforceSimulator: Sendable {
    /// The configuration the simulator was made with.
    public let configuration: Configuration
    /// API faults (latency, errors, 429s/503s, outages), shared with `WeftSimKit`'s admin routes.
    public let faults: FaultInjector
    /// Every API request served.
    public let requestLog: RequestLog

    let httpClient: HTTPClient
    let state: Mutex<SalesforceState>
    let doorbell = Doorbell()
    let instanceURL = Mutex("https://weft-sim.my.salesforce.com")
    /// Endpoint URLs set after start (`setOutboundEndpoint`), by outbound message name.
    let endpointOverrides = Mutex<[String: String]>([:])

    /// - Parameters:
    ///   - configuration: the org, apps, limits, fields, outbound messages, time and ids.
    ///   - httpClient: the client outbound messages are sent with.
    public init(configuration: Configuration = .init(), httpClient: HTTPClient = .shared) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.faults = FaultInjector()
        self.requestLog = RequestLog()
        var usernames: [String: String?] = [:]
        for (username, id) in configuration.users { usernames[username] = SalesforceID.normalise(id) }
        for app in configuration.connectedApps.values {
            for username in app.preAuthorizedUsernames where usernames[username] == nil { usernames[username] = .some(nil) }
            if let runAs = app.clientCredentialsRunAs, usernames[runAs] == nil { usernames[runAs] = .some(nil) }
        }
        let lifetime = configuration.sessionLifetime.components
        var state = SalesforceState(
            schema: Schema(
                customFields: configuration.customFields, multiCurrency: !configuration.currencies.isEmpty,
                addressPicklists: configuration.stateAndCountryPicklists),
            settings: .init(
                organizationID: configuration.organizationID, currencies: configuration.currencies,
                stages: configuration.stages,
                sessionLifetimeMs: Int(lifetime.seconds) * 1000 + Int(lifetime.attoseconds / 1_000_000_000_000_000),
                dailyApiRequests: configuration.dailyApiRequests, childRecordsPerPage: configuration.childRecordsPerPage),
            now: configuration.now?() ?? Int(Date().timeIntervalSince1970 * 1000),
            seed: configuration.idSeed ?? UInt64.random(in: 1...UInt64.max), usernames: usernames,
            faultSeed: configuration.delivery.faultSeed)
        state.outbound.faults = configuration.delivery.faults
        self.state = Mutex(state)
    }

    /// The current time in unix milliseconds.
    var now: Int { configuration.now?() ?? Int(Date().timeIntervalSince1970 * 1000) }

    /// An answer on the wire.
    struct Reply: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
    }

    // MARK: Serving a call

    /// Serves one call below `/services/`. `trusted` calls (the Swift API) skip authentication and limits.
    func handle(
        method: String, path: String, query: String?, headers: [String: String], body: [UInt8], baseURL: String,
        trusted: Bool = false
    ) -> Reply {
        let now = self.now
        if !trusted { instanceURL.withLock { $0 = baseURL } }
        let json = [("Content-Type", "application/json;charset=UTF-8")]
        func reply(_ status: Int, _ body: JSON?, _ extra: [(String, String)] = []) -> Reply {
            Reply(status: status, headers: body == nil ? extra : json + extra, body: body?.bytes ?? [])
        }
        var trimmed = path
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        if trimmed == "/services/oauth2/token" {
            guard method == "POST" else {
                return reply(405, ["error": "invalid_request", "error_description": "must use HTTP POST"])
            }
            return token(body: body, query: query, baseURL: baseURL, now: now)
        }
        if trimmed == "/services/data" {
            return reply(
                200,
                .array(
                    configuration.apiVersions.map { version in
                        [
                            "label": .string(Self.releaseName(version)), "url": .string("/services/data/v\(version)"),
                            "version": .string(version),
                        ]
                    }))
        }
        var segments = trimmed.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        guard segments.count >= 3, segments[0] == "services", segments[1] == "data", segments[2].hasPrefix("v"),
            configuration.apiVersions.contains(String(segments[2].dropFirst()))
        else { return reply(404, SalesforceError.notFound.body) }
        let version = String(segments[2].dropFirst())
        segments.removeFirst(3)
        let params = Self.decodeForm(query ?? "")
        let batchSize = Self.batchSize(headers["sforce-query-options"])
        let outcome = state.withLock { state -> (Reply, Bool) in
            state.now = now
            if trusted {
                state.currentUserID = state.users.values.sorted().first ?? ""
            } else {
                guard let token = Self.bearer(headers["authorization"]), let session = state.sessions[token],
                    now - session.lastUsed < state.settings.sessionLifetimeMs
                else {
                    if let token = Self.bearer(headers["authorization"]) { state.sessions[token] = nil }
                    return (reply(401, SalesforceError.invalidSession.body, [("WWW-Authenticate", "Token")]), false)
                }
                state.sessions[token]?.lastUsed = now
                state.currentUserID = session.userID
            }
            var limitHeader: [(String, String)] = []
            if !trusted {
                let max = state.settings.dailyApiRequests
                if state.apiUsed >= max {
                    return (
                        reply(403, SalesforceError.limitExceeded.body, [("Sforce-Limit-Info", "api-usage=\(state.apiUsed)/\(max)")]), false
                    )
                }
                state.apiUsed += 1
                limitHeader = [("Sforce-Limit-Info", "api-usage=\(state.apiUsed)/\(max)")]
            }
            state.touched = []
            do throws(SalesforceError) {
                let answer = try state.route(
                    method: method, segments: segments, query: params, body: body, version: version, batchSize: batchSize)
                let queued = enqueueOutbound(&state)
                return (reply(answer.status, answer.body, limitHeader), queued)
            } catch {
                state.touched = []
                return (reply(error.status, error.body, limitHeader), false)
            }
        }
        if outcome.1 { doorbell.ring() }
        return outcome.0
    }

    /// Queues notifications for the records the call created or edited; returns whether any were queued.
    private func enqueueOutbound(_ state: inout SalesforceState) -> Bool {
        let touched = state.touched
        state.touched = []
        guard !configuration.outboundMessages.isEmpty, !touched.isEmpty else { return false }
        var seen: Set<String> = []
        var queued = false
        // One notification per record and rule per call; a creation stays a creation.
        let created = Set(touched.filter(\.isNew).map(\.id))
        for change in touched where seen.insert(change.id).inserted {
            guard let record = state.records[change.id], !record.isDeleted else { continue }
            for (index, message) in configuration.outboundMessages.enumerated()
            where message.sObjectType.lowercased() == change.type.lowercased() {
                if let criteria = message.criteria, !criteria(record.fields, created.contains(change.id)) { continue }
                state.outbound.pending.append(
                    PendingNotification(
                        notificationID: state.nextID(prefix: "04l"), messageIndex: index, recordType: record.type,
                        recordID: record.id, queuedAt: state.now, attempts: 0, dueAt: state.now, snapshot: record.fields))
                queued = true
            }
        }
        return queued
    }

    static func bearer(_ authorization: String?) -> String? {
        guard let authorization else { return nil }
        for scheme in ["Bearer ", "OAuth "] where authorization.hasPrefix(scheme) {
            let token = authorization.dropFirst(scheme.count).trimmingCharacters(in: .whitespaces)
            return token.isEmpty ? nil : token
        }
        return nil
    }

    /// `Sforce-Query-Options: batchSize=500` → 500, clamped to 200…2000 (default 2000).
    static func batchSize(_ header: String?) -> Int {
        guard let header else { return 2000 }
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { String($0).trimmingWhitespace }
            if pair.count == 2, pair[0].lowercased() == "batchsize", let size = Int(pair[1]) { return min(2000, max(200, size)) }
        }
        return 2000
    }

    /// `a=1&q=SELECT+Id` → `["a": "1", "q": "SELECT Id"]` (`+` is a space).
    static func decodeForm(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            result[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return result
    }

    static func releaseName(_ version: String) -> String {
        guard let major = Double(version).map({ Int($0) }) else { return version }
        // API 59.0 is Winter '24; three releases a year.
        let offset = major - 59
        let season = ["Winter", "Spring", "Summer"][((offset % 3) + 3) % 3]
        let year = 24 + (offset >= 0 ? offset / 3 : (offset - 2) / 3)
        return "\(season) '\(year)"
    }

    // MARK: Swift API

    /// The answer to `call(_:_:body:)`.
    public struct CallResult: Sendable {
        /// The HTTP status.
        public var status: Int
        /// The JSON body (empty for 204).
        public var body: [UInt8]
        /// The body parsed (`.null` when empty).
        public var json: SimJSON { (try? SimJSON.parse(body)) ?? .null }
    }

    /// Calls the REST API without HTTP, authentication or limits, as a user in the Salesforce UI would (for seeding
    /// scenarios). Outbound messages fire as for API calls.
    /// - Parameters:
    ///   - method: `GET`, `POST`, `PATCH` or `DELETE`.
    ///   - path: e.g. `/services/data/v62.0/sobjects/Account`, optionally with a query.
    ///   - body: a JSON body.
    public func call(_ method: String, _ path: String, body: String? = nil) -> CallResult {
        let parts = path.split(separator: "?", maxSplits: 1).map(String.init)
        let reply = handle(
            method: method.uppercased(), path: parts[0], query: parts.count > 1 ? parts[1] : nil, headers: [:],
            body: Array((body ?? "").utf8), baseURL: instanceURL.withLock { $0 }, trusted: true)
        return CallResult(status: reply.status, body: reply.body)
    }

    /// The record's fields (live or deleted), or `nil` when no record has that id.
    public func record(_ type: String, id: String) -> [String: SimJSON]? {
        state.withLock { state in
            guard let normalised = SalesforceID.normalise(id), let record = state.records[normalised],
                record.type.lowercased() == type.lowercased()
            else { return nil }
            return record.fields
        }
    }

    /// Every record of `type` (live, or with `includeDeleted` also deleted), oldest first.
    public func records(_ type: String, includeDeleted: Bool = false) -> [[String: SimJSON]] {
        state.withLock { state in
            guard let object = state.schema.object(type) else { return [] }
            return state.all(object.name, includeDeleted: includeDeleted).map(\.fields)
        }
    }

    /// Holds (or with `false` releases) a row lock on the record, as a long-running transaction in the org would:
    /// while held, updates of it fail with `UNABLE_TO_LOCK_ROW` ("unable to obtain exclusive access to this record").
    public func setRecordLocked(_ id: String, _ locked: Bool = true) {
        guard let normalised = SalesforceID.normalise(id) else { return }
        state.withLock { state in
            if locked { state.locked.insert(normalised) } else { state.locked.remove(normalised) }
        }
    }

    /// Ends every session: the next call with any token answers 401 `INVALID_SESSION_ID`.
    public func expireSessions() { state.withLock { $0.sessions.removeAll() } }

    /// Sets how many API requests count as used today (`Sforce-Limit-Info`, `/limits`, the 403 past the allocation).
    public func setApiUsage(used: Int) { state.withLock { $0.apiUsed = max(0, used) } }

    /// API requests used today.
    public var apiUsage: Int { state.withLock { $0.apiUsed } }

    /// The id of the standard price book (`Pricebook2`, `IsStandard` true).
    public var standardPricebookID: String { state.withLock { $0.standardPricebookID } }

    /// The user id (`005…`) of `username`.
    public func userID(for username: String) -> String { state.withLock { $0.userID(for: username) } }
}

/// Wakes the outbound sender: a ring before `wait()` is kept, so none is lost.
final class Doorbell: Sendable {
    private let state = Mutex<(rung: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.rung = true
            return nil
        }
        waiter?.resume()
    }

    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.rung || Task.isCancelled {
                        state.rung = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            ring()
        }
    }
}
