import Foundation
import WeftSimKit

extension ZendeskState {
    static let statuses = ["new", "open", "pending", "hold", "solved", "closed"]
    static let priorities = ["low", "normal", "high", "urgent"]
    static let ticketTypes = ["problem", "incident", "question", "task"]

    func ticketJSON(_ ticket: Ticket, baseURL: String) -> JSON {
        .object(
            JSONObject([
                ("url", .string("\(baseURL)/api/v2/tickets/\(ticket.id).json")),
                ("id", .int(ticket.id)),
                ("external_id", .from(ticket.externalID)),
                ("via", ["channel": "api", "source": ["from": [:], "to": [:], "rel": nil]]),
                ("created_at", .string(Timestamps.iso8601(ticket.createdAt))),
                ("updated_at", .string(Timestamps.iso8601(ticket.updatedAt))),
                ("generated_timestamp", .int(ticket.updatedAt)),
                ("type", .from(ticket.type)),
                ("subject", .string(ticket.subject)),
                ("raw_subject", .string(ticket.subject)),
                ("description", .string(ticket.description)),
                ("priority", .from(ticket.priority)),
                ("status", .string(ticket.deleted ? "deleted" : ticket.status)),
                ("recipient", .null),
                ("requester_id", .int(ticket.requesterID)),
                ("submitter_id", .int(ticket.submitterID)),
                ("assignee_id", .null),
                ("organization_id", .from(ticket.organizationID)),
                ("group_id", .null),
                ("collaborator_ids", []),
                ("follower_ids", []),
                ("email_cc_ids", []),
                ("problem_id", .null),
                ("has_incidents", false),
                ("is_public", .bool(ticket.comments.first?.isPublic ?? true)),
                ("due_at", .null),
                ("tags", .strings(ticket.tags)),
                ("custom_fields", []),
                ("satisfaction_rating", .null),
                ("sharing_agreement_ids", []),
                ("fields", []),
                ("followup_ids", []),
                ("brand_id", .null),
                ("allow_channelback", false),
                ("allow_attachments", true),
                ("from_messaging_channel", false),
            ]))
    }

    /// The `detail` of a ticket event: the documented subset, ids as strings.
    func ticketDetail(_ ticket: Ticket) -> JSON {
        .object(
            JSONObject([
                ("actor_id", .string(String(agentID))),
                ("assignee_id", .null),
                ("brand_id", .null),
                ("created_at", .string(Timestamps.iso8601(ticket.createdAt))),
                ("custom_status", .null),
                ("description", .string(ticket.description)),
                ("external_id", .from(ticket.externalID)),
                ("form_id", .null),
                ("group_id", .null),
                ("id", .string(String(ticket.id))),
                ("is_public", .bool(ticket.comments.first?.isPublic ?? true)),
                ("organization_id", .from(ticket.organizationID.map(String.init))),
                ("priority", .from(ticket.priority?.uppercased())),
                ("requester_id", .string(String(ticket.requesterID))),
                ("status", .string(ticket.status.uppercased())),
                ("subject", .string(ticket.subject)),
                ("submitter_id", .string(String(ticket.submitterID))),
                ("tags", .strings(ticket.tags)),
                ("type", .from(ticket.type?.uppercased())),
                ("updated_at", .string(Timestamps.iso8601(ticket.updatedAt))),
                ("via", ["channel": "web_service"]),
            ]))
    }

    /// The tickets the ticket endpoints show: soft-deleted ones are left out.
    private func ticketItems(_ filter: (Ticket) -> Bool, baseURL: String) -> [(id: Int, json: JSON)] {
        tickets.keys.sorted().compactMap { tickets[$0] }.filter { !$0.deleted && filter($0) }.map {
            ($0.id, ticketJSON($0, baseURL: baseURL))
        }
    }

    /// A ticket the ticket endpoints know: a soft-deleted one is a 404 `RecordNotFound`, as an unknown id.
    private func liveTicket(_ id: Int) throws(ZendeskError) -> Ticket {
        guard let ticket = tickets[id], !ticket.deleted else { throw .notFound }
        return ticket
    }

    /// `DELETE /tickets/{id}`: a soft delete (204). The ticket leaves the list and show endpoints and stays in the
    /// incremental export with status `deleted` (until it is scrubbed, not modelled).
    mutating func deleteTicket(_ id: Int) throws(ZendeskError) -> APIAnswer {
        var ticket = try liveTicket(id)
        ticket.deleted = true
        ticket.updatedAt = now
        tickets[id] = ticket
        return APIAnswer(status: 204, body: .null)
    }

    func listTickets(_ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        try page(ticketItems({ _ in true }, baseURL: request.baseURL), key: "tickets", request: request)
    }

    func organizationTickets(_ id: Int, _ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        guard organizations[id] != nil else { throw .notFound }
        return try page(ticketItems({ $0.organizationID == id }, baseURL: request.baseURL), key: "tickets", request: request)
    }

