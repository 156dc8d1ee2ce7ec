import WeftCore

/// What a model method returned.
enum MethodResult: Sendable {
    /// A value.
    case value(OdooValue)
    /// Python `None`.
    case none
    /// `create`: the new ids, and whether the caller passed one dict (RPC then answers a bare id).
    case created([Int64], single: Bool)
}

/// A public model method: its Python signature (for argument binding and its errors) and its implementation.
struct MethodSpec: Sendable {
    /// `Class.method`, as Python names it in `TypeError`s.
    let qualname: String
    /// `@api.model`: called without ids.
    let isModel: Bool
    /// Parameters after `self`, with whether they are required.
    let params: [(String, Bool)]
    /// Accepts `**kwargs` (search_read forwards them to `_read_format`).
    var varKeywords = false
}

/// One bound call.
struct BoundCall: Sendable {
    var ids: [Int64]
    var args: [String: JSONValue]
    var extra: [String: JSONValue]
    var ctx: CallContext

    func int(_ name: String) -> Int? { args[name]?.intValue.map(Int.init) }
    func string(_ name: String) -> String? { args[name]?.stringValue }
    func strings(_ name: String) -> [String]? { args[name]?.arrayValue?.compactMap(\.stringValue) }
}

extension Database {
    /// The public method `name` of `model`, or `nil` when it does not exist.
    func method(_ model: String, _ name: String) -> MethodSpec? {
        guard let spec = models[model] else { return nil }
        let base: [String: MethodSpec] = [
            "create": MethodSpec(qualname: "BaseModel.create", isModel: true, params: [("vals_list", true)]),
            "read": MethodSpec(qualname: "BaseModel.read", isModel: false, params: [("fields", false), ("load", false)]),
            "write": MethodSpec(qualname: "BaseModel.write", isModel: false, params: [("vals", true)]),
            "unlink": MethodSpec(qualname: "BaseModel.unlink", isModel: false, params: []),
            "search": MethodSpec(
                qualname: "BaseModel.search", isModel: true,
                params: [("domain", true), ("offset", false), ("limit", false), ("order", false)]),
            "search_read": MethodSpec(
                qualname: "BaseModel.search_read", isModel: true,
                params: [("domain", false), ("fields", false), ("offset", false), ("limit", false), ("order", false)], varKeywords: true),
            "search_count": MethodSpec(qualname: "BaseModel.search_count", isModel: true, params: [("domain", true), ("limit", false)]),
            "name_search": MethodSpec(
                qualname: "BaseModel.name_search", isModel: true,
                params: [("name", false), (flavour.is19 ? "domain" : "args", false), ("operator", false), ("limit", false)]),
            "fields_get": MethodSpec(
                qualname: "BaseModel.fields_get", isModel: true, params: [("allfields", false), ("attributes", false)]),
        ]
        if let found = base[name] { return found }
        if spec.hasActive, name == "action_archive" || name == "action_unarchive" {
            return MethodSpec(qualname: "BaseModel.\(name)", isModel: false, params: [])
        }
        switch (model, name) {
        case ("res.users", "context_get"): return MethodSpec(qualname: "ResUsers.context_get", isModel: true, params: [])
        case ("sale.order", "action_confirm"), ("sale.order", "action_cancel"):
            return MethodSpec(qualname: "SaleOrder.\(name)", isModel: false, params: [])
        case ("sale.advance.payment.inv", "create_invoices"):
            return MethodSpec(qualname: "SaleAdvancePaymentInv.create_invoices", isModel: false, params: [])
        case ("account.move", "action_post"), ("account.move", "button_draft"), ("account.move", "button_cancel"):
            return MethodSpec(qualname: "AccountMove.\(name)", isModel: false, params: [])
        case ("account.payment", "action_cancel"), ("account.payment", "action_draft"):
            return MethodSpec(qualname: "AccountPayment.\(name)", isModel: false, params: [])
        case ("account.move", "js_assign_outstanding_line"):
            return MethodSpec(qualname: "AccountMove.js_assign_outstanding_line", isModel: false, params: [("line_id", true)])
        case ("account.payment.register", "action_create_payments"):
            return MethodSpec(qualname: "AccountPaymentRegister.action_create_payments", isModel: false, params: [])
        case ("account.move.reversal", "refund_moves"):
            return MethodSpec(qualname: "AccountMoveReversal.refund_moves", isModel: false, params: [])
        default: return nil
        }
    }

