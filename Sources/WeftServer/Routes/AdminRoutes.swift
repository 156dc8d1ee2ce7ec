import Crypto
public import Foundation
public import Hummingbird
public import WeftCore
import WeftRuntime

/// The admin API, behind bearer tokens with scopes:
/// - `GET /v1/events?status=&limit=` (read)
/// - `GET /v1/commands?status=&target=&kind=&limit=` (read)
/// - `POST /v1/commands/replay` with `{"ids":[1,2]}`, `{"all":true}` or `{"filter":"kind=register_payment,target=odoo"}`
///   (operate) — makes dead commands pending again; audited with the token's name.
/// - `POST /v1/events/replay` with `{"seqs":[…]}` or `{"all":true}` (operate) — failed events back to pending.
/// - `GET /v1/audit?limit=` (read)
/// - `GET /v1/stats` (read) — queue depths by status, oldest ages, dead commands by kind
/// - `GET /v1/exceptions?limit=` (read) — open business exceptions: won deals that miss what an order needs, orders the
///   ERP refused (each with what to fix)
/// - `GET /v1/accounts/{system}/{id}` (read) — the account's entitlement and canonical records, support tickets included
/// - `GET /v1/entitlements/{system}/{id}` (read) — the account's entitlement, derived from Weft's own state, by a
///   billing customer id, an Odoo partner id or a support desk's organisation/company id (docs/entitlements.md)
public struct AdminRoutes: Sendable {
    /// A resolved admin token.
    public struct Token: Sendable {
        public var name: String
        public var value: String
        public var scopes: Set<String>
        /// SHA-256 of `value`, computed once: requests compare digests.
        let digest: [UInt8]
        public init(name: String, value: String, scopes: Set<String>) {
            self.name = name
            self.value = value
            self.scopes = scopes
            self.digest = Array(SHA256.hash(data: Array(value.utf8)))
        }
    }

    let store: any Store
    let tokens: [Token]
    let entitlementRules: EntitlementRules
    /// Systems whose customer ids entitlements are looked up by (the billing platforms).
    let billingSystems: Set<SystemName>
    /// Billing systems Weft reads on a schedule (catch-up), so it knows when it last reached them.
    let watchedSources: Set<SystemName>
    /// Targets whose own record ids an account can be looked up by, with the model Weft binds accounts to there
    /// (`odoo` → `res.partner`, a Zendesk system → `organization`, a Freshdesk system → `company`).
    let accountModels: [SystemName: String]
    let cache: EntitlementCache
    /// Open business exceptions (`GET /v1/exceptions`).
    let exceptions: BusinessExceptions?

