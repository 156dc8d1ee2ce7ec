/// One API request, parsed.
struct FreshdeskRequest: Sendable {
    var method: String
    var path: String
    /// Query parameters in order, percent-decoded.
    var query: [(String, String)]
    var body: [UInt8]
    /// `Host` of the request, for `Link` headers.
    var host: String

    func queryValue(_ name: String) -> String? { query.first { $0.0 == name }?.1 }

    /// The body as a JSON object, or the error Freshdesk answers.
    func jsonObject() throws(FreshdeskAPIError) -> [String: FDJSON] {
        guard let value = FDJSON.parse(body), let object = value.object else { throw .invalidJSON }
        return object
    }
}

/// A company (`/api/v2/companies`).
struct FDCompany: Sendable, Hashable {
    var id: Int
    var name: String
    var description: String?
    var note: String?
    var domains: [String]
    var healthScore: String?
    var accountTier: String?
    var industry: String?
    var renewalDate: String?
    var customFields: [String: FDJSON]
    var createdAt: Int
    var updatedAt: Int
}

/// A contact (`/api/v2/contacts`).
struct FDContact: Sendable, Hashable {
    var id: Int
    var name: String
    var email: String?
    var phone: String?
    var mobile: String?
    var companyID: Int?
    var jobTitle: String?
    var description: String?
    var customFields: [String: FDJSON]
    var createdAt: Int
    var updatedAt: Int
}

/// A ticket (`/api/v2/tickets`).
struct FDTicket: Sendable, Hashable {
    var id: Int
    var subject: String
    var description: String
    var status: Int
    var priority: Int
    var source: Int
    var type: String?
    var tags: [String]
    var requesterID: Int
    var companyID: Int?
    var customFields: [String: FDJSON]
    var createdAt: Int
    var updatedAt: Int
    /// Soft-deleted (`DELETE /api/v2/tickets/{id}`, "Trash"): listed only with `filter=deleted`.
    var deleted = false
    /// In the Spam folder (an agent or a rule marked it): listed only with `filter=spam`.
    var spam = false
}

/// A webhook call the automation rules produced, waiting to be sent.
struct WebhookJob: Sendable {
    var rule: Int
    var url: String
    var headers: [String: String]
    var body: [UInt8]
    var ticketID: Int
    var event: FreshdeskSimulator.WebhookRule.Event
}

/// Everything the simulated account holds, guarded by the simulator's mutex.
struct FreshdeskState: Sendable {
    var configuration: FreshdeskSimulator.Configuration
    var now = 0
    var companies: [Int: FDCompany] = [:]
    var contacts: [Int: FDContact] = [:]
    var tickets: [Int: FDTicket] = [:]
    var companyFields: [FreshdeskSimulator.CustomField]
    var contactFields: [FreshdeskSimulator.CustomField]
    /// Creation times of the custom fields, by `company:` / `contact:` + name.
    var fieldCreatedAt: [String: Int] = [:]
    /// What the search index holds per company: versions with the instant they become visible (`nil`: deleted).
    var searchIndex: [Int: [(visibleAt: Int, company: FDCompany?)]] = [:]
    var nextCompanyID: Int
    var nextContactID: Int
    var nextTicketID: Int
    var nextFieldID = 100
    /// Requests counted in the current minute (`minute` = unix seconds / 60).
    var rateWindow: (minute: Int, used: Int) = (0, 0)
    /// Webhook calls produced by the request being served, collected by the simulator afterwards.
    var outbox: [WebhookJob] = []

    init(configuration: FreshdeskSimulator.Configuration) {
        self.configuration = configuration
        self.companyFields = configuration.companyFields
        self.contactFields = configuration.contactFields
        self.nextCompanyID = configuration.idSeed
        self.nextContactID = configuration.idSeed
        self.nextTicketID = configuration.idSeed
    }

    mutating func makeCompanyID() -> Int {
        nextCompanyID += 1
        return nextCompanyID
    }

    mutating func makeContactID() -> Int {
        nextContactID += 1
        return nextContactID
    }

    mutating func makeTicketID() -> Int {
        nextTicketID += 1
        return nextTicketID
    }

