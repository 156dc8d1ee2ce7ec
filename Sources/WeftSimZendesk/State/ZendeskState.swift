import Foundation
import WeftSimKit

/// One API call as the state sees it: the path below `/api/v2` (without `.json`), the decoded query and the body.
struct APIRequest: Sendable {
    var method: String
    var segments: [String]
    var query: [String: String]
    var body: JSON
    /// `http://host:port`, for `url` members and pagination links.
    var baseURL: String
}

/// A successful answer: status and JSON body.
struct APIAnswer: Sendable {
    var status: Int
    var body: JSON
}

/// Everything the simulator holds. Mutated only under the simulator's lock, one request at a time.
struct ZendeskState: Sendable {
    var organizations: [Int: Organization] = [:]
    var organizationFields: [OrganizationField] = []
    var users: [Int: User] = [:]
    var memberships: [Int: OrganizationMembership] = [:]
    /// Whether users may belong to several organizations (Admin Center > People > Configuration > End users).
    var multipleOrganizations = false
    var tickets: [Int: Ticket] = [:]
    var nextID: Int
    /// The current request's time, unix seconds.
    var now = 0
    /// The authenticated agent (submitter of tickets, author of comments).
    var agentID = 0
    /// Events raised by the current request, taken by the simulator after it.
    var events: [PendingEvent] = []
    var apiWindow = RateWindow()
    var incrementalWindow = RateWindow()

    init(idSeed: UInt64, agentEmail: String, now: Int) {
        // Zendesk ids are large integers that grow with creation order.
        self.nextID = 360_000_000_000 + Int(idSeed % 1_000_000) * 1_000
        self.now = now
        let agent = makeID()
        self.agentID = agent
        users[agent] = User(
            id: agent, name: "Weft Agent", email: agentEmail, externalID: nil, organizationID: nil, role: "admin",
            createdAt: now, updatedAt: now)
    }

    mutating func makeID() -> Int {
        nextID += 1
        return nextID
    }

    /// Serves one authenticated, rate-limited call.
    mutating func route(_ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let s = request.segments
        switch (request.method, s.count) {
        case ("GET", 1) where s[0] == "organizations": return try listOrganizations(request)
        case ("POST", 1) where s[0] == "organizations": return try createOrganization(request)
        case ("POST", 2) where s[0] == "organizations" && s[1] == "create_or_update":
            return try createOrUpdateOrganization(request)
        case ("GET", 2) where s[0] == "organizations" && s[1] == "search": return try searchOrganizations(request)
        case ("GET", 2) where s[0] == "organizations": return try showOrganization(id(s[1]), request)
        case ("PUT", 2) where s[0] == "organizations": return try updateOrganization(id(s[1]), request)
        case ("DELETE", 2) where s[0] == "organizations": return try deleteOrganization(id(s[1]))
        case ("GET", 3) where s[0] == "organizations" && s[2] == "tickets":
            return try organizationTickets(id(s[1]), request)
        case ("GET", 1) where s[0] == "organization_fields": return listOrganizationFields(request)
        case ("POST", 1) where s[0] == "organization_fields": return try createOrganizationField(request)
        case ("POST", 2) where s[0] == "users" && s[1] == "create_or_update": return try createOrUpdateUser(request)
        case ("POST", 1) where s[0] == "users": return try createUser(request)
        case ("GET", 2) where s[0] == "users" && s[1] == "search": return try searchUsers(request)
        case ("GET", 3) where s[0] == "users" && s[2] == "organization_memberships":
            return try listUserMemberships(id(s[1]), request)
        case ("POST", 1) where s[0] == "organization_memberships": return try createMembership(request)
        case ("GET", 2) where s[0] == "users": return try showUser(id(s[1]), request)
        case ("GET", 1) where s[0] == "tickets": return try listTickets(request)
        case ("POST", 1) where s[0] == "tickets": return try createTicket(request)
        case ("GET", 2) where s[0] == "tickets": return try showTicket(id(s[1]), request)
        case ("PUT", 2) where s[0] == "tickets": return try updateTicket(id(s[1]), request)
        case ("DELETE", 2) where s[0] == "tickets": return try deleteTicket(id(s[1]))
        case ("GET", 3) where s == ["incremental", "tickets", "cursor"]: return try incrementalTickets(request)
        default: throw .invalidEndpoint
        }
    }

    private func id(_ text: String) throws(ZendeskError) -> Int {
        guard let value = Int(text), value > 0 else { throw .notFound }
        return value
    }

    /// `field` of the request's root object (`{"organization":{…}}`), or a 400 when it is not an object.
    func root(_ request: APIRequest, _ field: String) throws(ZendeskError) -> JSONObject {
        guard let object = request.body[field].object else {
            throw .badRequest("InvalidValue", "Request body must contain a '\(field)' object")
        }
        return object
    }

    /// Reads a string-ish member: strings as they are, numbers as their digits, `null` as `nil`.
    static func text(_ value: JSON?) -> String? {
        switch value {
        case .string(let text): text
        case .int(let number): String(number)
        case .double(let number): String(number)
        default: nil
        }
    }

    /// Reads a list of strings given as an array or as one space- or comma-separated string.
    static func list(_ value: JSON?) -> [String] {
        if let array = value?.array { return array.compactMap { text($0) }.filter { !$0.isEmpty } }
        if let text = text(value) {
            return text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        }
        return []
    }

    static func same(_ lhs: String?, _ rhs: String?) -> Bool {
        guard let lhs, let rhs else { return false }
        return lhs.lowercased() == rhs.lowercased()
    }
}