    public init(
        store: any Store, tokens: [Token], entitlementRules: EntitlementRules = .init(), billingSystems: Set<SystemName> = [],
        watchedSources: Set<SystemName> = [], accountModels: [SystemName: String] = [:],
        entitlementCache: EntitlementCache = EntitlementCache(), exceptions: BusinessExceptions? = nil
    ) {
        self.exceptions = exceptions
        self.cache = entitlementCache
        self.store = store
        self.tokens = tokens
        self.entitlementRules = entitlementRules
        self.billingSystems = billingSystems
        self.watchedSources = watchedSources
        self.accountModels = accountModels
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/v1/events") { request, _ in
            _ = try authorize(request, scope: "read")
            let status = try request.uri.queryParameters["status"].map { name in
                guard let status = EventStatus(name: String(name)) else {
                    throw APIError(.badRequest, code: "bad_status", message: "status must be pending, processing, done or failed")
                }
                return status
            }
            let limit = request.uri.queryParameters["limit"].flatMap { Int(String($0)) } ?? 100
            let events = try await store.listEvents(status: status, limit: min(max(limit, 1), 1000))
            return try json(events.map(EventView.init))
        }
        router.get("/v1/commands") { request, _ in
            _ = try authorize(request, scope: "read")
            let filter = try CommandFilterParser.parse(
                request.uri.queryParameters.map { "\($0.key)=\($0.value)" }.filter { !$0.hasPrefix("limit=") }.joined(separator: ","))
            let limit = request.uri.queryParameters["limit"].flatMap { Int(String($0)) } ?? 100
            let commands = try await store.listStoredCommands(filter: filter, limit: min(max(limit, 1), 1000))
            return try json(commands.map(CommandView.init))
        }
        router.post("/v1/commands/replay") { request, _ in
            let token = try authorize(request, scope: "operate")
            let body = try await request.body.collect(upTo: 64 * 1024)
            let replay = try decode(ReplayRequest.self, from: body)
            var filter: CommandFilter
            if let ids = replay.ids {
                filter = CommandFilter(ids: ids.map { CommandID($0) })
            } else if let expression = replay.filter {
                filter = try CommandFilterParser.parseReplay(expression)
            } else if replay.all == true {
                filter = CommandFilter()
            } else {
                throw APIError(.badRequest, code: "bad_replay", message: #"give "ids", "filter" or "all": true"#)
            }
            filter.status = .dead
            let outcome = try await store.replayDeadCommands(filter: filter, actor: "api:\(token.name)", now: Date())
            return try json(outcome)
        }
        router.post("/v1/events/replay") { request, _ in
            let token = try authorize(request, scope: "operate")
            let body = try await request.body.collect(upTo: 64 * 1024)
            let replay = try decode(EventReplayRequest.self, from: body)
            guard replay.seqs != nil || replay.all == true else {
                throw APIError(.badRequest, code: "bad_replay", message: #"give "seqs" or "all": true"#)
            }
            let count = try await store.replayFailedEvents(
                seqs: replay.seqs?.map { EventSeq($0) }, actor: "api:\(token.name)", now: Date())
            return try json(["replayed": count])
        }
        router.get("/v1/exceptions") { request, _ in
            _ = try authorize(request, scope: "read")
            let limit = request.uri.queryParameters["limit"].flatMap { Int(String($0)) } ?? 1000
            return try json(["exceptions": try await exceptions?.list(limit: min(max(limit, 1), 10_000)) ?? []])
        }
        router.get("/v1/stats") { request, _ in
            _ = try authorize(request, scope: "read")
            return try json(StatsView(try await store.stats(now: Date())))
        }
        router.get("/v1/entitlements/{system}/{id}") { request, context in
            _ = try authorize(request, scope: "read")
            let system = SystemName(rawValue: context.parameters.get("system") ?? "")
            let id = context.parameters.get("id") ?? ""
            let view = try await entitlement(system: system, id: id, now: Date())
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: view.jsonBytes())))
        }
        router.get("/v1/accounts/{system}/{id}") { request, context in
            _ = try authorize(request, scope: "read")
            let system = SystemName(rawValue: context.parameters.get("system") ?? "")
            let view = try await accountView(system: system, id: context.parameters.get("id") ?? "", now: Date())
            var bytes: [UInt8] = []
            try view.write(to: &bytes)
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("/v1/audit") { request, _ in
            _ = try authorize(request, scope: "read")
            let limit = request.uri.queryParameters["limit"].flatMap { Int(String($0)) } ?? 100
            let entries = try await store.auditLog(limit: min(max(limit, 1), 1000))
            return try json(entries.map(AuditView.init))
        }
    }

    /// The entitlement of an account, by a billing customer id or by the id of the record an account is bound to in
    /// a target (an Odoo partner, a Zendesk organisation, a Freshdesk company).
    func entitlement(system: SystemName, id: String, now: Date) async throws -> EntitlementView {
        let account = try await account(system: system, id: id)
        return try await entitlement(system: account.system, customerID: account.id, now: now)
    }

    /// The billing account a billing customer id, or a target record bound to one, names.
    func account(system: SystemName, id: String) async throws -> ExternalRef {
        if billingSystems.contains(system) { return ExternalRef(system: system, kind: .customer, id: id) }
        guard let model = accountModels[system] else {
            let known = (billingSystems.map(\.rawValue) + accountModels.keys.map(\.rawValue)).sorted()
            throw APIError(
                .notFound, code: "unknown_system",
                message: "entitlements are looked up by a billing customer id or an Odoo or support desk account id: "
                    + "/v1/entitlements/<system>/<id> with system one of: "
                    + "\(known.isEmpty ? "(no billing system configured)" : known.joined(separator: ", "))")
        }
        let accounts = try await store.boundSources(of: TargetRecordID(model: model, id: id), in: system)
            .filter { $0.kind == .customer && billingSystems.contains($0.system) }
        guard let account = accounts.first else {
            throw APIError(
                .notFound, code: "unknown_account",
                message: "no billing account is bound to \(system) \(model) '\(id)' (Weft binds one when it has delivered "
                    + "the account there)")
        }
        guard accounts.count == 1 else {
            throw APIError(
                .conflict, code: "ambiguous_account",
                message: "\(system) \(model) '\(id)' shows several billing accounts; look each up by its billing id: "
                    + accounts.map { "/v1/entitlements/\($0.system)/\($0.id)" }.joined(separator: ", "))
        }
        return account
    }

    /// What Weft holds for an account: its entitlement and its canonical records by kind (customer, subscriptions,
    /// invoices, payments, refunds, and the support tickets filed under it), each with the system that last set it.
    func accountView(system: SystemName, id: String, now: Date) async throws -> JSONValue {
        let account = try await account(system: system, id: id)
        let key = EntityKey.of(account)
        guard let stored = try await store.loadAggregates([key])[key] else {
            throw Self.unknownAccount(account.system, account.id)
        }
        var records: [String: JSONValue] = [:]
        for kind in EntityKind.allCases {
            let found = stored.aggregate.records(of: kind).map { ref, state -> JSONValue in
                var fields = state.fields
                fields["ref"] = .string(ref.description)
                fields["source"] = Set(state.sources.values).sorted().first.map { .string($0.rawValue) } ?? .null
                return .object(fields)
            }
            if !found.isEmpty { records[kind.rawValue] = .array(found) }
        }
        let entitlement = try await entitlement(system: account.system, customerID: account.id, now: now)
        return .object([
            "account": .string(account.description),
            "entitlement": try JSONValue.parse(Data(entitlement.jsonBytes())),
            "records": .object(records),
        ])
    }

    /// The entitlement of a billing customer, derived now from its stored aggregate: no upstream call, so it answers
    /// while every upstream is down.
    func entitlement(system: SystemName, customerID: String, now: Date) async throws -> EntitlementView {
        let account = ExternalRef(system: system, kind: .customer, id: customerID)
        let key = EntityKey(account.description)
        guard !customerID.isEmpty else { throw Self.unknownAccount(system, customerID) }
        // One indexed version read: the aggregate is read and decoded only when it changed since it was last derived
        // (or a grace period has run out since).
        var entry = cache.entry(key)
        if let cached = entry, let next = cached.entitlement.nextChangeAt, now >= next { entry = nil }
        if cache.trustsLocalCommits, let entry {
            return try await view(of: entry, system: system, now: now)
        }
        let load = try await store.loadAggregates([key], known: entry.map { [key: $0.version] } ?? [:])
        if let stored = load.loaded[key] {
            let fresh = EntitlementCache.entry(account: account, stored: stored, rules: entitlementRules, now: now)
            cache.store(fresh, for: key)
            entry = fresh
        } else if !load.unchanged.contains(key) {
            throw Self.unknownAccount(system, customerID)
        }
        guard let entry else { throw Self.unknownAccount(system, customerID) }
        return try await view(of: entry, system: system, now: now)
    }

    /// The answer for a derived entitlement: as of now, with how old its source is.
    func view(of entry: EntitlementCache.Entry, system: SystemName, now: Date) async throws -> EntitlementView {
        var view = EntitlementView(EntitlementCache.current(entry.entitlement, now: now), asOf: entry.asOf)
        // Stale when the billing platform, read on a schedule, has not been reached for longer than the threshold
        // (or never). Without catch-up Weft only hears webhooks and cannot tell silence from an outage.
        if watchedSources.contains(system) {
            let reached = try await store.cursor(CatchUpService.reachedCursorName(system)).flatMap { Int64($0) }
                .map(StoreInstant.date)
            if let reached { cache.reached(system, at: reached) }
            setReach(reached, on: &view, now: now)
        }
        return view
    }

    private func setReach(_ reached: Date?, on view: inout EntitlementView, now: Date) {
        view.sourceReachedAt = reached
        view.stale = reached.map { now.timeIntervalSince($0) > Double(entitlementRules.staleAfterSeconds) } ?? true
    }

    /// The body of `GET /v1/entitlements/<system>/<id>` when it can be given without waiting for the store: this
    /// process is the store's only writer, `system` is a billing platform, the token is valid for `read`, the account's
    /// entitlement is derived and current, and the platform's reach time is known. `nil`: the route answers (the same
    /// bytes, or the error). Called on the connection's event loop by `EntitlementFastPath`.
    func immediateEntitlement(system: String, id: String, authorization: String?, now: Date) -> [UInt8]? {
        guard cache.trustsLocalCommits, let authorization, (try? authorize(authorization, scope: "read")) != nil else {
            return nil
        }
        let system = SystemName(rawValue: system)
        guard billingSystems.contains(system) else { return nil }
        let key = EntityKey(ExternalRef(system: system, kind: .customer, id: id).description)
        guard let entry = cache.entry(key) else { return nil }
        if let next = entry.entitlement.nextChangeAt, now >= next { return nil }
        var view = EntitlementView(EntitlementCache.current(entry.entitlement, now: now), asOf: entry.asOf)
        if watchedSources.contains(system) {
            guard let reached = cache.reachedAt(system) else { return nil }
            setReach(reached, on: &view, now: now)
        }
        return cache.body(of: view, entry: entry, key: key)
    }

    static func unknownAccount(_ system: SystemName, _ customerID: String) -> APIError {
        APIError(
            .notFound, code: "unknown_account",
            message: "Weft holds nothing for \(system) customer '\(customerID)' (it appears once one of its events is processed)")
    }

    /// Checks the bearer token (constant time) and its scope. `admin` implies `operate`, which implies `read`.
    func authorize(_ request: Request, scope: String) throws -> Token {
        try authorize(request.headers[.authorization], scope: scope)
    }

    /// Checks an `Authorization` header value (constant time) and its scope.
    func authorize(_ header: String?, scope: String) throws -> Token {
        guard let header, let presented = Self.bearerToken(header) else {
            throw APIError(
                .unauthorized, code: "missing_token", message: "send Authorization: Bearer <admin token>",
                headers: [.wwwAuthenticate: "Bearer"])
        }
        // Compare digests so neither length nor content leaks through timing; every token is compared.
        let digest = Array(SHA256.hash(data: presented))
        var match: Token?
        for token in tokens where Self.constantTimeEquals(digest: token.digest, digest) { match = token }
        guard let match else {
            throw APIError(.unauthorized, code: "bad_token", message: "the token is not valid", headers: [.wwwAuthenticate: "Bearer"])
        }
        guard !match.scopes.isDisjoint(with: Self.implied[scope] ?? [scope]) else {
            throw APIError(.forbidden, code: "missing_scope", message: "this token lacks the '\(scope)' scope")
        }
        return match
    }

    /// The scopes that grant each scope.
    static let implied: [String: Set<String>] = [
        "read": ["read", "operate", "admin"], "operate": ["operate", "admin"], "admin": ["admin"],
    ]

    /// The token of `Bearer <token>` (scheme in any case, spaces around the token ignored), as bytes.
    static func bearerToken(_ header: String) -> [UInt8]? {
        let bytes = Array(header.utf8)
        let scheme = Array("bearer ".utf8)
        guard bytes.count > scheme.count else { return nil }
        for index in 0..<scheme.count where bytes[index] | 0x20 != scheme[index] | 0x20 { return nil }
        var start = scheme.count
        var end = bytes.count
        while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        return Array(bytes[start..<end])
    }

    static func constantTimeEquals(digest left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<left.count { difference |= left[index] ^ right[index] }
        return difference == 0
    }

    func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw APIError(.badRequest, code: "bad_json", message: "the body must be JSON: \(error)")
        }
    }

    func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

