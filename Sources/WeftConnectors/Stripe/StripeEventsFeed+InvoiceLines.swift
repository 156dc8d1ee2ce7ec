public import Foundation
import WeftCore

/// An invoice embeds its first 10 lines (`lines.has_more` when it has more); the others are only at its lines URL
/// (`GET /v1/invoices/:id/lines`, Stripe's "the first handful of those items"). So that a ledger gets every line of a
/// longer invoice, not one line for the rest, the pipeline has an invoice event's lines completed from the API before
/// decoding it, when an API key is configured. When that cannot be done (no key, Stripe unreachable), the event is
/// decoded as it came: its lines still add up to the invoice's total (`StripeEventDecoder.balanced`).
extension StripeEventsFeed {
    /// The most lines read for one invoice (50 pages); a longer invoice keeps one line for the rest.
    public static let maxInvoiceLines = 5_000

    /// Whether `payload`, an event of `type`, may be an invoice with lines left out: a scan for `"has_more": true`,
    /// so that other events cost nothing; `completingInvoiceLines(of:)` checks.
    public static func mayLackInvoiceLines(type: String, payload: Data) -> Bool {
        guard type.hasPrefix("invoice.") else { return false }
        let needle = Array(#""has_more""#.utf8)
        let truth = Array("true".utf8)
        return payload.withUnsafeBytes { raw -> Bool in
            let bytes = raw.bindMemory(to: UInt8.self)
            var index = 0
            while index + needle.count <= bytes.count {
                guard bytes[index] == needle[0], bytes[index..<(index + needle.count)].elementsEqual(needle) else {
                    index += 1
                    continue
                }
                var next = index + needle.count
                while next < bytes.count,
                    bytes[next] == UInt8(ascii: " ") || bytes[next] == UInt8(ascii: ":")
                        || bytes[next] == UInt8(ascii: "\n") || bytes[next] == UInt8(ascii: "\t")
                {
                    next += 1
                }
                if next + truth.count <= bytes.count, bytes[next..<(next + truth.count)].elementsEqual(truth) { return true }
                index = next
            }
            return false
        }
    }

    /// `payload` (an invoice event) with its invoice's lines complete and `has_more` false; `nil` when none were left
    /// out, or reading them would take longer than `budget` or more than `maxInvoiceLines`. Throws when the lines
    /// cannot be read now.
    public func completingInvoiceLines(of payload: Data, within budget: Duration = .seconds(10)) async throws(StripeAPIError)
        -> Data?
    {
        let deadline = ContinuousClock.now.advanced(by: budget)
        guard case .object(var event) = (try? JSONValue.parse(payload)) ?? .null,
            case .object(var data) = event["data"] ?? .null, case .object(var invoice) = data["object"] ?? .null,
            case .object(var lines) = invoice["lines"] ?? .null, lines["has_more"] == .bool(true),
            let id = invoice["id"]?.stringValue
        else { return nil }
        var all: [JSONValue] = []
        var after: String?
        repeat {
            var path = "/v1/invoices/\(FormEncoding.escape(id))/lines?limit=100"
            if let after { path += "&starting_after=\(FormEncoding.escape(after))" }
            let body = try await get(path)
            guard let page = try? JSONValue.parse(Data(body)), let items = page["data"]?.arrayValue else {
                throw StripeAPIError(code: .invalidResponse, detail: "invoice lines: body is not a Stripe list")
            }
            all += items
            after = page["has_more"] == .bool(true) ? items.last?["id"]?.stringValue : nil
        } while after != nil && all.count < Self.maxInvoiceLines && ContinuousClock.now < deadline
        guard after == nil else { return nil }
        lines["data"] = .array(all)
        lines["has_more"] = .bool(false)
        invoice["lines"] = .object(lines)
        data["object"] = .object(invoice)
        event["data"] = .object(data)
        var bytes: [UInt8] = []
        do { try JSONValue.object(event).write(to: &bytes) } catch { return nil }
        return Data(bytes)
    }
}
