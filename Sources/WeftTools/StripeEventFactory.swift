public import Foundation
import WeftCore

/// One Stripe event ready to send: its id, type, creation second and exact JSON body.
public struct StripeTestEvent: Sendable, Hashable {
    public var id: String
    public var type: String
    public var created: Int64
    public var customer: String
    public var body: Data
}

/// Builds Stripe events for the benchmark, the crash test and property tests, in two shapes: API version 2024-06-20
/// (invoices carry `charge`, `payment_intent`, `subscription`) for even-numbered customers, and the current version
/// for odd-numbered ones (invoices name no payment; an `invoice_payment.paid` names only the invoice and its payment
/// intent; refunds name no customer), so both routes to the customer's entity are exercised.
public struct StripeEventFactory: Sendable {
    public static let apiVersion = "2024-06-20"
    public static let currentAPIVersion = "2026-07-29.dahlia"

    /// A generated population: events plus what Odoo must hold afterwards.
    public struct Story: Sendable {
        public var events: [StripeTestEvent]
        public var customers: Set<String>
        /// Invoices that must exist in Odoo (finalized at some point).
        public var invoices: Set<String>
        /// Invoices that end up paid (one payment each).
        public var paidInvoices: Set<String>
        /// Refunds that must become credit notes.
        public var refunds: Set<String>
        /// Customers that end up past due.
        public var pastDueCustomers: Set<String>
    }

    let prefix: String

    /// - Parameter prefix: makes ids unique per run (e.g. a run id).
    public init(prefix: String) {
        self.prefix = prefix
    }

    /// A story for `customers` customers, about 5 events each: created, invoice finalized and paid; every fifth also
    /// a second invoice whose first payment fails and is then recovered, and a partial refund; every
    /// seventh a final failed invoice that leaves it past due.
    public func story(customers count: Int, startingAt start: Int64 = 1_750_000_000) -> Story {
        var story = Story(events: [], customers: [], invoices: [], paidInvoices: [], refunds: [], pastDueCustomers: [])
        for index in 0..<count {
            let customer = "cus_\(prefix)\(index)"
            var time = start + Int64(index % 1000)
            func next() -> Int64 {
                time += 1
                return time
            }
            let current = index % 2 == 1
            /// When each invoice was finalized: every later event's invoice was issued then.
            var issued: [String: Int64] = [:]
            func invoice(
                _ id: String, customer: String, status: String, amount: Int64, type: String, at created: Int64,
                attempt: Int = 0
            ) -> StripeTestEvent {
                let issuedAt = issued[id] ?? created
                issued[id] = issuedAt
                return self.invoice(
                    id, customer: customer, status: status, amount: amount, type: type, at: created, attempt: attempt,
                    current: current, issuedAt: issuedAt)
            }
            /// `invoice.paid`, and in the current shape the `invoice_payment.paid` that follows it.
            func paid(_ id: String, amount: Int64) -> [StripeTestEvent] {
                let paidAt = next()
                let event = invoice(id, customer: customer, status: "paid", amount: amount, type: "invoice.paid", at: paidAt)
                guard current else { return [event] }
                return [event, invoicePaymentPaid(invoice: id, customer: customer, amount: amount, at: next(), paidAt: paidAt)]
            }
            story.customers.insert(customer)
            story.events.append(
                customerCreated(
                    customer, name: "Customer \(prefix)\(index)", email: "c\(index)@\(prefix).example", at: next(),
                    apiVersion: current ? Self.currentAPIVersion : Self.apiVersion))
            let firstInvoice = "in_\(prefix)\(index)a"
            let amount = Int64(1000 + (index % 50) * 100)
            story.events.append(
                invoice(firstInvoice, customer: customer, status: "open", amount: amount, type: "invoice.finalized", at: next()))
            story.events += paid(firstInvoice, amount: amount)
            story.invoices.insert(firstInvoice)
            story.paidInvoices.insert(firstInvoice)
            if index % 5 == 0 {
                let second = "in_\(prefix)\(index)b"
                story.events.append(
                    invoice(second, customer: customer, status: "open", amount: 2500, type: "invoice.finalized", at: next()))
                story.events.append(
                    invoice(
                        second, customer: customer, status: "open", amount: 2500, type: "invoice.payment_failed", at: next(), attempt: 1))
                story.events += paid(second, amount: 2500)
                story.invoices.insert(second)
                story.paidInvoices.insert(second)
            }
            if index % 5 == 0 {
                let refund = "re_\(prefix)\(index)"
                story.events.append(
                    refundCreated(
                        refund, charge: "ch_\(firstInvoice)", customer: customer, amount: amount / 2, at: next(), current: current))
                story.refunds.insert(refund)
            }
            if index % 7 == 3 {
                let third = "in_\(prefix)\(index)c"
                story.events.append(invoice(third, customer: customer, status: "open", amount: 900, type: "invoice.finalized", at: next()))
                story.events.append(
                    invoice(third, customer: customer, status: "open", amount: 900, type: "invoice.payment_failed", at: next(), attempt: 1))
                story.invoices.insert(third)
                story.pastDueCustomers.insert(customer)
            }
        }
        return story
    }

