import Foundation
import WeftSimKit

extension ZendeskState {
    /// A list answer for `items` (ordered by id): cursor pagination when `page[size]`, `page[after]` or
    /// `page[before]` is given (`meta` + `links`), else offset pagination (`next_page`, `previous_page`, `count`).
    func page(_ items: [(id: Int, json: JSON)], key: String, request: APIRequest) throws(ZendeskError) -> APIAnswer {
        let path = request.baseURL + "/api/v2/" + request.segments.joined(separator: "/") + ".json"
        let q = request.query
        if q["page[size]"] != nil || q["page[after]"] != nil || q["page[before]"] != nil {
            let size = try pageSize(q["page[size]"], maximum: 100)
            var slice: ArraySlice<(id: Int, json: JSON)>
            var moreAfter: Bool
            var moreBefore: Bool
            if let before = q["page[before]"] {
                let cursor = try Self.decodeCursor(before)
                let earlier = items.filter { $0.id < cursor }
                slice = earlier.suffix(size)
                moreBefore = earlier.count > size
                moreAfter = true
            } else {
                let cursor = try q["page[after]"].map { (value: String) throws(ZendeskError) in try Self.decodeCursor(value) }
                let later = cursor.map { cursor in items.filter { $0.id > cursor } } ?? items
                slice = later.prefix(size)
                moreAfter = later.count > size
                moreBefore = cursor != nil
            }
            let after = slice.last.map { Self.encodeCursor($0.id) }
            let before = slice.first.map { Self.encodeCursor($0.id) }
            let next: JSON = moreAfter ? .from(after.map { "\(path)?page%5Bafter%5D=\($0)&page%5Bsize%5D=\(size)" }) : .null
            let prev: JSON = moreBefore ? .from(before.map { "\(path)?page%5Bbefore%5D=\($0)&page%5Bsize%5D=\(size)" }) : .null
            let hasMore = q["page[before]"] != nil ? moreBefore : moreAfter
            return APIAnswer(
                status: 200,
                body: .object(
                    JSONObject([
                        (key, .array(slice.map(\.json))),
                        ("meta", ["has_more": .bool(hasMore), "after_cursor": .from(after), "before_cursor": .from(before)]),
                        ("links", ["prev": prev, "next": next]),
                    ])))
        }
        let perPage = try pageSize(q["per_page"], maximum: 100)
        let number = max(1, Int(q["page"] ?? "1") ?? 1)
        guard number <= Self.deepestOffsetPage else { throw .paginationTooDeep }
        let start = min(items.count, (number - 1) * perPage)
        let slice = items[start..<min(items.count, start + perPage)]
        let hasNext = start + perPage < items.count
        return APIAnswer(
            status: 200,
            body: .object(
                JSONObject([
                    (key, .array(slice.map(\.json))),
                    ("next_page", hasNext ? .string("\(path)?page=\(number + 1)&per_page=\(perPage)") : .null),
                    ("previous_page", number > 1 ? .string("\(path)?page=\(number - 1)&per_page=\(perPage)") : .null),
                    ("count", .int(items.count)),
                ])))
    }

    /// The last page offset pagination serves (with at most 100 a page: the first 10,000 records).
    static let deepestOffsetPage = 100

    private func pageSize(_ text: String?, maximum: Int) throws(ZendeskError) -> Int {
        guard let text else { return maximum }
        guard let size = Int(text), size >= 1 else {
            throw .badRequest("InvalidPaginationParameter", "page size must be a positive integer")
        }
        guard size <= maximum else {
            throw .badRequest("InvalidPaginationParameter", "page[size] must be less than or equal to \(maximum)")
        }
        return size
    }

    /// Opaque cursors: base64 of a small JSON object, as Zendesk's look.
    static func encodeCursor(_ id: Int) -> String {
        Data(#"{"o":"id","v":\#(id)}"#.utf8).base64EncodedString()
    }

    static func decodeCursor(_ text: String) throws(ZendeskError) -> Int {
        guard let data = Data(base64Encoded: text), let json = try? JSON.parse(Array(data)), let id = json["v"].int
        else { throw .badRequest("InvalidPaginationParameter", "invalid cursor") }
        return id
    }

    /// Offset-style list answer for search endpoints (all matches on one page).
    static func searchAnswer(_ items: [JSON], key: String) -> APIAnswer {
        APIAnswer(
            status: 200,
            body: .object(
                JSONObject([
                    (key, .array(items)), ("next_page", .null), ("previous_page", .null), ("count", .int(items.count)),
                ])))
    }
}
