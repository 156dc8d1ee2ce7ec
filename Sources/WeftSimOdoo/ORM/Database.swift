import Foundation
import WeftCore

/// A dictionary split into buckets, so that a write to a table while a copy of it is alive copies one bucket, not the
/// table: the list of groups (32 references), one group (32) and one bucket (a 1,024th of the entries). It was made
/// when each call copied the whole database for its rollback (calls now keep a journal instead, see
/// `Database.rollBack()`), where one flat dictionary made the simulator quadratic; copies are still taken (a test's,
/// a value held while its table changes), and growing a table rehashes one bucket at a time.
struct ShardedDictionary<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private static var groupCount: Int { 32 }
    private static var bucketsPerGroup: Int { 32 }
    private var groups: [[[Key: Value]]] = Array(
        repeating: Array(repeating: [:], count: Self.bucketsPerGroup), count: Self.groupCount)

    /// The group and bucket of `key`. Record ids (the keys of most of these) grow by one, so their low bits spread
    /// them evenly without hashing them twice.
    private static func slot(_ key: Key) -> (group: Int, bucket: Int) {
        let bits = (key as? Int64).map { UInt(truncatingIfNeeded: $0) } ?? UInt(bitPattern: key.hashValue)
        let index = Int(bits % UInt(groupCount * bucketsPerGroup))
        return (index / bucketsPerGroup, index % bucketsPerGroup)
    }

    subscript(key: Key) -> Value? {
        get {
            let slot = Self.slot(key)
            return groups[slot.group][slot.bucket][key]
        }
        set {
            let slot = Self.slot(key)
            groups[slot.group][slot.bucket][key] = newValue
        }
    }

    subscript(key: Key, default value: @autoclosure () -> Value) -> Value {
        get {
            let slot = Self.slot(key)
            return groups[slot.group][slot.bucket][key] ?? value()
        }
        set {
            let slot = Self.slot(key)
            groups[slot.group][slot.bucket][key] = newValue
        }
    }

    /// Runs `body` on the value of `key` (`value` when there is none) in place, and stores what it leaves.
    mutating func update<R>(_ key: Key, default value: @autoclosure () -> Value, _ body: (inout Value) -> R) -> R {
        let slot = Self.slot(key)
        return body(&groups[slot.group][slot.bucket][key, default: value()])
    }

    @discardableResult
    mutating func removeValue(forKey key: Key) -> Value? {
        let slot = Self.slot(key)
        return groups[slot.group][slot.bucket].removeValue(forKey: key)
    }
}

extension ShardedDictionary: Equatable where Value: Equatable {}

/// Ids in ascending order, kept in chunks: an insert into a table that has a copy alive copies one chunk and the list
/// of chunks, not every id of the table, and an insert in the middle moves at most a chunk.
struct SortedIDs: Sendable {
    private static var chunkSize: Int { 1024 }
    private var chunks: [[Int64]] = []

    var last: Int64? { chunks.last?.last }
    var count: Int { chunks.reduce(0) { $0 + $1.count } }
    /// Every id, ascending.
    var all: [Int64] { Array(chunks.joined()) }

    /// The first chunk whose last id is at least `id` (`chunks.count` when there is none).
    private func chunk(for id: Int64) -> Int {
        var low = 0
        var high = chunks.count
        while low < high {
            let mid = (low + high) / 2
            if chunks[mid].last! < id { low = mid + 1 } else { high = mid }
        }
        return low
    }

    mutating func insert(_ id: Int64) {
        if last.map({ $0 < id }) ?? true {
            if let end = chunks.indices.last, chunks[end].count < Self.chunkSize {
                chunks[end].append(id)
            } else {
                chunks.append([id])
            }
            return
        }
        let index = chunk(for: id)
        let position = chunks[index].firstIndex { $0 >= id } ?? chunks[index].endIndex
        guard chunks[index][safe: position] != id else { return }
        chunks[index].insert(id, at: position)
        if chunks[index].count > 2 * Self.chunkSize {
            let upper = Array(chunks[index][Self.chunkSize...])
            chunks[index].removeSubrange(Self.chunkSize...)
            chunks.insert(upper, at: index + 1)
        }
    }