    /// Customers with a billing history: each created, then `months` monthly invoices, each finalized and paid (in the
    /// current shape also its `invoice_payment.paid`). The events go month by month across all customers, as a real
    /// history arrives: every invoice event of a later month meets a customer that already holds the earlier months.
    public func history(customers count: Int, months: Int, startingAt start: Int64 = 1_750_000_000) -> Story {
        var story = Story(events: [], customers: [], invoices: [], paidInvoices: [], refunds: [], pastDueCustomers: [])
        let month: Int64 = 30 * 86_400
        for index in 0..<count {
            let customer = "cus_\(prefix)\(index)"
            let current = index % 2 == 1
            story.customers.insert(customer)
            story.events.append(
                customerCreated(
                    customer, name: "Customer \(prefix)\(index)", email: "c\(index)@\(prefix).example",
                    at: start + Int64(index % 1000), apiVersion: current ? Self.currentAPIVersion : Self.apiVersion))
        }
        for number in 0..<max(0, months) {
            for index in 0..<count {
                let customer = "cus_\(prefix)\(index)"
                let current = index % 2 == 1
                let id = "in_\(prefix)\(index)m\(number)"
                let amount = Int64(1000 + (index % 50) * 100)
                let at = start + Int64(index % 1000) + month * Int64(number + 1)
                story.events.append(
                    invoice(id, customer: customer, status: "open", amount: amount, type: "invoice.finalized", at: at, current: current))
                story.events.append(
                    invoice(
                        id, customer: customer, status: "paid", amount: amount, type: "invoice.paid", at: at + 60, current: current,
                        issuedAt: at))
                if current {
                    story.events.append(
                        invoicePaymentPaid(invoice: id, customer: customer, amount: amount, at: at + 61, paidAt: at + 60))
                }
                story.invoices.insert(id)
                story.paidInvoices.insert(id)
            }
        }
        return story
    }

    /// `customer.created` / `customer.updated`.
    public func customerCreated(
        _ id: String, name: String, email: String, at created: Int64, type: String = "customer.created",
        apiVersion: String = Self.apiVersion
    ) -> StripeTestEvent {
        let object: JSONValue = [
            "id": .string(id), "object": "customer", "name": .string(name), "email": .string(email), "phone": nil,
            "address": [
                "city": "Lisbon", "country": "PT", "line1": "Rua Augusta 1", "line2": nil, "postal_code": "1100-048", "state": nil,
            ],
            "currency": "usd", "created": .int(created), "livemode": false, "metadata": [:], "deleted": nil,
        ]
        return event(type: type, object: object, customer: id, created: created, apiVersion: apiVersion)
    }

    /// An invoice event with one line. `status` is the invoice's status at that moment. `current`: the current API
    /// version's shape (no `charge`, `payment_intent`, `subscription` or `paid`; `parent` instead). `issuedAt`: when
    /// the invoice was created and finalized (`created` and `status_transitions.finalized_at` of every event of one
    /// invoice, as Stripe keeps them); the event's own time when `nil`. A paid invoice was paid at the event's time.
    public func invoice(
        _ id: String, customer: String, status: String, amount: Int64, type: String, at created: Int64, attempt: Int = 0,
        current: Bool = false, issuedAt: Int64? = nil
    ) -> StripeTestEvent {
        let paid = status == "paid"
        let issued = issuedAt ?? created
        var object: JSONValue = [
            "id": .string(id), "object": "invoice", "customer": .string(customer), "status": .string(status),
            "number": .string("WEFT-\(id.suffix(8).uppercased())"), "currency": "usd",
            "amount_due": .int(amount), "amount_paid": .int(paid ? amount : 0), "amount_remaining": .int(paid ? 0 : amount),
            "subtotal": .int(amount), "tax": nil, "total": .int(amount), "attempt_count": .int(Int64(attempt)),
            "attempted": .bool(attempt > 0 || paid), "paid": .bool(paid),
            "charge": paid ? .string("ch_\(id)") : nil, "payment_intent": .string("pi_\(id)"), "subscription": nil,
            "customer_name": nil, "customer_email": nil, "created": .int(issued), "due_date": nil, "livemode": false,
            "status_transitions": [
                "finalized_at": .int(issued), "paid_at": paid ? .int(created) : nil, "voided_at": nil,
                "marked_uncollectible_at": nil,
            ],
            "lines": [
                "object": "list", "has_more": false, "url": .string("/v1/invoices/\(id)/lines"),
                "data": [
                    [
                        "id": .string("il_\(id)"), "object": "line_item", "amount": .int(amount), "currency": "usd",
                        "description": "Weft Pro (monthly)", "quantity": 1,
                        "price": [
                            "id": "price_weft_pro", "object": "price", "currency": "usd", "unit_amount": .int(amount),
                            "product": "prod_weft_pro", "active": true, "recurring": ["interval": "month", "usage_type": "licensed"],
                        ],
                    ]
                ],
            ],
        ]
        guard current, case .object(var members) = object else {
            return event(type: type, object: object, customer: customer, created: created)
        }
        for removed in ["charge", "payment_intent", "subscription", "paid"] { members[removed] = nil }
        members["parent"] = nil as JSONValue
        object = .object(members)
        return event(type: type, object: object, customer: customer, created: created, apiVersion: Self.currentAPIVersion)
    }

