import Logging
import WeftCore

/// One record to make exist in Odoo, keyed twice: by its `weft.*` external id and by a key field on the record.
struct OdooUpsertItem: Sendable {
    var ref: ExternalRef
    var keyField: String
    var key: String
    /// Values for `create`; the key field is added.
    var createValues: [String: JSONValue]
    /// Values to keep in sync on an existing record (only differing ones are written); `nil` leaves it untouched.
    var updateValues: [String: JSONValue]?
}

/// What a caller already knows of the records of some upsert items, so `upsert` need not look them up again.
struct OdooUpsertView: Sendable {
    /// External-id name → the record it names (with at least `id`).
    var bound: [String: [String: JSONValue]] = [:]
    /// Key-field value → the record that carries it.
    var keyed: [String: [String: JSONValue]] = [:]
}

/// The result of an upsert: the record id and whether this call created it.
struct OdooUpsertResult: Sendable {
    var id: Int64
    var created: Bool
    var current: [String: JSONValue]
}

extension OdooClient {
    static let externalIDModule = "weft"
    static let inactiveToo: [String: JSONValue] = ["active_test": false]

    /// Finds or creates every item (all of one model) with at most one lookup by external id, one `read`, one
    /// `search_read` by key, one `create` for all missing records and one `ir.model.data` `create`.
    ///
    /// - Parameter view: what the caller already looked up (records by external-id name and by key); the lookups are
    ///   then skipped. It may be stale: a record another node created and bound meanwhile is still not duplicated
    ///   (see ``adoptBoundRecords``).
    func upsert(
        model: String, items: [OdooUpsertItem], readFields: [String] = [], view: OdooUpsertView? = nil, logger: Logger
    ) async throws(OdooError) -> [OdooUpsertResult] {
        guard !items.isEmpty else { return [] }
        let compareFields = Array(Set(items.flatMap { ($0.updateValues ?? [:]).keys } + readFields + [items[0].keyField]))
        let found: [String: [String: JSONValue]]  // xmlid name → record
        var keyed: [String: [String: JSONValue]] = [:]  // key → record
        if let view {
            found = view.bound
            keyed = view.keyed
        } else {
            // 1. External ids.
            let bound = try await externalIDs(items.map(\.ref.xmlidName), model: model, logger: logger)
            let boundRecords = try await read(
                model: model, ids: Array(Set(bound.values)), fields: compareFields, context: Self.inactiveToo, logger: logger)
            let recordsByID = Self.byID(boundRecords)
            var byName: [String: [String: JSONValue]] = [:]
            for item in items {
                if let id = bound[item.ref.xmlidName], let record = recordsByID[id] { byName[item.ref.xmlidName] = record }
            }
            found = byName
            // 2. Key field.
            let unresolved = items.filter { found[$0.ref.xmlidName] == nil }
            if !unresolved.isEmpty {
                let keys = Array(Set(unresolved.map(\.key))).sorted()
                let records = try await searchRead(
                    model: model, domain: [[.string(items[0].keyField), "in", .array(keys.map(JSONValue.string))]],
                    fields: compareFields, order: "id", context: Self.inactiveToo, logger: logger)
                for record in records {
                    if let key = record[items[0].keyField]?.stringValue, keyed[key] == nil { keyed[key] = record }
                }
            }
        }
        let unresolved = items.filter { found[$0.ref.xmlidName] == nil }
        // 3. Create what is still missing, one record per key, in one call.
        var toCreate: [String: OdooUpsertItem] = [:]
        var createOrder: [String] = []
        for item in unresolved where keyed[item.key] == nil && toCreate[item.key] == nil {
            toCreate[item.key] = item
            createOrder.append(item.key)
        }
        var created: [String: Int64] = [:]
        if !createOrder.isEmpty {
            let values = createOrder.map { key in
                var values = toCreate[key]!.createValues
                values[toCreate[key]!.keyField] = .string(key)
                return values
            }
            let ids = try await create(model: model, values: values, logger: logger)
            for (key, id) in zip(createOrder, ids) { created[key] = id }
        }
        // 4. Resolve every item and bind external ids that are not bound yet.
        var results: [OdooUpsertResult] = []
        var bindings: [(name: String, id: Int64)] = []
        var seenNames: Set<String> = []
        for item in items {
            let name = item.ref.xmlidName
            if let record = found[name], let id = record["id"]?.intValue {
                results.append(OdooUpsertResult(id: id, created: false, current: record))
            } else if let record = keyed[item.key], let id = record["id"]?.intValue {
                results.append(OdooUpsertResult(id: id, created: false, current: record))
                if seenNames.insert(name).inserted { bindings.append((name, id)) }
            } else if let id = created[item.key] {
                let isFirst = toCreate[item.key]?.ref == item.ref && !results.contains { $0.id == id }
                results.append(OdooUpsertResult(id: id, created: isFirst, current: [:]))
                if seenNames.insert(name).inserted { bindings.append((name, id)) }
            } else {
                throw OdooError(kind: .invalidResponse, message: "record neither found nor created", operation: "\(model).create")
            }
        }
        let taken = try await bindExternalIDs(bindings, model: model, logger: logger)
        if !taken.isEmpty {
            results = try await adoptBoundRecords(
                model: model, items: items, results: results, bindings: bindings, taken: taken,
                createdIDs: Set(created.values), fields: compareFields, logger: logger)
        }
        // 5. Bring existing records up to date, writing only fields that differ.
        for (item, result) in zip(items, results) where !result.created {
            guard let desired = item.updateValues else { continue }
            let changes = desired.filter { field, value in !Self.sameValue(value, result.current[field]) }
            if !changes.isEmpty {
                try await write(model: model, ids: [result.id], values: changes, logger: logger)
            }
        }
        return results
    }

