public import AsyncHTTPClient
public import Logging
public import WeftCore

/// Shows Weft's entitlements on Zendesk Support organizations (`syncEntitlement` commands only), and makes the billing
/// customer's email an end user of the organization.
///
/// The organization is keyed by its native `external_id` (the account's `xmlidName`), written by the same call that
/// creates it, so a crash between "created" and "recorded" never yields a second organization: the next delivery
/// finds it by external id. See `docs/connectors/zendesk.md`.
public struct ZendeskTarget: TargetConnector, DeskFieldChecking {
    public static let fieldsPlace = "Admin Center > People > Configuration > Organization fields"

    /// The account and field mapping.
    public let configuration: ZendeskConfiguration
    let client: ZendeskClient

    /// Most commands per `deliver` call.
    public var maxBatchSize: Int { configuration.maxBatchSize }

    /// - Parameters:
    ///   - configuration: the Zendesk account and the field mapping.
    ///   - client: the shared HTTP client.
    ///   - gate: the target's request gate (rate limit at the wire).
    public init(configuration: ZendeskConfiguration, client: HTTPClient, gate: any RequestGate) {
        self.configuration = configuration
        self.client = ZendeskClient(http: OutboundHTTPClient(client: client, gate: gate), configuration: configuration)
    }

    public func deliver(_ batch: [OutboxCommand], logger: Logger) async -> [DeliveryOutcome] {
        var outcomes: [DeliveryOutcome] = []
        outcomes.reserveCapacity(batch.count)
        for command in batch {
            var commandLogger = logger
            commandLogger[metadataKey: "weft.command.id"] = "\(command.id)"
            commandLogger[metadataKey: "weft.command.kind"] = "\(command.payload.kind)"
            guard case .syncEntitlement(let entitlement) = command.payload else {
                outcomes.append(
                    .reject(DeliveryFailure(kind: .rejected, message: "Zendesk takes entitlement commands only")))
                continue
            }
            do {
                outcomes.append(try await sync(entitlement, logger: commandLogger))
            } catch {
                outcomes.append(Self.outcome(for: error, logger: commandLogger))
            }
        }
        return outcomes
    }

    /// The configured field keys that Zendesk does not define as active organization fields, so the server can refuse
    /// to start with "create field X in Admin Center > People > Configuration > Organization fields".
    public func missingFields(logger: Logger) async throws -> [String] {
        try await fieldProblems(rules: EntitlementRules(), system: "", logger: logger).missing
    }

    /// The configured field keys Zendesk lacks (as `missingFields`), and what keeps its dropdown fields among them from
    /// showing what Weft writes under `rules` (`DeskFieldMap.choiceProblems`; a dropdown's option `value`s, its tags,
    /// are what Zendesk takes). One listing of the organization fields.
    public func fieldProblems(rules: EntitlementRules, system: String, logger: Logger) async throws -> (
        missing: [String], choices: [String]
    ) {
        var defined: Set<String> = []
        var choices: [String: [String]] = [:]
        var page = 1
        while true {
            let answer = try await client.get(
                "/api/v2/organization_fields.json", query: [("page", String(page)), ("per_page", "100")], logger: logger)
            for field in answer["organization_fields"]?.arrayValue ?? [] where field["active"]?.boolValue ?? true {
                guard let key = field["key"]?.stringValue else { continue }
                defined.insert(key)
                if ["dropdown", "multiselect"].contains(field["type"]?.stringValue ?? "") {
                    choices[key] = (field["custom_field_options"]?.arrayValue ?? []).compactMap { $0["value"]?.stringValue }
                }
            }
            guard let next = answer["next_page"], !next.isNull, page < 100 else { break }
            page += 1
        }
        let fields = configuration.fields
        return (fields.fieldNames.filter { !defined.contains($0) }, fields.choiceProblems(choices: choices, rules: rules, system: system))
    }

    /// Transient failures retry (with Zendesk's `Retry-After` when given); the rest reject with what to fix.
    static func outcome(for error: ZendeskAPIError, logger: Logger) -> DeliveryOutcome {
        logger.info("zendesk delivery failed", metadata: ["weft.zendesk.error": "\(error)"])
        switch error.kind {
        case .rateLimited:
            return .retry(
                DeliveryFailure(kind: .rateLimited, message: error.message, status: error.status, retryAfter: error.retryAfter))
        case .transport, .cancelled:
            return .retry(DeliveryFailure(kind: .transport, message: error.message, status: error.status))
        case .unavailable, .invalidResponse, .notFound:
            return .retry(
                DeliveryFailure(kind: .unavailable, message: error.message, status: error.status, retryAfter: error.retryAfter))
        case .unauthorized:
            // Not retried: a refused token or email does not heal within the retry window, and hammering Zendesk with
            // failing logins helps nobody. The message says what to fix; replay once the credentials are right.
            return .reject(
                DeliveryFailure(
                    kind: .unauthorized,
                    message:
                        "\(error.message): check the agent email and API token (or the OAuth token) of the Zendesk target, then replay",
                    status: error.status))
        case .forbidden:
            return .reject(
                DeliveryFailure(
                    kind: .unauthorized,
                    message:
                        "\(error.message) — the API user must be an admin (or an agent allowed to manage organizations and end users)",
                    status: error.status))
        case .invalid:
            return .reject(
                DeliveryFailure(
                    kind: .rejected, message: "\(error.message) — fix the data or the Zendesk setup, then replay",
                    status: error.status))
        }
    }
}
