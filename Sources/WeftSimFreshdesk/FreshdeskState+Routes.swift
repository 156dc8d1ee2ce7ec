extension FreshdeskState {
    /// Serves an authenticated, admitted API call under `/api/v2`.
    mutating func route(_ request: FreshdeskRequest) throws(FreshdeskAPIError) -> FreshdeskReply {
        let segments = request.path.split(separator: "/").map(String.init)
        guard segments.count >= 3, segments[0] == "api", segments[1] == "v2" else { throw .notFound }
        let rest = Array(segments.dropFirst(2))
        let method = request.method
        func allow(_ allowed: [String]) throws(FreshdeskAPIError) {
            if !allowed.contains(method) { throw .methodNotAllowed(method, allowed: allowed) }
        }
        switch (rest.first ?? "", rest.count) {
        case ("companies", 1):
            try allow(["GET", "POST"])
            return method == "GET" ? try listCompanies(request) : try createCompany(request)
        case ("companies", 2) where rest[1] == "autocomplete":
            try allow(["GET"])
            return try autocompleteCompanies(request)
        case ("companies", 2):
            try allow(["GET", "PUT", "DELETE"])
            switch method {
            case "GET": return FreshdeskReply(body: companyJSON(try company(rest[1])))
            case "PUT": return try updateCompany(rest[1], request)
            default: return try deleteCompany(rest[1])
            }
        case ("company_fields", 1):
            try allow(["GET", "POST"])
            return method == "GET"
                ? FreshdeskReply(body: companyFieldsJSON()) : try createField(request, forCompanies: true)
        case ("contact_fields", 1):
            try allow(["GET", "POST"])
            return method == "GET"
                ? FreshdeskReply(body: contactFieldsJSON()) : try createField(request, forCompanies: false)
        case ("contacts", 1):
            try allow(["GET", "POST"])
            return method == "GET" ? try listContacts(request) : try createContact(request)
        case ("contacts", 2):
            try allow(["GET", "PUT"])
            return method == "GET"
                ? FreshdeskReply(body: contactJSON(try contact(rest[1]))) : try updateContact(rest[1], request)
        case ("tickets", 1):
            try allow(["GET", "POST"])
            return method == "GET" ? try listTickets(request) : try createTicket(request)
        case ("tickets", 2):
            try allow(["GET", "PUT", "DELETE"])
            switch method {
            // A deleted or spam ticket is still shown by id (helpkit: no state condition for `show`).
            case "GET": return FreshdeskReply(body: ticketJSON(try ticket(rest[1])))
            case "PUT": return try updateTicket(rest[1], request)
            default: return try deleteTicket(rest[1])
            }
        case ("tickets", 3) where rest[2] == "restore":
            try allow(["PUT"])
            return try restoreTicket(rest[1])
        case ("search", 2) where rest[1] == "companies":
            try allow(["GET"])
            return try searchCompanies(request)
        default:
            throw .notFound
        }
    }
}