    /// Settles the bindings another call made between this call's lookup and its `create` (two commands of different
    /// entities creating the same partner on two nodes): the external id wins. A record this call created whose
    /// external id turned out to be taken by another record is unlinked (nothing refers to it yet) and the bound record
    /// is used instead; an external id left pointing at a deleted record is repointed to this call's record.
    private func adoptBoundRecords(
        model: String, items: [OdooUpsertItem], results: [OdooUpsertResult], bindings: [(name: String, id: Int64)],
        taken: Set<String>, createdIDs: Set<Int64>, fields: [String], logger: Logger
    ) async throws(OdooError) -> [OdooUpsertResult] {
        let rows = try await externalIDRows(Array(taken), logger: logger)
        let ours = Dictionary(bindings.map { ($0.name, $0.id) }) { first, _ in first }
        var elsewhere: [String: Int64] = [:]  // name → the record its external id names
        var dangling: [(name: String, dataID: Int64, id: Int64)] = []
        let others = Array(Set(taken.compactMap { name in rows[name].flatMap { $0.model == model ? $0.resID : nil } }))
        let existing = Self.byID(try await read(model: model, ids: others, fields: fields, context: Self.inactiveToo, logger: logger))
        for name in taken.sorted() {
            guard let row = rows[name], row.model == model, let mine = ours[name], row.resID != mine else { continue }
            if existing[row.resID] != nil {
                elsewhere[name] = row.resID
            } else {
                dangling.append((name, row.dataID, mine))
            }
        }
        for (name, dataID, id) in dangling {
            try await repointExternalIDs([(name, dataID)], to: id, logger: logger)
        }
        guard !elsewhere.isEmpty else { return results }
        // A created record may only go if no binding of this call kept pointing at it (items sharing a key share it).
        let kept = Set(bindings.filter { elsewhere[$0.name] == nil }.map(\.id))
        let abandoned = Set(elsewhere.keys.compactMap { ours[$0] }).filter { createdIDs.contains($0) && !kept.contains($0) }
        var adjusted = results
        for (index, item) in items.enumerated() {
            guard let target = elsewhere[item.ref.xmlidName], let record = existing[target] else { continue }
            adjusted[index] = OdooUpsertResult(id: target, created: false, current: record)
        }
        if !abandoned.isEmpty {
            logger.info(
                "odoo record created concurrently elsewhere; removing the twin",
                metadata: ["weft.odoo.model": "\(model)", "weft.odoo.ids": "\(abandoned.sorted())"])
            _ = try await call(model: model, method: "unlink", ids: abandoned.sorted(), logger: logger)
        }
        return adjusted
    }

    static func byID(_ records: [[String: JSONValue]]) -> [Int64: [String: JSONValue]] {
        Dictionary(records.compactMap { record in record["id"]?.intValue.map { ($0, record) } }) { first, _ in first }
    }

    /// `weft.<name>` → record id, for the given names bound to `model` (from the batch's memo where it knows them).
    func externalIDs(_ names: [String], model: String, logger: Logger) async throws(OdooError) -> [String: Int64] {
        let rows = try await knownExternalIDRows(names, logger: logger)
        return rows.compactMapValues { $0.model == model ? $0.resID : nil }
    }

    /// `weft.<name>` → its `ir.model.data` row (whatever model it names), from the batch's memo where it knows the
    /// names; the others are read (and remembered).
    func knownExternalIDRows(_ names: [String], logger: Logger) async throws(OdooError) -> [String: OdooExternalIDRow] {
        guard let externalIDMemo else { return try await externalIDRows(names, logger: logger) }
        let (known, unknown) = externalIDMemo.lookup(names)
        guard !unknown.isEmpty else { return known }
        return known.merging(try await externalIDRows(unknown, logger: logger)) { remembered, _ in remembered }
    }

