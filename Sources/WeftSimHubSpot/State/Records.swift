import WeftSimKit

/// One CRM record: string property values, timestamps in unix milliseconds.
struct CRMRecord: Sendable {
    var id: Int
    var properties: [String: String]
    var createdAt: Int
    var updatedAt: Int
    var archived = false
    var archivedAt: Int?
}

/// One end of an association.
struct ObjectRef: Sendable, Hashable {
    var type: ObjectType
    var id: Int
}

/// A webhook event raised by an API call, before ids and subscriptions are applied.
struct PendingEvent: Sendable {
    /// `deal.creation`, `contact.propertyChange`…
    var subscriptionType: String
    var objectID: Int
    var propertyName: String?
    var propertyValue: String?
    /// Members specific to the type (`primaryObjectId`, `fromObjectId`…).
    var extra: [(String, JSON)] = []
}

/// A parsed API request below the configured prefixes.
struct APIRequest: Sendable {
    var method: String
    var segments: [String]
    var query: [String: String]
    var body: JSON
    var baseURL: String
    /// The path without the query, for `paging.next.link`.
    var path: String
}

/// A successful answer.
struct APIAnswer: Sendable {
    var status: Int
    var body: JSON

    static func ok(_ body: JSON) -> APIAnswer { APIAnswer(status: 200, body: body) }
    static let noContent = APIAnswer(status: 204, body: .null)
}