    func showTicket(_ id: Int, _ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let ticket = try liveTicket(id)
        return APIAnswer(status: 200, body: ["ticket": ticketJSON(ticket, baseURL: request.baseURL)])
    }

    mutating func createTicket(_ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let input = try root(request, "ticket")
        let body =
            Self.text(input["comment"]?["body"]) ?? Self.text(input["comment"]?["html_body"])
            ?? Self.text(input["description"])
        guard let body, !body.isEmpty else {
            throw .recordInvalid(field: "description", description: "Description: cannot be blank", error: "BlankValue")
        }
        let requesterID = try requester(input)
        let subject = Self.text(input["subject"]) ?? String(body.prefix(80))
        var ticket = Ticket(
            id: 0, subject: subject, description: body, requesterID: requesterID, submitterID: agentID,
            organizationID: users[requesterID]?.organizationID, status: "new", priority: nil, type: nil, externalID: nil,
            tags: [], comments: [], createdAt: now, updatedAt: now)
        try apply(input, to: &ticket)
        ticket.id = makeID()
        ticket.comments = [
            Comment(
                id: makeID(), body: body, authorID: agentID, isPublic: input["comment"]?["public"].bool ?? true,
                createdAt: now)
        ]
        tickets[ticket.id] = ticket
        events.append(
            PendingEvent(
                type: "zen:event-type:ticket.created", subject: "zen:ticket:\(ticket.id)", detail: ticketDetail(ticket),
                event: [:]))
        return APIAnswer(status: 201, body: ["ticket": ticketJSON(ticket, baseURL: request.baseURL)])
    }

    mutating func updateTicket(_ id: Int, _ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let before = try liveTicket(id)
        let input = try root(request, "ticket")
        if before.status == "closed" {
            throw .recordInvalid(field: "status", description: "Status: closed prevents ticket update", error: "InvalidValue")
        }
        var ticket = before
        if input["requester_id"] != nil || input["requester"] != nil { ticket.requesterID = try requester(input) }
        try apply(input, to: &ticket)
        if let comment = input["comment"]?.object, let body = Self.text(comment["body"]) ?? Self.text(comment["html_body"]) {
            ticket.comments.append(
                Comment(id: makeID(), body: body, authorID: agentID, isPublic: comment["public"]?.bool ?? true, createdAt: now))
        }
        ticket.updatedAt = now
        tickets[id] = ticket
        let subject = "zen:ticket:\(id)"
        func changed(_ name: String, _ current: JSON, _ previous: JSON) {
            guard current != previous else { return }
            events.append(
                PendingEvent(
                    type: "zen:event-type:ticket.\(name)", subject: subject, detail: ticketDetail(ticket),
                    event: ["current": current, "previous": previous]))
        }
        changed("status_changed", .string(ticket.status.uppercased()), .string(before.status.uppercased()))
        changed("priority_changed", .from(ticket.priority?.uppercased()), .from(before.priority?.uppercased()))
        changed("subject_changed", .string(ticket.subject), .string(before.subject))
        changed(
            "organization_changed", .from(ticket.organizationID.map(String.init)),
            .from(before.organizationID.map(String.init)))
        changed("requester_changed", .string(String(ticket.requesterID)), .string(String(before.requesterID)))
        changed("external_id_changed", .from(ticket.externalID), .from(before.externalID))
        if ticket.tags != before.tags {
            events.append(
                PendingEvent(
                    type: "zen:event-type:ticket.tags_changed", subject: subject, detail: ticketDetail(ticket),
                    event: [
                        "tags_added": .strings(ticket.tags.filter { !before.tags.contains($0) }),
                        "tags_removed": .strings(before.tags.filter { !ticket.tags.contains($0) }),
                    ]))
        }
        if ticket.comments.count > before.comments.count, let comment = ticket.comments.last {
            events.append(
                PendingEvent(
                    type: "zen:event-type:ticket.comment_added", subject: subject, detail: ticketDetail(ticket),
                    event: [
                        "comment": [
                            "id": .string(String(comment.id)), "body": .string(comment.body), "is_public": .bool(comment.isPublic),
                            "author": ["id": .string(String(comment.authorID))],
                        ]
                    ]))
        }
        return APIAnswer(status: 200, body: ["ticket": ticketJSON(ticket, baseURL: request.baseURL)])
    }