struct ReplayRequest: Decodable {
    var ids: [Int64]?
    var filter: String?
    var all: Bool?
}

struct EventReplayRequest: Decodable {
    var seqs: [Int64]?
    var all: Bool?
}

/// An inbox event as the admin API and CLI show it (no payload: it may hold personal data).
public struct EventView: Encodable, Sendable {
    public var seq: Int64
    public var system: String
    public var eventID: String
    public var type: String
    public var entityKey: String
    public var status: String
    public var attempts: Int
    public var outcome: String?
    public var occurredAt: Date
    public var receivedAt: Date
    public var traceID: String

    public init(_ event: InboxEvent) {
        seq = event.seq.rawValue
        system = event.system.rawValue
        eventID = event.eventID.rawValue
        type = event.type
        entityKey = event.entityKey.rawValue
        status = event.status.description
        attempts = event.attempts
        outcome = event.outcome
        occurredAt = event.occurredAt
        receivedAt = event.receivedAt
        traceID = event.traceID.rawValue
    }

    enum CodingKeys: String, CodingKey {
        case seq, system, type, status, attempts, outcome
        case eventID = "event_id"
        case entityKey = "entity_key"
        case occurredAt = "occurred_at"
        case receivedAt = "received_at"
        case traceID = "trace_id"
    }
}

