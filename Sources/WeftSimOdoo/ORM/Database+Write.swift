import Foundation
import WeftCore

extension Database {
    /// Creates one record from `vals` (defaults, hooks, x2many commands) and returns its id.
    mutating func create(_ model: String, _ vals: [String: JSONValue], _ ctx: CallContext) throws(OdooError) -> Int64 {
        let spec = try spec(model)
        var vals = vals
        for key in vals.keys where spec.fields[key] == nil || key == "id" {
            throw invalidFieldError(model, key)
        }
        if let delegate = spec.delegate, vals[delegate.field]?.intValue == nil {
            var parentVals: [String: JSONValue] = [:]
            for key in vals.keys where !ownField(spec, key) { parentVals[key] = vals.removeValue(forKey: key) }
            if let code = vals["default_code"] { parentVals["default_code"] = code }
            parentVals["product_variant_ids"] = nil
            let parent = try createRow(delegate.model, parentVals, ctx, createVariant: false)
            vals[delegate.field] = .int(parent)
        } else if let delegate = spec.delegate {
            for key in vals.keys where !ownField(spec, key) { vals.removeValue(forKey: key) }
            _ = delegate
        }
        return try createRow(model, vals, ctx, createVariant: true)
    }

    private mutating func createRow(
        _ model: String, _ vals: [String: JSONValue], _ ctx: CallContext, createVariant: Bool
    ) throws(OdooError) -> Int64 {
        let spec = try spec(model)
        var vals = vals
        try applyDefaults(model, &vals, ctx)
        for (name, field) in spec.fields where vals[name] == nil {
            if let value = field.defaultValue { vals[name] = value }
        }
        var row: [String: JSONValue] = [:]
        var commands: [(String, JSONValue)] = []
        for (key, value) in vals {
            guard let field = spec.fields[key] else { throw invalidFieldError(model, key) }
            if field.computed {
                try applyInverse(model, field: key, value: value, into: &row)
                continue
            }
            if field.kind.isX2many {
                commands.append((key, value))
                continue
            }
            if let converted = try convert(spec, field, value) { row[key] = converted }
        }
        try validateRow(spec, row, isCreate: true)
        let id = tables[model]?.nextId ?? 1
        row["create_date"] = .string(timestamp)
        row["write_date"] = .string(timestamp)
        insertRow(model, id, row)
        linkInverse(spec, id: id, old: [:], new: row)
        for (key, value) in commands { try applyX2many(model, id, key, value, ctx) }
        try afterCreate(model, id, ctx)
        if model == "product.template", createVariant {
            _ = try createRow(
                "product.product", ["product_tmpl_id": .int(id), "default_code": vals["default_code"] ?? .bool(false)], ctx,
                createVariant: false)
        }
        return id
    }

    /// Writes `vals` on every record of `ids`.
    mutating func write(_ model: String, _ ids: [Int64], _ vals: [String: JSONValue], _ ctx: CallContext) throws(OdooError) {
        let spec = try spec(model)
        let missing = ids.filter { !exists(model, $0) }
        if !missing.isEmpty { throw .missing(model: model, ids: missing) }
        for key in vals.keys where spec.fields[key] == nil || key == "id" { throw invalidFieldError(model, key) }
        try beforeWrite(model, ids, vals, ctx)
        for id in ids {
            var delegatedVals: [String: JSONValue] = [:]
            guard var row = row(model, id) else { continue }
            let old = row
            var commands: [(String, JSONValue)] = []
            for (key, value) in vals {
                guard let field = spec.fields[key] else { continue }
                if spec.delegate != nil, !ownField(spec, key) {
                    delegatedVals[key] = value
                    continue
                }
                if field.computed {
                    try applyInverse(model, field: key, value: value, into: &row)
                    continue
                }
                if field.kind.isX2many {
                    commands.append((key, value))
                    continue
                }
                if let converted = try convert(spec, field, value) { row[key] = converted } else { row[key] = nil }
            }
            try validateRow(spec, row, isCreate: false)
            row["write_date"] = .string(timestamp)
            updateRow(model, id, row)
            linkInverse(spec, id: id, old: old, new: row)
            for (key, value) in commands { try applyX2many(model, id, key, value, ctx) }
            if let delegate = spec.delegate, !delegatedVals.isEmpty, let parent = row[delegate.field]?.intValue {
                try write(delegate.model, [parent], delegatedVals, ctx)
            }
            try afterWrite(model, id, old: old, vals: vals, ctx)
        }
    }

