import Foundation
public import WeftCore
import Yams

/// One problem found in a configuration file, with the line it is on.
public struct ConfigurationProblem: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "\(line): \(message)" }
}

/// A secret the configuration refers to: where (line, setting) and how (`SecretReference`), never its value.
public struct SecretUse: Sendable, Hashable {
    public var line: Int
    /// The setting, e.g. `systems.stripe.api_key_env`.
    public var setting: String
    public var reference: SecretReference
}

/// Reads Weft's YAML configuration, collecting every problem with its line (for `weft check`) instead of stopping at
/// the first.
public enum ConfigurationLoader {
    /// Canonical fields an ownership rule may name, per kind.
    public static let ownableFields: [EntityKind: Set<String>] = [
        .customer: ["name", "email", "phone", "address", "taxID", "currency", "*"],
        .product: ["name", "sku", "active", "unitAmount", "*"],
        .subscription: ["status", "items", "currentPeriodStart", "currentPeriodEnd", "cancelAt", "canceledAt", "*"],
        .invoice: ["status", "number", "lines", "currency", "totalMinor", "amountDueMinor", "amountPaidMinor", "*"],
        .payment: ["status", "amount", "*"],
        .refund: ["status", "amount", "*"],
        .account: Set(Account.dataFields + ["*"]),
        .contact: Set(Contact.dataFields + ["*"]),
    ]

    /// Loads a configuration file. Returns the configuration when there are no problems.
    /// - Parameter environment: when given, every secret a valid file refers to is also resolved in it, as
    ///   `weft serve` would (`weft check --secrets`); each one that does not resolve is a problem.
    public static func load(
        path: String, resolvingSecretsIn environment: [String: String]? = nil
    ) -> (WeftConfiguration?, [ConfigurationProblem]) {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            return (nil, [ConfigurationProblem(line: 1, message: "cannot read the file")])
        }
        return load(text: text, resolvingSecretsIn: environment)
    }

    /// Parses configuration text; `environment` as in `load(path:resolvingSecretsIn:)`.
    public static func load(
        text: String, resolvingSecretsIn environment: [String: String]? = nil
    ) -> (WeftConfiguration?, [ConfigurationProblem]) {
        let (configuration, problems, secretUses) = read(text: text)
        guard let configuration, let environment else { return (configuration, problems) }
        let secretProblems = Self.secretProblems(secretUses, environment: environment)
        return (secretProblems.isEmpty ? configuration : nil, secretProblems)
    }

    /// The problems with the secrets the configuration text refers to, as they resolve in `environment`: an
    /// environment variable that is not set or empty, a file that cannot be read or is empty. Each names the setting
    /// and the variable or path, never a value.
    public static func secretProblems(text: String, environment: [String: String]) -> [ConfigurationProblem] {
        secretProblems(read(text: text).secretUses, environment: environment)
    }

    private static func secretProblems(_ uses: [SecretUse], environment: [String: String]) -> [ConfigurationProblem] {
        uses.compactMap { use in
            do {
                let value = try use.reference.resolve(environment: environment)
                guard !value.isEmpty else {
                    return ConfigurationProblem(line: use.line, message: "\(use.setting): \(use.reference) is empty")
                }
                return nil
            } catch let error as ConfigurationError {
                return ConfigurationProblem(line: use.line, message: "\(use.setting): \(error.message)")
            } catch {
                return ConfigurationProblem(line: use.line, message: "\(use.setting): \(use.reference) cannot be read")
            }
        }
    }

    /// Parses the text once: the configuration when there are no problems, the problems by line, and every secret
    /// reference read.
    private static func read(text: String) -> (WeftConfiguration?, [ConfigurationProblem], secretUses: [SecretUse]) {
        var reader = Reader()
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                return (nil, [ConfigurationProblem(line: 1, message: "the file is empty")], [])
            }
            root = node
        } catch let error as YamlError {
            return (nil, [ConfigurationProblem(line: yamlErrorLine(error), message: "not valid YAML: \(yamlProblem(error))")], [])
        } catch {
            return (nil, [ConfigurationProblem(line: 1, message: "not valid YAML")], [])
        }
        let configuration = reader.read(root)
        let problems = reader.problems.sorted { ($0.line, $0.message) < ($1.line, $1.message) }
        return (problems.isEmpty ? configuration : nil, problems, reader.secretUses)
    }

    /// What is wrong, with its column, but never the offending line: Yams' own description quotes it, and a line that
    /// does not parse may be one where a secret was pasted (`api_key: "sk_live_…` without its closing quote).
    private static func yamlProblem(_ error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return "\(context.map { "\($0.text) " } ?? "")\(problem) (column \(mark.column))"
        case .reader(let problem, _, _, _): return problem
        case .duplicatedKeysInMapping(let duplicates, _):
            return "duplicated keys \(duplicates.sorted().map { "'\($0)'" }.joined(separator: ", "))"
        default: return "\(error)"
        }
    }

    private static func yamlErrorLine(_ error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return 1
        }
    }
}

/// Walks the YAML tree, building the configuration and recording problems.
private struct Reader {
    var problems: [ConfigurationProblem] = []
    /// Every secret reference read, with its line and setting.
    var secretUses: [SecretUse] = []

    /// A secret file's path, recorded as a use.
    mutating func secretFile(_ node: Node?, _ context: String) -> String? {
        guard let path = string(node, context) else { return nil }
        secretUses.append(SecretUse(line: node?.mark?.line ?? 1, setting: context, reference: .file(path)))
        return path
    }

    mutating func problem(_ node: Node?, _ message: String) {
        problems.append(ConfigurationProblem(line: node?.mark?.line ?? 1, message: message))
    }

    /// The members of a mapping, with the key nodes (for line numbers); reports keys not in `allowed`.
    mutating func mapping(_ node: Node?, _ context: String, allowed: Set<String>? = nil) -> [(key: Node, value: Node)] {
        guard let node else { return [] }
        guard case .mapping(let mapping) = node else {
            problem(node, "\(context) must be a mapping")
            return []
        }
        var seen: Set<String> = []
        var result: [(Node, Node)] = []
        for (key, value) in mapping {
            let name = key.string ?? ""
            if !seen.insert(name).inserted { problem(key, "\(context): '\(name)' appears twice") }
            if let allowed, !allowed.contains(name) {
                if Self.secretKeys.contains(name) {
                    problem(key, "\(context): secrets are never written in the config; use \(name)_env: VAR or \(name)_file: PATH")
                } else {
                    problem(key, "\(context): unknown key '\(name)' (expected one of: \(allowed.sorted().joined(separator: ", ")))")
                }
            }
            result.append((key, value))
        }
        return result
    }

    static let secretKeys: Set<String> = [
        "api_key", "api_token", "oauth_token", "webhook_secret", "webhook_password", "password", "token", "secret",
        "client_secret",
    ]

    func value(_ members: [(key: Node, value: Node)], _ name: String) -> Node? {
        members.first { $0.key.string == name }?.value
    }