/// An outbox command as the admin API and CLI show it.
public struct CommandView: Encodable, Sendable {
    public var id: Int64
    public var target: String
    public var kind: String
    public var subject: String
    public var entityKey: String
    public var status: String
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastError: String?
    public var deliveredAt: Date?
    public var targetRecord: String?
    public var traceID: String

    /// A command as stored: one whose payload this version cannot read is shown with its stored kind and no subject.
    public init(_ stored: StoredCommand) {
        let payload = stored.command()?.payload
        id = stored.id.rawValue
        target = stored.target.rawValue
        kind = payload?.kind ?? stored.kind ?? "unknown"
        subject = payload?.subject.description ?? Self.unreadableSubject
        entityKey = stored.entityKey.rawValue
        status = stored.status.description
        attempts = stored.attempts
        nextAttemptAt = stored.status == .pending ? stored.nextAttemptAt : nil
        lastError = stored.lastError
        deliveredAt = stored.deliveredAt
        targetRecord = stored.targetRecord?.description
        traceID = stored.traceID.rawValue
    }

    /// The subject shown for a command whose payload this version of Weft cannot read.
    public static let unreadableSubject = "(payload unreadable by this version)"

    enum CodingKeys: String, CodingKey {
        case id, target, kind, subject, status, attempts
        case entityKey = "entity_key"
        case nextAttemptAt = "next_attempt_at"
        case lastError = "last_error"
        case deliveredAt = "delivered_at"
        case targetRecord = "target_record"
        case traceID = "trace_id"
    }
}

