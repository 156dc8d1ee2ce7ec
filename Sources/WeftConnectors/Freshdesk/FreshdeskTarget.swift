public import AsyncHTTPClient
public import Logging
public import WeftCore

/// Delivers `syncEntitlement` to Freshdesk: finds the account's company by the account custom field, else adopts one
/// by domain, else creates it, then writes the mapped company fields; then makes the billing customer's email a
/// contact of that company. See `docs/connectors/freshdesk.md`.
///
/// Freshdesk's search index lags behind writes by up to a few minutes, so a search alone could miss a company Weft
/// has just created. Creating therefore relies on Freshdesk's unique company names and domains: a `409` names the
/// company that holds the name or domain, and when that company carries this account's id (an earlier delivery
/// whose result Weft did not record) it is updated instead, so a redelivery never creates a second company.
public struct FreshdeskTarget: TargetConnector, DeskFieldChecking {
    public static let fieldsPlace = "Admin > Support Operations > Company Fields"

    let configuration: FreshdeskConfiguration
    let client: FreshdeskClient

    public var maxBatchSize: Int { configuration.maxBatchSize }

    /// - Parameters:
    ///   - configuration: the account, key and field map (call `configuration.validate()` first).
    ///   - client: the shared HTTP client.
    ///   - gate: the target's request gate (rate limit at the wire).
    public init(configuration: FreshdeskConfiguration, client: HTTPClient, gate: any RequestGate) {
        self.configuration = configuration
        self.client = FreshdeskClient(configuration: configuration, http: OutboundHTTPClient(client: client, gate: gate))
    }

    public func deliver(_ batch: [OutboxCommand], logger: Logger) async -> [DeliveryOutcome] {
        var outcomes: [DeliveryOutcome] = []
        for command in batch {
            var commandLogger = logger
            commandLogger[metadataKey: "weft.command.id"] = "\(command.id)"
            commandLogger[metadataKey: "weft.command.kind"] = "\(command.payload.kind)"
            guard case .syncEntitlement(let entitlement) = command.payload else {
                outcomes.append(
                    .reject(DeliveryFailure(kind: .rejected, message: "Freshdesk takes entitlement commands only")))
                continue
            }
            do throws(FreshdeskError) {
                outcomes.append(try await sync(entitlement, logger: commandLogger))
            } catch {
                outcomes.append(Self.outcome(for: error, logger: commandLogger))
            }
        }
        return outcomes
    }

    /// The configured company fields Freshdesk does not define (GET /api/v2/company_fields), so the server can refuse
    /// to start with "create field X in Admin > Support Operations > Company Fields".
    public func missingFields(logger: Logger) async throws -> [String] {
        try await fieldProblems(rules: EntitlementRules(), system: "", logger: logger).missing
    }

    /// The configured fields Freshdesk lacks (as `missingFields`), and what keeps its dropdown fields among them from
    /// showing what Weft writes under `rules` (`DeskFieldMap.choiceProblems`: Freshdesk refuses a value that is not one
    /// of a dropdown's choices). One listing of the company fields.
    public func fieldProblems(rules: EntitlementRules, system: String, logger: Logger) async throws -> (
        missing: [String], choices: [String]
    ) {
        let defined = try await client.companyFields(logger: logger)
        let fields = configuration.fields
        return (
            fields.fieldNames.filter { defined[$0] == nil },
            fields.choiceProblems(choices: defined.compactMapValues { $0 }, rules: rules, system: system)
        )
    }

    /// Transient errors retry (with Freshdesk's `Retry-After`); the rest reject with what to fix.
    static func outcome(for error: FreshdeskError, logger: Logger) -> DeliveryOutcome {
        logger.info("freshdesk delivery failed", metadata: ["weft.freshdesk.error": "\(error)"])
        switch error.kind {
        case .rateLimited:
            return .retry(
                DeliveryFailure(
                    kind: .rateLimited, message: "Freshdesk rate limit (\(error.operation))", status: error.status,
                    retryAfter: error.retryAfter))
        case .transport, .cancelled:
            return .retry(DeliveryFailure(kind: .transport, message: error.description, status: error.status))
        case .unavailable, .invalidResponse:
            return .retry(
                DeliveryFailure(
                    kind: .unavailable, message: error.description, status: error.status, retryAfter: error.retryAfter))
        case .notFound:
            // A company found a moment ago was deleted: the next attempt finds or creates it again.
            return .retry(DeliveryFailure(kind: .dependencyMissing, message: error.description, status: error.status))
        case .authentication:
            return .reject(
                DeliveryFailure(
                    kind: .unauthorized,
                    message: "Freshdesk refused the API key: check api_key_env of the Freshdesk target (an agent's key)",
                    status: error.status))
        case .accessDenied:
            let what = error.isAboutContacts ? "contacts" : "companies"
            return .reject(
                DeliveryFailure(
                    kind: .unauthorized,
                    message:
                        "the Freshdesk agent lacks the privilege to manage \(what) (\(error.operation)): give the API key's agent the privilege to create and edit \(what). \(error.message)",
                    status: error.status))
        default:
            let invalidFields = error.errors.filter { $0.code == "invalid_field" }.map(\.field)
            let message: String
            if error.isAboutContacts {
                message =
                    "Freshdesk refused the customer's contact (\(error.operation)): \(error.errors.isEmpty ? error.message : error.fieldSummary) — fix the customer's email or the contact in Freshdesk, then replay"
            } else if !invalidFields.isEmpty {
                message =
                    "Freshdesk has no company field \(invalidFields.map { "'\($0)'" }.joined(separator: ", ")) (\(error.operation)): create it in Admin > Support Operations > Company Fields or fix fields: of the Freshdesk target"
            } else {
                message =
                    "Freshdesk refused the company (\(error.operation)): \(error.errors.isEmpty ? error.message : error.fieldSummary) — fix the company field types or the data, then replay"
            }
            return .reject(DeliveryFailure(kind: .rejected, message: message, status: error.status))
        }
    }
}