    /// Runs a bound call.
    mutating func invoke(_ model: String, _ name: String, _ call: BoundCall) throws(OdooError) -> MethodResult {
        let ctx = call.ctx
        switch name {
        case "create":
            guard let raw = call.args["vals_list"] else { throw .builtin("TypeError", "create() missing vals_list") }
            if let single = raw.objectValue { return .created([try create(model, single, ctx)], single: true) }
            guard let list = raw.arrayValue else {
                throw .builtin("AttributeError", "'\(Self.pythonType(raw))' object has no attribute 'items'")
            }
            var ids: [Int64] = []
            ids.reserveCapacity(list.count)
            for element in list {
                guard let vals = element.objectValue else {
                    throw .builtin("AttributeError", "'\(Self.pythonType(element))' object has no attribute 'items'")
                }
                ids.append(try create(model, vals, ctx))
            }
            return .created(ids, single: false)
        case "read":
            let load = call.args["load"].map { !($0.isNull || $0 == .bool(false)) && $0 != .string("") } ?? true
            return .value(.array(try read(model, call.ids, fields: call.strings("fields"), load: load)))
        case "write":
            guard let vals = call.args["vals"]?.objectValue else {
                throw .builtin("AttributeError", "'\(Self.pythonType(call.args["vals"] ?? .null))' object has no attribute 'items'")
            }
            try write(model, call.ids, vals, ctx)
            return .value(.bool(true))
        case "unlink":
            try unlink(model, call.ids, ctx)
            return .value(.bool(true))
        case "search":
            let ids = try search(
                model, domain: call.args["domain"], offset: call.int("offset") ?? 0, limit: call.int("limit"), order: call.string("order"),
                ctx)
            return .value(.array(ids.map(OdooValue.int)))
        case "search_read":
            for key in call.extra.keys.sorted() where key != "load" {
                throw .builtin("TypeError", "BaseModel._read_format() got an unexpected keyword argument '\(key)'")
            }
            let ids = try search(
                model, domain: call.args["domain"], offset: call.int("offset") ?? 0, limit: call.int("limit"), order: call.string("order"),
                ctx)
            let load = call.extra["load"].map { !($0.isNull || $0 == .bool(false)) } ?? true
            return .value(.array(try read(model, ids, fields: call.strings("fields"), load: load)))
        case "search_count":
            let ids = try search(model, domain: call.args["domain"], limit: call.int("limit"), ctx)
            return .value(.int(Int64(ids.count)))
        case "name_search":
            let domain = call.args[flavour.is19 ? "domain" : "args"]
            return .value(
                try nameSearch(
                    model, name: call.string("name") ?? "", domain: domain, op: call.string("operator") ?? "ilike",
                    limit: call.args["limit"] == nil ? 100 : call.int("limit"), ctx))
        case "fields_get":
            return .value(try fieldsGet(model, allfields: call.strings("allfields"), attributes: call.strings("attributes")))
        case "action_archive", "action_unarchive":
            try write(model, call.ids, ["active": .bool(name == "action_unarchive")], ctx)
            return .none
        case "context_get":
            return .value(.object([("lang", "en_US"), ("tz", .bool(false)), ("uid", .int(uid))]))
        case "action_confirm":
            try actionConfirm(call.ids)
            return .value(.bool(true))
        case "action_cancel" where model == "account.payment":
            try actionCancelPayments(call.ids, ctx)
            return .none
        case "action_draft":
            try actionDraftPayments(call.ids)
            return .none
        case "action_cancel":
            return try actionCancelOrder(call.ids, ctx)
        case "create_invoices":
            return .value(try createInvoices(call.ids, ctx))
        case "action_post":
            try actionPost(call.ids, ctx)
            return .value(.bool(false))
        case "button_draft":
            try buttonDraft(call.ids)
            return .none
        case "button_cancel":
            try buttonCancel(call.ids)
            return .none
        case "js_assign_outstanding_line":
            guard let line = call.args["line_id"]?.intValue else { throw .builtin("TypeError", "line_id must be an integer") }
            try assignOutstandingLine(call.ids, line: line)
            return .none
        case "action_create_payments":
            return .value(try actionCreatePayments(call.ids, ctx))
        case "refund_moves":
            return .value(try refundMoves(call.ids, ctx))
        default:
            throw .builtin("AttributeError", "The method '\(model).\(name)' does not exist")
        }
    }

