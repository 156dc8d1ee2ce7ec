import WeftSimKit

/// A Salesforce REST error: an HTTP status and one `{"message","errorCode","fields"}` entry. REST answers errors as a
/// JSON array; sObject Collections report the same entry per record as `{"statusCode","message","fields"}`.
struct SalesforceError: Error, Sendable {
    var status: Int
    var code: String
    var message: String
    var fields: [String]?

    init(_ status: Int, _ code: String, _ message: String, fields: [String]? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
    }

    /// The REST body: `[{"message","errorCode","fields"?}]`.
    var body: JSON {
        var entry = JSONObject([("message", .string(message)), ("errorCode", .string(code))])
        if let fields { entry["fields"] = .strings(fields) }
        return .array([.object(entry)])
    }

    /// The entry of a per-record result in sObject Collections: `{"statusCode","message","fields"}`.
    var collectionEntry: JSON {
        .object(JSONObject([("statusCode", .string(code)), ("message", .string(message)), ("fields", .strings(fields ?? []))]))
    }

    static let notFound = SalesforceError(404, "NOT_FOUND", "The requested resource does not exist")
    static let invalidSession = SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")
    static let limitExceeded = SalesforceError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    static let entityDeleted = SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")

    static func externalIDField(_ name: String) -> SalesforceError {
        SalesforceError(404, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: \(name)")
    }

    static func noSuchColumn(_ field: String, type: String) -> SalesforceError {
        SalesforceError(400, "INVALID_FIELD", "No such column '\(field)' on sobject of type \(type)")
    }

    static func readOnly(_ fields: [String]) -> SalesforceError {
        SalesforceError(
            400, "INVALID_FIELD_FOR_INSERT_UPDATE",
            "Unable to create/update fields: \(fields.joined(separator: ", ")). Please check the security settings of this "
                + "field and verify that it is read/write for your profile or permission set.", fields: fields)
    }

    static func required(_ fields: [String]) -> SalesforceError {
        SalesforceError(
            400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [\(fields.joined(separator: ", "))]", fields: fields)
    }

    static func jsonParser(_ message: String) -> SalesforceError {
        SalesforceError(400, "JSON_PARSER_ERROR", message)
    }

    static func methodNotAllowed(_ method: String, allowed: String) -> SalesforceError {
        SalesforceError(405, "METHOD_NOT_ALLOWED", "HTTP Method '\(method)' not allowed. Allowed are \(allowed)")
    }
}
