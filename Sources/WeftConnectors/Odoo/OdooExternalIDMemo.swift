import Synchronization

/// One `weft.*` external id: its `ir.model.data` row and the record it names.
struct OdooExternalIDRow: Sendable, Hashable {
    /// The `ir.model.data` row's id.
    var dataID: Int64
    /// The model of the record it names.
    var model: String
    /// The id of the record it names.
    var resID: Int64
}

/// A `weft.<name>` external id to create for record `id` of `model`.
struct OdooBinding: Sendable, Hashable {
    var name: String
    var model: String
    var id: Int64
}

/// What one delivery batch knows of `weft.*` external ids, so that its commands need not look them up one kind at a
/// time.
///
/// `OdooTarget.deliver` reads the external ids of every record its commands will look for in one `search_read`, then
/// each step (partners, products, invoices, payments, refunds, standings) answers its lookups from here, and asks
/// Odoo only for names it does not know. What the batch binds, and what it reads again to settle a conflict, is kept up
/// to date here; a name whose row the batch changes or finds taken is forgotten, so the next lookup reads it again.
///
/// It may be stale about what other writers did meanwhile, as any lookup is by the time it is acted on: a name
/// remembered as unbound that another node bound since is still found by its key field (partner and invoice `ref`,
/// product `default_code`, the payment memo, the credit note's reason), and binding it again is refused by Odoo's
/// unique external id, which the upsert then settles. Lives for one `deliver` call only.
///
/// It also holds back the bookkeeping bindings of payments and credit notes (`OdooClient.bindLater`), which the batch
/// creates in one call once both steps are done: those records are findable by their key field without them.
final class OdooExternalIDMemo: Sendable {
    private enum Entry: Sendable {
        case bound(OdooExternalIDRow)
        case unbound
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let heldBack = Mutex<[OdooBinding]>([])

    init() {}

    /// The rows of the names it knows to be bound, and the names it does not know (`externalIDRows` reads those).
    func lookup(_ names: [String]) -> (rows: [String: OdooExternalIDRow], unknown: [String]) {
        entries.withLock { entries in
            var rows: [String: OdooExternalIDRow] = [:]
            var unknown: [String] = []
            for name in names {
                switch entries[name] {
                case .bound(let row)?: rows[name] = row
                case .unbound?: break
                case nil: unknown.append(name)
                }
            }
            return (rows, unknown)
        }
    }

    /// Records what Odoo answered for `names`: the ones in `rows` are bound so, the others are not bound.
    func learn(asked names: [String], rows: [String: OdooExternalIDRow]) {
        entries.withLock { entries in
            for name in names { entries[name] = rows[name].map(Entry.bound) ?? .unbound }
        }
    }

    /// Records bindings this batch created.
    func learnBound(_ rows: [String: OdooExternalIDRow]) {
        entries.withLock { entries in
            for (name, row) in rows { entries[name] = .bound(row) }
        }
    }

    /// Forgets names whose rows changed or could not be created, so the next lookup asks Odoo.
    func forget(_ names: some Sequence<String>) {
        entries.withLock { entries in
            for name in names { entries[name] = nil }
        }
    }

    /// Keeps `bindings` for the batch to create later (`takeHeldBack`).
    func holdBack(_ bindings: [OdooBinding]) {
        heldBack.withLock { $0 += bindings }
    }

    /// The bindings held back so far, in the order they came; none are held afterwards.
    func takeHeldBack() -> [OdooBinding] {
        heldBack.withLock { held in
            defer { held = [] }
            return held
        }
    }
}
