import Foundation
import WeftCore

extension SalesforceAPIError {
    /// Maps a non-2xx REST answer. Salesforce's error bodies are JSON arrays `[{"message","errorCode","fields"}]`; a 300
    /// (several records match an external ID) lists the matching records.
    ///
    /// - Parameters:
    ///   - holds: how long to hold for a concurrency and for a 24-hour `REQUEST_LIMIT_EXCEEDED`.
    static func from(
        _ response: OutboundHTTPResponse, method: String, path: String,
        holds: (concurrency: Duration, daily: Duration) = (.seconds(60), .seconds(900))
    ) -> SalesforceAPIError {
        let json = try? JSONValue.parse(Data(response.body))
        let errors = recordErrors(json)
        let codes = errors.map(\.statusCode)
        let fields = Array(Set(errors.flatMap(\.fields))).sorted()
        let what = "\(method) \(path)"
        let status = response.status
        let salesforceMessage = errors.map(\.description).joined(separator: "; ")

        if codes.contains("REQUEST_LIMIT_EXCEEDED") || status == 429 {
            let daily = errors.contains { $0.message.contains("TotalRequests") }
            let wait = response.retryAfter() ?? (daily ? holds.daily : holds.concurrency)
            let limit = daily ? "the org's 24-hour API request allocation is used up" : "API request limit exceeded"
            return SalesforceAPIError(
                kind: .rateLimited,
                message: "Salesforce refused \(what): \(limit) (\(salesforceMessage.isEmpty ? "HTTP \(status)" : salesforceMessage))",
                status: status, retryAfter: wait, codes: codes.isEmpty ? ["REQUEST_LIMIT_EXCEEDED"] : codes, fields: fields)
        }
        if codes.contains(where: SalesforceErrorCode.transient.contains) {
            return SalesforceAPIError(
                kind: .unavailable, message: "Salesforce could not serve \(what) now: \(salesforceMessage)", status: status,
                retryAfter: response.retryAfter(), codes: codes, fields: fields)
        }
        switch status {
        case 300:
            let ids = matchingIDs(json)
            return SalesforceAPIError(
                kind: .ambiguous,
                message:
                    "Salesforce found \(ids.count) records for \(path) (\(ids.joined(separator: ", "))): the external ID "
                    + "value is not unique — merge the duplicate records, or mark the field Unique in Salesforce",
                status: status, codes: ["MULTIPLE_CHOICES"], matchingIDs: ids)
        case 401:
            return SalesforceAPIError(
                kind: .unauthorized,
                message:
                    "Salesforce refused a freshly issued access token on \(what) (\(codes.first ?? "INVALID_SESSION_ID")): "
                    + "check the connected app's OAuth policies and that the integration user is active and API enabled",
                status: status, codes: codes)
        case 403:
            let advice =
                codes.lazy.compactMap(SalesforceErrorCode.advice).first
                ?? "grant the integration user access to the object (profile or permission set)"
            return SalesforceAPIError(
                kind: .forbidden,
                message: "Salesforce forbids \(what)\(salesforceMessage.isEmpty ? "" : " (\(salesforceMessage))"): \(advice)",
                status: status, codes: codes, fields: fields)
        case 404:
            return SalesforceAPIError(
                kind: .notFound,
                message:
                    "Salesforce has no \(path)\(salesforceMessage.isEmpty ? "" : " (\(salesforceMessage))"): the record "
                    + "does not exist, or the object or external ID field is not visible to the integration user",
                status: status, codes: codes, fields: fields)
        case _ where HTTPStatusClass(status: status) == .retryable:
            return SalesforceAPIError(
                kind: .unavailable,
                message: "Salesforce unavailable on \(what)\(salesforceMessage.isEmpty ? "" : ": \(salesforceMessage)")",
                status: status, retryAfter: response.retryAfter(), codes: codes, fields: fields)
        default:
            let message =
                errors.isEmpty
                ? "Salesforce refused \(what): HTTP \(status)"
                : SalesforceErrorCode.rejection(prefix: "Salesforce refused \(what)", errors)
            return SalesforceAPIError(kind: .invalid, message: message, status: status, codes: codes, fields: fields)
        }
    }

    /// `[{"message","errorCode","fields"}]`, or a single such object.
    static func recordErrors(_ json: JSONValue?) -> [SalesforceRecordError] {
        var items: [JSONValue] = []
        if let array = json?.arrayValue {
            items = array
        } else if let json, json.objectValue != nil {
            items = [json]
        }
        return items.compactMap { item in
            guard let code = item["errorCode"]?.stringValue ?? item["statusCode"]?.stringValue else { return nil }
            return SalesforceRecordError(
                statusCode: code, message: item["message"]?.stringValue ?? "",
                fields: (item["fields"]?.arrayValue ?? []).compactMap(\.stringValue))
        }
    }

    /// The record ids a 300 lists: URL strings (`/services/data/v62.0/sobjects/Account/001…`) or record objects.
    static func matchingIDs(_ json: JSONValue?) -> [String] {
        (json?.arrayValue ?? []).compactMap { item in
            if let id = item["Id"]?.stringValue ?? item["id"]?.stringValue { return id }
            let url = item.stringValue ?? item["attributes"]?["url"]?.stringValue
            return url?.split(separator: "/").last.map(String.init)
        }
    }
}
