import Foundation
import Synchronization
import WeftCore

extension OdooSimulator {
    enum Transport {
        case json2
        case rpc
    }

    /// Finds the model and public method, binds the arguments and runs the call in one transaction.
    func execute(
        model: String, method name: String, transport: Transport, bind: (MethodSpec) throws(OdooError) -> BoundCall
    ) throws(OdooError) -> MethodResult {
        let now = configuration.now()
        return try state.withLock { db throws(OdooError) -> MethodResult in
            guard db.models[model] != nil else {
                throw transport == .json2 ? .werkzeug(404, "the model '\(model)' does not exist") : .user("Object \(model) doesn't exist")
            }
            if name.hasPrefix("_") {
                throw .accessError("Private methods (such as '\(model).\(name)') cannot be called remotely.")
            }
            guard let method = db.method(model, name) else {
                let message = "The method '\(model).\(name)' does not exist"
                throw transport == .json2 ? .werkzeug(404, message) : .builtin("AttributeError", message)
            }
            let call = try bind(method)
            db.beginCall(at: now)
            do throws(OdooError) {
                let result = try db.invoke(model, name, call)
                db.commitCall()
                return result
            } catch {
                db.rollBack()
                throw error
            }
        }
    }

    var versionInfo: OdooValue {
        let major = Int64(flavour.major)
        if let release = self.release.withLock({ $0 }), release.hasPrefix("saas~") {
            // `odoo/release.py` on the saas branches: `version_info = ('saas~18', 3, 0, FINAL, 0, 'e')`.
            let parts = release.dropFirst(5).split(separator: ".")
            let serie = "saas~\(parts.first ?? "")"
            let minor = Int64(parts.dropFirst().first ?? "0") ?? 0
            return .object([
                ("server_version", .string("\(release)+e")),
                ("server_version_info", .array([.string(serie), .int(minor), .int(0), "final", .int(0), "e"])),
                ("server_serie", .string(release)), ("protocol_version", .int(1)),
            ])
        }
        return .object([
            ("server_version", .string(flavour.is19 ? "19.0" : "18.0-20250925")),
            ("server_version_info", .array([.int(major), .int(0), .int(0), "final", .int(0), ""])),
            ("server_serie", .string("\(major).0")), ("protocol_version", .int(1)),
        ])
    }

    func validPassword(_ password: String?) -> Bool {
        guard let password else { return false }
        return configuration.apiKeys.contains(password) || (configuration.password.map { $0 == password } ?? false)
    }

    func unknownDatabase(_ name: String) -> OdooError {
        .other(
            "psycopg2.OperationalError",
            "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  database \"\(name)\" does not exist\n")
    }

    /// Runs one RPC service call (`common`, `db`, `object`) shared by JSON-RPC and XML-RPC.
    func dispatchService(_ service: String, _ method: String, _ args: [JSONValue], into call: inout Call) throws(OdooError) -> MethodResult
    {
        call.service = service
        call.odooMethod = method
        switch service {
        case "common":
            switch method {
            case "version":
                return .value(versionInfo)
            case "login", "authenticate":
                guard args.count >= (method == "login" ? 3 : 4) else {
                    throw .builtin("TypeError", "exp_\(method)() missing required positional arguments")
                }
                let db = args[0].stringValue ?? ""
                guard db == configuration.database else { throw unknownDatabase(db) }
                let ok = args[1].stringValue == configuration.login && validPassword(args[2].stringValue)
                return .value(ok ? .int(2) : .bool(false))
            case "about":
                return .value(.string("See http://openerp.com"))
            default:
                throw .builtin("Exception", "Method not found: \(method)")
            }
        case "db":
            switch method {
            case "list": return .value(.array([.string(configuration.database)]))
            case "server_version": return .value(.string(flavour.is19 ? "19.0" : "18.0-20250925"))
            default: throw .builtin("Exception", "Method not found: \(method)")
            }
        case "object":
            guard method == "execute_kw" || method == "execute" else { throw .builtin("Exception", "Method not found: \(method)") }
            guard args.count >= 5 else {
                throw .builtin("TypeError", "execute_kw() missing required positional arguments")
            }
            let db = args[0].stringValue ?? ""
            guard db == configuration.database else { throw unknownDatabase(db) }
            guard args[1].intValue == 2, validPassword(args[2].stringValue) else { throw .accessDenied }
            guard let model = args[3].stringValue, let name = args[4].stringValue else {
                throw .builtin("TypeError", "model and method must be strings")
            }
            call.model = model
            call.odooMethod = name
            var positional: [JSONValue]
            var keywords: [String: JSONValue] = [:]
            if method == "execute_kw" {
                positional = args.count > 5 ? args[5].arrayValue ?? [args[5]] : []
                keywords = args.count > 6 ? args[6].objectValue ?? [:] : [:]
            } else {
                positional = Array(args.dropFirst(5))
            }
            let context = keywords.removeValue(forKey: "context")?.objectValue ?? [:]
            let flavour = self.flavour
            return try execute(model: model, method: name, transport: .rpc) { spec throws(OdooError) in
                var ids: [Int64] = []
                if !spec.isModel {
                    guard let first = positional.first else { throw .builtin("IndexError", "list index out of range") }
                    ids = first.arrayValue?.compactMap(\.intValue) ?? first.intValue.map { [$0] } ?? []
                    positional.removeFirst()
                } else if name == "context_get", !positional.isEmpty {
                    throw .builtin(
                        "TypeError",
                        flavour.is19 ? "<lambda>() takes 1 positional argument but 2 were given" : "too many positional arguments")
                }
                let bound = try ArgumentBinder.bindPython(spec, positional, keywords)
                return BoundCall(ids: ids, args: bound.args, extra: bound.extra, ctx: CallContext(context))
            }
        default:
            throw .builtin("KeyError", service)
        }
    }
}
