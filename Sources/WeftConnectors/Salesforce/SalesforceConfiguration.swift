/// How to reach one Salesforce org: its My Domain URL, the login host, the REST API version, the OAuth flow Weft
/// authenticates with, and call limits.
public struct SalesforceConfiguration: Sendable, Hashable {
    /// How Weft obtains an access token.
    public enum Authentication: Sendable, Hashable {
        /// OAuth 2.0 JWT bearer flow: an RS256 assertion signed with the private key whose certificate is uploaded to
        /// the connected app (or External Client App); the user must be pre-authorised on the app.
        /// - Parameters:
        ///   - consumerKey: the app's consumer key (the JWT `iss`).
        ///   - username: the Salesforce username Weft acts as (the JWT `sub`).
        ///   - privateKeyPEM: the RSA private key (PKCS#1 or PKCS#8 PEM, at least 2048 bits). Never logged.
        case jwtBearer(consumerKey: String, username: String, privateKeyPEM: String)
        /// OAuth 2.0 client credentials flow: the app's consumer key and secret; Salesforce runs the calls as the app's
        /// configured Run As user. The token endpoint is on the My Domain host.
        /// - Parameters:
        ///   - clientID: the app's consumer key.
        ///   - clientSecret: the app's consumer secret. Never logged.
        case clientCredentials(clientID: String, clientSecret: String)
    }

    /// The org's My Domain URL, e.g. `https://acme.my.salesforce.com` (no trailing slash). API calls go to the
    /// `instance_url` the token endpoint returns, which for a My Domain org is this URL.
    public var instanceURL: String
    /// The login host the JWT bearer flow posts to and names as the JWT audience: `https://login.salesforce.com`,
    /// or `https://test.salesforce.com` for a sandbox.
    public var loginURL: String
    /// The JWT `aud`: `https://login.salesforce.com` or `https://test.salesforce.com` (or an Experience Cloud site URL).
    /// Defaults to `loginURL`; set it when the token request goes to another host (the My Domain login URL, a proxy)
    /// while Salesforce still expects the login host as the audience.
    public var jwtAudience: String
    /// REST API version without the `v`, e.g. `62.0`.
    public var apiVersion: String
    /// The OAuth flow and its credentials.
    public var authentication: Authentication
    /// Deadline for one HTTP call.
    public var requestTimeout: Duration
    /// Records per sObject Collections call (Salesforce: at most 200); larger inputs are split.
    public var collectionSize: Int
    /// Records per query page asked for with `Sforce-Query-Options: batchSize=` (Salesforce: 200…2000, a hint it may
    /// ignore); `nil` leaves Salesforce's default of 2000.
    public var queryBatchSize: Int?
    /// How long the target's request gate holds after `REQUEST_LIMIT_EXCEEDED` for the concurrent long-running
    /// request limit (or an unrecognised limit).
    public var concurrencyLimitHold: Duration
    /// How long the gate holds after `REQUEST_LIMIT_EXCEEDED` for the org's 24-hour API allocation
    /// (`TotalRequests Limit exceeded`). The allocation is a rolling 24-hour window, so capacity comes back as old
    /// calls age out — not at midnight.
    public var dailyLimitHold: Duration

    /// - Parameters:
    ///   - instanceURL: the org's My Domain URL.
    ///   - loginURL: the login host (default `https://login.salesforce.com`; sandboxes `https://test.salesforce.com`).
    ///   - jwtAudience: the JWT audience (default: `loginURL`).
    ///   - apiVersion: REST API version (default `62.0`; upsert `created` and sObject Collections upsert need 46.0+).
    ///   - authentication: the OAuth flow and its credentials.
    ///   - requestTimeout: deadline per HTTP call (default 30 s).
    ///   - collectionSize: records per sObject Collections call, clamped to 1…200 (default 200).
    ///   - queryBatchSize: records per query page, clamped to 200…2000 (default `nil`: Salesforce's 2000).
    ///   - concurrencyLimitHold: gate hold after a concurrency `REQUEST_LIMIT_EXCEEDED` (default 60 s).
    ///   - dailyLimitHold: gate hold after the 24-hour allocation is exhausted (default 15 minutes).
    public init(
        instanceURL: String, loginURL: String = "https://login.salesforce.com", jwtAudience: String? = nil,
        apiVersion: String = "62.0",
        authentication: Authentication, requestTimeout: Duration = .seconds(30), collectionSize: Int = 200,
        queryBatchSize: Int? = nil, concurrencyLimitHold: Duration = .seconds(60), dailyLimitHold: Duration = .seconds(15 * 60)
    ) {
        self.instanceURL = Self.trimmed(instanceURL)
        self.loginURL = Self.trimmed(loginURL)
        self.jwtAudience = Self.trimmed(jwtAudience ?? loginURL)
        var version = apiVersion
        if version.hasPrefix("v") { version.removeFirst() }
        self.apiVersion = version
        self.authentication = authentication
        self.requestTimeout = requestTimeout
        self.collectionSize = min(max(collectionSize, 1), 200)
        self.queryBatchSize = queryBatchSize.map { min(max($0, 200), 2000) }
        self.concurrencyLimitHold = concurrencyLimitHold
        self.dailyLimitHold = dailyLimitHold
    }

    /// `/services/data/v62.0`.
    public var dataPath: String { "/services/data/v\(apiVersion)" }

    /// Where tokens come from: the login host for the JWT bearer flow, the My Domain host for client credentials.
    public var tokenURL: String {
        switch authentication {
        case .jwtBearer: loginURL + "/services/oauth2/token"
        case .clientCredentials: instanceURL + "/services/oauth2/token"
        }
    }

    static func trimmed(_ text: String) -> String {
        var url = text
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}

extension SalesforceConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    /// Names the org, the flow and the user or app; never a key or secret.
    public var description: String {
        let flow =
            switch authentication {
            case .jwtBearer(let consumerKey, let username, _):
                "jwt_bearer(consumer_key: \(Self.abbreviated(consumerKey)), username: \(username))"
            case .clientCredentials(let clientID, _):
                "client_credentials(client_id: \(Self.abbreviated(clientID)))"
            }
        return
            "SalesforceConfiguration(instance_url: \(instanceURL), login_url: \(loginURL), audience: \(jwtAudience), api_version: \(apiVersion), "
            + "auth: \(flow))"
    }

    public var debugDescription: String { description }

    /// The first characters of a consumer key: enough to tell apps apart in logs.
    static func abbreviated(_ key: String) -> String {
        key.count <= 12 ? key : String(key.prefix(8)) + "…"
    }
}

extension SalesforceConfiguration.Authentication: CustomStringConvertible, CustomDebugStringConvertible {
    /// Without the private key or the secret.
    public var description: String {
        switch self {
        case .jwtBearer(let consumerKey, let username, _):
            "jwtBearer(consumerKey: \(SalesforceConfiguration.abbreviated(consumerKey)), username: \(username), "
                + "privateKeyPEM: <redacted>)"
        case .clientCredentials(let clientID, _):
            "clientCredentials(clientID: \(SalesforceConfiguration.abbreviated(clientID)), clientSecret: <redacted>)"
        }
    }

    public var debugDescription: String { description }
}

extension SalesforceConfiguration: CustomReflectable {
    /// `dump` and debuggers see the description, not the key or secret.
    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
}

extension SalesforceConfiguration.Authentication: CustomReflectable {
    /// `dump` and debuggers see the description, not the key or secret.
    public var customMirror: Mirror { Mirror(self, children: ["description": description]) }
}
