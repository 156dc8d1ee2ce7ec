import WeftCore

/// The type of a field, as `fields_get` reports it.
enum FieldKind: Sendable {
    case char, text, html, boolean, integer, float, monetary, date, datetime
    case selection([(String, String)])
    case many2one(String)
    case one2many(String, inverse: String)
    case many2many(String)

    var typeName: String {
        switch self {
        case .char: "char"
        case .text: "text"
        case .html: "html"
        case .boolean: "boolean"
        case .integer: "integer"
        case .float: "float"
        case .monetary: "monetary"
        case .date: "date"
        case .datetime: "datetime"
        case .selection: "selection"
        case .many2one: "many2one"
        case .one2many: "one2many"
        case .many2many: "many2many"
        }
    }

    var relation: String? {
        switch self {
        case .many2one(let model), .one2many(let model, _), .many2many(let model): model
        default: nil
        }
    }

    var isX2many: Bool {
        switch self {
        case .one2many, .many2many: true
        default: false
        }
    }

    /// What an unset value reads as.
    var emptyValue: JSONValue {
        switch self {
        case .integer: .int(0)
        case .float, .monetary: .double(0)
        case .one2many, .many2many: .array([])
        default: .bool(false)
        }
    }
}

/// One field of a simulated model.
struct FieldSpec: Sendable {
    let name: String
    let kind: FieldKind
    let label: String
    var required = false
    var readonly = false
    /// Computed at read time (never stored; writes are refused with the Odoo error for a readonly compute).
    var computed = false
    var defaultValue: JSONValue?
    /// `digits='<name>'` of a float: the `decimal.precision` row whose `digits` a written value is rounded to (as
    /// Odoo's `Float.convert_to_cache` does).
    var digits: String?
}

/// A simulated model: its fields, default order and the ORM features it uses.
struct ModelSpec: Sendable {
    let name: String
    /// `_description`, used in constraint messages.
    let label: String
    private(set) var fields: [String: FieldSpec] = [:]
    private(set) var fieldOrder: [String] = []
    /// `_order`, as (field, descending) pairs.
    var order: [(String, Bool)] = [("id", false)]
    /// `_rec_name`.
    var recName = "name"
    /// `_parent_name`, for `child_of`.
    var parentField: String?
    /// `_inherits`: fields missing here are read and written through this many2one.
    var delegate: (model: String, field: String)?

    init(_ name: String, _ label: String, _ fields: [FieldSpec]) {
        self.name = name
        self.label = label
        add(FieldSpec(name: "id", kind: .integer, label: "ID", readonly: true))
        add(FieldSpec(name: "display_name", kind: .char, label: "Display Name", readonly: true, computed: true))
        for field in fields { add(field) }
        add(FieldSpec(name: "create_date", kind: .datetime, label: "Created on", readonly: true))
        add(FieldSpec(name: "write_date", kind: .datetime, label: "Last Updated on", readonly: true))
    }

    mutating func add(_ field: FieldSpec) {
        if fields[field.name] == nil { fieldOrder.append(field.name) }
        fields[field.name] = field
    }

    var hasActive: Bool { fields["active"] != nil }
}

func char(_ name: String, _ label: String, required: Bool = false, default value: JSONValue? = nil) -> FieldSpec {
    FieldSpec(name: name, kind: .char, label: label, required: required, defaultValue: value)
}
func text(_ name: String, _ label: String) -> FieldSpec { FieldSpec(name: name, kind: .text, label: label) }
func html(_ name: String, _ label: String) -> FieldSpec { FieldSpec(name: name, kind: .html, label: label) }
func boolean(_ name: String, _ label: String, default value: Bool? = nil, computed: Bool = false) -> FieldSpec {
    FieldSpec(name: name, kind: .boolean, label: label, readonly: computed, computed: computed, defaultValue: value.map(JSONValue.bool))
}
func integer(_ name: String, _ label: String, default value: Int64? = nil, computed: Bool = false) -> FieldSpec {
    FieldSpec(name: name, kind: .integer, label: label, readonly: computed, computed: computed, defaultValue: value.map(JSONValue.int))
}
func float(_ name: String, _ label: String, default value: Double? = nil, computed: Bool = false, digits: String? = nil) -> FieldSpec {
    FieldSpec(
        name: name, kind: .float, label: label, readonly: computed, computed: computed, defaultValue: value.map(JSONValue.double),
        digits: digits)
}
func monetary(_ name: String, _ label: String, computed: Bool = false) -> FieldSpec {
    FieldSpec(name: name, kind: .monetary, label: label, readonly: computed, computed: computed)
}
func date(_ name: String, _ label: String) -> FieldSpec { FieldSpec(name: name, kind: .date, label: label) }
func datetime(_ name: String, _ label: String) -> FieldSpec { FieldSpec(name: name, kind: .datetime, label: label) }
func selection(
    _ name: String, _ label: String, _ options: [(String, String)], default value: String? = nil, required: Bool = false,
    computed: Bool = false
) -> FieldSpec {
    FieldSpec(
        name: name, kind: .selection(options), label: label, required: required, readonly: computed, computed: computed,
        defaultValue: value.map(JSONValue.string))
}
func many2one(_ name: String, _ model: String, _ label: String, required: Bool = false, computed: Bool = false) -> FieldSpec {
    FieldSpec(name: name, kind: .many2one(model), label: label, required: required, readonly: computed, computed: computed)
}
func one2many(_ name: String, _ model: String, _ inverse: String, _ label: String) -> FieldSpec {
    FieldSpec(name: name, kind: .one2many(model, inverse: inverse), label: label)
}
func many2many(_ name: String, _ model: String, _ label: String, computed: Bool = false) -> FieldSpec {
    FieldSpec(name: name, kind: .many2many(model), label: label, readonly: computed, computed: computed)
}
