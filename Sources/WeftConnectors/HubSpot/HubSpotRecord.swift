package import Foundation
package import WeftCore

/// One CRM record as HubSpot returns it: the id, string property values (`nil` for an empty property) and times.
package struct HubSpotRecord: Sendable, Hashable {
    package var id: String
    package var properties: [String: String?]
    package var createdAt: Date?
    package var updatedAt: Date?
    package var archived: Bool
    /// For upserts: whether the record was created (`true`) or updated (`false`).
    package var isNew: Bool?

    package init(
        id: String, properties: [String: String?], createdAt: Date? = nil, updatedAt: Date? = nil, archived: Bool = false,
        isNew: Bool? = nil
    ) {
        self.id = id
        self.properties = properties
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.archived = archived
        self.isNew = isNew
    }

    /// A property's value, `nil` when absent or empty.
    package subscript(property: String) -> String? { properties[property] ?? nil }

    /// Parses `{"id","properties","createdAt","updatedAt","archived","new"}`.
    package init?(json: JSONValue) {
        guard let id = json["id"]?.stringValue ?? json["id"]?.intValue.map(String.init) else { return nil }
        var properties: [String: String?] = [:]
        for (name, value) in json["properties"]?.objectValue ?? [:] {
            switch value {
            case .string(let text): properties[name] = .some(text)
            case .int(let number): properties[name] = .some(String(number))
            case .double(let number): properties[name] = .some(String(number))
            case .bool(let flag): properties[name] = .some(flag ? "true" : "false")
            default: properties[name] = .some(nil)
            }
        }
        self.init(
            id: id, properties: properties, createdAt: json["createdAt"]?.stringValue.flatMap(HubSpotTime.parse),
            updatedAt: json["updatedAt"]?.stringValue.flatMap(HubSpotTime.parse),
            archived: json["archived"]?.boolValue ?? false, isNew: json["new"]?.boolValue)
    }
}

/// HubSpot's ISO 8601 times (`2023-11-14T22:13:20.000Z`, fraction optional).
enum HubSpotTime {
    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// `2023-11-14T22:13:20.000Z`.
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    /// Unix milliseconds, the form search filters on dates take.
    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
}