    /// `weft.<name>` → its `ir.model.data` row (whatever model it names), read from Odoo now: what settles a conflict
    /// reads this, never the memo (which it updates).
    func externalIDRows(_ names: [String], logger: Logger) async throws(OdooError) -> [String: OdooExternalIDRow] {
        let unique = Array(Set(names)).sorted()
        guard !unique.isEmpty else { return [:] }
        let rows = try await searchRead(
            model: "ir.model.data",
            domain: [["module", "=", .string(Self.externalIDModule)], ["name", "in", .array(unique.map(JSONValue.string))]],
            fields: ["name", "model", "res_id"], logger: logger)
        var result: [String: OdooExternalIDRow] = [:]
        for row in rows {
            guard let name = row["name"]?.stringValue, let dataID = row["id"]?.intValue, let resID = row["res_id"]?.intValue
            else { continue }
            result[name] = OdooExternalIDRow(dataID: dataID, model: row["model"]?.stringValue ?? "", resID: resID)
        }
        externalIDMemo?.learn(asked: unique, rows: result)
        return result
    }

    /// Points the external ids `rows` (name and `ir.model.data` id) at record `id` of their model.
    func repointExternalIDs(_ rows: [(name: String, dataID: Int64)], to id: Int64, logger: Logger) async throws(OdooError) {
        guard !rows.isEmpty else { return }
        externalIDMemo?.forget(rows.map(\.name))
        try await write(model: "ir.model.data", ids: rows.map(\.dataID), values: ["res_id": .int(id)], logger: logger)
    }

    /// Creates `weft.<name>` external ids. Ones that already exist (unique-index violation) are left as they are and
    /// returned, so the caller can check what they point at.
    @discardableResult
    func bindExternalIDs(
        _ bindings: [(name: String, id: Int64)], model: String, logger: Logger
    ) async throws(OdooError) -> Set<String> {
        try await bindExternalIDs(bindings.map { OdooBinding(name: $0.name, model: model, id: $0.id) }, logger: logger)
    }

    /// Creates the bindings of records that are findable without them (by a key field), in one call with the
    /// bookkeeping of the batch's other such steps: now outside a delivery batch, else when the batch calls
    /// `bindHeldBack(logger:)`. The caller ignores what was taken, as `bindExternalIDs` reports it.
    func bindLater(_ bindings: [(name: String, id: Int64)], model: String, logger: Logger) async throws(OdooError) {
        guard let externalIDMemo else {
            try await bindExternalIDs(bindings, model: model, logger: logger)
            return
        }
        externalIDMemo.holdBack(bindings.map { OdooBinding(name: $0.name, model: model, id: $0.id) })
    }

    /// Creates the bindings `bindLater` held back in this batch, in one call (the first of a name when held twice).
    func bindHeldBack(logger: Logger) async throws(OdooError) {
        guard let held = externalIDMemo?.takeHeldBack(), !held.isEmpty else { return }
        var seen: Set<String> = []
        try await bindExternalIDs(held.filter { seen.insert($0.name).inserted }, logger: logger)
    }

    /// Creates `weft.<name>` external ids, each for its own model (see `bindExternalIDs(_:model:logger:)`).
    @discardableResult
    func bindExternalIDs(_ bindings: [OdooBinding], logger: Logger) async throws(OdooError) -> Set<String> {
        guard !bindings.isEmpty else { return [] }
        func values(_ binding: OdooBinding) -> [String: JSONValue] {
            [
                "module": .string(Self.externalIDModule), "name": .string(binding.name), "model": .string(binding.model),
                "res_id": .int(binding.id), "noupdate": true,
            ]
        }
        /// Creates the bindings in one call and remembers them.
        func bind(_ bindings: [OdooBinding]) async throws(OdooError) {
            let dataIDs = try await create(model: "ir.model.data", values: bindings.map(values), logger: logger)
            externalIDMemo?.learnBound(
                Dictionary(
                    zip(bindings, dataIDs).map { ($0.name, OdooExternalIDRow(dataID: $1, model: $0.model, resID: $0.id)) }
                ) { first, _ in first })
        }
        /// A name found taken is forgotten: the caller reads what it names.
        func takenNow(_ names: Set<String>) -> Set<String> {
            externalIDMemo?.forget(names)
            return names
        }
        func oneAtATime(_ bindings: [OdooBinding]) async throws(OdooError) -> Set<String> {
            var taken: Set<String> = []
            for binding in bindings {
                do {
                    try await bind([binding])
                } catch {
                    if !error.isDuplicateExternalID { throw error }
                    taken.insert(binding.name)
                }
            }
            return takenNow(taken)
        }
        do {
            try await bind(bindings)
            return []
        } catch {
            guard error.kind == .validation else { throw error }
            guard bindings.count > 1 else {
                if error.isDuplicateExternalID { return takenNow([bindings[0].name]) }
                throw error
            }
        }
        // One of them exists already and the list create rolled back. Leave the bound ones as they are and create
        // the rest in one call: two calls, where binding one at a time took one per binding (a redelivered batch
        // re-binds what it finds). One at a time only when that fails too (bound concurrently, or a name twice).
        let bound = try await externalIDRows(bindings.map(\.name), logger: logger)
        let taken = Set(bindings.map(\.name).filter { bound[$0] != nil })
        let rest = bindings.filter { bound[$0.name] == nil }
        guard !taken.isEmpty else { return try await oneAtATime(bindings) }
        guard !rest.isEmpty else { return taken }
        do {
            try await bind(rest)
            return taken
        } catch {
            guard error.kind == .validation else { throw error }
            return try await taken.union(oneAtATime(rest))
        }
    }