    /// The name of an environment variable that holds a secret. Anything else is refused without being quoted: a value
    /// that is not a name is most likely the secret itself, pasted where its variable's name belongs.
    mutating func environmentName(_ node: Node?, _ context: String) -> String? {
        guard let name = string(node, context) else { return nil }
        let bytes = Array(name.utf8)
        let isName =
            bytes.first.map { !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } == true
            && bytes.allSatisfy { byte in
                byte == UInt8(ascii: "_") || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            }
        // Shapes of secrets that pass for a name: Stripe's keys and signing secrets, and long random tokens (upper and
        // lower case with digits, as Zendesk's or Chargebee's are), which no one names a variable like.
        let secretPrefixes = ["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"]
        let random =
            bytes.count >= 24 && bytes.contains { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
            && bytes.contains { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
            && bytes.contains { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        guard isName, !random, !secretPrefixes.contains(where: { name.hasPrefix($0) }) else {
            problem(
                node,
                "\(context) must name an environment variable (letters, digits and _, not starting with a digit); what is "
                    + "there looks like a value (not repeated here): put the secret in the environment and name its variable")
            return nil
        }
        secretUses.append(SecretUse(line: node?.mark?.line ?? 1, setting: context, reference: .environment(name)))
        return name
    }

    mutating func string(_ node: Node?, _ context: String, required: Bool = false) -> String? {
        guard let node else {
            if required { problem(nil, "\(context) is required") }
            return nil
        }
        guard case .scalar(let scalar) = node, !scalar.string.isEmpty else {
            problem(node, "\(context) must be a non-empty string")
            return nil
        }
        return scalar.string
    }

    mutating func number(_ node: Node?, _ context: String, minimum: Double) -> Double? {
        guard let node else { return nil }
        guard let value = node.float ?? node.int.map(Double.init), value >= minimum else {
            problem(node, "\(context) must be a number ≥ \(minimum)")
            return nil
        }
        return value
    }

    mutating func integer(_ node: Node?, _ context: String, minimum: Int) -> Int? {
        guard let node else { return nil }
        guard let value = node.int, value >= minimum else {
            problem(node, "\(context) must be a whole number ≥ \(minimum)")
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node?, _ context: String) -> Bool? {
        guard let node else { return nil }
        guard let value = node.bool else {
            problem(node, "\(context) must be true or false")
            return nil
        }
        return value
    }

    /// Reads `<name>_env` / `<name>_file` from a mapping.
    mutating func secret(_ members: [(key: Node, value: Node)], _ name: String, _ context: String, required: Bool, at node: Node)
        -> SecretReference?
    {
        let env = value(members, "\(name)_env")
        let file = value(members, "\(name)_file")
        if env != nil && file != nil {
            problem(env, "\(context): give \(name)_env or \(name)_file, not both")
            return nil
        }
        if let env, let variable = environmentName(env, "\(context).\(name)_env") { return .environment(variable) }
        if let file, let path = secretFile(file, "\(context).\(name)_file") { return .file(path) }
        if required { problem(node, "\(context): \(name)_env or \(name)_file is required") }
        return nil
    }

    mutating func read(_ root: Node) -> WeftConfiguration {
        var configuration = WeftConfiguration()
        let top = mapping(
            root, "the configuration",
            allowed: ["store", "server", "systems", "flows", "ownership", "delivery", "pipeline", "entitlements"])
        if let store = value(top, "store") { configuration.store = readStore(store) }
        if let server = value(top, "server") { configuration.server = readServer(server) }
        if let systems = value(top, "systems") {
            configuration.systems = readSystems(systems)
        } else {
            problem(root, "systems: at least one system is required")
        }
        if let flows = value(top, "flows") { configuration.flows = readFlows(flows, systems: configuration.systems) }
        if let ownership = value(top, "ownership") {
            configuration.ownership = readOwnership(ownership, systems: configuration.systems)
        }
        if let delivery = value(top, "delivery") { configuration.delivery = readDelivery(delivery) }
        if let pipeline = value(top, "pipeline") { configuration.pipeline = readPipeline(pipeline) }
        if let entitlements = value(top, "entitlements") { configuration.entitlements = readEntitlements(entitlements) }
        checkFlowsAgainstOwnership(configuration, root: value(top, "flows") ?? root)
        checkTwoWayAccounts(configuration, root: value(top, "ownership") ?? value(top, "flows") ?? root)
        return configuration
    }

    mutating func readStore(_ node: Node) -> StoreConfiguration {
        var store = StoreConfiguration()
        let members = mapping(node, "store", allowed: ["sqlite", "postgres", "synchronous", "payload_keys", "retention"])
        if let postgresNode = value(members, "postgres") {
            if value(members, "sqlite") != nil { problem(postgresNode, "store: give sqlite or postgres, not both") }
            let postgresMembers = mapping(
                postgresNode, "store.postgres", allowed: ["url_env", "url_file", "max_connections", "migrations"])
            if let url = secret(postgresMembers, "url", "store.postgres", required: true, at: postgresNode) {
                var settings = PostgresStoreSettings(url: url)
                if let count = integer(value(postgresMembers, "max_connections"), "store.postgres.max_connections", minimum: 2) {
                    settings.maximumConnections = count
                }
                if let mode = value(postgresMembers, "migrations") {
                    switch mode.string {
                    case "auto": settings.applyMigrations = true
                    case "manual": settings.applyMigrations = false
                    default: problem(mode, "store.postgres.migrations must be auto or manual")
                    }
                }
                store.postgres = settings
            }
        } else if let path = string(value(members, "sqlite"), "store.sqlite", required: true) {
            store.sqlitePath = path
        }
        if let retention = value(members, "retention") {
            let retentionMembers = mapping(
                retention, "store.retention", allowed: ["after_days", "batch", "interval_seconds", "enabled"])
            if bool(value(retentionMembers, "enabled"), "store.retention.enabled") == false {
                store.retention.after = nil
            } else if let days = number(value(retentionMembers, "after_days"), "store.retention.after_days", minimum: 1) {
                // At least a day: a redelivery or catch-up page of an event pruned sooner would be stored and
                // processed again (harmless, processing is idempotent, but wasted).
                store.retention.after = .milliseconds(Int64(days * 86_400_000))
            }
            if let batch = integer(value(retentionMembers, "batch"), "store.retention.batch", minimum: 1) {
                store.retention.batch = batch
            }
            if let seconds = number(value(retentionMembers, "interval_seconds"), "store.retention.interval_seconds", minimum: 1) {
                store.retention.interval = .milliseconds(Int64(seconds * 1000))
            }
        }
        if let sync = value(members, "synchronous") {
            switch sync.string?.lowercased() {
            case "full": store.synchronousFull = true
            case "normal": store.synchronousFull = false
            default: problem(sync, "store.synchronous must be full or normal")
            }
        }
        if let keys = value(members, "payload_keys") {
            guard case .sequence(let sequence) = keys else {
                problem(keys, "store.payload_keys must be a list of { id, key_env | key_file }")
                return store
            }
            var seen: Set<String> = []
            for item in sequence {
                let keyMembers = mapping(item, "store.payload_keys[]", allowed: ["id", "key_env", "key_file"])
                guard let id = string(value(keyMembers, "id"), "store.payload_keys[].id", required: true) else { continue }
                if id.isEmpty || id.utf8.count > 255 { problem(item, "store.payload_keys[].id must have 1 to 255 characters") }
                if !seen.insert(id).inserted { problem(item, "store.payload_keys: id '\(id)' is given twice") }
                guard let secret = secret(keyMembers, "key", "store.payload_keys[\(id)]", required: true, at: item) else {
                    continue
                }
                store.payloadKeys.append(PayloadKeyReference(id: id, secret: secret))
            }
        }
        return store
    }

    mutating func readServer(_ node: Node) -> ServerConfiguration {
        var server = ServerConfiguration()
        let members = mapping(node, "server", allowed: ["listen", "max_body_bytes", "admin_tokens"])
        if let listenNode = value(members, "listen"), let listen = string(listenNode, "server.listen") {
            let parts = listen.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 2, let port = Int(parts[1]), (0...65535).contains(port), !parts[0].isEmpty {
                server.host = String(parts[0])
                server.port = port
            } else {
                problem(listenNode, "server.listen must be HOST:PORT, e.g. 127.0.0.1:8080")
            }
        }
        if let limit = integer(value(members, "max_body_bytes"), "server.max_body_bytes", minimum: 1024) {
            server.maxBodyBytes = limit
        }
        if let tokens = value(members, "admin_tokens") {
            guard case .sequence(let sequence) = tokens else {
                problem(tokens, "server.admin_tokens must be a list")
                return server
            }
            for item in sequence {
                let tokenMembers = mapping(item, "server.admin_tokens[]", allowed: ["token_env", "token_file", "scopes"])
                guard let secret = secret(tokenMembers, "token", "server.admin_tokens[]", required: true, at: item) else {
                    continue
                }
                var scopes: Set<String> = ["read"]
                if let scopesNode = value(tokenMembers, "scopes") {
                    if case .sequence(let list) = scopesNode {
                        scopes = Set(list.compactMap(\.string))
                        for scope in scopes where !["read", "operate", "admin"].contains(scope) {
                            problem(scopesNode, "unknown scope '\(scope)' (read, operate, admin)")
                        }
                    } else {
                        problem(scopesNode, "scopes must be a list of read, operate, admin")
                    }
                }
                server.adminTokens.append(AdminToken(secret: secret, scopes: scopes))
            }
        }
        return server
    }

    mutating func readSystems(_ node: Node) -> [SystemName: SystemConfiguration] {
        var systems: [SystemName: SystemConfiguration] = [:]
        for (key, value) in mapping(node, "systems") {
            guard let name = key.string, !name.isEmpty else { continue }
            let context = "systems.\(name)"
            let members = mapping(value, context)
            switch self.value(members, "type")?.string {
            case "stripe":
                _ = mapping(
                    value, context,
                    allowed: [
                        "type", "base_url", "api_key_env", "api_key_file", "webhook_secret_env", "webhook_secret_file",
                        "webhook_secrets", "signature_tolerance_seconds", "api_version", "catch_up",
                    ])
                systems[SystemName(name)] = .stripe(readStripe(members, context: context, node: value))
            case "chargebee":
                _ = mapping(
                    value, context,
                    allowed: [
                        "type", "site", "base_url", "api_key_env", "api_key_file", "webhook_username",
                        "webhook_password_env", "webhook_password_file", "webhook_passwords", "catch_up",
                    ])
                if let chargebee = readChargebee(members, context: context, node: value) {
                    systems[SystemName(name)] = .chargebee(chargebee)
                }
            case "odoo":
                _ = mapping(
                    value, context,
                    allowed: [
                        "type", "url", "database", "api", "login", "api_key_env", "api_key_file", "rate_limit",
                        "standing_tag", "timeout_seconds", "batch_size", "catch_up", "identity",
                    ])
                if let odoo = readOdoo(members, context: context, node: value) { systems[SystemName(name)] = .odoo(odoo) }
            case "zendesk":
                _ = mapping(
                    value, context,
                    allowed: [
                        "type", "base_url", "email", "api_token_env", "api_token_file", "oauth_token_env",
                        "oauth_token_file", "webhook_secret_env", "webhook_secret_file", "webhook_secrets",
                        "signature_tolerance_seconds", "fields", "rate_limit", "timeout_seconds", "catch_up",
                    ])
                if let desk = readDesk(.zendesk, members, context: context, node: value) { systems[SystemName(name)] = .desk(desk) }
            case "freshdesk":
                _ = mapping(
                    value, context,
                    allowed: [
                        "type", "base_url", "api_key_env", "api_key_file", "webhook_secret_env", "webhook_secret_file",
                        "webhook_secrets", "webhook_secret_header", "fields", "rate_limit", "timeout_seconds",
                        "catch_up", "ticket_reads",
                    ])
                if let desk = readDesk(.freshdesk, members, context: context, node: value) { systems[SystemName(name)] = .desk(desk) }
            case "hubspot":
                _ = mapping(
                    value, context,
                    allowed: [
                        "type", "base_url", "objects_path", "associations_path", "access_token_env", "access_token_file",
                        "client_secret_env", "client_secret_file", "client_secrets", "webhook_url",
                        "signature_tolerance_seconds", "won_stages", "currency", "sku_property", "tax_id_property",
                        "deal_requirements", "rate_limit", "timeout_seconds", "catch_up", "status_properties",
                        "accounts",
                    ])
                if let hubspot = readHubSpot(members, context: context, node: value) {
                    systems[SystemName(name)] = .hubspot(hubspot)
                }
            case "salesforce":
                _ = mapping(
                    value, context,
                    allowed: [
                        "type", "instance_url", "login_url", "api_version", "consumer_key", "username", "private_key",
                        "private_key_env", "private_key_file", "client_id", "client_secret_env", "client_secret_file",
                        "organization_id", "deal_requirements", "currency", "vat_field", "rate_limit",
                        "timeout_seconds", "catch_up", "status_fields", "accounts", "state_country_picklists",
                    ])
                if let salesforce = readSalesforce(members, context: context, node: value) {
                    systems[SystemName(name)] = .salesforce(salesforce)
                }
            case let other:
                problem(
                    self.value(members, "type") ?? value,
                    "\(context).type must be salesforce, stripe, chargebee, odoo, zendesk, freshdesk or hubspot (got \(other ?? "nothing"))"
                )
            }
        }
        return systems
    }

    mutating func readStripe(_ members: [(key: Node, value: Node)], context: String, node: Node) -> StripeSystemConfiguration {
        var stripe = StripeSystemConfiguration()
        if let url = string(value(members, "base_url"), "\(context).base_url") {
            if URL(string: url)?.scheme == nil { problem(value(members, "base_url"), "\(context).base_url must be a URL") }
            stripe.baseURL = url
        }
        stripe.apiKey = secret(members, "api_key", context, required: false, at: node)
        stripe.webhookSecrets = webhookSecrets(members, context: context, node: node)
        if stripe.webhookSecrets.isEmpty {
            problem(node, "\(context): webhook_secret_env (or webhook_secret_file / webhook_secrets) is required to verify webhooks")
        }
        if let seconds = integer(value(members, "signature_tolerance_seconds"), "\(context).signature_tolerance_seconds", minimum: 1) {
            stripe.signatureTolerance = .seconds(seconds)
        }
        stripe.apiVersion = string(value(members, "api_version"), "\(context).api_version")
        readCatchUp(
            members, context: context, interval: &stripe.catchUpInterval, overlap: &stripe.catchUpOverlap,
            start: &stripe.catchUpStart)
        if stripe.catchUpInterval != nil && stripe.apiKey == nil {
            problem(node, "\(context): catch-up from /v1/events needs api_key_env or api_key_file (or catch_up: {enabled: false})")
        }
        return stripe
    }

    /// `catch_up: { interval_seconds, overlap_seconds, enabled }`, for any billing source with an events API.
    mutating func readCatchUp(
        _ members: [(key: Node, value: Node)], context: String, interval: inout Duration?, overlap: inout Duration
    ) {
        var start = CatchUpStart.all
        readCatchUp(members, context: context, interval: &interval, overlap: &overlap, start: &start, allowsStart: false)
    }

    /// `catch_up` of a billing platform, with `start` (`CatchUpStart`): `all`, `now` or an ISO-8601 instant.
    mutating func readCatchUp(
        _ members: [(key: Node, value: Node)], context: String, interval: inout Duration?, overlap: inout Duration,
        start: inout CatchUpStart, allowsStart: Bool = true
    ) {
        guard let catchUp = value(members, "catch_up") else { return }
        let catchUpMembers = mapping(
            catchUp, "\(context).catch_up",
            allowed: allowsStart
                ? ["interval_seconds", "overlap_seconds", "enabled", "start"] : ["interval_seconds", "overlap_seconds", "enabled"])
        if bool(value(catchUpMembers, "enabled"), "\(context).catch_up.enabled") == false { interval = nil }
        if let seconds = number(value(catchUpMembers, "interval_seconds"), "\(context).catch_up.interval_seconds", minimum: 0.01) {
            interval = .milliseconds(Int64(seconds * 1000))
        }
        if let seconds = integer(value(catchUpMembers, "overlap_seconds"), "\(context).catch_up.overlap_seconds", minimum: 0) {
            overlap = .seconds(seconds)
        }
        let startNode = value(catchUpMembers, "start")
        guard allowsStart, let text = string(startNode, "\(context).catch_up.start") else { return }
        switch text {
        case "all": start = .all
        case "now": start = .firstStart
        default:
            if let instant = Self.instant(text), instant > Date() {
                problem(startNode, "\(context).catch_up.start is in the future; to read from the first start on, write now")
            } else if let instant = Self.instant(text) {
                start = .at(instant)
            } else {
                problem(
                    startNode,
                    "\(context).catch_up.start must be all, now or an instant with its offset (e.g. 2026-11-01T00:00:00Z), not '\(text)'"
                )
            }
        }
    }

    /// An ISO-8601 instant with its offset (`2026-11-01T00:00:00Z`, `2026-11-01T01:00:00+01:00`, fractions allowed).
    static func instant(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }

    /// A Chargebee site (docs/connectors/chargebee.md): `site` or `base_url`, the API key for catch-up, and the
    /// Basic-auth credentials set on the webhook (Chargebee signs nothing, so they are required).
    mutating func readChargebee(_ members: [(key: Node, value: Node)], context: String, node: Node)
        -> ChargebeeSystemConfiguration?
    {
        var chargebee = ChargebeeSystemConfiguration()
        let siteNode = value(members, "site")
        let urlNode = value(members, "base_url")
        if let site = string(siteNode, "\(context).site") {
            if site.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) {
                chargebee.site = site
            } else {
                problem(
                    siteNode,
                    "\(context).site must be the site name only (lowercase letters, digits, -), e.g. acme-test for https://acme-test.chargebee.com"
                )
            }
        }
        if let url = string(urlNode, "\(context).base_url") {
            if let parsed = URL(string: url), parsed.scheme != nil, parsed.host != nil {
                chargebee.baseURL = url
            } else {
                problem(urlNode, "\(context).base_url must be a URL, e.g. https://acme-test.chargebee.com")
            }
        }
        if siteNode == nil && urlNode == nil {
            problem(node, "\(context): site (e.g. acme-test) or base_url is required")
        }
        chargebee.apiKey = secret(members, "api_key", context, required: false, at: node)
        let usernameNode = value(members, "webhook_username")
        if let username = string(usernameNode, "\(context).webhook_username") {
            if username.contains(":") {
                problem(usernameNode, "\(context).webhook_username must not contain ':' (Basic auth separates user and password with it)")
            } else {
                chargebee.webhookUsername = username
            }
        } else if usernameNode == nil {
            problem(
                node,
                "\(context).webhook_username is required: Chargebee does not sign webhooks, so the Basic-auth user name and password set on the webhook are how Weft knows it came from Chargebee"
            )
        }
        if let single = secret(members, "webhook_password", context, required: false, at: node) {
            chargebee.webhookPasswords = [single]
        }
        if let list = value(members, "webhook_passwords") {
            if case .sequence(let items) = list, !items.isEmpty {
                for item in items {
                    let itemMembers = mapping(item, "\(context).webhook_passwords[]", allowed: ["env", "file"])
                    if let env = environmentName(value(itemMembers, "env"), "\(context).webhook_passwords[].env") {
                        chargebee.webhookPasswords.append(.environment(env))
                    }
                    if let file = secretFile(value(itemMembers, "file"), "\(context).webhook_passwords[].file") {
                        chargebee.webhookPasswords.append(.file(file))
                    }
                }
            } else {
                problem(list, "\(context).webhook_passwords must be a list of {env: VAR} or {file: PATH}")
            }
        }
        if chargebee.webhookPasswords.isEmpty {
            problem(
                node,
                "\(context): webhook_password_env (or webhook_password_file / webhook_passwords) is required: the Basic-auth password set on the webhook in Chargebee"
            )
        }
        readCatchUp(
            members, context: context, interval: &chargebee.catchUpInterval, overlap: &chargebee.catchUpOverlap,
            start: &chargebee.catchUpStart)
        if chargebee.catchUpInterval != nil && chargebee.apiKey == nil {
            problem(
                node, "\(context): catch-up from /api/v2/events needs api_key_env or api_key_file (or catch_up: {enabled: false})")
        }
        guard siteNode != nil || urlNode != nil else { return nil }
        return chargebee
    }

    mutating func readOdoo(_ members: [(key: Node, value: Node)], context: String, node: Node) -> OdooSystemConfiguration? {
        let url = string(value(members, "url"), "\(context).url", required: true)
        if let url, URL(string: url)?.scheme == nil { problem(value(members, "url"), "\(context).url must be a URL") }
        let database = string(value(members, "database"), "\(context).database", required: true)
        var api = OdooAPI.json2
        if let apiNode = value(members, "api") {
            if let parsed = apiNode.string.flatMap(OdooAPI.init(rawValue:)) {
                api = parsed
            } else {
                problem(apiNode, "\(context).api must be json2, jsonrpc or xmlrpc")
            }
        }
        let login = string(value(members, "login"), "\(context).login")
        if api != .json2 && login == nil { problem(node, "\(context).login is required for api \(api.rawValue)") }
        let key = secret(members, "api_key", context, required: true, at: node)
        let rate = rateLimit(members, context: context)
        guard let url, let database else { return nil }
        var odoo = OdooSystemConfiguration(url: url, database: database, api: api, login: login, apiKey: key, rateLimit: rate)
        if let tag = string(value(members, "standing_tag"), "\(context).standing_tag") { odoo.standingTag = tag }
        if let seconds = number(value(members, "timeout_seconds"), "\(context).timeout_seconds", minimum: 0.1) {
            odoo.timeout = .milliseconds(Int64(seconds * 1000))
        }
        if let node = value(members, "batch_size"), let size = integer(node, "\(context).batch_size", minimum: 1) {
            if size <= OdooSystemConfiguration.maxBatchSize {
                odoo.batchSize = size
            } else {
                problem(node, "\(context).batch_size must be at most \(OdooSystemConfiguration.maxBatchSize)")
            }
        }
        // How often order status is read for a flow from this Odoo to a CRM.
        var interval: Duration? = odoo.statusInterval
        readCatchUp(members, context: context, interval: &interval, overlap: &odoo.statusOverlap)
        if let interval { odoo.statusInterval = interval }
        if let node = value(members, "identity") {
            // An ordered list: the first key that finds a partner decides.
            var keys: [String] = []
            if case .sequence(let items) = node {
                for item in items {
                    guard let key = item.string, OdooSystemConfiguration.identityKeyNames.contains(key) else {
                        problem(
                            item,
                            "\(context).identity: unknown key '\(item.string ?? "?")' (keys: "
                                + "\(OdooSystemConfiguration.identityKeyNames.joined(separator: ", ")))")
                        continue
                    }
                    if !keys.contains(key) { keys.append(key) }
                }
            } else {
                problem(node, "\(context).identity must be a list such as [vat, email_domain, email] (or [] for bindings only)")
            }
            odoo.identityKeys = keys
        }
        return odoo
    }

    /// `rate_limit: { per_second: 10, burst: 20 }`.
    mutating func rateLimit(_ members: [(key: Node, value: Node)], context: String) -> RateLimit? {
        guard let rateNode = value(members, "rate_limit") else { return nil }
        let rateMembers = mapping(rateNode, "\(context).rate_limit", allowed: ["per_second", "burst"])
        return rate(rateMembers, at: rateNode, context: "\(context).rate_limit")
    }

    /// `{per_second, burst}` of a rate at `context` (`per_second` required, `burst` at least 1, by default the rate's
    /// whole part).
    mutating func rate(_ members: [(key: Node, value: Node)], at node: Node, context: String) -> RateLimit? {
        let perSecond = number(value(members, "per_second"), "\(context).per_second", minimum: 0.01)
        let burst = integer(value(members, "burst"), "\(context).burst", minimum: 1)
        guard let perSecond else {
            if value(members, "per_second") == nil { problem(node, "\(context).per_second is required") }
            return nil
        }
        return RateLimit(perSecond: perSecond, burst: burst ?? max(1, Int(perSecond)))
    }

    /// Freshdesk's `ticket_reads`: `{per_second, burst}`, or `{enabled: false}` for none (see `ticketReads`).
    mutating func readTicketReads(_ members: [(key: Node, value: Node)], context: String, into desk: inout DeskSystemConfiguration) {
        guard let node = value(members, "ticket_reads") else { return }
        let readMembers = mapping(node, "\(context).ticket_reads", allowed: ["per_second", "burst", "enabled"])
        if bool(value(readMembers, "enabled"), "\(context).ticket_reads.enabled") == false {
            if value(readMembers, "per_second") != nil || value(readMembers, "burst") != nil {
                problem(node, "\(context).ticket_reads: enabled: false reads nothing; drop per_second and burst, or enabled")
            }
            desk.ticketReads = nil
            return
        }
        if let rate = rate(readMembers, at: node, context: "\(context).ticket_reads") { desk.ticketReads = rate }
    }

    /// Webhook secrets: `<name>_env`, `<name>_file`, or a list `webhook_secrets: [{env: A}, {file: B}]` for rotation.
    mutating func webhookSecrets(_ members: [(key: Node, value: Node)], context: String, node: Node) -> [SecretReference] {
        var secrets: [SecretReference] = []
        if let single = secret(members, "webhook_secret", context, required: false, at: node) { secrets = [single] }
        if let list = value(members, "webhook_secrets") {
            if case .sequence(let items) = list {
                for item in items {
                    let itemMembers = mapping(item, "\(context).webhook_secrets[]", allowed: ["env", "file"])
                    if let env = environmentName(value(itemMembers, "env"), "\(context).webhook_secrets[].env") {
                        secrets.append(.environment(env))
                    }
                    if let file = secretFile(value(itemMembers, "file"), "\(context).webhook_secrets[].file") {
                        secrets.append(.file(file))
                    }
                }
            } else {
                problem(list, "\(context).webhook_secrets must be a list of {env: VAR} or {file: PATH}")
            }
        }
        return secrets
    }

    /// A Zendesk or Freshdesk system: a target for entitlements (docs/connectors/zendesk.md, freshdesk.md).
    mutating func readDesk(
        _ kind: DeskSystemConfiguration.Kind, _ members: [(key: Node, value: Node)], context: String, node: Node
    ) -> DeskSystemConfiguration? {
        let url = string(value(members, "base_url"), "\(context).base_url", required: true)
        if let url, URL(string: url)?.scheme == nil { problem(value(members, "base_url"), "\(context).base_url must be a URL") }
        var desk = DeskSystemConfiguration(kind: kind, baseURL: url ?? "")
        switch kind {
        case .zendesk:
            desk.email = string(value(members, "email"), "\(context).email")
            desk.apiKey = secret(members, "api_token", context, required: false, at: node)
            desk.oauthToken = secret(members, "oauth_token", context, required: false, at: node)
            if desk.oauthToken != nil && desk.apiKey != nil {
                problem(node, "\(context): give api_token_env/_file (with email) or oauth_token_env/_file, not both")
            } else if desk.oauthToken == nil && desk.apiKey == nil {
                problem(node, "\(context): api_token_env (with email) or oauth_token_env is required")
            } else if desk.apiKey != nil && desk.email == nil {
                problem(node, "\(context).email is required with an API token (Zendesk signs in as email/token)")
            }
            if let seconds = integer(
                value(members, "signature_tolerance_seconds"), "\(context).signature_tolerance_seconds", minimum: 1)
            {
                desk.signatureTolerance = .seconds(seconds)
            }
        case .freshdesk:
            desk.apiKey = secret(members, "api_key", context, required: true, at: node)
            if let header = string(value(members, "webhook_secret_header"), "\(context).webhook_secret_header") {
                if header.isEmpty || !header.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) {
                    problem(value(members, "webhook_secret_header"), "\(context).webhook_secret_header must be a header name")
                } else {
                    desk.webhookSecretHeader = header
                }
            }
            readTicketReads(members, context: context, into: &desk)
        }
        desk.webhookSecrets = webhookSecrets(members, context: context, node: node)
        if let fieldsNode = value(members, "fields") {
            let fieldMembers = mapping(fieldsNode, "\(context).fields", allowed: Set(DeskFieldMap.keys))
            func field(_ key: String) -> String? {
                let node = value(fieldMembers, key)
                if let node, case .scalar(let scalar) = node, scalar.string.isEmpty {
                    problem(node, "\(context).fields.\(key) must name a field")
                    return nil
                }
                return string(node, "\(context).fields.\(key)")
            }
            desk.fields = DeskFieldMap(
                account: field("account"), tier: field("tier"), status: field("status"), standing: field("standing"),
                overdueAmount: field("overdue_amount"), overdueSince: field("overdue_since"),
                contractEnd: field("contract_end"), supportLevel: field("support_level"))
            let names = desk.fields.fieldNames
            for name in Set(names) where names.filter({ $0 == name }).count > 1 {
                problem(fieldsNode, "\(context).fields: field \(name) is named for two parts")
            }
        }
        if kind == .freshdesk && desk.fields.account == nil {
            problem(
                node,
                "\(context).fields.account is required: Freshdesk companies have no external id, so Weft keeps the account id in that company field (e.g. weft_account)"
            )
        }
        desk.rateLimit = rateLimit(members, context: context)
        if let seconds = number(value(members, "timeout_seconds"), "\(context).timeout_seconds", minimum: 0.1) {
            desk.timeout = .milliseconds(Int64(seconds * 1000))
        }
        // Off unless asked for: `catch_up: {}` (or `enabled: true`) reads every 5 minutes, `interval_seconds` sets it.
        if value(members, "catch_up") != nil { desk.catchUpInterval = .seconds(300) }
        readCatchUp(members, context: context, interval: &desk.catchUpInterval, overlap: &desk.catchUpOverlap)
        guard url != nil else { return nil }
        return desk
    }

    /// A HubSpot portal (docs/connectors/hubspot.md).
    mutating func readHubSpot(_ members: [(key: Node, value: Node)], context: String, node: Node)
        -> HubSpotSystemConfiguration?
    {
        var hubspot = HubSpotSystemConfiguration()
        for (key, path) in [("base_url", \HubSpotSystemConfiguration.baseURL)] {
            if let url = string(value(members, key), "\(context).\(key)") {
                if URL(string: url)?.scheme == nil { problem(value(members, key), "\(context).\(key) must be a URL") }
                hubspot[keyPath: path] = url
            }
        }
        for (key, path) in [
            ("objects_path", \HubSpotSystemConfiguration.objectsPath), ("associations_path", \.associationsPath),
        ] {
            if let text = string(value(members, key), "\(context).\(key)") {
                if !text.hasPrefix("/") { problem(value(members, key), "\(context).\(key) must start with /") }
                hubspot[keyPath: path] = text
            }
        }
        hubspot.accessToken = secret(members, "access_token", context, required: true, at: node)
        if let single = secret(members, "client_secret", context, required: false, at: node) { hubspot.clientSecrets = [single] }
        if let list = value(members, "client_secrets") {
            if case .sequence(let items) = list {
                for item in items {
                    let itemMembers = mapping(item, "\(context).client_secrets[]", allowed: ["env", "file"])
                    if let env = environmentName(value(itemMembers, "env"), "\(context).client_secrets[].env") {
                        hubspot.clientSecrets.append(.environment(env))
                    } else if let file = secretFile(value(itemMembers, "file"), "\(context).client_secrets[].file") {
                        hubspot.clientSecrets.append(.file(file))
                    } else {
                        problem(item, "\(context).client_secrets: each entry needs env or file")
                    }
                }
            } else {
                problem(list, "\(context).client_secrets must be a list of {env: VAR} or {file: PATH}")
            }
        }
        if let url = string(value(members, "webhook_url"), "\(context).webhook_url") {
            if URL(string: url)?.scheme == nil { problem(value(members, "webhook_url"), "\(context).webhook_url must be a URL") }
            hubspot.webhookURL = url
        }
        if let seconds = integer(
            value(members, "signature_tolerance_seconds"), "\(context).signature_tolerance_seconds", minimum: 1)
        {
            hubspot.signatureTolerance = .seconds(seconds)
        }
        if value(members, "won_stages") != nil {
            let stages = strings(value(members, "won_stages"), "\(context).won_stages")
            if stages.isEmpty { problem(value(members, "won_stages"), "\(context).won_stages must name at least one stage id") }
            hubspot.wonStages = stages
        }
        if let code = string(value(members, "currency"), "\(context).currency") {
            if let currency = CurrencyCode(rawValue: code) {
                hubspot.currency = currency
            } else {
                problem(value(members, "currency"), "\(context).currency must be an ISO 4217 code such as EUR")
            }
        }
        if let property = string(value(members, "sku_property"), "\(context).sku_property") { hubspot.skuProperty = property }
        hubspot.taxIDProperty = string(value(members, "tax_id_property"), "\(context).tax_id_property")
        if let requirements = dealRequirements(value(members, "deal_requirements"), "\(context).deal_requirements") {
            hubspot.requirements = requirements
        }
        if value(members, "rate_limit") != nil { hubspot.rateLimit = rateLimit(members, context: context) }
        if let seconds = number(value(members, "timeout_seconds"), "\(context).timeout_seconds", minimum: 0.1) {
            hubspot.timeout = .milliseconds(Int64(seconds * 1000))
        }
        if let node = value(members, "status_properties") {
            let parts = mapping(
                node, "\(context).status_properties", allowed: ["order_ref", "order_state", "invoice_status", "payment_standing"])
            var properties: [String: String] = [:]
            for part in ["order_ref", "order_state", "invoice_status", "payment_standing"] {
                // A part left out, or set to null, is not written.
                guard let node = value(parts, part), node.null == nil else { continue }
                if let name = string(node, "\(context).status_properties.\(part)"), !name.isEmpty {
                    properties[part] = name
                }
            }
            hubspot.statusProperties = properties
        }
        if let node = value(members, "accounts") {
            let parts = mapping(
                node, "\(context).accounts",
                allowed: [
                    "segment_property", "owner_property", "payment_terms_property", "segment_values", "payment_terms_values",
                ])
            var accounts = HubSpotAccountProperties()
            // A property left out keeps its default; null is not synced (as Salesforce's `accounts`).
            func property(_ key: String) -> String?? {
                guard let part = value(parts, key) else { return .none }
                if part.null != nil { return .some(nil) }
                return .some(string(part, "\(context).accounts.\(key)"))
            }
            if let segment = property("segment_property") { accounts.segment = segment }
            if let owner = property("owner_property") { accounts.owner = owner }
            if let terms = property("payment_terms_property") { accounts.paymentTerms = terms }
            accounts.segmentValues = valueMap(
                parts, "segment_values", of: "segment_property", named: accounts.segment, "\(context).accounts")
            accounts.paymentTermsValues = valueMap(
                parts, "payment_terms_values", of: "payment_terms_property", named: accounts.paymentTerms, "\(context).accounts")
            hubspot.accounts = accounts
        }
        readCatchUp(members, context: context, interval: &hubspot.catchUpInterval, overlap: &hubspot.catchUpOverlap)
        if hubspot.catchUpInterval == nil {
            problem(
                value(members, "catch_up") ?? node,
                "\(context).catch_up cannot be turned off: HubSpot webhooks only name records, and deals reach Weft by "
                    + "this read (set interval_seconds instead)")
            hubspot.catchUpInterval = .seconds(60)
        }
        return hubspot
    }

    /// `segment_values: { COMPUTER_SOFTWARE: Information and communication }`: the values a CRM field shows (keys) and
    /// the ERP names they stand for (several may stand for one; the first is written). A key may appear once, ignoring
    /// case; a map for a field that is not synced is refused.
    mutating func valueMap(
        _ parts: [(key: Node, value: Node)], _ key: String, of field: String, named name: String?, _ context: String
    ) -> ValueMap {
        guard let node = value(parts, key), node.null == nil else { return .identity }
        let setting = "\(context).\(key)"
        if name == nil {
            problem(node, "\(setting) has nothing to translate: \(context).\(field) is null (name the field, or remove the map)")
            return .identity
        }
        var map = ValueMap.identity
        for (systemNode, canonicalNode) in mapping(node, setting) {
            guard let system = string(systemNode, "\(setting) (a value of \(name ?? field))"),
                let canonical = string(canonicalNode, "\(setting).\(system) (the ERP's name for it)")
            else { continue }
            do {
                map = try ValueMap(map.pairs + [ValueMap.Pair(system: system, canonical: canonical)])
            } catch {
                let earlier = map.pairs[error.first].system
                problem(systemNode, "\(setting): '\(system)' and '\(earlier)' are the same value (case is ignored); keep one")
            }
        }
        return map
    }

    /// `deal_requirements: [amount, close_date, lines, account, billing_country, contact_email]`.
    mutating func dealRequirements(_ node: Node?, _ context: String) -> DealRequirements? {
        guard let node else { return nil }
        var required: Set<DealRequirements.Requirement> = []
        for name in strings(node, context) {
            if let requirement = DealRequirements.Requirement(rawValue: name) {
                required.insert(requirement)
            } else {
                problem(
                    node,
                    "\(context): \(name) is not a requirement; use "
                        + DealRequirements.Requirement.allCases.map(\.rawValue).joined(separator: ", "))
            }
        }
        return DealRequirements(required: required)
    }

    /// A Salesforce org (docs/connectors/salesforce.md): a source of won opportunities.
    mutating func readSalesforce(_ members: [(key: Node, value: Node)], context: String, node: Node)
        -> SalesforceSystemConfiguration?
    {
        func url(_ key: String) -> String? {
            guard let text = string(value(members, key), "\(context).\(key)") else { return nil }
            guard let parsed = URL(string: text), parsed.scheme == "https" || parsed.scheme == "http", parsed.host != nil else {
                problem(value(members, key), "\(context).\(key) must be a URL such as https://acme.my.salesforce.com")
                return nil
            }
            return text
        }
        let instanceURL = url("instance_url")
        if value(members, "instance_url") == nil {
            problem(node, "\(context).instance_url is required (the org's My Domain URL, e.g. https://acme.my.salesforce.com)")
        }
        let loginURL = url("login_url")
        for key in ["private_key", "private_key_env"] where value(members, key) != nil {
            problem(
                value(members, key),
                "\(context).\(key): the private key is read from a PEM file only; use private_key_file: PATH")
        }
        let consumerKey = string(value(members, "consumer_key"), "\(context).consumer_key")
        let username = string(value(members, "username"), "\(context).username")
        let keyFile = secretFile(value(members, "private_key_file"), "\(context).private_key_file")
        let clientID = string(value(members, "client_id"), "\(context).client_id")
        let clientSecret = secret(members, "client_secret", context, required: false, at: node)
        let jwt = consumerKey != nil || username != nil || keyFile != nil
        let credentials = clientID != nil || clientSecret != nil
        var authentication: SalesforceSystemConfiguration.Authentication?
        if jwt && credentials {
            problem(
                node,
                "\(context): give either consumer_key, username and private_key_file (JWT bearer) or client_id and "
                    + "client_secret_env/_file (client credentials), not both")
        } else if jwt {
            if let consumerKey, let username, let keyFile {
                authentication = .jwtBearer(consumerKey: consumerKey, username: username, privateKey: .file(keyFile))
            } else {
                problem(node, "\(context): the JWT bearer flow needs consumer_key, username and private_key_file")
            }
        } else if credentials {
            if let clientID, let clientSecret {
                authentication = .clientCredentials(clientID: clientID, clientSecret: clientSecret)
            } else {
                problem(node, "\(context): the client credentials flow needs client_id and client_secret_env (or client_secret_file)")
            }
        } else {
            problem(
                node,
                "\(context): set consumer_key, username and private_key_file (JWT bearer, preferred) or client_id and "
                    + "client_secret_env (client credentials)")
        }
        var apiVersion = "62.0"
        if let version = string(value(members, "api_version"), "\(context).api_version") {
            let bare = version.hasPrefix("v") ? String(version.dropFirst()) : version
            let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }), (Int(parts[0]) ?? 0) >= 46 {
                apiVersion = bare
            } else {
                problem(value(members, "api_version"), "\(context).api_version must be a REST API version such as 62.0 (46.0 or later)")
            }
        }
        var organizationID: String?
        if let id = string(value(members, "organization_id"), "\(context).organization_id") {
            let alphanumeric = id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
            if (id.count == 15 || id.count == 18) && alphanumeric && id.hasPrefix("00D") {
                organizationID = id
            } else {
                problem(
                    value(members, "organization_id"),
                    "\(context).organization_id must be the org id, 15 or 18 characters starting with 00D (Setup → Company Information)")
            }
        }
        var currency = CurrencyCode(rawValue: "USD")!
        if let code = string(value(members, "currency"), "\(context).currency") {
            if let parsed = CurrencyCode(rawValue: code) {
                currency = parsed
            } else {
                problem(value(members, "currency"), "\(context).currency must be an ISO 4217 code such as EUR")
            }
        }
        let vatField = string(value(members, "vat_field"), "\(context).vat_field")
        if let vatField, !Self.isAPIName(vatField) {
            problem(value(members, "vat_field"), "\(context).vat_field must be an Account field API name such as VAT_Number__c")
        }
        let requirements = dealRequirements(value(members, "deal_requirements"), "\(context).deal_requirements")
        guard let instanceURL, let authentication else { return nil }
        var salesforce = SalesforceSystemConfiguration(
            instanceURL: instanceURL, authentication: authentication, organizationID: organizationID, currency: currency,
            vatField: vatField)
        if let loginURL { salesforce.loginURL = loginURL }
        salesforce.apiVersion = apiVersion
        if let requirements { salesforce.requirements = requirements }
        if let picklists = bool(value(members, "state_country_picklists"), "\(context).state_country_picklists") {
            salesforce.stateCountryPicklists = picklists
        }
        if value(members, "rate_limit") != nil { salesforce.rateLimit = rateLimit(members, context: context) }
        if let seconds = number(value(members, "timeout_seconds"), "\(context).timeout_seconds", minimum: 0.1) {
            salesforce.timeout = .milliseconds(Int64(seconds * 1000))
        }
        if let node = value(members, "status_fields") {
            // A part left out, or set to null, is not written.
            let parts = mapping(
                node, "\(context).status_fields", allowed: ["order_ref", "order_state", "invoice_status", "payment_standing"])
            var fields: [String: String] = [:]
            for part in ["order_ref", "order_state", "invoice_status", "payment_standing"] {
                guard let field = value(parts, part), field.null == nil,
                    let name = string(field, "\(context).status_fields.\(part)")
                else { continue }
                if Self.isAPIName(name) {
                    fields[part] = name
                } else {
                    problem(field, "\(context).status_fields.\(part) must be an Opportunity field API name such as Invoice_Status__c")
                }
            }
            salesforce.statusFields = fields
        }
        if let node = value(members, "accounts") {
            let parts = mapping(
                node, "\(context).accounts",
                allowed: ["segment_field", "owner_email_field", "payment_terms_field", "segment_values", "payment_terms_values"])
            var accounts = SalesforceAccountFields()
            // A field left out keeps its default; null (or an empty name) is not synced.
            func field(_ key: String) -> String?? {
                guard let part = value(parts, key) else { return .none }
                if part.null != nil { return .some(nil) }
                let name = string(part, "\(context).accounts.\(key)")
                return .some(name?.isEmpty == false ? name : nil)
            }
            if let segment = field("segment_field") { accounts.segment = segment }
            if let owner = field("owner_email_field") { accounts.ownerEmail = owner }
            if let terms = field("payment_terms_field") { accounts.paymentTerms = terms }
            accounts.segmentValues = valueMap(
                parts, "segment_values", of: "segment_field", named: accounts.segment, "\(context).accounts")
            accounts.paymentTermsValues = valueMap(
                parts, "payment_terms_values", of: "payment_terms_field", named: accounts.paymentTerms, "\(context).accounts")
            salesforce.accounts = accounts
        }
        readCatchUp(members, context: context, interval: &salesforce.catchUpInterval, overlap: &salesforce.catchUpOverlap)
        if salesforce.catchUpInterval == nil {
            problem(
                value(members, "catch_up") ?? node,
                "\(context).catch_up cannot be turned off: Outbound Messages only name records, and opportunities reach "
                    + "Weft by this read (set interval_seconds instead)")
            salesforce.catchUpInterval = .seconds(60)
        }
        return salesforce
    }

