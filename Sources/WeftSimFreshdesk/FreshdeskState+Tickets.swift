import Foundation

extension FreshdeskState {
    static let ticketCreateKeys: Set<String> = [
        "subject", "description", "email", "requester_id", "name", "status", "priority", "source", "type", "tags",
        "custom_fields", "company_id",
    ]
    static let ticketUpdateKeys: Set<String> = [
        "subject", "description", "status", "priority", "source", "type", "tags", "custom_fields", "company_id",
    ]
    static let statusNames = [2: "Open", 3: "Pending", 4: "Resolved", 5: "Closed"]
    static let sources = [1, 2, 3, 7, 9, 10]

    func ticketJSON(_ ticket: FDTicket) -> FDJSON {
        var json: FDJSON = [
            "id": .int(Int64(ticket.id)), "subject": .string(ticket.subject),
            "description": .string(ticket.description), "description_text": .string(ticket.description),
            "status": .int(Int64(ticket.status)), "priority": .int(Int64(ticket.priority)),
            "source": .int(Int64(ticket.source)), "type": ticket.type.map(FDJSON.string) ?? .null,
            "requester_id": .int(Int64(ticket.requesterID)),
            "company_id": ticket.companyID.map { .int(Int64($0)) } ?? .null, "responder_id": .null, "group_id": .null,
            "product_id": .null, "email_config_id": .null, "tags": .array(ticket.tags.map(FDJSON.string)),
            "cc_emails": [], "fwd_emails": [], "reply_cc_emails": [], "spam": .bool(ticket.spam), "is_escalated": false,
            "fr_escalated": false, "custom_fields": .object(ticket.customFields),
            "due_by": .string(FDTime.format(ticket.createdAt + 3 * 86_400)),
            "fr_due_by": .string(FDTime.format(ticket.createdAt + 86_400)),
            "created_at": .string(FDTime.format(ticket.createdAt)),
            "updated_at": .string(FDTime.format(ticket.updatedAt)),
        ]
        // Freshdesk's views add `deleted` only for a deleted ticket (`json.set! :deleted, … if tkt.deleted`).
        if ticket.deleted, case .object(var members) = json {
            members["deleted"] = true
            json = .object(members)
        }
        return json
    }

    func ticket(_ idText: String) throws(FreshdeskAPIError) -> FDTicket {
        guard let id = Int(idText), let ticket = tickets[id] else { throw .notFound }
        return ticket
    }

    /// A ticket an action may change: not deleted, not spam (Freshdesk's `CONDITIONS_FOR_TICKET_ACTIONS`); else 404.
    func activeTicket(_ idText: String) throws(FreshdeskAPIError) -> FDTicket {
        let ticket = try self.ticket(idText)
        guard !ticket.deleted, !ticket.spam else { throw .notFound }
        return ticket
    }

    /// `DELETE /api/v2/tickets/{id}`: moves the ticket to Trash (`deleted: true`, still shown by id and listed with
    /// `filter=deleted`); 204. A deleted or spam ticket is a 404.
    mutating func deleteTicket(_ idText: String) throws(FreshdeskAPIError) -> FreshdeskReply {
        var ticket = try activeTicket(idText)
        ticket.deleted = true
        ticket.updatedAt = now
        tickets[ticket.id] = ticket
        return FreshdeskReply(status: 204, body: nil)
    }

    /// `PUT /api/v2/tickets/{id}/restore`: takes a deleted ticket out of Trash; 204. Any other ticket is a 404.
    mutating func restoreTicket(_ idText: String) throws(FreshdeskAPIError) -> FreshdeskReply {
        var ticket = try self.ticket(idText)
        guard ticket.deleted else { throw .notFound }
        ticket.deleted = false
        ticket.updatedAt = now
        tickets[ticket.id] = ticket
        return FreshdeskReply(status: 204, body: nil)
    }

