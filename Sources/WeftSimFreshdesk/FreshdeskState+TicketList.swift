import Foundation

extension FreshdeskState {
    /// The query parameters `GET /api/v2/tickets` permits (helpkit `ApiTicketConstants::INDEX_FIELDS` and the
    /// pagination fields); any other is an `invalid_field`.
    static let ticketListParameters: Set<String> = [
        "filter", "company_id", "requester_id", "email", "order_by", "order_type", "updated_since", "include", "page",
        "per_page",
    ]
    /// The parameters that count as a filter: with none of them the list keeps its default one-month window.
    static let ticketListConditions = ["filter", "company_id", "requester_id", "email", "updated_since"]
    /// The predefined filters (`ApiTicketConstants::FILTER`).
    static let ticketListFilters = ["new_and_my_open", "watching", "spam", "deleted"]
    /// The sort fields, in the order Freshdesk's error lists them.
    static let ticketListOrderFields = ["due_by", "created_at", "updated_at", "status"]
    /// What `include` may embed (`ApiTicketConstants::SIDE_LOADING` less `survey`).
    static let ticketListIncludes = ["requester", "stats", "company", "description"]

    /// `GET /api/v2/tickets` ("List All Tickets"): without `filter`, deleted and spam tickets are left out
    /// (`filter=deleted` lists Trash, `filter=spam` the Spam folder); with no filter parameter at all only tickets
    /// created since the start of today one month ago; `updated_since` keeps `updated_at >=` it; `company_id`,
    /// `requester_id`, `email` filter; `order_by` (`created_at` default, `due_by`, `updated_at`, `status`) and
    /// `order_type` (`desc` default, `asc`); pages beyond `maximumTicketListPage` are refused.
    func listTickets(_ request: FreshdeskRequest) throws(FreshdeskAPIError) -> FreshdeskReply {
        // Unpermitted parameters are refused before anything else is validated (`params.permit`).
        var unknown: [FreshdeskAPIError.FieldError] = []
        var seen: Set<String> = []
        for (key, _) in request.query where !Self.ticketListParameters.contains(key) && seen.insert(key).inserted {
            unknown.append(.invalidField(key))
        }
        if !unknown.isEmpty { throw .validation(unknown) }

        var errors: [FreshdeskAPIError.FieldError] = []
        let (page, perPage) = Self.pagination(request, errors: &errors)
        let maximumPage = configuration.maximumTicketListPage
        if page > maximumPage {
            errors.append(
                .invalidValue(
                    "page", "You cannot access tickets beyond the \(maximumPage)th page. Please provide a smaller page number."))
        }
        let filter = request.queryValue("filter")
        if let filter, !Self.ticketListFilters.contains(filter) {
            errors.append(.notIncluded("filter", Self.ticketListFilters))
        }
        var since: Int?
        if let raw = request.queryValue("updated_since") {
            since = FDTime.parse(raw)
            if since == nil {
                errors.append(.invalidValue("updated_since", "It should be in the 'combined date and time ISO8601' format"))
            }
        }
        let orderBy = request.queryValue("order_by") ?? "created_at"
        if !Self.ticketListOrderFields.contains(orderBy) {
            errors.append(.notIncluded("order_by", Self.ticketListOrderFields))
        }
        let orderType = request.queryValue("order_type") ?? "desc"
        if orderType != "asc" && orderType != "desc" {
            errors.append(.notIncluded("order_type", ["asc", "desc"]))
        }
        var includes: [String] = []
        if let raw = request.queryValue("include") {
            includes = raw.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            if includes.isEmpty || includes.contains(where: { !Self.ticketListIncludes.contains($0) }) {
                errors.append(
                    .invalidValue(
                        "include", "It should be one of these values: '\(Self.ticketListIncludes.joined(separator: ", "))'"))
            }
        }
        if !errors.isEmpty { throw .validation(errors) }

        var list = tickets.values.filter { ticket in
            switch filter {
            case "deleted": ticket.deleted
            case "spam": ticket.spam && !ticket.deleted
            case "new_and_my_open": !ticket.deleted && !ticket.spam && ticket.status == 2
            // No ticket is watched: the simulator has no agents to watch one.
            case "watching": false
            default: !ticket.deleted && !ticket.spam
            }
        }
        if !Self.ticketListConditions.contains(where: { request.queryValue($0) != nil }) {
            let windowStart = Self.startOfDayOneMonthBefore(now)
            list = list.filter { $0.createdAt > windowStart }
        }
        if let since { list = list.filter { $0.updatedAt >= since } }
        if let company = request.queryValue("company_id").flatMap(Int.init) {
            list = list.filter { $0.companyID == company }
        }
        if let requester = request.queryValue("requester_id").flatMap(Int.init) {
            list = list.filter { $0.requesterID == requester }
        }
        if let email = request.queryValue("email")?.lowercased() {
            list = list.filter { contacts[$0.requesterID]?.email == email }
        }
        let ascending = orderType == "asc"
        list.sort { lhs, rhs in
            let left = (Self.sortKey(lhs, orderBy), lhs.id)
            let right = (Self.sortKey(rhs, orderBy), rhs.id)
            return ascending ? left < right : left > right
        }
        let (slice, headers) = Self.page(list, request: request, page: page, perPage: perPage)
        return FreshdeskReply(body: .array(slice.map { listItemJSON($0, includes: includes) }), headers: headers)
    }

    /// The value a ticket is sorted by (`due_by` is three days after creation in the simulator).
    static func sortKey(_ ticket: FDTicket, _ orderBy: String) -> Int {
        switch orderBy {
        case "updated_at": ticket.updatedAt
        case "status": ticket.status
        case "due_by": ticket.createdAt + 3 * 86_400
        default: ticket.createdAt
        }
    }

    /// A list item: the ticket without its description unless `include=description` asks for it (as on every account
    /// made since 2018-11-30), and, with `include=requester`, its requester (`id name email mobile phone`).
    func listItemJSON(_ ticket: FDTicket, includes: [String]) -> FDJSON {
        var json = ticketJSON(ticket)
        if !includes.contains("description"), case .object(var members) = json {
            members["description"] = nil
            members["description_text"] = nil
            json = .object(members)
        }
        if includes.contains("requester"), let requester = contacts[ticket.requesterID], case .object(var members) = json {
            members["requester"] = [
                "id": .int(Int64(requester.id)), "name": .string(requester.name),
                "email": requester.email.map(FDJSON.string) ?? .null, "mobile": requester.mobile.map(FDJSON.string) ?? .null,
                "phone": requester.phone.map(FDJSON.string) ?? .null,
            ]
            json = .object(members)
        }
        return json
    }

    /// The start of the UTC day one calendar month before `seconds` (the day clamped to the month's length), as
    /// Freshdesk's `created_in_last_month` computes it (in the agent's time zone; UTC here).
    static func startOfDayOneMonthBefore(_ seconds: Int) -> Int {
        let today = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (year, month, day) = FDTime.civil(days: today)
        let (previousYear, previousMonth) = month == 1 ? (year - 1, 12) : (year, month - 1)
        let monthLength =
            FDTime.days(year: year, month: month, day: 1) - FDTime.days(year: previousYear, month: previousMonth, day: 1)
        return FDTime.days(year: previousYear, month: previousMonth, day: min(day, monthLength)) * 86_400
    }
}

extension FreshdeskAPIError.FieldError {
    /// `It should be one of these values: 'a,b'` (helpkit `not_included`, code `invalid_value`).
    static func notIncluded(_ field: String, _ values: [String]) -> Self {
        .invalidValue(field, "It should be one of these values: '\(values.joined(separator: ","))'")
    }
}