    /// A Salesforce API name: letters, digits and underscores, starting with a letter.
    static func isAPIName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    mutating func readFlows(_ node: Node, systems: [SystemName: SystemConfiguration]) -> [Flow] {
        var flows: [Flow] = []
        for (key, value) in mapping(node, "flows") {
            guard let name = key.string else { continue }
            let members = mapping(value, "flows.\(name)", allowed: ["from", "to"])
            guard let from = string(self.value(members, "from"), "flows.\(name).from", required: true),
                let to = string(self.value(members, "to"), "flows.\(name).to", required: true)
            else {
                problem(value, "flows.\(name) needs from and to")
                continue
            }
            switch systems[SystemName(from)] {
            case .stripe, .chargebee, .hubspot, .salesforce: break
            case .odoo:
                // Odoo is a source of one thing: the status of orders made from CRM deals, for that CRM.
                switch systems[SystemName(to)] {
                case .hubspot?, .salesforce?: break
                default:
                    problem(
                        self.value(members, "from"),
                        "flows.\(name).from: \(from) is an odoo system; Odoo is a target only, except for the order and "
                            + "invoice status of won deals, which flows to a hubspot or salesforce system")
                }
            case .desk(let desk):
                problem(
                    self.value(members, "from"),
                    "flows.\(name).from: \(from) is a \(desk.kind.rawValue) system; support desks receive entitlements (a flow from a billing system to it)"
                )
            case nil: problem(self.value(members, "from"), "flows.\(name).from names no system '\(from)'")
            }
            switch systems[SystemName(to)] {
            case .odoo: break
            case .desk(let desk):
                switch systems[SystemName(from)] {
                case .hubspot?, .salesforce?:
                    problem(
                        self.value(members, "to"),
                        "flows.\(name).to: \(to) is a \(desk.kind.rawValue) system; a support desk receives the entitlements of "
                            + "a billing system's customers (flow from: <stripe or chargebee>), and \(from) sends it nothing")
                default: break
                }
            case .stripe: problem(self.value(members, "to"), "flows.\(name).to: \(to) is a stripe system; Stripe is a source only")
            case .chargebee:
                problem(self.value(members, "to"), "flows.\(name).to: \(to) is a chargebee system; Chargebee is a source only")
            case .hubspot:
                if case .odoo? = systems[SystemName(from)] { break }
                problem(
                    self.value(members, "to"),
                    "flows.\(name).to: \(to) is a hubspot system; it receives the status of its won deals' orders from an "
                        + "odoo system (flow from: <odoo>), nothing else")
            case .salesforce:
                if case .odoo? = systems[SystemName(from)] { break }
                problem(
                    self.value(members, "to"),
                    "flows.\(name).to: \(to) is a salesforce system; it receives the status of its won opportunities' orders "
                        + "from an odoo system (flow from: <odoo>), nothing else")
            case nil: problem(self.value(members, "to"), "flows.\(name).to names no system '\(to)'")
            }
            flows.append(Flow(name: name, source: SystemName(from), target: SystemName(to)))
        }
        return flows
    }

