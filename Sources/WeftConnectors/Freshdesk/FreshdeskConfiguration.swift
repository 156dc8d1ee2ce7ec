public import WeftCore

/// How to reach one Freshdesk account and which company fields show Weft's entitlement.
public struct FreshdeskConfiguration: Sendable, Hashable {
    /// `https://acme.freshdesk.com` (no trailing path).
    public var baseURL: String
    /// An agent's API key (Profile settings > View API key). Never logged.
    public var apiKey: String
    /// The company fields (API names, e.g. `weft_account`) that show each part of the entitlement. `account` is
    /// required: Freshdesk companies have no external id, so Weft keeps the account id in that field.
    public var fields: DeskFieldMap
    /// Deadline for one HTTP call.
    public var requestTimeout: Duration
    /// Most commands one delivery batch takes.
    public var maxBatchSize: Int

    /// - Parameters:
    ///   - baseURL: the account's URL.
    ///   - apiKey: the agent's API key.
    ///   - fields: the company field names; `account` must be set (see `validate()`).
    ///   - requestTimeout: deadline per HTTP call (default 30 s).
    ///   - maxBatchSize: commands per batch (default 20).
    public init(
        baseURL: String, apiKey: String, fields: DeskFieldMap, requestTimeout: Duration = .seconds(30),
        maxBatchSize: Int = 20
    ) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        self.baseURL = url
        self.apiKey = apiKey
        self.fields = fields
        self.requestTimeout = requestTimeout
        self.maxBatchSize = max(1, maxBatchSize)
    }

    /// Checks what Weft cannot work without; the error says what to fix.
    public func validate() throws(FreshdeskConfigurationError) {
        guard baseURL.hasPrefix("https://") || baseURL.hasPrefix("http://") else {
            throw FreshdeskConfigurationError(
                message: "freshdesk base_url must be an http(s) URL such as https://acme.freshdesk.com")
        }
        guard !apiKey.isEmpty else {
            throw FreshdeskConfigurationError(message: "freshdesk api key is empty: set the variable api_key_env names")
        }
        guard let account = fields.account, !account.isEmpty else {
            throw FreshdeskConfigurationError(
                message:
                    "freshdesk fields.account is required: Freshdesk companies have no external id, so Weft keeps the account id in a custom company field (e.g. account: weft_account)"
            )
        }
        let names = fields.fieldNames
        if Set(names).count != names.count {
            throw FreshdeskConfigurationError(message: "freshdesk fields must name a different company field for each part")
        }
    }
}

extension FreshdeskConfiguration: CustomStringConvertible {
    /// Without the API key.
    public var description: String {
        "FreshdeskConfiguration(baseURL: \(baseURL), account field: \(fields.account ?? "-"), fields: \(fields.fieldNames.count))"
    }
}

/// A Freshdesk target configuration Weft cannot use. `message` says what to change.
public struct FreshdeskConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
