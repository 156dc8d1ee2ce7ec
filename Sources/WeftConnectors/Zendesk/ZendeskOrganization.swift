import WeftCore

/// The members of a Zendesk organization the connector reads.
struct ZendeskOrganization: Sendable, Hashable {
    var id: Int64
    var name: String
    var externalID: String?
    var domainNames: [String]
    var tags: [String]
    var fields: [String: JSONValue]

    init?(_ json: JSONValue?) {
        guard let json, let id = json["id"]?.intValue, let name = json["name"]?.stringValue else { return nil }
        self.id = id
        self.name = name
        self.externalID = json["external_id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        self.domainNames = (json["domain_names"]?.arrayValue ?? []).compactMap { $0.stringValue?.lowercased() }
        self.tags = (json["tags"]?.arrayValue ?? []).compactMap(\.stringValue)
        self.fields = json["organization_fields"]?.objectValue ?? [:]
    }
}