    /// `requester_id`, or a `requester` object (`{"email","name"}`) found or created as an end user; the agent when
    /// neither is given.
    private mutating func requester(_ input: JSONObject) throws(ZendeskError) -> Int {
        if let value = input["requester_id"], !value.isNull {
            guard let id = value.int, users[id] != nil else {
                throw .recordInvalid(field: "requester", description: "Requester: is invalid", error: "InvalidValue")
            }
            return id
        }
        if let requester = input["requester"]?.object {
            guard let email = Self.text(requester["email"])?.lowercased(), email.contains("@") else {
                throw .recordInvalid(field: "requester", description: "Requester: Email is invalid", error: "InvalidValue")
            }
            if let user = users.values.first(where: { Self.same($0.email, email) }) { return user.id }
            let id = makeID()
            users[id] = User(
                id: id, name: Self.text(requester["name"]) ?? email, email: email, externalID: nil,
                organizationID: nil, role: "end-user", createdAt: now, updatedAt: now)
            if let mapped = organizationMapped(email: email) { addMembership(user: id, organization: mapped, asDefault: true) }
            return id
        }
        return agentID
    }

    private func apply(_ input: JSONObject, to ticket: inout Ticket) throws(ZendeskError) {
        if let subject = Self.text(input["subject"]) { ticket.subject = subject }
        if let value = input["status"] {
            guard let status = Self.text(value)?.lowercased(), Self.statuses.contains(status) else {
                throw .recordInvalid(field: "status", description: "Status: is invalid", error: "InvalidValue")
            }
            ticket.status = status
        }
        if let value = input["priority"] {
            if value.isNull {
                ticket.priority = nil
            } else {
                guard let priority = Self.text(value)?.lowercased(), Self.priorities.contains(priority) else {
                    throw .recordInvalid(field: "priority", description: "Priority: is invalid", error: "InvalidValue")
                }
                ticket.priority = priority
            }
        }
        if let value = input["type"] {
            let type = Self.text(value)?.lowercased()
            if let type, !Self.ticketTypes.contains(type) {
                throw .recordInvalid(field: "type", description: "Type: is invalid", error: "InvalidValue")
            }
            ticket.type = type
        }
        if let value = input["external_id"] { ticket.externalID = Self.text(value) }
        if let value = input["tags"] { ticket.tags = Self.list(value).map { $0.lowercased() } }
        if let value = input["organization_id"] {
            if let id = value.int {
                guard organizations[id] != nil else {
                    throw .recordInvalid(
                        field: "organization_id", description: "Organization: is invalid", error: "InvalidValue")
                }
                ticket.organizationID = id
            } else {
                ticket.organizationID = nil
            }
        } else if input["requester_id"] != nil || input["requester"] != nil {
            ticket.organizationID = users[ticket.requesterID]?.organizationID
        }
    }

    // MARK: Incremental export

    /// `GET /incremental/tickets/cursor?start_time=` then `?cursor=`: tickets ordered by when they last changed,
    /// excluding changes of the last minute (as Zendesk does, for accuracy). `start_time` must be at least a minute
    /// in the past (400 `StartTimeTooRecent` otherwise). Soft-deleted tickets come with status `deleted` unless
    /// `exclude_deleted=true`.
    func incrementalTickets(_ request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let perPage = min(1000, max(1, Int(request.query["per_page"] ?? "1000") ?? 1000))
        let position: (time: Int, id: Int)
        if let cursor = request.query["cursor"] {
            guard let data = Data(base64Encoded: cursor), let text = String(data: data, encoding: .utf8) else {
                throw .badRequest("InvalidValue", "Invalid cursor")
            }
            let parts = text.split(separator: ":").compactMap { Int($0) }
            guard parts.count == 2 else { throw .badRequest("InvalidValue", "Invalid cursor") }
            position = (parts[0], parts[1])
        } else if let start = request.query["start_time"] {
            guard let start = Int(start), start >= 0 else {
                throw .badRequest("InvalidValue", "start_time must be a unix timestamp")
            }
            guard start <= now - 60 else { throw .startTimeTooRecent }
            position = (start, 0)
        } else {
            throw .badRequest("InvalidValue", "start_time or cursor is required")
        }
        let excludeDeleted = request.query["exclude_deleted"] == "true"
        let cutoff = now - 60
        let eligible = tickets.values
            .filter { $0.updatedAt <= cutoff && ($0.updatedAt, $0.id) > position && !(excludeDeleted && $0.deleted) }
            .sorted { ($0.updatedAt, $0.id) < ($1.updatedAt, $1.id) }
        let slice = eligible.prefix(perPage)
        let last = slice.last.map { ($0.updatedAt, $0.id) } ?? position
        let afterCursor = Data("\(last.0):\(last.1)".utf8).base64EncodedString()
        let afterURL =
            "\(request.baseURL)/api/v2/incremental/tickets/cursor.json?cursor="
            + (afterCursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? afterCursor)
        return APIAnswer(
            status: 200,
            body: .object(
                JSONObject([
                    ("tickets", .array(slice.map { ticketJSON($0, baseURL: request.baseURL) })),
                    ("after_url", .string(afterURL)),
                    ("after_cursor", .string(afterCursor)),
                    ("before_url", .null),
                    ("before_cursor", .null),
                    ("end_of_stream", .bool(eligible.count <= perPage)),
                ])))
    }
}
