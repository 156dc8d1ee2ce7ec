import Foundation
public import WeftCore

/// How to reach one Zendesk Support account and which organization fields show the entitlement.
public struct ZendeskConfiguration: Sendable, Hashable {
    /// How Weft authenticates.
    public enum Auth: Sendable, Hashable {
        /// HTTP Basic `{email}/token:{token}` with an API token (Admin Center > Apps and integrations > Zendesk API).
        case apiToken(email: String, token: String)
        /// `Authorization: Bearer {token}` with an OAuth access token.
        case oauth(token: String)
    }

    /// `https://{subdomain}.zendesk.com` (no trailing path).
    public var baseURL: String
    /// The credentials. Never logged.
    public var auth: Auth
    /// Which organization field (key) shows which part of the entitlement.
    public var fields: DeskFieldMap
    /// Deadline for one HTTP call.
    public var requestTimeout: Duration
    /// Most commands one delivery batch takes.
    public var maxBatchSize: Int

    /// - Parameters:
    ///   - baseURL: `https://{subdomain}.zendesk.com`.
    ///   - auth: an API token with its agent's email, or an OAuth token.
    ///   - fields: organization field keys for the entitlement's parts.
    ///   - requestTimeout: deadline per HTTP call (default 30 s).
    ///   - maxBatchSize: commands per batch (default 20).
    public init(
        baseURL: String, auth: Auth, fields: DeskFieldMap = DeskFieldMap(), requestTimeout: Duration = .seconds(30),
        maxBatchSize: Int = 20
    ) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        self.baseURL = url
        self.auth = auth
        self.fields = fields
        self.requestTimeout = requestTimeout
        self.maxBatchSize = max(1, maxBatchSize)
    }

    /// The `Authorization` header value.
    var authorization: String {
        switch auth {
        case .apiToken(let email, let token): "Basic " + Data("\(email)/token:\(token)".utf8).base64EncodedString()
        case .oauth(let token): "Bearer \(token)"
        }
    }
}

extension ZendeskConfiguration: CustomStringConvertible {
    /// Without the token.
    public var description: String {
        let auth =
            switch auth {
            case .apiToken(let email, _): "api_token(\(email))"
            case .oauth: "oauth"
            }
        return "ZendeskConfiguration(base_url: \(baseURL), auth: \(auth), fields: \(fields.fieldNames))"
    }
}
