import Foundation
import NIOHTTP1
import WeftCore

extension HubSpotAPIError {
    /// Maps a non-2xx answer. HubSpot's bodies: `{"status":"error","message","correlationId","category",
    /// "errors":[{"message","code","context":{…}}],"context"}`; 429 adds `errorType` `RATE_LIMIT` and `policyName`.
    static func from(_ response: OutboundHTTPResponse, method: String, path: String, objectType: String?) -> HubSpotAPIError {
        let json = try? JSONValue.parse(Data(response.body))
        let category = json?["category"]?.stringValue
        let hubspotMessage = json?["message"]?.stringValue ?? ""
        let what = "\(method) \(path)"
        let status = response.status
        switch status {
        case 401:
            return HubSpotAPIError(
                kind: .unauthorized,
                message:
                    "HubSpot refused the access token on \(what) (\(category ?? "INVALID_AUTHENTICATION")): set a valid "
                    + "private app access token in the HubSpot connector configuration",
                status: status, category: category)
        case 403:
            let fix = scopeFix(json, objectType: objectType)
            return HubSpotAPIError(
                kind: .forbidden, message: "HubSpot forbids \(what) (\(category ?? "FORBIDDEN")): \(fix)", status: status,
                category: category)
        case 429:
            let wait = rateLimitWait(response, policy: json?["policyName"]?.stringValue)
            return HubSpotAPIError(
                kind: .rateLimited,
                message: "HubSpot rate limit (\(json?["policyName"]?.stringValue ?? "unknown policy")) on \(what)",
                status: status, retryAfter: wait, category: "RATE_LIMIT")
        case 404:
            return HubSpotAPIError(
                kind: .notFound, message: "HubSpot has no \(path): \(hubspotMessage)", status: status, category: category)
        case 409:
            return HubSpotAPIError(
                kind: .conflict, message: "HubSpot refused \(what): \(hubspotMessage)", status: status, category: category)
        case _ where HTTPStatusClass(status: status) == .retryable:
            return HubSpotAPIError(
                kind: .unavailable, message: "HubSpot unavailable on \(what)", status: status,
                retryAfter: response.retryAfter(), category: category)
        default:
            let properties = propertyNames(json)
            let codes = (json?["errors"]?.arrayValue ?? []).compactMap { $0["code"]?.stringValue }
            var message = "HubSpot refused \(what)"
            if !properties.isEmpty {
                message +=
                    ": fix the propert\(properties.count == 1 ? "y" : "ies") \(properties.joined(separator: ", "))"
                    + (codes.isEmpty ? "" : " (\(Set(codes).sorted().joined(separator: ", ")))")
                let details = valueProblems(json)
                if !details.isEmpty { message += ": " + details.joined(separator: "; ") }
                message += " — " + advice(codes: Set(codes))
            } else if !hubspotMessage.isEmpty {
                message += ": \(hubspotMessage)"
            } else {
                message += ": HTTP \(status)"
            }
            return HubSpotAPIError(
                kind: .invalid, message: message, status: status, category: category, properties: properties)
        }
    }

    /// What each refused value was (`errors[].message` of a code other than `PROPERTY_DOESNT_EXIST`), without the list
    /// of allowed options HubSpot appends and cut to a readable length: `Manufacturing was not one of the allowed
    /// options`, `Email address bob@ is invalid`.
    private static func valueProblems(_ json: JSONValue?) -> [String] {
        (json?["errors"]?.arrayValue ?? []).compactMap { error in
            guard error["code"]?.stringValue != "PROPERTY_DOESNT_EXIST", var text = error["message"]?.stringValue else {
                return nil
            }
            if let list = text.range(of: ": [") { text = String(text[..<list.lowerBound]) }
            return text.count > 160 ? String(text.prefix(160)) + "…" : text
        }
    }

    /// What to do about a refused property, by HubSpot's codes.
    private static func advice(codes: Set<String>) -> String {
        if codes.contains("PROPERTY_DOESNT_EXIST") { return "create it in HubSpot or correct the field mapping" }
        if codes.contains("INVALID_OPTION") {
            return "write one of the property's options (a value the ERP names differently is translated by the CRM's "
                + "accounts.segment_values or payment_terms_values)"
        }
        return "correct the value in the system it comes from"
    }

    /// What to grant, from `errors[].context.requiredGranularScopes` (or `requiredScopes`) of a 403 `MISSING_SCOPES`.
    /// HubSpot usually lists scopes of which any one will do ("One or more of the following scopes are required": for
    /// a read, `crm.objects.<type>.read` beside the schema and sensitive-data scopes), so the plain object scope is
    /// named first and the rest as alternatives; a list HubSpot says is needed whole ("All of the following…") is
    /// named whole.
    static func scopeFix(_ json: JSONValue?, objectType: String?) -> String {
        var scopes: [String] = []
        var all = false
        for error in json?["errors"]?.arrayValue ?? [] {
            for key in ["requiredGranularScopes", "requiredScopes"] {
                scopes.append(contentsOf: (error["context"]?[key]?.arrayValue ?? []).compactMap(\.stringValue))
            }
            if error["message"]?.stringValue?.hasPrefix("All of") == true { all = true }
        }
        var seen = Set<String>()
        scopes = scopes.filter { seen.insert($0).inserted }
        guard let first = scopes.first else {
            return "grant the private app the scopes crm.objects.\(objectType ?? "<object>").read and .write"
        }
        if all || scopes.count == 1 { return "grant the private app the scopes \(scopes.sorted().joined(separator: ", "))" }
        let plain = scopes.first { $0.hasPrefix("crm.objects.") && !$0.contains("sensitive") } ?? first
        let others = scopes.filter { $0 != plain }
        return "grant the private app the scope \(plain) (or any one of \(others.joined(separator: ", ")))"
    }

    /// The property names a 400 mentions: `errors[].context.propertyName`, or `"name"` members of the JSON array
    /// HubSpot embeds in `Property values were not valid: […]`.
    static func propertyNames(_ json: JSONValue?) -> [String] {
        var names: [String] = []
        for error in json?["errors"]?.arrayValue ?? [] {
            names.append(contentsOf: (error["context"]?["propertyName"]?.arrayValue ?? []).compactMap(\.stringValue))
        }
        if names.isEmpty, let message = json?["message"]?.stringValue, let start = message.firstIndex(of: "[") {
            let embedded = try? JSONValue.parse(Data(message[start...].utf8))
            names = (embedded?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        }
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }

    /// How long a 429 asks to wait: `Retry-After` when sent; else one second for the search API's secondly limit,
    /// the window length (`X-HubSpot-RateLimit-Interval-Milliseconds`, 10 s) for the rolling limit, and until the
    /// next UTC midnight for the daily one.
    static func rateLimitWait(_ response: OutboundHTTPResponse, policy: String?, now: Date = Date()) -> Duration {
        if let retryAfter = response.retryAfter(now: now) { return retryAfter }
        switch policy {
        case "SECONDLY": return .seconds(1)
        case "DAILY":
            let seconds = now.timeIntervalSince1970
            let next = (seconds / 86_400).rounded(.down) * 86_400 + 86_400
            return .seconds(Int64((next - seconds).rounded(.up)))
        default:
            let interval = response.headers.first(name: "x-hubspot-ratelimit-interval-milliseconds").flatMap { Int64($0) }
            return .milliseconds(interval ?? 10_000)
        }
    }
}