/// An entitlement as the admin API shows it. `as_of` is the latest source instant Weft holds for the account.
public struct EntitlementView: Codable, Sendable, Hashable {
    public struct Standing: Codable, Sendable, Hashable {
        public var state: String
        public var overdueSince: Date?
        public var overdueDays: Int?
        public var overdueAmountMinor: Int64?
        public var overdueCurrency: String?

        enum CodingKeys: String, CodingKey {
            case state
            case overdueSince = "overdue_since"
            case overdueDays = "overdue_days"
            case overdueAmountMinor = "overdue_amount_minor"
            case overdueCurrency = "overdue_currency"
        }
    }

    public var account: String
    public var tier: String?
    public var status: String
    public var standing: Standing
    public var contractEnd: Date?
    public var supportLevel: String
    public var subscription: String?
    public var nextChangeAt: Date?
    public var asOf: Date?
    /// When a scheduled read of the billing platform last succeeded (absent when it is not read on a schedule).
    public var sourceReachedAt: Date?
    /// The billing platform has not been reached for longer than `entitlements.stale_after_seconds`.
    public var stale: Bool

    public init(_ entitlement: Entitlement, asOf: Date?) {
        account = entitlement.accountRef.description
        tier = entitlement.tier
        status = entitlement.status.rawValue
        standing = Standing(
            state: entitlement.standing.state.rawValue, overdueSince: entitlement.standing.overdueSince,
            overdueDays: entitlement.standing.overdueDays, overdueAmountMinor: entitlement.standing.overdue?.amountMinor,
            overdueCurrency: entitlement.standing.overdue?.currency.rawValue)
        contractEnd = entitlement.contractEnd
        supportLevel = entitlement.supportLevel
        subscription = entitlement.subscriptionRef?.description
        nextChangeAt = entitlement.nextChangeAt
        self.asOf = asOf
        stale = false
    }