    mutating func remove(_ id: Int64) {
        let index = chunk(for: id)
        guard index < chunks.count, let position = chunks[index].firstIndex(of: id) else { return }
        chunks[index].remove(at: position)
        if chunks[index].isEmpty { chunks.remove(at: index) }
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

struct Table: Sendable {
    var rows = ShardedDictionary<Int64, [String: JSONValue]>()
    var ids = SortedIDs()
    var nextId: Int64 = 1
    /// The fields clients look records up by (`ref`, a payment's memo, a line's `move_id`), indexed like Odoo's
    /// database indexes so a lookup does not scan the table.
    var indexedFields: [String] = []
    /// `field \u{1} value` → ids that have, or once had, that value (in a call that was rolled back too): a superset,
    /// since `search` checks every candidate against the whole domain. Maintained by `insert` and `update`, the only
    /// ways an indexed field is set.
    var index = ShardedDictionary<String, [Int64]>()

    init(indexedFields: [String] = []) {
        self.indexedFields = indexedFields
    }

    static func indexKey(_ field: String, _ value: JSONValue) -> String? {
        switch value {
        case .string(let text): field + "\u{1}s" + text
        case .int(let id): field + "\u{1}i\(id)"
        default: nil
        }
    }

    /// Notes `row`'s indexed values under `id`, in place: a value's list was copied, appended to and stored back, a
    /// copy of the whole list per row. A `fresh` id (past every id of the table) cannot be in any list yet.
    private mutating func noteIndexed(_ id: Int64, _ row: [String: JSONValue], fresh: Bool) {
        for field in indexedFields {
            guard let value = row[field], let key = Self.indexKey(field, value) else { continue }
            index.update(key, default: []) { ids in
                if fresh || !ids.contains(id) { ids.append(id) }
            }
        }
    }

    /// Replaces a row (an ORM `write`).
    mutating func update(_ id: Int64, _ row: [String: JSONValue]) {
        rows[id] = row
        noteIndexed(id, row, fresh: false)
    }

    mutating func insert(_ id: Int64, _ row: [String: JSONValue]) {
        let fresh = id >= nextId && (ids.last ?? 0) < id
        rows[id] = row
        noteIndexed(id, row, fresh: fresh)
        ids.insert(id)
        nextId = max(nextId, id + 1)
    }

    mutating func remove(_ id: Int64) {
        guard rows.removeValue(forKey: id) != nil else { return }
        ids.remove(id)
    }
}

/// The `context` of one call.
struct CallContext: Sendable {
    var values: [String: JSONValue]

    init(_ values: [String: JSONValue] = [:]) { self.values = values }

    var activeTest: Bool { values["active_test"]?.boolValue ?? true }
    var activeIds: [Int64] {
        if let ids = values["active_ids"]?.arrayValue { return ids.compactMap(\.intValue) }
        if let id = values["active_id"]?.intValue { return [id] }
        return []
    }
    var activeModel: String? { values["active_model"]?.stringValue }
}

/// A partial reconciliation between a debit and a credit receivable line: what it settles of each, in units of that
/// line's currency's scale.
struct Reconcile: Sendable, Equatable {
    let debitLine: Int64
    let creditLine: Int64
    let debitAmount: Int64
    let creditAmount: Int64
}

/// The whole simulated database: every model's rows plus sequences. A value type kept behind one lock. A call runs in
/// one transaction, as in Odoo: every change it makes goes through the mutators below, which note what they replace
/// in `journal`, and a failed call puts it all back (`rollBack()`). The stored state is `private(set)` so that no
/// change can bypass the journal.
struct Database: Sendable {
    let flavour: Flavour
    let models: [String: ModelSpec]
    private(set) var tables: [String: Table] = [:]
    /// `module.name` → ir.model.data id.
    private(set) var xmlids = ShardedDictionary<String, Int64>()
    private(set) var sequences: [String: Int64] = [:]
    /// Partial reconciliations, under each of their two lines (a move's residual and payment state read only its own
    /// lines' entries: a list of every reconciliation was scanned on each read).
    private(set) var reconciles = ShardedDictionary<Int64, [Reconcile]>()
    /// What the current call replaced, oldest first; `nil` outside a call (seeding is not undone). Copying the whole
    /// database before each call instead cost a fifth of the simulator's time in the benchmark: every call's first
    /// writes copied the table list and the buckets they touched, and dropping the copy released them all again.
    private var journal: [Undo]?
    /// The wall-clock time of the current call.
    var now = Date(timeIntervalSince1970: 0) {
        didSet { (today, timestamp) = Self.formatUTC(now) }
    }
    /// `now` as Odoo writes a date and a datetime (UTC), made once per call: every row created or written stamps its
    /// `create_date` and `write_date`.
    private(set) var today = "1970-01-01"
    private(set) var timestamp = "1970-01-01 00:00:00"
    /// The user every call runs as.
    let uid: Int64 = 2

    /// The indexed fields of each model (see `Table.index`).
    static let indexedFields: [String: [String]] = [
        "res.partner": ["ref"], "account.move": ["ref", "reversed_entry_id"], "account.payment": ["memo", "ref"],
        "account.move.line": ["move_id"], "ir.model.data": ["res_id"],
    ]

    init(flavour: Flavour) {
        self.flavour = flavour
        self.models = Registry.models(flavour)
        for name in models.keys { tables[name] = Table(indexedFields: Self.indexedFields[name] ?? []) }
    }

    // MARK: - Access

    func spec(_ model: String) throws(OdooError) -> ModelSpec {
        guard let spec = models[model] else { throw .user("Object \(model) doesn't exist") }
        return spec
    }

    func row(_ model: String, _ id: Int64) -> [String: JSONValue]? { tables[model]?.rows[id] }

    func exists(_ model: String, _ id: Int64) -> Bool { tables[model]?.rows[id] != nil }

    /// The stored or computed value of `field` (unset reads as the field's empty value).
    func value(_ model: String, _ id: Int64, _ field: String) -> JSONValue {
        guard let spec = models[model], let row = row(model, id) else { return .bool(false) }
        return value(spec, id, row, field)
    }

    func value(_ spec: ModelSpec, _ id: Int64, _ row: [String: JSONValue], _ field: String) -> JSONValue {
        if field == "id" { return .int(id) }
        if let delegate = spec.delegate, !ownField(spec, field), let parent = row[delegate.field]?.intValue {
            return value(delegate.model, parent, field)
        }
        guard let fieldSpec = spec.fields[field] else { return .bool(false) }
        if fieldSpec.computed || field == "invoice_line_ids" { return computed(spec.name, id, row, field) }
        if case .one2many(let comodel, _) = fieldSpec.kind {
            let ids = row[field]?.arrayValue ?? []
            if let comodelSpec = models[comodel], comodelSpec.hasActive {
                return .array(ids.filter { value(comodel, $0.intValue ?? 0, "active").boolValue ?? true })
            }
            return .array(ids)
        }
        if let stored = row[field], !stored.isNull { return stored }
        return fieldSpec.kind.emptyValue
    }

    /// Whether `field` lives on the model itself rather than on its `_inherits` parent.
    func ownField(_ spec: ModelSpec, _ field: String) -> Bool {
        guard let delegate = spec.delegate, let parentSpec = models[delegate.model] else { return true }
        let delegatedHere = [
            "name", "list_price", "standard_price", "type", "is_storable", "sale_ok", "purchase_ok", "taxes_id", "uom_id",
            "description_sale", "invoice_policy",
        ]
        return !(delegatedHere.contains(field) && parentSpec.fields[field] != nil)
    }

    func ids(_ model: String) -> [Int64] { tables[model]?.ids.all ?? [] }

    // MARK: - Changes (each noted in the journal)

    /// What one change replaced.
    private enum Undo {
        /// A row was inserted under `id` where `old` was (`nil`: none). The table's next id stays moved past it: ids
        /// come from a PostgreSQL sequence, which a rolled-back transaction does not give back.
        case inserted(model: String, id: Int64, old: [String: JSONValue]?)
        /// A row was replaced, or removed from the table (`removed`); `old` is what it was.
        case row(model: String, id: Int64, old: [String: JSONValue]?, removed: Bool)
        case xmlid(String, Int64?)
        case sequence(String, Int64?)
        case reconciles(Int64, [Reconcile]?)
    }

    /// Starts a call: from now on every change is noted so that `rollBack()` can put it back.
    mutating func beginCall(at now: Date) {
        self.now = now
        journal = []
    }

    /// Ends a call that succeeded: its changes stay.
    mutating func commitCall() { journal = nil }

    /// Ends a call that failed: puts back everything it changed, newest first, so the database is as before the call
    /// (a search index may keep an entry for a row that is gone or changed: it is a superset, see `Table.index`).
    mutating func rollBack() {
        guard let undo = journal else { return }
        journal = nil
        for change in undo.reversed() {
            switch change {
            case .inserted(let model, let id, let old):
                if let old { tables[model]?.rows[id] = old } else { tables[model]?.remove(id) }
            case .row(let model, let id, let old, let removed):
                if removed, let old {
                    tables[model]?.insert(id, old)
                } else {
                    tables[model]?.rows[id] = old
                }
            case .xmlid(let key, let old): xmlids[key] = old
            case .sequence(let key, let old): sequences[key] = old
            case .reconciles(let line, let old): reconciles[line] = old
            }
        }
    }

    private mutating func note(_ change: Undo) {
        journal?.append(change)
    }

    /// Inserts a new row (indexed, listed, the table's next id moved past it).
    mutating func insertRow(_ model: String, _ id: Int64, _ row: [String: JSONValue]) {
        note(.inserted(model: model, id: id, old: tables[model]?.rows[id]))
        tables[model, default: Table()].insert(id, row)
    }

    /// Replaces a row as an ORM `write` does (its indexed fields noted in the index).
    mutating func updateRow(_ model: String, _ id: Int64, _ row: [String: JSONValue]) {
        note(.row(model: model, id: id, old: tables[model]?.rows[id], removed: false))
        tables[model]?.update(id, row)
    }

    /// Replaces a stored row directly, as a business method that sets computed state does (not indexed).
    mutating func setRow(_ model: String, _ id: Int64, _ row: [String: JSONValue]) {
        guard let old = tables[model]?.rows[id] else { return }
        note(.row(model: model, id: id, old: old, removed: false))
        tables[model]?.rows[id] = row
    }

    /// Sets (or, with `nil`, clears) one stored field of an existing row, as a business method does.
    mutating func setField(_ model: String, _ id: Int64, _ field: String, _ value: JSONValue?) {
        guard var row = tables[model]?.rows[id] else { return }
        note(.row(model: model, id: id, old: row, removed: false))
        row[field] = value
        tables[model]?.rows[id] = row
    }

    /// Deletes a row.
    mutating func removeRow(_ model: String, _ id: Int64) {
        guard let old = tables[model]?.rows[id] else { return }
        note(.row(model: model, id: id, old: old, removed: true))
        tables[model]?.remove(id)
    }

    /// Where the next row of `model` is numbered from (seeding only: not undone).
    mutating func setNextId(_ model: String, _ id: Int64) {
        tables[model]?.nextId = id
    }

    mutating func setXMLID(_ key: String, _ id: Int64?) {
        note(.xmlid(key, xmlids[key]))
        xmlids[key] = id
    }

    mutating func setReconciles(_ line: Int64, _ entries: [Reconcile]?) {
        note(.reconciles(line, reconciles[line]))
        reconciles[line] = entries
    }

    // MARK: - Time and sequences

    var year: String { String(today.prefix(4)) }

    mutating func nextSequence(_ key: String) -> Int64 {
        let previous = sequences[key]
        note(.sequence(key, previous))
        let next = (previous ?? 0) + 1
        sequences[key] = next
        return next
    }

    static func formatUTC(_ date: Date) -> (date: String, datetime: String) {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        let datePart = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
        let time = "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay % 3600 / 60, 2)):\(pad(secondOfDay % 60, 2))"
        return (datePart, datePart + " " + time)
    }

    // MARK: - Errors with version-specific text

    func invalidFieldError(_ model: String, _ field: String) -> OdooError {
        flavour.is19
            ? .builtin("ValueError", "Invalid field \(PythonRepr.string(field)) on \(PythonRepr.string(model))")
            : .builtin("ValueError", "Invalid field \(PythonRepr.string(field)) on model \(PythonRepr.string(model))")
    }

    func missingRequiredError(_ spec: ModelSpec, _ field: String) -> OdooError {
        let label = spec.fields[field]?.label ?? field
        if flavour.is19 {
            return .validation(
                "The operation cannot be completed: Missing required value for the field '\(label)' (\(field)).\n"
                    + "Model: '\(spec.label)' (\(spec.name))\n- create/update: a mandatory field is not set\n"
                    + "- delete: another model requires the record being deleted, you can archive it instead\n")
        }
        return .validation(
            "The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n"
                + "- Delete: another model requires the record being deleted. If possible, archive it instead.\n\n"
                + "Model: \(spec.label) (\(spec.name))\nField: \(label) (\(field))\n")
    }
}