    /// What `request` costs against the per-minute limit: one credit, and two more for each `include` of a ticket
    /// read ("Each include will consume an additional 2 credits", Freshdesk's API reference on List All Tickets).
    static func credits(_ request: FreshdeskRequest) -> Int {
        guard request.method == "GET", request.path.hasPrefix("/api/v2/tickets"), let include = request.queryValue("include")
        else { return 1 }
        return 1 + 2 * include.split(separator: ",").filter { $0.contains { $0 != " " } }.count
    }

    /// Counts `credits` against the per-minute limit; returns the headers to send, or the 429.
    mutating func admit(credits: Int = 1) -> Result<[(String, String)], FreshdeskAPIError> {
        let minute = now >= 0 ? now / 60 : (now - 59) / 60
        if rateWindow.minute != minute { rateWindow = (minute, 0) }
        let limit = configuration.rateLimitPerMinute
        if rateWindow.used >= limit {
            var error = FreshdeskAPIError.rateLimited(retryAfter: max(1, 60 - (now - minute * 60)))
            error.headers += [
                ("X-RateLimit-Total", String(limit)), ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Used-CurrentRequest", "0"),
            ]
            return .failure(error)
        }
        rateWindow.used += credits
        return .success([
            ("X-RateLimit-Total", String(limit)), ("X-RateLimit-Remaining", String(max(0, limit - rateWindow.used))),
            ("X-RateLimit-Used-CurrentRequest", String(credits)),
        ])
    }

    /// Records a company write in the search index (visible after the configured lag).
    mutating func index(_ id: Int) {
        searchIndex[id, default: []].append((now + configuration.searchIndexLagSeconds, companies[id]))
    }

    /// The companies as the search index sees them now.
    func searchableCompanies() -> [FDCompany] {
        searchIndex.keys.sorted().compactMap { id in
            searchIndex[id]?.last(where: { $0.visibleAt <= now })?.company
        }
    }

    // MARK: Pagination

    /// `page` and `per_page` (default 30, at most 100), or Freshdesk's error.
    static func pagination(_ request: FreshdeskRequest, maxPerPage: Int = 100) throws(FreshdeskAPIError) -> (
        page: Int, perPage: Int
    ) {
        var errors: [FreshdeskAPIError.FieldError] = []
        let values = pagination(request, maxPerPage: maxPerPage, errors: &errors)
        if !errors.isEmpty { throw .validation(errors) }
        return values
    }

    /// `page` and `per_page` (default 30, at most 100); what is wrong with them is added to `errors`.
    static func pagination(
        _ request: FreshdeskRequest, maxPerPage: Int = 100, errors: inout [FreshdeskAPIError.FieldError]
    ) -> (page: Int, perPage: Int) {
        var page = 1
        var perPage = 30
        if let raw = request.queryValue("page") {
            if let value = Int(raw), value >= 1 {
                page = value
            } else {
                errors.append(.init(field: "page", message: "It should be a Positive Integer", code: "invalid_value"))
            }
        }
        if let raw = request.queryValue("per_page") {
            if let value = Int(raw), value >= 1, value <= maxPerPage {
                perPage = value
            } else {
                errors.append(
                    .init(
                        field: "per_page", message: "It should be a Positive Integer less than or equal to \(maxPerPage)",
                        code: "invalid_value"))
            }
        }
        return (page, perPage)
    }

    /// One page of `items` and, when more follow, the `Link: <…>; rel="next"` header.
    static func page<T>(_ items: [T], request: FreshdeskRequest, page: Int, perPage: Int) -> ([T], [(String, String)]) {
        let start = min(items.count, (page - 1) * perPage)
        let end = min(items.count, start + perPage)
        guard end < items.count else { return (Array(items[start..<end]), []) }
        var parts = request.query.filter { $0.0 != "page" }.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }
        parts.append("page=\(page + 1)")
        let link = "<http://\(request.host)\(request.path)?\(parts.joined(separator: "&"))>; rel=\"next\""
        return (Array(items[start..<end]), [("Link", link)])
    }

    static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x2E, 0x5F, 0x7E, 0x3A, 0x27:
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }
}
