extension ChargebeeState {
    /// `GET /events`: `occurred_at[after|before|on|between]` (and v1's `start_time`/`end_time`), `event_type[is|in]`,
    /// `source[is]`, `sort_by[asc|desc]=occurred_at` (default newest first), `limit` ≤ 100 and `offset`.
    ///
    /// `next_offset` names the last event returned (`["<occurred_at ms>","<sequence>"]`, the shape Chargebee's
    /// offsets have), so a page continues after that event even when newer events arrive in between.
    func listEvents(_ params: FormBody) throws(ChargebeeError) -> JSON {
        let occurred = try Self.timeFilter(params, "occurred_at")
        let startTime = try params.int("start_time")
        let endTime = try params.int("end_time")
        var types: Set<String>?
        if let type = params.string("event_type[is]") { types = [type] }
        if let list = params.string("event_type[in]") { types = Set(Self.parseList(list)) }
        let excluded = params.string("event_type[not_in]").map { Set(Self.parseList($0)) } ?? []
        let source = params.string("source[is]")
        let ascending: Bool
        if let field = params.string("sort_by[asc]") {
            guard field == "occurred_at" else { throw .paramInvalid("sort_by[asc]", "invalid value") }
            ascending = true
        } else {
            if let field = params.string("sort_by[desc]"), field != "occurred_at" {
                throw .paramInvalid("sort_by[desc]", "invalid value")
            }
            ascending = false
        }
        let limit = try Self.limit(params)
        var after: (Int, Int)?
        if let offset = params.string("offset") {
            let parts = Self.parseList(offset).compactMap(Int.init)
            guard parts.count == 2 else { throw .paramInvalid("offset", "invalid value") }
            after = (parts[0], parts[1])
        }
        var keyed: [(key: (Int, Int), event: JSON)] = []
        for (sequence, event) in events.enumerated() {
            let at = event["occurred_at"].int ?? 0
            let type = event["event_type"].string ?? ""
            guard occurred(at), startTime.map({ at >= $0 }) ?? true, endTime.map({ at <= $0 }) ?? true,
                types?.contains(type) ?? true, !excluded.contains(type), source == nil || event["source"].string == source
            else { continue }
            keyed.append(((at * 1000, sequence), event))
        }
        if !ascending { keyed.reverse() }
        if let after {
            keyed = keyed.filter { ascending ? $0.key > after : $0.key < after }
        }
        let page = keyed.prefix(limit)
        var body: JSON = ["list": .array(page.map { ["event": $0.event] })]
        if keyed.count > page.count, let last = page.last {
            body["next_offset"] = .string("[\"\(last.key.0)\",\"\(last.key.1)\"]")
        }
        return body
    }

    /// `["a","b"]` or `a,b`.
    static func parseList(_ raw: String) -> [String] {
        raw.trimmingPrefix("[").split(separator: ",").map { part in
            var text = Substring(part)
            while let first = text.first, first == " " || first == "\"" || first == "[" { text = text.dropFirst() }
            while let last = text.last, last == " " || last == "\"" || last == "]" { text = text.dropLast() }
            return String(text)
        }.filter { !$0.isEmpty }
    }

    func retrieveEvent(_ id: String) throws(ChargebeeError) -> JSON {
        guard let index = eventIndex[id] else { throw .notFound() }
        return ["event": events[index]]
    }
}
