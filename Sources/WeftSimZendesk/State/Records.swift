import WeftSimKit

/// An organization as the simulator stores it.
struct Organization: Sendable {
    var id: Int
    var name: String
    var externalID: String?
    var domainNames: [String] = []
    var details: String?
    var notes: String?
    var groupID: Int?
    var sharedTickets = false
    var sharedComments = false
    var tags: [String] = []
    /// Values of defined organization fields, by key (unset keys are absent).
    var fields: [String: JSON] = [:]
    var createdAt: Int
    var updatedAt: Int
}

/// A custom organization field (Admin Center > People > Configuration > Organization fields).
struct OrganizationField: Sendable {
    var id: Int
    var key: String
    var type: String
    var title: String
    var description: String
    var position: Int
    var active: Bool
    /// `(name, value)` pairs of a dropdown or multiselect field.
    var options: [(name: String, value: String)]
    var createdAt: Int
    var updatedAt: Int
}

/// A user (end user or agent).
struct User: Sendable {
    var id: Int
    var name: String
    var email: String?
    var externalID: String?
    /// The default organization (kept equal to the default membership's).
    var organizationID: Int?
    var role: String
    var tags: [String] = []
    var userFields: [String: JSON] = [:]
    var createdAt: Int
    var updatedAt: Int
}

/// A user's membership of an organization (`/organization_memberships`). The default one is the user's
/// `organization_id`.
struct OrganizationMembership: Sendable {
    var id: Int
    var userID: Int
    var organizationID: Int
    var isDefault: Bool
    var createdAt: Int
    var updatedAt: Int
}

/// A ticket comment.
struct Comment: Sendable {
    var id: Int
    var body: String
    var authorID: Int
    var isPublic: Bool
    var createdAt: Int
}

/// A ticket.
struct Ticket: Sendable {
    var id: Int
    var subject: String
    var description: String
    var requesterID: Int
    var submitterID: Int
    var organizationID: Int?
    var status: String
    var priority: String?
    var type: String?
    var externalID: String?
    var tags: [String]
    var comments: [Comment]
    var createdAt: Int
    var updatedAt: Int
    /// Soft-deleted (`DELETE /api/v2/tickets/{id}`): gone from the ticket endpoints, exported with status `deleted`.
    var deleted = false
}

/// An event for the webhook sender: Zendesk's `type`, `subject`, `detail` and `event` members.
struct PendingEvent: Sendable {
    var type: String
    var subject: String
    var detail: JSON
    var event: JSON
}
