public import Logging
import NIOHTTP1
package import WeftCore

/// A field as `describe` shows it: its type, and for a picklist its active values and whether it refuses others.
package struct SalesforceFieldDescription: Sendable, Hashable {
    package var type: String
    package var picklistValues: [String]
    package var restricted: Bool
}

extension SalesforceClient {
    /// `GET /sobjects/{type}/describe`: the object's fields by name (lower case, as Salesforce matches API names).
    package func describeFields(_ type: String, logger: Logger) async throws(SalesforceAPIError)
        -> [String: SalesforceFieldDescription]
    {
        try Self.checkNames([type])
        let answer = try await send(.GET, sobjectsPath(type, "describe"), body: nil, logger: logger)
        var fields: [String: SalesforceFieldDescription] = [:]
        for field in answer.json["fields"]?.arrayValue ?? [] {
            guard let name = field["name"]?.stringValue else { continue }
            let values = (field["picklistValues"]?.arrayValue ?? []).filter { $0["active"]?.boolValue ?? true }
            fields[name.lowercased()] = SalesforceFieldDescription(
                type: field["type"]?.stringValue ?? "", picklistValues: values.compactMap { $0["value"]?.stringValue },
                restricted: field["restrictedPicklist"]?.boolValue ?? false)
        }
        return fields
    }
}

extension SalesforceClient {
    /// Whether the org's addresses are State and Country/Territory Picklists (its Account's describe has
    /// `BillingCountryCode`, which exists only with them) as `configured` says: in such an org the country and state
    /// text fields hold names and refuse the ISO codes Weft keeps, and without them the code fields do not exist. Each
    /// mismatch is a sentence naming the setting.
    package func addressPicklistProblems(system: SystemName, configured: Bool, logger: Logger) async throws -> [String] {
        let hasCodes = try await describeFields("Account", logger: logger)["billingcountrycode"] != nil
        switch (hasCodes, configured) {
        case (true, false):
            return [
                "the org has State and Country/Territory Picklists (its Account has BillingCountryCode): set "
                    + "systems.\(system).state_country_picklists: true, so that Weft reads and writes the state and country as "
                    + "their codes (the text fields take only the names the picklists know)"
            ]
        case (false, true):
            return [
                "systems.\(system).state_country_picklists is true, but the org has no State and Country/Territory Picklists "
                    + "(its Account has no BillingCountryCode): remove the setting, or turn the picklists on in Setup"
            ]
        default:
            return []
        }
    }
}

extension SalesforceAccountReader {
    /// What keeps the account mapping's value maps from working, read from the Account's `describe`: a mapped field
    /// the Account does not have, and map values that are not active values of a restricted picklist (Salesforce would
    /// refuse them when Weft writes them). Values missing from a picklist that takes others are only logged: Salesforce
    /// stores them, but they are most likely misspelt. Each problem is a sentence naming the setting to fix. A field
    /// without a map is not checked.
    public func valueMapProblems(logger: Logger) async throws -> [String] {
        let checks = [
            (mapping.segmentField, mapping.segmentValues, "segment_field", "segment_values"),
            (mapping.paymentTermsField, mapping.paymentTermsValues, "payment_terms_field", "payment_terms_values"),
        ].filter { $0.0 != nil && !$0.1.isEmpty }
        guard !checks.isEmpty else { return [] }
        let fields = try await client.describeFields("Account", logger: logger)
        var problems: [String] = []
        for case (let field?, let map, let fieldSetting, let mapSetting) in checks {
            guard let description = fields[field.lowercased()] else {
                problems.append(
                    "the Account has no field \(field) (systems.\(system).accounts.\(fieldSetting)); create it (Setup ▸ "
                        + "Object Manager ▸ Account ▸ Fields & Relationships) or name another")
                continue
            }
            guard description.type == "picklist", !description.picklistValues.isEmpty else { continue }
            let missing = map.systemValues(notIn: description.picklistValues)
            guard !missing.isEmpty else { continue }
            let text =
                "systems.\(system).accounts.\(mapSetting) names \(ValueMap.describe(missing)), which the Account's "
                + "picklist \(field) has no active value for"
            if description.restricted {
                problems.append(
                    text + "; name its values (Setup ▸ Object Manager ▸ Account ▸ Fields & Relationships ▸ \(field)) or add "
                        + "them to the picklist")
            } else {
                logger.warning(
                    "a value map names values the picklist lacks (Salesforce stores them, as the picklist is not restricted)",
                    metadata: ["weft.system": "\(system)", "problem": "\(text)"])
            }
        }
        return problems
    }
}
