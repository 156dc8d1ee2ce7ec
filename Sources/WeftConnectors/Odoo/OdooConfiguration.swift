/// Which of Odoo's external APIs to speak.
public enum OdooTransportKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// `POST /json/2/<model>/<method>` with a bearer API key (Odoo 19+).
    case json2
    /// `POST /jsonrpc` with `execute_kw` (Odoo ≤ 18, deprecated in 19).
    case jsonrpc
    /// `POST /xmlrpc/2/common` and `/xmlrpc/2/object` (Odoo ≤ 18, deprecated in 19).
    case xmlrpc
}

/// How to reach one Odoo database and how Weft maps into it.
public struct OdooConfiguration: Sendable, Hashable {
    /// Base URL, e.g. `https://acme.odoo.com` (no trailing path).
    public var url: String
    /// Database name. Required for `jsonrpc`/`xmlrpc`; sent as `X-Odoo-Database` for `json2` when set.
    public var database: String?
    /// Login of the integration user (for `jsonrpc`/`xmlrpc` authentication).
    public var login: String
    /// API key (or password). Never logged.
    public var apiKey: String
    /// The wire protocol.
    public var transport: OdooTransportKind
    /// Deadline for one HTTP call.
    public var callTimeout: Duration
    /// Name of the partner tag that marks a customer past due.
    public var pastDueTagName: String
    /// Most commands one delivery batch takes.
    public var maxBatchSize: Int
    /// How an account Weft has not bound yet is recognised among Odoo's company partners, in order of trust (after
    /// its external id and its `ref`). An empty list turns matching off: such accounts always get a new partner.
    public var identityKeys: [OdooIdentityKey]

    /// - Parameters:
    ///   - url: base URL of the Odoo server.
    ///   - database: database name (required for `jsonrpc` and `xmlrpc`).
    ///   - login: integration user's login.
    ///   - apiKey: the user's API key.
    ///   - transport: `json2` (default), `jsonrpc` or `xmlrpc`.
    ///   - callTimeout: deadline per HTTP call (default 30 s).
    ///   - pastDueTagName: partner tag for past-due standing (default "Past due").
    ///   - maxBatchSize: commands per batch (default 50).
    ///   - identityKeys: how unbound accounts are matched to existing company partners (default VAT, then email
    ///     domain, then email).
    public init(
        url: String, database: String? = nil, login: String = "admin", apiKey: String,
        transport: OdooTransportKind = .json2, callTimeout: Duration = .seconds(30), pastDueTagName: String = "Past due",
        maxBatchSize: Int = 50, identityKeys: [OdooIdentityKey] = [.vat, .emailDomain, .email]
    ) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.database = database
        self.login = login
        self.apiKey = apiKey
        self.transport = transport
        self.callTimeout = callTimeout
        self.pastDueTagName = pastDueTagName
        self.maxBatchSize = max(1, maxBatchSize)
        self.identityKeys = identityKeys
    }
}

extension OdooConfiguration: CustomStringConvertible {
    /// Without the API key.
    public var description: String {
        "OdooConfiguration(url: \(url), database: \(database ?? "-"), login: \(login), transport: \(transport.rawValue))"
    }
}