    /// Deletes the records of `ids` (cascading to one2many children whose inverse is required).
    mutating func unlink(_ model: String, _ ids: [Int64], _ ctx: CallContext) throws(OdooError) {
        let spec = try spec(model)
        let missing = ids.filter { !exists(model, $0) }
        if !missing.isEmpty { throw .missing(model: model, ids: missing) }
        try beforeUnlink(model, ids, ctx)
        for id in ids {
            guard let row = row(model, id) else { continue }
            for (name, field) in spec.fields {
                guard case .one2many(let comodel, let inverse) = field.kind, !field.computed else { continue }
                let children = (row[name]?.arrayValue ?? []).compactMap(\.intValue).filter { exists(comodel, $0) }
                if models[comodel]?.fields[inverse]?.required == true {
                    if !children.isEmpty { try unlink(comodel, children, ctx) }
                } else {
                    for child in children { setField(comodel, child, inverse, nil) }
                }
            }
            linkInverse(spec, id: id, old: row, new: [:])
            removeRow(model, id)
            if model == "ir.model.data", let module = row["module"]?.stringValue, let name = row["name"]?.stringValue {
                setXMLID(module + "." + name, nil)
            }
        }
        // Odoo's `unlink` deletes the records' external ids too: they are no foreign keys, and would dangle.
        guard model != "ir.model.data" else { return }
        let data = try search(
            "ir.model.data", domain: [["model", "=", .string(model)], ["res_id", "in", .array(ids.map(JSONValue.int))]], ctx)
        if !data.isEmpty { try unlink("ir.model.data", data, ctx) }
    }

    // MARK: - Values

    /// `value` rounded half up to the digits of decimal precision `name` (Odoo's `float_round`, as amounts are:
    /// `minor(_:scale:)`); unchanged without one.
    func rounded(_ value: Double, digits name: String?) -> Double {
        guard let name, let table = tables["decimal.precision"],
            let digits = table.ids.all.lazy.compactMap({ table.rows[$0] }).first(where: { $0["name"]?.stringValue == name })?["digits"]?
                .intValue
        else { return value }
        let scale = pow(10, Double(digits))
        return Double(Self.minor(value, scale: scale)) / scale
    }