    static func pythonType(_ value: JSONValue) -> String {
        switch value {
        case .null: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .double: "float"
        case .string: "str"
        case .array: "list"
        case .object: "dict"
        }
    }
}

/// Argument binding with the errors of Python's call machinery (RPC) and of `inspect.Signature.bind` (JSON-2).
enum ArgumentBinder {
    /// JSON-2: named arguments only; errors are 422 `UnprocessableEntity`.
    static func bindNamed(_ method: MethodSpec, _ named: [String: JSONValue]) throws(OdooError) -> (
        args: [String: JSONValue], extra: [String: JSONValue]
    ) {
        var args: [String: JSONValue] = [:]
        for (param, required) in method.params {
            if let value = named[param] {
                args[param] = value
            } else if required {
                throw .werkzeug(422, "missing a required argument: '\(param)'")
            }
        }
        let known = Set(method.params.map(\.0))
        var extra: [String: JSONValue] = [:]
        for key in named.keys.sorted() where !known.contains(key) {
            if !method.varKeywords { throw .werkzeug(422, "got an unexpected keyword argument '\(key)'") }
            extra[key] = named[key]
        }
        return (args, extra)
    }

    /// RPC: positional then keyword arguments, with CPython's `TypeError` texts.
    static func bindPython(
        _ method: MethodSpec, _ positional: [JSONValue], _ keywords: [String: JSONValue]
    ) throws(OdooError) -> (args: [String: JSONValue], extra: [String: JSONValue]) {
        var args: [String: JSONValue] = [:]
        var extra: [String: JSONValue] = [:]
        for (index, value) in positional.enumerated() where index < method.params.count { args[method.params[index].0] = value }
        for key in keywords.keys.sorted() {
            if let index = method.params.firstIndex(where: { $0.0 == key }) {
                if index < positional.count {
                    throw .builtin("TypeError", "\(method.qualname)() got multiple values for argument '\(key)'")
                }
                args[key] = keywords[key]
            } else if method.varKeywords {
                extra[key] = keywords[key]
            } else {
                throw .builtin("TypeError", "\(method.qualname)() got an unexpected keyword argument '\(key)'")
            }
        }
        if positional.count > method.params.count {
            let maximum = method.params.count + 1
            let minimum = method.params.filter(\.1).count + 1
            let given = positional.count + 1
            let takes =
                minimum == maximum
                ? "\(maximum) positional argument\(maximum == 1 ? "" : "s")" : "from \(minimum) to \(maximum) positional arguments"
            throw .builtin("TypeError", "\(method.qualname)() takes \(takes) but \(given) were given")
        }
        let missing = method.params.filter { $0.1 && args[$0.0] == nil }.map { "'\($0.0)'" }
        if !missing.isEmpty {
            let list: String
            switch missing.count {
            case 1: list = missing[0]
            case 2: list = missing[0] + " and " + missing[1]
            default: list = missing.dropLast().joined(separator: ", ") + ", and " + missing.last!
            }
            let noun = missing.count == 1 ? "argument" : "arguments"
            throw .builtin("TypeError", "\(method.qualname)() missing \(missing.count) required positional \(noun): \(list)")
        }
        return (args, extra)
    }
}
