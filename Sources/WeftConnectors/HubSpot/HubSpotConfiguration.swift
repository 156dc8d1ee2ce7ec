/// How to reach one HubSpot account: base URL, path prefixes, the private app's token and call limits.
public struct HubSpotConfiguration: Sendable, Hashable {
    /// `https://api.hubapi.com` (no trailing slash).
    public var baseURL: String
    /// Objects, batch, search and merge: `/crm/v3/objects`, or a dated prefix such as `/crm/objects/2025-09`.
    public var objectsPath: String
    /// Associations v4: `/crm/v4`.
    public var associationsPath: String
    /// The private app's access token (`pat-…`). Never logged.
    public var accessToken: String
    /// Deadline for one HTTP call.
    public var requestTimeout: Duration
    /// Inputs per batch call (HubSpot: at most 100); larger inputs are split.
    public var batchSize: Int
    /// Results per search page (HubSpot: at most 200).
    public var searchPageSize: Int

    /// - Parameters:
    ///   - baseURL: the API host (default `https://api.hubapi.com`).
    ///   - objectsPath: the objects prefix (default `/crm/v3/objects`).
    ///   - associationsPath: the associations v4 prefix (default `/crm/v4`).
    ///   - accessToken: the private app's access token.
    ///   - requestTimeout: deadline per HTTP call (default 30 s).
    ///   - batchSize: inputs per batch call, clamped to 1…100 (default 100).
    ///   - searchPageSize: results per search page, clamped to 1…200 (default 200).
    public init(
        baseURL: String = "https://api.hubapi.com", objectsPath: String = "/crm/v3/objects",
        associationsPath: String = "/crm/v4", accessToken: String, requestTimeout: Duration = .seconds(30),
        batchSize: Int = 100, searchPageSize: Int = 200
    ) {
        self.baseURL = Self.trimmed(baseURL)
        self.objectsPath = Self.path(objectsPath)
        self.associationsPath = Self.path(associationsPath)
        self.accessToken = accessToken
        self.requestTimeout = requestTimeout
        self.batchSize = min(max(batchSize, 1), 100)
        self.searchPageSize = min(max(searchPageSize, 1), 200)
    }

    private static func trimmed(_ text: String) -> String {
        var url = text
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }

    private static func path(_ text: String) -> String {
        let trimmed = trimmed(text)
        return trimmed.hasPrefix("/") ? trimmed : "/" + trimmed
    }
}

extension HubSpotConfiguration: CustomStringConvertible {
    /// Without the token.
    public var description: String {
        "HubSpotConfiguration(base_url: \(baseURL), objects: \(objectsPath), associations: \(associationsPath))"
    }
}
