/// Saved results of idempotent POSTs, keyed by API key and `Idempotency-Key`.
struct IdempotencyStore: Sendable {
    struct Saved: Sendable {
        var method: String
        var path: String
        var params: FormParams
        var reply: APIReply
        var createdAt: Int
    }

    /// How long a key is remembered, in seconds (Stripe prunes after at least 24 hours).
    var lifetime = 24 * 60 * 60
    private var saved: [String: Saved] = [:]

    enum Lookup {
        case none
        case replay(APIReply)
        case mismatch
    }

    /// Finds a saved result for `key`; a key used with other parameters (or another endpoint) is a mismatch.
    mutating func lookup(key: String, method: String, path: String, params: FormParams, now: Int) -> Lookup {
        guard let entry = saved[key] else { return .none }
        guard now - entry.createdAt < lifetime else {
            saved[key] = nil
            return .none
        }
        guard entry.method == method, entry.path == path, entry.params == params else { return .mismatch }
        return .replay(entry.reply)
    }

    mutating func save(key: String, method: String, path: String, params: FormParams, reply: APIReply, now: Int) {
        saved[key] = Saved(method: method, path: path, params: params, reply: reply, createdAt: now)
    }
}

/// A rendered API answer.
struct APIReply: Sendable {
    var status: Int
    var body: JSON
    var requestID: String
    var headers: [(String, String)] = []
}