    /// `POST /api/v2/tickets`: the requester is found or created by `email`; the company is the requester's.
    mutating func createTicket(_ request: FreshdeskRequest) throws(FreshdeskAPIError) -> FreshdeskReply {
        let body = try request.jsonObject()
        var errors: [FreshdeskAPIError.FieldError] = []
        for key in body.keys.sorted() where !Self.ticketCreateKeys.contains(key) {
            errors.append(FreshdeskAPIError.FieldError.invalidField(key))
        }
        var ticket = FDTicket(
            id: 0, subject: "", description: "", status: 2, priority: 1, source: 2, tags: [], requesterID: 0,
            customFields: [:], createdAt: now, updatedAt: now)
        if body["subject"] == nil { errors.append(.missingField("subject", type: "String")) }
        applyTicketAttributes(body, to: &ticket, errors: &errors)
        var requester: FDContact?
        var newRequesterEmail: String?
        if let id = body["requester_id"] {
            if let id = id.int, let contact = contacts[Int(id)] {
                requester = contact
            } else {
                errors.append(.invalidValue("requester_id", "There is no contact matching the given requester_id"))
            }
        } else if let value = body["email"] {
            if let email = value.string?.lowercased(), email.contains("@") {
                if let contact = contacts.values.first(where: { $0.email == email }) {
                    requester = contact
                } else {
                    newRequesterEmail = email
                }
            } else {
                errors.append(.invalidValue("email", "It should be in the 'valid email address' format"))
            }
        } else {
            errors.append(
                .init(
                    field: "requester_id",
                    message: "Please fill at least 1 of requester_id, phone, email, twitter_id, facebook_id, unique_external_id fields",
                    code: "missing_field"))
        }
        if !errors.isEmpty { throw .validation(errors) }
        if let email = newRequesterEmail {
            let fallbackName = String(email.split(separator: "@").first ?? Substring(email))
            let contact = FDContact(
                id: makeContactID(), name: body["name"]?.string ?? fallbackName, email: email,
                companyID: companyID(forEmail: email), customFields: [:], createdAt: now, updatedAt: now)
            contacts[contact.id] = contact
            requester = contact
        }
        guard let requester else { throw .notFound }
        ticket.requesterID = requester.id
        if body["company_id"] == nil { ticket.companyID = requester.companyID }
        ticket.id = makeTicketID()
        tickets[ticket.id] = ticket
        runAutomations(.ticketCreated, ticket: ticket)
        return FreshdeskReply(status: 201, body: ticketJSON(ticket))
    }

    /// `PUT /api/v2/tickets/{id}`.
    mutating func updateTicket(_ idText: String, _ request: FreshdeskRequest) throws(FreshdeskAPIError) -> FreshdeskReply {
        var ticket = try activeTicket(idText)
        let body = try request.jsonObject()
        var errors: [FreshdeskAPIError.FieldError] = []
        for key in body.keys.sorted() where !Self.ticketUpdateKeys.contains(key) {
            errors.append(FreshdeskAPIError.FieldError.invalidField(key))
        }
        applyTicketAttributes(body, to: &ticket, errors: &errors)
        if !errors.isEmpty { throw .validation(errors) }
        ticket.updatedAt = now
        tickets[ticket.id] = ticket
        runAutomations(.ticketUpdated, ticket: ticket)
        return FreshdeskReply(body: ticketJSON(ticket))
    }

