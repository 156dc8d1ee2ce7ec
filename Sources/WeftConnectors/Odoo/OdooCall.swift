import WeftCore

/// One ORM call in JSON-2 terms: named parameters, optional record ids, optional context.
struct OdooCall: Sendable {
    var model: String
    var method: String
    var ids: [Int64]?
    var params: [String: JSONValue]
    var context: [String: JSONValue]?

    init(
        model: String, method: String, ids: [Int64]? = nil, params: [String: JSONValue] = [:],
        context: [String: JSONValue]? = nil
    ) {
        self.model = model
        self.method = method
        self.ids = ids
        self.params = params
        self.context = context
    }

    var operation: String { "\(model).\(method)" }

    /// The JSON-2 body: every named parameter, plus `ids` and `context`.
    var json2Body: JSONValue {
        var body = params
        if let ids { body["ids"] = .array(ids.map(JSONValue.int)) }
        if let context { body["context"] = .object(context) }
        return .object(body)
    }

    /// `execute_kw` positional `args` and `kwargs`.
    ///
    /// Record ids go first; the method's leading parameter goes positionally too (as Odoo's own examples and the
    /// captured corpus do: `create [vals]`, `write [ids, vals]`, `search_read [domain]`), everything else by name.
    var executeKwArguments: (args: [JSONValue], kwargs: [String: JSONValue]) {
        var args: [JSONValue] = []
        var kwargs = params
        if let ids { args.append(.array(ids.map(JSONValue.int))) }
        if let leading = Self.leadingParameter[method], let value = kwargs.removeValue(forKey: leading) {
            args.append(value)
        }
        if let context { kwargs["context"] = .object(context) }
        return (args, kwargs)
    }

    private static let leadingParameter: [String: String] = [
        "create": "vals_list", "write": "vals", "search": "domain", "search_read": "domain", "search_count": "domain",
        "name_search": "name",
    ]
}

/// The server's version, as `/web/version` or `common.version` report it.
public struct OdooServerVersion: Sendable, Hashable, CustomStringConvertible {
    /// Major version, e.g. 19.
    public var major: Int
    /// Minor version (e.g. 1 for Online's 18.1).
    public var minor: Int
    /// The version string, e.g. `19.0` or `18.0-20250925`.
    public var text: String

    public init(major: Int, minor: Int = 0, text: String? = nil) {
        self.major = major
        self.minor = minor
        self.text = text ?? "\(major).\(minor)"
    }

    /// Reads `version_info`/`server_version_info` (`[19, 0, 0, "final", 0, ""]`) or the `version` string. Odoo
    /// Online's releases name their major `saas~18` (`odoo/release.py` on the saas branches:
    /// `version_info = ('saas~18', 1, 0, FINAL, 0, '')`, shown as `saas~18.1+e`).
    init?(_ value: JSONValue) {
        let info = value["server_version_info"] ?? value["version_info"]
        let text = value["server_version"]?.stringValue ?? value["version"]?.stringValue
        if let first = info?[0], let major = first.intValue.map(Int.init) ?? first.stringValue.flatMap(Self.major) {
            self.init(major: major, minor: Int(info?[1]?.intValue ?? 0), text: text)
        } else if let text, let major = Self.major(text) {
            let rest = Self.unprefixed(text).drop { $0.isNumber }
            let minor = rest.first == "." ? Int(rest.dropFirst().prefix { $0.isNumber }) : nil
            self.init(major: major, minor: minor ?? 0, text: text)
        } else {
            return nil
        }
    }

    private static func unprefixed(_ text: String) -> Substring {
        let text = Substring(text)
        return text.hasPrefix("saas~") ? text.dropFirst(5) : text
    }

    /// The leading number of `19.0`, `18.0-20250925`, `saas~18` or `saas~18.1+e`.
    private static func major(_ text: String) -> Int? { Int(unprefixed(text).prefix { $0.isNumber }) }

    public var description: String { text }

    /// sale.order.line's tax field: `tax_id` up to 18, `tax_ids` from 19.
    public var saleLineTaxField: String { major >= 19 ? "tax_ids" : "tax_id" }
    /// account.payment's memo field: `ref` up to 17, `memo` from 18.
    public var paymentMemoField: String { major >= 18 ? "memo" : "ref" }
    /// account.payment's cancelled state: `cancel` up to 17 (the journal entry's state), `canceled` from 18 (its own).
    public var paymentCancelledState: String { major >= 18 ? "canceled" : "cancel" }
    /// name_search's domain parameter: `args` up to 18, `domain` from 19.
    public var nameSearchDomainParameter: String { major >= 19 ? "domain" : "args" }
}
