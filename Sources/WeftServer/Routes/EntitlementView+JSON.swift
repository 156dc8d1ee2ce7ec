import Foundation
import WeftCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension EntitlementView {
    /// The view as compact JSON with sorted keys and ISO 8601 UTC dates: the bytes `JSONEncoder` with `.sortedKeys`,
    /// `.withoutEscapingSlashes` and `.iso8601` writes, written directly because the lookup is the hot path support
    /// tools call.
    func jsonBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        var first = true
        func key(_ name: String) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            JSONValue.writeString(name, to: &out)
            out.append(UInt8(ascii: ":"))
        }
        func string(_ name: String, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONValue.writeString(value, to: &out)
        }
        func date(_ name: String, _ value: Date?) {
            guard let value else { return }
            key(name)
            out.append(UInt8(ascii: "\""))
            Self.appendISO8601(value, to: &out)
            out.append(UInt8(ascii: "\""))
        }
        // Sorted: account, as_of, contract_end, next_change_at, source_reached_at, stale, standing, status,
        // subscription, support_level, tier.
        string("account", account)
        date("as_of", asOf)
        date("contract_end", contractEnd)
        date("next_change_at", nextChangeAt)
        date("source_reached_at", sourceReachedAt)
        key("stale")
        out.append(contentsOf: (stale ? "true" : "false").utf8)
        key("standing")
        var inner: [UInt8] = []
        var innerFirst = true
        func innerKey(_ name: String) {
            inner.append(innerFirst ? UInt8(ascii: "{") : UInt8(ascii: ","))
            innerFirst = false
            JSONValue.writeString(name, to: &inner)
            inner.append(UInt8(ascii: ":"))
        }
        if let amount = standing.overdueAmountMinor {
            innerKey("overdue_amount_minor")
            inner.append(contentsOf: String(amount).utf8)
        }
        if let currency = standing.overdueCurrency {
            innerKey("overdue_currency")
            JSONValue.writeString(currency, to: &inner)
        }
        if let days = standing.overdueDays {
            innerKey("overdue_days")
            inner.append(contentsOf: String(days).utf8)
        }
        if let since = standing.overdueSince {
            innerKey("overdue_since")
            inner.append(UInt8(ascii: "\""))
            Self.appendISO8601(since, to: &inner)
            inner.append(UInt8(ascii: "\""))
        }
        innerKey("state")
        JSONValue.writeString(standing.state, to: &inner)
        inner.append(UInt8(ascii: "}"))
        out.append(contentsOf: inner)
        string("status", status)
        string("subscription", subscription)
        string("support_level", supportLevel)
        string("tier", tier)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// `2026-11-20T09:00:00Z` (whole seconds, UTC), as `JSONEncoder.DateEncodingStrategy.iso8601` writes it.
    static func appendISO8601(_ date: Date, to out: inout [UInt8]) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int32, _ width: Int) {
            var buffer: [UInt8] = Array(repeating: UInt8(ascii: "0"), count: width)
            var rest = Int(value)
            var index = width - 1
            while index >= 0 {
                buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                index -= 1
            }
            out.append(contentsOf: buffer)
        }
        digits(parts.tm_year + 1900, 4)
        out.append(UInt8(ascii: "-"))
        digits(parts.tm_mon + 1, 2)
        out.append(UInt8(ascii: "-"))
        digits(parts.tm_mday, 2)
        out.append(UInt8(ascii: "T"))
        digits(parts.tm_hour, 2)
        out.append(UInt8(ascii: ":"))
        digits(parts.tm_min, 2)
        out.append(UInt8(ascii: ":"))
        digits(parts.tm_sec, 2)
        out.append(UInt8(ascii: "Z"))
    }
}