    private func applyTicketAttributes(
        _ body: [String: FDJSON], to ticket: inout FDTicket, errors: inout [FreshdeskAPIError.FieldError]
    ) {
        if let value = body["subject"] {
            if let text = value.string, !text.isEmpty {
                ticket.subject = text
            } else {
                errors.append(.mismatch("subject", expected: "String", given: value))
            }
        }
        if let value = body["description"] {
            if let text = value.string {
                ticket.description = text
            } else {
                errors.append(.mismatch("description", expected: "String", given: value))
            }
        }
        func choice(_ key: String, _ allowed: [Int]) -> Int? {
            guard let value = body[key] else { return nil }
            guard let number = value.int, allowed.contains(Int(number)) else {
                errors.append(
                    .invalidValue(key, "It should be one of these values: '\(allowed.map(String.init).joined(separator: ","))'"))
                return nil
            }
            return Int(number)
        }
        if let status = choice("status", [2, 3, 4, 5]) { ticket.status = status }
        if let priority = choice("priority", [1, 2, 3, 4]) { ticket.priority = priority }
        if let source = choice("source", Self.sources) { ticket.source = source }
        if let value = body["type"] { ticket.type = value.string }
        if let value = body["tags"] {
            if let list = value.array, list.allSatisfy({ $0.string != nil }) {
                ticket.tags = list.compactMap(\.string)
            } else {
                errors.append(.mismatch("tags", expected: "Array", given: value))
            }
        }
        if let value = body["company_id"] {
            if value.isNull {
                ticket.companyID = nil
            } else if let id = value.int, companies[Int(id)] != nil {
                ticket.companyID = Int(id)
            } else {
                errors.append(.invalidValue("company_id", "There is no company matching the given company_id"))
            }
        }
        if let value = body["custom_fields"] {
            // No ticket fields are defined in the simulator: every key is unknown, as Freshdesk answers for one.
            for key in (value.object ?? [:]).keys.sorted() { errors.append(FreshdeskAPIError.FieldError.invalidField(key)) }
        }
    }

    // MARK: Automations

    /// Queues a webhook for every rule that runs on `event`.
    mutating func runAutomations(_ event: FreshdeskSimulator.WebhookRule.Event, ticket: FDTicket) {
        for (index, rule) in configuration.webhooks.enumerated() where rule.events.contains(event) {
            let template =
                switch rule.body {
                case .weft: FreshdeskSimulator.WebhookRule.weftTemplate
                case .template(let text): text
                }
            outbox.append(
                WebhookJob(
                    rule: index, url: rule.url, headers: rule.headers, body: Array(render(template, ticket: ticket).utf8),
                    ticketID: ticket.id, event: event))
        }
    }

    /// Replaces `{{ticket.…}}` placeholders. Values are JSON-escaped (without quotes) so a template stays JSON; an
    /// unknown or empty placeholder renders as nothing, as Liquid renders a name the ticket does not define. The names
    /// are those of Freshdesk's ticket (`Helpdesk::TicketDrop`): there is no `updated_at` or `created_at`;
    /// `modified_on` and `created_on` render the day alone (`FDTime.placeholder`).
    func render(_ template: String, ticket: FDTicket) -> String {
        let requester = contacts[ticket.requesterID]
        let company = ticket.companyID.flatMap { companies[$0] }
        let values: [String: String] = [
            "ticket.id": String(ticket.id), "ticket.subject": ticket.subject, "ticket.description": ticket.description,
            "ticket.status": Self.statusNames[ticket.status] ?? String(ticket.status), "ticket.status_id": String(ticket.status),
            "ticket.priority": ["", "Low", "Medium", "High", "Urgent"][min(4, max(0, ticket.priority))],
            "ticket.priority_id": String(ticket.priority),
            "ticket.source": String(ticket.source), "ticket.ticket_type": ticket.type ?? "",
            "ticket.tags": ticket.tags.joined(separator: ","),
            "ticket.requester.email": requester?.email ?? "", "ticket.requester.name": requester?.name ?? "",
            "ticket.requester.id": requester.map { String($0.id) } ?? "",
            "ticket.company.id": company.map { String($0.id) } ?? "", "ticket.company.name": company?.name ?? "",
            "ticket.created_on": FDTime.placeholder(ticket.createdAt), "ticket.modified_on": FDTime.placeholder(ticket.updatedAt),
            "ticket.url": "https://weft-sim.freshdesk.com/helpdesk/tickets/\(ticket.id)",
        ]
        var output = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                output += rest[open.lowerBound...]
                return output
            }
            let key = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            output += Self.jsonEscaped(values[key] ?? "")
            rest = rest[close.upperBound...]
        }
        return output + rest
    }

    static func jsonEscaped(_ text: String) -> String {
        let quoted = String(decoding: FDJSON.string(text).bytes, as: UTF8.self)
        return String(quoted.dropFirst().dropLast())
    }
}
