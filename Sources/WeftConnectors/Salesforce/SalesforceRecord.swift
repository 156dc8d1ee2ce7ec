package import WeftCore

/// One sObject as the REST API returns it: its type (`attributes.type`), its `Id` and the other fields as JSON
/// (relationship fields stay nested objects; `null` is an empty field).
package struct SalesforceRecord: Sendable, Hashable {
    /// The sObject type, e.g. `Opportunity`.
    package var type: String
    /// The 18-character record id, when the record carries one.
    package var id: String?
    /// Every field but `attributes` and `Id`.
    package var fields: [String: JSONValue]

    package init(type: String, id: String? = nil, fields: [String: JSONValue] = [:]) {
        self.type = type
        self.id = id
        self.fields = fields
    }

    /// A field's value, `nil` when absent.
    package subscript(field: String) -> JSONValue? { fields[field] }

    /// A field's value as text (strings as they are, numbers and booleans printed), `nil` when absent or null.
    package func string(_ field: String) -> String? {
        switch fields[field] {
        case .string(let text)?: text
        case .int(let number)?: String(number)
        case .double(let number)?: String(number)
        case .bool(let flag)?: flag ? "true" : "false"
        default: nil
        }
    }

    /// Parses `{"attributes":{"type","url"},"Id",…}`; `fallbackType` when the record has no `attributes`.
    package init?(json: JSONValue, fallbackType: String? = nil) {
        guard var object = json.objectValue else { return nil }
        let attributes = object.removeValue(forKey: "attributes")
        guard let type = attributes?["type"]?.stringValue ?? fallbackType else { return nil }
        let id = object.removeValue(forKey: "Id")?.stringValue
        self.init(type: type, id: id, fields: object)
    }
}

/// One field-level error in a save result (`{"statusCode","message","fields"}`).
package struct SalesforceRecordError: Sendable, Hashable, CustomStringConvertible {
    /// `REQUIRED_FIELD_MISSING`, `DUPLICATE_VALUE`, `FIELD_CUSTOM_VALIDATION_EXCEPTION`, `UNABLE_TO_LOCK_ROW`…
    package var statusCode: String
    package var message: String
    package var fields: [String]

    package init(statusCode: String, message: String, fields: [String] = []) {
        self.statusCode = statusCode
        self.message = message
        self.fields = fields
    }

    package var description: String {
        fields.isEmpty ? "\(statusCode): \(message)" : "\(statusCode) on \(fields.joined(separator: ", ")): \(message)"
    }
}

/// What a create, update or upsert did to one record: `{"id","success","errors","created"}`.
package struct SalesforceSaveResult: Sendable, Hashable {
    /// The record id (absent when the save failed before an id existed).
    package var id: String?
    package var success: Bool
    /// Upserts (API 46.0+): `true` when the record was inserted, `false` when updated; `nil` for plain creates and
    /// updates.
    package var created: Bool?
    package var errors: [SalesforceRecordError]

    package init(id: String?, success: Bool, created: Bool? = nil, errors: [SalesforceRecordError] = []) {
        self.id = id
        self.success = success
        self.created = created
        self.errors = errors
    }

    package init(json: JSONValue) {
        self.init(
            id: json["id"]?.stringValue, success: json["success"]?.boolValue ?? false, created: json["created"]?.boolValue,
            errors: (json["errors"]?.arrayValue ?? []).map { error in
                SalesforceRecordError(
                    statusCode: error["statusCode"]?.stringValue ?? error["errorCode"]?.stringValue ?? "UNKNOWN",
                    message: error["message"]?.stringValue ?? "",
                    fields: (error["fields"]?.arrayValue ?? []).compactMap(\.stringValue))
            })
    }

    /// For a failed record: retry when every error is transient (`UNABLE_TO_LOCK_ROW`, `SERVER_UNAVAILABLE`,
    /// `REQUEST_LIMIT_EXCEEDED`), reject otherwise with a message naming the fields; `nil` for a success.
    package var failure: SalesforceAPIError? {
        guard !success else { return nil }
        let codes = errors.map(\.statusCode)
        let fields = Array(Set(errors.flatMap(\.fields))).sorted()
        if !codes.isEmpty && codes.allSatisfy(SalesforceErrorCode.transient.contains) {
            return SalesforceAPIError(
                kind: codes.contains("REQUEST_LIMIT_EXCEEDED") ? .rateLimited : .unavailable,
                message: "Salesforce could not save the record now: \(errors.map(\.description).joined(separator: "; "))",
                codes: codes, fields: fields)
        }
        return SalesforceAPIError(
            kind: .invalid, message: SalesforceErrorCode.rejection(prefix: "Salesforce refused the record", errors),
            codes: codes, fields: fields)
    }
}

/// The answer to a single-record upsert.
package struct SalesforceUpsertResult: Sendable, Hashable {
    package var id: String?
    /// `true` when the record was inserted (201), `false` when an existing one was updated (200, or 204 before API
    /// 46.0, which also gives no id).
    package var created: Bool
}

/// Salesforce error codes the client treats specially.
enum SalesforceErrorCode {
    /// Codes a later retry can get past.
    static let transient: Set<String> = ["UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"]

    /// What an operator should do about a code.
    static func advice(_ code: String) -> String? {
        switch code {
        case "INVALID_FIELD", "INVALID_FIELD_FOR_INSERT_UPDATE", "NO_SUCH_COLUMN":
            "create the field in Salesforce (Setup → Object Manager), grant the integration user field-level access, "
                + "or correct the field mapping"
        case "REQUIRED_FIELD_MISSING": "send a value for the required field, or make it optional in Salesforce"
        case "DUPLICATE_VALUE":
            "another record already holds this unique value: merge the duplicates or correct the key"
        case "DUPLICATES_DETECTED": "a Salesforce duplicate rule blocked the save: merge the duplicates or relax the rule"
        case "FIELD_CUSTOM_VALIDATION_EXCEPTION": "a Salesforce validation rule refused the values: fix the data or the rule"
        case "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "INVALID_FIELD_VALUE":
            "use a value the picklist allows, or add it to the picklist (an account's segment or payment terms named "
                + "differently in the ERP are translated by accounts.segment_values or payment_terms_values)"
        case "STRING_TOO_LONG": "shorten the value or lengthen the field"
        case "INVALID_TYPE", "INVALID_TYPE_FOR_OPERATION": "check the object API name and the user's object permissions"
        case "MALFORMED_ID", "INVALID_CROSS_REFERENCE_KEY": "check the referenced record id (it may not exist yet)"
        case "MALFORMED_QUERY", "INVALID_QUERY_FILTER_OPERATOR": "fix the SOQL statement"
        case "ENTITY_IS_DELETED": "the record was deleted in Salesforce: restore it or drop the change"
        case "INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY", "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY":
            "grant the integration user access to the object and record (profile, permission set, sharing)"
        case "API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED":
            "enable API access for the org and give the integration user the API Enabled permission"
        default: nil
        }
    }

    /// `prefix: CODE on Field__c: message (advice); …` for a list of record errors.
    static func rejection(prefix: String, _ errors: [SalesforceRecordError]) -> String {
        guard !errors.isEmpty else { return prefix }
        return prefix + ": "
            + errors.map { error in
                error.description + (advice(error.statusCode).map { " — \($0)" } ?? "")
            }.joined(separator: "; ")
    }
}