    enum CodingKeys: String, CodingKey {
        case account, tier, status, standing, subscription, stale
        case sourceReachedAt = "source_reached_at"
        case contractEnd = "contract_end"
        case supportLevel = "support_level"
        case nextChangeAt = "next_change_at"
        case asOf = "as_of"
    }
}

/// An audit entry as the admin API shows it.
public struct AuditView: Encodable, Sendable {
    public var at: Date
    public var actor: String
    public var action: String
    public var detail: String
    public init(_ entry: AuditEntry) {
        at = entry.at
        actor = entry.actor
        action = entry.action
        detail = entry.detail
    }
}

/// Parses `key=value,key=value` command filters (`status`, `target`, `kind`, `entity`, `id`), shared by the admin
/// API and `weft dlq replay --filter`.
public enum CommandFilterParser {
    public static func parse(_ expression: String) throws -> CommandFilter {
        var filter = CommandFilter()
        for part in expression.split(separator: ",") where !part.trimmingCharacters(in: .whitespaces).isEmpty {
            let pieces = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 2, !pieces[1].isEmpty else {
                throw APIError(.badRequest, code: "bad_filter", message: "filter terms are key=value (got '\(part)')")
            }
            switch pieces[0] {
            case "status":
                guard let status = CommandStatus(name: pieces[1]) else {
                    throw APIError(
                        .badRequest, code: "bad_filter", message: "status must be pending, in_flight, delivered, dead or superseded")
                }
                filter.status = status
            case "target": filter.target = SystemName(pieces[1])
            case "kind": filter.kind = pieces[1]
            case "entity": filter.entityKey = EntityKey(pieces[1])
            case "id":
                guard let id = Int64(pieces[1]) else {
                    throw APIError(.badRequest, code: "bad_filter", message: "id must be a number")
                }
                filter.ids = (filter.ids ?? []) + [CommandID(id)]
            default:
                throw APIError(
                    .badRequest, code: "bad_filter", message: "unknown filter key '\(pieces[0])' (status, target, kind, entity, id)")
            }
        }
        return filter
    }

    /// A filter choosing which dead commands to replay: at least one term besides `status=dead` (replay takes dead ones
    /// only),
    /// so that a mistyped or empty expression never replays every dead letter (that is `all`).
    public static func parseReplay(_ expression: String) throws -> CommandFilter {
        var filter = try parse(expression)
        if let status = filter.status, status != .dead {
            throw APIError(.badRequest, code: "bad_filter", message: "replay takes dead commands only: leave status out")
        }
        filter.status = nil
        if filter == CommandFilter() {
            throw APIError(
                .badRequest, code: "bad_filter",
                message: "the filter is empty: give key=value terms (target, kind, entity, id), or replay all")
        }
        return filter
    }
}

/// Store statistics as the admin API shows them.
public struct StatsView: Codable, Sendable {
    public var events: [String: Int]
    public var oldestPendingEventAgeSeconds: Double?
    public var commands: [String: [String: Int]]
    public var deadCommandsByKind: [String: Int]

    public init(_ stats: StoreStats) {
        events = Dictionary(uniqueKeysWithValues: EventStatus.allCases.map { ($0.description, stats.eventsByStatus[$0] ?? 0) })
        oldestPendingEventAgeSeconds = stats.oldestPendingEventAge
        commands = Dictionary(
            uniqueKeysWithValues: stats.commandsByTarget.map { target, counts in
                (target.rawValue, Dictionary(uniqueKeysWithValues: CommandStatus.allCases.map { ($0.description, counts[$0] ?? 0) }))
            })
        deadCommandsByKind = stats.deadCommandsByKind
    }

    enum CodingKeys: String, CodingKey {
        case events, commands
        case oldestPendingEventAgeSeconds = "oldest_pending_event_age_seconds"
        case deadCommandsByKind = "dead_commands_by_kind"
    }
}