    /// Record ids for refs, for a batch: by `weft.*` external id (one lookup), then, for the rest, by `keyField`
    /// holding the external id's name (one `search_read`; the lowest id when several). `context` applies to that search
    /// (`inactiveToo` to find archived records).
    func recordIDs(
        for refs: [ExternalRef], model: String, keyField: String, context: [String: JSONValue]? = nil, logger: Logger
    ) async throws(OdooError) -> [ExternalRef: Int64] {
        try await recordIDs(for: refs, model: model, keyField: keyField, context: context, alongWith: [], of: model, logger: logger)
            .records
    }

    /// `recordIDs(for:model:keyField:)`, and in the same external-id lookup the `ir.model.data` rows that bind the
    /// names `others` to records of `otherModel`.
    func recordIDs(
        for refs: [ExternalRef], model: String, keyField: String, context: [String: JSONValue]? = nil,
        alongWith others: [String], of otherModel: String, logger: Logger
    ) async throws(OdooError) -> (records: [ExternalRef: Int64], others: [String: (dataID: Int64, resID: Int64)]) {
        let rows = try await knownExternalIDRows(refs.map(\.xmlidName) + others, logger: logger)
        var bound: [String: Int64] = [:]
        var otherBound: [String: (dataID: Int64, resID: Int64)] = [:]
        for (name, row) in rows {
            if row.model == model { bound[name] = row.resID }
            if row.model == otherModel { otherBound[name] = (row.dataID, row.resID) }
        }
        return (
            try await recordIDs(for: refs, bound: bound, model: model, keyField: keyField, context: context, logger: logger), otherBound
        )
    }

    private func recordIDs(
        for refs: [ExternalRef], bound: [String: Int64], model: String, keyField: String, context: [String: JSONValue]?,
        logger: Logger
    ) async throws(OdooError) -> [ExternalRef: Int64] {
        var result: [ExternalRef: Int64] = [:]
        var missing: [String: [ExternalRef]] = [:]
        for ref in refs {
            if let id = bound[ref.xmlidName] { result[ref] = id } else { missing[ref.xmlidName, default: []].append(ref) }
        }
        guard !missing.isEmpty else { return result }
        let rows = try await searchRead(
            model: model, domain: [[.string(keyField), "in", .array(missing.keys.sorted().map(JSONValue.string))]],
            fields: [keyField], order: "id", context: context, logger: logger)
        for row in rows {
            guard let key = row[keyField]?.stringValue, let id = row["id"]?.intValue else { continue }
            for ref in missing.removeValue(forKey: key) ?? [] { result[ref] = id }
        }
        return result
    }

    /// Finds one record by external id, then by key field (archived records included).
    func findRecord(
        ref: ExternalRef, model: String, keyField: String, key: String, logger: Logger
    ) async throws(OdooError) -> Int64? {
        if let id = try await externalIDs([ref.xmlidName], model: model, logger: logger)[ref.xmlidName] { return id }
        let rows = try await searchRead(
            model: model, domain: [[.string(keyField), "=", .string(key)]], fields: ["id"], limit: 1, order: "id",
            context: Self.inactiveToo, logger: logger)
        return rows.first?["id"]?.intValue
    }

    /// Compares a value Weft wants to write with what `read` returned (many2one `[id, name]`, `false` for unset).
    static func sameValue(_ desired: JSONValue, _ current: JSONValue?) -> Bool {
        guard let current else { return false }
        switch (desired, current) {
        case (.int(let id), .array(let pair)): return pair.first?.intValue == id
        case (.string(""), .bool(false)), (.null, .bool(false)), (.bool(false), .null): return true
        case (.int(let a), .double(let b)): return Double(a) == b
        case (.double(let a), .int(let b)): return a == Double(b)
        case (.double(let a), .double(let b)): return abs(a - b) < 0.000_001
        default: return desired == current
        }
    }
}