    /// `ownership: { odoo: [customer.address, customer.taxID], stripe: [subscription.status] }`.
    mutating func readOwnership(_ node: Node, systems: [SystemName: SystemConfiguration]) -> OwnershipRules {
        var owners: [String: SystemName] = [:]
        var lines: [String: Int] = [:]
        for (key, value) in mapping(node, "ownership") {
            guard let system = key.string else { continue }
            if systems[SystemName(system)] == nil { problem(key, "ownership.\(system) names no configured system") }
            guard case .sequence(let fields) = value else {
                problem(value, "ownership.\(system) must be a list of fields such as customer.address")
                continue
            }
            for fieldNode in fields {
                guard let path = fieldNode.string else {
                    problem(fieldNode, "ownership.\(system): each entry must be kind.field")
                    continue
                }
                let parts = path.split(separator: ".", maxSplits: 1).map(String.init)
                guard parts.count == 2, let kind = EntityKind(rawValue: parts[0]) else {
                    problem(
                        fieldNode,
                        "ownership.\(system): '\(path)' is not kind.field (kinds: \(EntityKind.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                    continue
                }
                guard ConfigurationLoader.ownableFields[kind]?.contains(parts[1]) == true else {
                    let known = (ConfigurationLoader.ownableFields[kind] ?? []).sorted().joined(separator: ", ")
                    problem(fieldNode, "ownership.\(system): \(kind.rawValue) has no field '\(parts[1])' (fields: \(known))")
                    continue
                }
                if let existing = owners[path], existing.rawValue != system {
                    problem(
                        fieldNode,
                        "\(path) has two owners: \(existing) (line \(lines[path] ?? 0)) and \(system); a field has exactly one system of record"
                    )
                    continue
                }
                owners[path] = SystemName(system)
                lines[path] = fieldNode.mark?.line ?? 0
            }
        }
        // `kind.*` and `kind.field` owned by different systems is two owners as well.
        for (path, owner) in owners where path.hasSuffix(".*") {
            let kind = path.dropLast(2)
            for (other, otherOwner) in owners where other.hasPrefix("\(kind).") && other != path && otherOwner != owner {
                problems.append(
                    ConfigurationProblem(
                        line: lines[other] ?? 1, message: "\(other) has two owners: \(owner) (via \(path)) and \(otherOwner)"))
            }
        }
        return OwnershipRules(owners: owners)
    }

    /// A flow may carry a field only if its source owns it, its target owns it (then Weft writes it on create only),
    /// or nobody claims it.
    mutating func checkFlowsAgainstOwnership(_ configuration: WeftConfiguration, root: Node) {
        // A desk is sent entitlements only, never the owned record fields, so no ownership rule concerns its flows.
        for flow in configuration.flows {
            if case .desk = configuration.systems[flow.target] { continue }
            let carried = Self.kindsCarried(from: configuration.systems[flow.source])
            for (path, owner) in configuration.ownership.owners.sorted(by: { $0.key < $1.key })
            where owner != flow.source && owner != flow.target
                && carried.contains(where: { path.hasPrefix("\($0.rawValue).") })
            {
                problem(
                    root,
                    "flows.\(flow.name) writes \(path) from \(flow.source) to \(flow.target), but \(owner) owns it; give it to \(flow.source) or \(flow.target), or remove the rule"
                )
            }
        }
    }

    /// The kinds of record a flow from a system of this type carries: billing records from a billing platform, deals,
    /// accounts and contacts from a CRM or from Odoo (to a CRM).
    static func kindsCarried(from system: SystemConfiguration?) -> [EntityKind] {
        switch system {
        case .stripe, .chargebee: [.customer, .product, .price, .subscription, .invoice, .payment, .refund]
        case .hubspot, .salesforce, .odoo: [.deal, .account, .contact]
        case .desk, nil: []
        }
    }

    /// Accounts synced both ways (a CRM system with `accounts`, flows to and from an Odoo system): every account and
    /// contact field needs exactly one owner, or both sides would write it.
    mutating func checkTwoWayAccounts(_ configuration: WeftConfiguration, root: Node) {
        for flow in configuration.flows.sorted(by: { $0.name < $1.name }) {
            guard configuration.systems[flow.source]?.syncsAccounts == true, case .odoo? = configuration.systems[flow.target],
                configuration.flows.contains(where: { $0.source == flow.target && $0.target == flow.source })
            else { continue }
            var missing: [String] = []
            for (kind, fields) in [(EntityKind.account, Account.dataFields), (.contact, Contact.dataFields)] {
                for field in fields where configuration.ownership.owner(of: kind, field: field) == nil {
                    missing.append("\(kind.rawValue).\(field)")
                }
            }
            if !missing.isEmpty {
                problem(
                    root,
                    "accounts of \(flow.source) flow both ways with \(flow.target), but no system owns \(missing.joined(separator: ", ")); "
                        + "name an owner for each under ownership (e.g. \(flow.source): [account.name, contact.*], "
                        + "\(flow.target): [account.address, account.taxID])")
            }
        }
    }

    mutating func readDelivery(_ node: Node) -> DeliveryConfiguration {
        var delivery = DeliveryConfiguration()
        let members = mapping(
            node, "delivery", allowed: ["retry", "breaker", "concurrency", "lease_seconds", "nice", "ingest_yield_ms"])
        if let retry = value(members, "retry") {
            let retryMembers = mapping(
                retry, "delivery.retry", allowed: ["initial_ms", "multiplier", "max_delay_ms", "max_attempts", "jitter"])
            if let value = integer(value(retryMembers, "initial_ms"), "delivery.retry.initial_ms", minimum: 1) {
                delivery.retry.initialDelay = .milliseconds(value)
            }
            if let value = number(value(retryMembers, "multiplier"), "delivery.retry.multiplier", minimum: 1) {
                delivery.retry.multiplier = value
            }
            if let value = integer(value(retryMembers, "max_delay_ms"), "delivery.retry.max_delay_ms", minimum: 1) {
                delivery.retry.maxDelay = .milliseconds(value)
            }
            if let value = integer(value(retryMembers, "max_attempts"), "delivery.retry.max_attempts", minimum: 1) {
                delivery.retry.maxAttempts = value
            }
            if let jitterNode = value(retryMembers, "jitter"), let value = number(jitterNode, "delivery.retry.jitter", minimum: 0) {
                if value > 1 { problem(jitterNode, "delivery.retry.jitter must be between 0 and 1") }
                delivery.retry.jitter = min(value, 1)
            }
        }
        if let breaker = value(members, "breaker") {
            let breakerMembers = mapping(breaker, "delivery.breaker", allowed: ["failure_threshold", "open_seconds"])
            if let value = integer(value(breakerMembers, "failure_threshold"), "delivery.breaker.failure_threshold", minimum: 1) {
                delivery.breakerFailureThreshold = value
            }
            if let value = number(value(breakerMembers, "open_seconds"), "delivery.breaker.open_seconds", minimum: 0.01) {
                delivery.breakerOpenFor = .milliseconds(Int64(value * 1000))
            }
        }
        if let value = integer(value(members, "concurrency"), "delivery.concurrency", minimum: 1) { delivery.concurrency = value }
        if let nice = nice(value(members, "nice"), "delivery.nice", of: "the delivery loops'") { delivery.nice = nice }
        if let window = ingestYield(value(members, "ingest_yield_ms"), "delivery.ingest_yield_ms") { delivery.ingestYield = window }
        if let value = number(value(members, "lease_seconds"), "delivery.lease_seconds", minimum: 1) {
            delivery.lease = .milliseconds(Int64(value * 1000))
        }
        return delivery
    }

    /// How long helpers stand back after a webhook (0–1000 ms; 0 turns it off), checked at its line.
    mutating func ingestYield(_ node: Node?, _ name: String) -> Duration? {
        guard let node, let value = integer(node, name, minimum: 0) else { return nil }
        // A longer window would keep the helpers waiting under a trickle of webhooks, not just during a burst.
        guard value <= 1_000 else {
            problem(node, "\(name) must be at most 1000 (0 turns it off)")
            return nil
        }
        return .milliseconds(Int64(value))
    }

    /// A nice value to add to some threads' (0–19), checked at its line.
    mutating func nice(_ node: Node?, _ name: String, of threads: String) -> Int32? {
        guard let nice = integer(node, name, minimum: 0) else { return nil }
        guard nice <= 19 else {
            problem(node, "\(name) must be a whole number from 0 to 19 (added to \(threads) nice value)")
            return nil
        }
        return Int32(nice)
    }
    mutating func readPipeline(_ node: Node) -> PipelineConfiguration {
        var pipeline = PipelineConfiguration()
        let members = mapping(
            node, "pipeline",
            allowed: [
                "workers", "batch_size", "events_per_entity", "lease_seconds", "recheck_interval_seconds", "nice", "ingest_yield_ms",
                "cache_records",
            ])
        if let value = integer(value(members, "workers"), "pipeline.workers", minimum: 1) { pipeline.workers = value }
        if let value = integer(value(members, "batch_size"), "pipeline.batch_size", minimum: 1) { pipeline.batchSize = value }
        if let value = integer(value(members, "events_per_entity"), "pipeline.events_per_entity", minimum: 1) {
            pipeline.eventsPerEntity = value
        }
        if let nice = nice(value(members, "nice"), "pipeline.nice", of: "the workers'") { pipeline.nice = nice }
        if let value = integer(value(members, "cache_records"), "pipeline.cache_records", minimum: 0) { pipeline.cacheRecords = value }
        if let window = ingestYield(value(members, "ingest_yield_ms"), "pipeline.ingest_yield_ms") { pipeline.ingestYield = window }
        if let value = number(value(members, "lease_seconds"), "pipeline.lease_seconds", minimum: 1) {
            pipeline.lease = .milliseconds(Int64(value * 1000))
        }
        if let value = number(value(members, "recheck_interval_seconds"), "pipeline.recheck_interval_seconds", minimum: 0.1) {
            pipeline.recheckInterval = .milliseconds(Int64(value * 1000))
        }
        return pipeline
    }

    mutating func readEntitlements(_ node: Node) -> EntitlementRules {
        var rules = EntitlementRules()
        let members = mapping(
            node, "entitlements",
            allowed: [
                "tiers", "default_tier", "default_support_level", "past_due_support_level", "no_subscription_support_level",
                "grace_days", "stale_after_seconds",
            ])
        if let tiers = value(members, "tiers") {
            guard case .sequence(let items) = tiers else {
                problem(tiers, "entitlements.tiers must be a list of { name, rank, products, prices, support_level }")
                return rules
            }
            for item in items {
                let tierMembers = mapping(
                    item, "entitlements.tiers[]", allowed: ["name", "rank", "products", "prices", "support_level"])
                guard let name = string(value(tierMembers, "name"), "entitlements.tiers[].name", required: true) else { continue }
                let context = "entitlements.tiers.\(name)"
                let rank = integer(value(tierMembers, "rank"), "\(context).rank", minimum: 0) ?? 0
                let products = strings(value(tierMembers, "products"), "\(context).products")
                let prices = strings(value(tierMembers, "prices"), "\(context).prices")
                let level = string(value(tierMembers, "support_level"), "\(context).support_level")
                rules.tiers.append(
                    EntitlementRules.Tier(name: name, rank: rank, products: products, prices: prices, supportLevel: level))
            }
        }
        if let value = string(value(members, "default_tier"), "entitlements.default_tier") { rules.defaultTier = value }
        if let value = string(value(members, "default_support_level"), "entitlements.default_support_level") {
            rules.defaultSupportLevel = value
        }
        if let value = string(value(members, "past_due_support_level"), "entitlements.past_due_support_level") {
            rules.pastDueSupportLevel = value
        }
        if let value = string(value(members, "no_subscription_support_level"), "entitlements.no_subscription_support_level") {
            rules.noSubscriptionSupportLevel = value
        }
        if let value = integer(value(members, "grace_days"), "entitlements.grace_days", minimum: 0) { rules.graceDays = value }
        if let value = integer(value(members, "stale_after_seconds"), "entitlements.stale_after_seconds", minimum: 1) {
            rules.staleAfterSeconds = value
        }
        for message in rules.problems() { problem(node, "entitlements: \(message)") }
        return rules
    }

    /// A list of non-empty strings (plan ids).
    mutating func strings(_ node: Node?, _ context: String) -> Set<String> {
        guard let node else { return [] }
        guard case .sequence(let items) = node else {
            problem(node, "\(context) must be a list of ids")
            return []
        }
        return Set(items.compactMap { string($0, "\(context)[]") })
    }
}
