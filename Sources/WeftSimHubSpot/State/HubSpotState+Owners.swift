import WeftSimKit

extension HubSpotState {
    /// `GET {owners}?email&after&limit&archived`: the owners, by id, `limit` (1–500, default 100) a page;
    /// `email` matches exactly (case-insensitively); `archived=true` lists only deactivated users.
    func listOwners(_ request: APIRequest) throws(HubSpotError) -> APIAnswer {
        guard request.method == "GET" else { throw .notFound() }
        let limit = min(max(Int(request.query["limit"] ?? "") ?? 100, 1), 500)
        let after = Int(request.query["after"] ?? "") ?? 0
        let archived = request.query["archived"] == "true"
        let email = request.query["email"]?.lowercased()
        let matching = owners.filter { owner in
            owner.archived == archived && owner.id >= after && (email.map { owner.email.lowercased() == $0 } ?? true)
        }.sorted { $0.id < $1.id }
        var object = JSONObject([("results", .array(matching.prefix(limit).map(ownerJSON)))])
        if matching.count > limit {
            let next = String(matching[limit].id)
            var link = request.baseURL + request.path + "?after=" + next
            if let email { link += "&email=" + email }
            object["paging"] = ["next": ["after": .string(next), "link": .string(link)]]
        }
        return .ok(.object(object))
    }

    /// `GET {owners}/{ownerId}?idProperty=id|userId&archived`: one owner; 404 when there is none.
    func readOwner(_ request: APIRequest) throws(HubSpotError) -> APIAnswer {
        guard request.method == "GET", request.segments.count == 1, let key = Int(request.segments[0]) else {
            throw .notFound()
        }
        let byUser = request.query["idProperty"] == "userId"
        let archived = request.query["archived"] == "true"
        guard let owner = owners.first(where: { (byUser ? $0.userID : $0.id) == key && $0.archived == archived }) else {
            throw .notFound("Owner with id \(key) not found")
        }
        return .ok(ownerJSON(owner))
    }

    /// `{"id","email","type","firstName","lastName","userId","userIdIncludingInactive","createdAt","updatedAt",
    /// "archived","teams":[{"id","name","primary"}]}`.
    private func ownerJSON(_ owner: HubSpotSimulator.Configuration.Owner) -> JSON {
        let stamp = JSON.string(Timestamps.iso8601(ms: 1_577_836_800_000 + owner.id % 1000 * 1000))
        var object = JSONObject([
            ("id", .string(String(owner.id))), ("email", .string(owner.email)), ("type", "PERSON"),
            ("firstName", JSON.from(owner.firstName)), ("lastName", JSON.from(owner.lastName)),
        ])
        if !owner.archived { object["userId"] = .int(owner.userID) }
        object["userIdIncludingInactive"] = .int(owner.userID)
        object["createdAt"] = stamp
        object["updatedAt"] = stamp
        object["archived"] = .bool(owner.archived)
        object["teams"] = .array(
            owner.teams.enumerated().map { index, name in
                [
                    "id": .string(String(100_000 + Int(fingerprint(name) % 900_000))), "name": .string(name),
                    "primary": .bool(index == 0),
                ]
            })
        return .object(object)
    }

    /// A stable number for a team name (team ids only need to be stable and distinct).
    private func fingerprint(_ text: String) -> UInt64 {
        text.utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
    }
}