    /// Converts an incoming scalar value to its stored form; `nil` means unset.
    func convert(_ spec: ModelSpec, _ field: FieldSpec, _ value: JSONValue) throws(OdooError) -> JSONValue? {
        if value.isNull || value == .bool(false) {
            if case .boolean = field.kind { return .bool(false) }
            return nil
        }
        // Built only when thrown: the Python repr of every value converted was a sixth of the simulator's create.
        func wrong() -> OdooError {
            .builtin("ValueError", "Wrong value for \(spec.name).\(field.name): \(PythonRepr.of(value))")
        }
        switch field.kind {
        case .char, .text, .html:
            if let text = value.stringValue { return .string(text) }
            if case .int(let number) = value { return .string(String(number)) }
            if case .double(let number) = value { return .string(OdooValue.pythonFloat(number)) }
            return .string(PythonRepr.of(value))
        case .boolean:
            if let flag = value.boolValue { return .bool(flag) }
            if let number = value.doubleValue { return .bool(number != 0) }
            if let text = value.stringValue { return .bool(!text.isEmpty) }
            return .bool(true)
        case .integer:
            if let number = value.intValue { return .int(number) }
            if let number = value.doubleValue { return .int(Int64(number)) }
            if case .bool(true) = value { return .int(1) }
            throw wrong()
        case .float, .monetary:
            if let number = value.doubleValue { return .double(rounded(number, digits: field.digits)) }
            if case .bool(true) = value { return .double(1) }
            if let text = value.stringValue, let number = Double(text) { return .double(number) }
            throw wrong()
        case .date:
            guard let text = value.stringValue else { throw wrong() }
            return .string(String(text.prefix(10)))
        case .datetime:
            guard let text = value.stringValue else { throw wrong() }
            return .string(text.count == 10 ? text + " 00:00:00" : String(text.prefix(19)).replacingOccurrences(of: "T", with: " "))
        case .selection(let options):
            guard let key = value.stringValue, options.contains(where: { $0.0 == key }) else { throw wrong() }
            return .string(key)
        case .many2one(let comodel):
            guard let id = value.intValue else { throw wrong() }
            guard exists(comodel, id) || models[comodel] == nil else {
                throw foreignKeyError(spec, field)
            }
            return .int(id)
        case .one2many, .many2many:
            return value
        }
    }

    func foreignKeyError(_ spec: ModelSpec, _ field: FieldSpec) -> OdooError {
        missingRequiredError(spec, field.name)
    }

    func validateRow(_ spec: ModelSpec, _ row: [String: JSONValue], isCreate: Bool) throws(OdooError) {
        if spec.name == "res.partner" {
            let type = row["type"]?.stringValue ?? "contact"
            if type == "contact", (row["name"]?.stringValue ?? "").isEmpty {
                throw .validation("The operation cannot be completed: Contacts require a name")
            }
            return
        }
        for name in spec.fieldOrder {
            guard let field = spec.fields[name], field.required, !field.computed, !field.kind.isX2many else { continue }
            if spec.delegate != nil, !ownField(spec, name) { continue }
            let value = row[name]
            if value == nil || value == .bool(false) || value?.isNull == true { throw missingRequiredError(spec, name) }
        }
    }

    /// Keeps one2many lists on the parent in step with a child's many2one.
    mutating func linkInverse(_ spec: ModelSpec, id: Int64, old: [String: JSONValue], new: [String: JSONValue]) {
        for (name, field) in spec.fields {
            guard case .many2one(let comodel) = field.kind, !field.computed else { continue }
            let before = old[name]?.intValue
            let after = new[name]?.intValue
            guard before != after, let comodelSpec = models[comodel] else { continue }
            for (listName, listField) in comodelSpec.fields {
                guard case .one2many(let childModel, let inverse) = listField.kind, childModel == spec.name, inverse == name,
                    !listField.computed, listName != "invoice_line_ids"
                else { continue }
                if let before, var parent = tables[comodel]?.rows[before] {
                    parent[listName] = .array((parent[listName]?.arrayValue ?? []).filter { $0.intValue != id })
                    setRow(comodel, before, parent)
                }
                if let after, var parent = tables[comodel]?.rows[after] {
                    parent[listName] = .array((parent[listName]?.arrayValue ?? []) + [.int(id)])
                    setRow(comodel, after, parent)
                }
            }
        }
    }

