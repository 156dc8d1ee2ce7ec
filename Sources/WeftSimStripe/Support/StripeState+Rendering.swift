extension StripeState {
    /// How many lines an invoice embeds: Stripe's list default. "When retrieving an invoice, you'll get a lines
    /// property containing the total count of line items and the first handful of those items" (the Invoice
    /// reference); the rest are paged through `GET /v1/invoices/:id/lines`.
    static let embeddedInvoiceLines = 10

    /// A value as the API shows it: every invoice in it (an answer, a list's element, an expansion, an event's
    /// object) embeds only its first lines, with `has_more` when there are more. State keeps every line, so totals,
    /// credit notes and the lines endpoint see all of them. Rendering a rendered value changes nothing.
    static func rendered(_ value: JSON) -> JSON {
        switch value {
        case .array(let elements):
            return .array(elements.map(rendered))
        case .object(var members):
            for (key, member) in members where member.object != nil || member.array != nil {
                members[key] = rendered(member)
            }
            if members["object"] == "invoice", let lines = members["lines"] {
                members["lines"] = embedded(lines)
            }
            return .object(members)
        default:
            return value
        }
    }

    /// An event's `data.object` and `previous_attributes` as the API shows them. An invoice's earlier `lines` are
    /// shown as they were shown then, and left out when that looks the same as now (only lines past the embedded
    /// ones changed), so `previous_attributes` names only what a reader of the event can see change.
    static func renderedEventData(_ object: JSON, previous: JSON?) -> (object: JSON, previous: JSON?) {
        let object = rendered(object)
        guard var previous = previous.map(rendered) else { return (object, nil) }
        if object["object"] == "invoice", let lines = previous.object?["lines"] {
            previous["lines"] = embedded(lines)
            if previous["lines"] == object["lines"] { previous = previous.removing("lines") }
        }
        return (object, previous)
    }

    /// An invoice's `lines` list cut to its first `embeddedInvoiceLines`.
    private static func embedded(_ lines: JSON) -> JSON {
        guard let data = lines["data"].array, data.count > embeddedInvoiceLines else { return lines }
        var cut = lines
        cut["data"] = .array(Array(data.prefix(embeddedInvoiceLines)))
        cut["has_more"] = true
        return cut
    }
}
