import CoreMetrics
public import WeftCore

/// Every metric Weft records, by name, so the list in docs/operations.md has one source.
public enum WeftMetrics {
    // Ingress
    public static let eventsReceived = "weft_events_received_total"
    public static let eventsStored = "weft_events_stored_total"
    public static let eventsDuplicate = "weft_events_duplicate_total"
    public static let eventsRejected = "weft_events_rejected_total"
    public static let ackLatency = "weft_ingest_ack_seconds"
    // Pipeline
    public static let eventsProcessed = "weft_events_processed_total"
    public static let fieldsUnowned = "weft_fields_unowned_total"
    public static let pipelineLatency = "weft_pipeline_latency_seconds"
    public static let endToEndLatency = "weft_end_to_end_seconds"
    // Delivery
    public static let commandsDelivered = "weft_commands_delivered_total"
    public static let deliveryRetries = "weft_delivery_retries_total"
    public static let deadLetters = "weft_dead_letters_total"
    public static let deliveryLatency = "weft_delivery_seconds"
    public static let breakerState = "weft_breaker_state"
    public static let rateLimitWaits = "weft_rate_limit_waits_total"
    // Queues and business exceptions (gauges refreshed from the store)
    public static let queueDepth = "weft_queue_depth"
    public static let queueOldestAge = "weft_queue_oldest_age_seconds"
    public static let businessExceptions = "weft_business_exceptions"
    // Source API allocations
    /// A Salesforce org's API calls in the rolling 24 hours (`kind="used"`) and its allocation (`kind="max"`), from the
    /// `Sforce-Limit-Info` header of every response; dimensions `system`, `kind`.
    public static let salesforceAPIUsage = "weft_salesforce_api_usage"

    /// The command kinds of the billing-to-ERP path: a dead one is a business exception of its own type.
    public static let ledgerCommandKinds = [
        "register_payment", "upsert_invoice", "create_refund", "set_standing", "upsert_customer",
    ]

    /// The business exception a dead command of `kind` stands for.
    public static func businessException(forDeadCommandKind kind: String) -> String {
        switch kind {
        case "register_payment": "invoice_paid_in_billing_not_in_erp"
        case "upsert_invoice": "invoice_not_in_erp"
        case "create_refund": "refund_not_in_erp"
        case "set_standing": "standing_not_reflected_in_erp"
        case "upsert_customer": "customer_not_in_erp"
        case "upsert_order": "deal_not_in_erp"
        case "sync_account": "account_not_synced"
        default: "command_dead_\(kind)"
        }
    }

    /// Updates the queue and business-exception gauges from store statistics.
    public static func record(_ stats: StoreStats) {
        for status in EventStatus.allCases {
            Gauge(label: queueDepth, dimensions: [("queue", "events"), ("status", status.description)])
                .record(stats.eventsByStatus[status] ?? 0)
        }
        Gauge(label: queueOldestAge, dimensions: [("queue", "events")]).record(stats.oldestPendingEventAge ?? 0)
        for (target, counts) in stats.commandsByTarget {
            for status in CommandStatus.allCases {
                Gauge(
                    label: queueDepth,
                    dimensions: [("queue", "commands"), ("target", target.rawValue), ("status", status.description)]
                ).record(counts[status] ?? 0)
            }
        }
        for (target, age) in stats.oldestPendingCommandAge {
            Gauge(label: queueOldestAge, dimensions: [("queue", "commands"), ("target", target.rawValue)]).record(age)
        }
        var exceptions: [String: Int] = [:]
        for kind in ledgerCommandKinds {
            exceptions[businessException(forDeadCommandKind: kind)] = 0
        }
        for (kind, count) in stats.deadCommandsByKind {
            exceptions[businessException(forDeadCommandKind: kind), default: 0] += count
        }
        for (type, count) in exceptions {
            Gauge(label: businessExceptions, dimensions: [("type", type)]).record(count)
        }
    }
}