    /// `customer.subscription.created` / `.updated` / `.deleted` with one licensed item (2023-era shape: the period on
    /// the subscription).
    public func subscription(
        _ id: String, customer: String, status: String, product: String, price: String, amount: Int64, periodEnd: Int64,
        type: String = "customer.subscription.created", at created: Int64, cancelAt: Int64? = nil, canceledAt: Int64? = nil
    ) -> StripeTestEvent {
        let object: JSONValue = [
            "id": .string(id), "object": "subscription", "customer": .string(customer), "status": .string(status),
            "current_period_start": .int(created), "current_period_end": .int(periodEnd),
            "cancel_at": cancelAt.map(JSONValue.int) ?? nil, "canceled_at": canceledAt.map(JSONValue.int) ?? nil,
            "cancel_at_period_end": false, "created": .int(created), "currency": "usd", "livemode": false, "metadata": [:],
            "items": [
                "object": "list", "has_more": false, "url": .string("/v1/subscription_items?subscription=\(id)"),
                "data": [
                    [
                        "id": .string("si_\(id)"), "object": "subscription_item", "quantity": 1, "subscription": .string(id),
                        "price": [
                            "id": .string(price), "object": "price", "currency": "usd", "unit_amount": .int(amount),
                            "product": .string(product), "active": true,
                            "recurring": ["interval": "month", "usage_type": "licensed"],
                        ],
                    ]
                ],
            ],
        ]
        return event(type: type, object: object, customer: customer, created: created)
    }

    /// `invoice_payment.paid` (current versions): names only the invoice and the payment intent that paid it. `paidAt`:
    /// when it was paid (the invoice's `status_transitions.paid_at`); the event's time when `nil`. `attached`: a
    /// payment attached to the invoice besides its default one (a partial payment, `is_default` false), named by this
    /// suffix (its id `inpay_<invoice>_<attached>`, its payment intent `pi_<invoice>_<attached>`).
    public func invoicePaymentPaid(
        invoice: String, customer: String, amount: Int64, at created: Int64, paidAt: Int64? = nil, attached: String? = nil
    ) -> StripeTestEvent {
        let suffix = attached.map { "_\($0)" } ?? ""
        let object: JSONValue = [
            "id": .string("inpay_\(invoice)\(suffix)"), "object": "invoice_payment", "amount_paid": .int(amount),
            "amount_requested": .int(amount), "created": .int(created), "currency": "usd", "invoice": .string(invoice),
            "is_default": .bool(attached == nil), "livemode": false,
            "payment": ["type": "payment_intent", "payment_intent": .string("pi_\(invoice)\(suffix)")], "status": "paid",
            "status_transitions": ["canceled_at": nil, "paid_at": .int(paidAt ?? created)],
        ]
        return event(
            type: "invoice_payment.paid", object: object, customer: customer, created: created,
            apiVersion: Self.currentAPIVersion)
    }

    /// `refund.created` for a charge. `current`: without `customer`, so it is routed by its payment intent.
    public func refundCreated(
        _ id: String, charge: String, customer: String, amount: Int64, at created: Int64, current: Bool = false
    ) -> StripeTestEvent {
        let object: JSONValue = [
            "id": .string(id), "object": "refund", "amount": .int(amount), "currency": "usd", "charge": .string(charge),
            "customer": current ? nil : .string(customer), "payment_intent": .string("pi_\(charge.dropFirst(3))"),
            "reason": "requested_by_customer", "status": "succeeded", "created": .int(created), "metadata": [:],
        ]
        return event(
            type: "refund.created", object: object, customer: customer, created: created,
            apiVersion: current ? Self.currentAPIVersion : Self.apiVersion)
    }

    func event(type: String, object: JSONValue, customer: String, created: Int64, apiVersion: String = Self.apiVersion)
        -> StripeTestEvent
    {
        let objectID = object["id"]?.stringValue ?? "x"
        let id = "evt_\(prefix)_\(type.replacingOccurrences(of: ".", with: "_"))_\(objectID)_\(created)"
        let envelope: JSONValue = [
            "id": .string(id), "object": "event", "api_version": .string(apiVersion), "created": .int(created),
            "livemode": false, "pending_webhooks": 1, "type": .string(type),
            "data": ["object": object], "request": ["id": nil, "idempotency_key": nil],
        ]
        return StripeTestEvent(id: id, type: type, created: created, customer: customer, body: envelope.serialized())
    }
}
