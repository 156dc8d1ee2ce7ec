/// The stored objects of one kind, in creation order.
struct ObjectTable: Sendable {
    private(set) var byID: [String: JSON] = [:]
    /// Ids in creation order; lists read it backwards (newest first).
    private(set) var order: [String] = []
    /// Ids that were deleted: retrieving them answers `{"id","object","deleted":true}`.
    private(set) var deleted: Set<String> = []

    subscript(id: String) -> JSON? {
        get { byID[id] }
        set {
            if byID[id] == nil, newValue != nil { order.append(id) }
            byID[id] = newValue
        }
    }

    mutating func markDeleted(_ id: String) {
        byID[id] = nil
        order.removeAll { $0 == id }
        deleted.insert(id)
    }

    /// Live objects, newest first.
    var newestFirst: [JSON] { order.reversed().compactMap { byID[$0] } }
}