    /// Applies x2many commands (or a plain id list, which means "set").
    mutating func applyX2many(_ model: String, _ id: Int64, _ field: String, _ value: JSONValue, _ ctx: CallContext) throws(OdooError) {
        let spec = try spec(model)
        guard let fieldSpec = spec.fields[field] else { throw invalidFieldError(model, field) }
        func wrong() -> OdooError { .builtin("ValueError", "Wrong value for \(model).\(field): \(PythonRepr.of(value))") }
        var commands: [[JSONValue]] = []
        if value.isNull || value == .bool(false) {
            commands = [[.int(5)]]
        } else if let list = value.arrayValue {
            if list.allSatisfy({ $0.intValue != nil }) && !list.isEmpty {
                commands = [[.int(6), .int(0), .array(list)]]
            } else {
                for element in list {
                    guard let command = element.arrayValue, !command.isEmpty else { throw wrong() }
                    commands.append(command)
                }
            }
        } else {
            throw wrong()
        }
        switch fieldSpec.kind {
        case .one2many(let comodel, let inverse):
            for command in commands {
                let code = command[0].intValue ?? -1
                let target = command.count > 1 ? command[1].intValue ?? 0 : 0
                switch code {
                case 0:
                    var vals = command.count > 2 ? command[2].objectValue ?? [:] : [:]
                    vals[inverse] = .int(id)
                    _ = try create(comodel, vals, ctx)
                case 1:
                    try write(comodel, [target], command.count > 2 ? command[2].objectValue ?? [:] : [:], ctx)
                case 2, 3:
                    if exists(comodel, target) { try unlink(comodel, [target], ctx) }
                case 4:
                    try write(comodel, [target], [inverse: .int(id)], ctx)
                case 5:
                    try unlinkOrDetach(comodel, inverse, oneToMany(model, id, field), ctx)
                case 6:
                    let wanted = Set((command.count > 2 ? command[2].arrayValue ?? [] : []).compactMap(\.intValue))
                    let current = oneToMany(model, id, field)
                    try unlinkOrDetach(comodel, inverse, current.filter { !wanted.contains($0) }, ctx)
                    for other in wanted.sorted() where !current.contains(other) { try write(comodel, [other], [inverse: .int(id)], ctx) }
                default: throw wrong()
                }
            }
        case .many2many(let comodel):
            var current = (row(model, id)?[field]?.arrayValue ?? []).compactMap(\.intValue)
            for command in commands {
                let code = command[0].intValue ?? -1
                let target = command.count > 1 ? command[1].intValue ?? 0 : 0
                switch code {
                case 0: current.append(try create(comodel, command.count > 2 ? command[2].objectValue ?? [:] : [:], ctx))
                case 1: try write(comodel, [target], command.count > 2 ? command[2].objectValue ?? [:] : [:], ctx)
                case 2:
                    current.removeAll { $0 == target }
                    if exists(comodel, target) { try unlink(comodel, [target], ctx) }
                case 3: current.removeAll { $0 == target }
                case 4:
                    guard exists(comodel, target) else { throw foreignKeyError(spec, fieldSpec) }
                    if !current.contains(target) { current.append(target) }
                case 5: current = []
                case 6:
                    let wanted = (command.count > 2 ? command[2].arrayValue ?? [] : []).compactMap(\.intValue)
                    for other in wanted where !exists(comodel, other) { throw foreignKeyError(spec, fieldSpec) }
                    current = []
                    for other in wanted where !current.contains(other) { current.append(other) }
                default: throw wrong()
                }
            }
            setField(model, id, field, .array(current.map(JSONValue.int)))
        default:
            throw wrong()
        }
    }

    /// The records a one2many holds now: kept on the row, except `invoice_line_ids`, which is computed from the move's
    /// product lines (as in Odoo, a filtered view of `line_ids`).
    private func oneToMany(_ model: String, _ id: Int64, _ field: String) -> [Int64] {
        let ids = field == "invoice_line_ids" ? value(model, id, field).arrayValue : row(model, id)?[field]?.arrayValue
        return (ids ?? []).compactMap(\.intValue)
    }

    private mutating func unlinkOrDetach(_ comodel: String, _ inverse: String, _ ids: [Int64], _ ctx: CallContext) throws(OdooError) {
        let live = ids.filter { exists(comodel, $0) }
        guard !live.isEmpty else { return }
        if models[comodel]?.fields[inverse]?.required == true {
            try unlink(comodel, live, ctx)
        } else {
            try write(comodel, live, [inverse: .bool(false)], ctx)
        }
    }
}
