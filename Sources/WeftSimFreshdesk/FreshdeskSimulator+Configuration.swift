public import Foundation
public import Logging

extension FreshdeskSimulator {
    /// How the simulator behaves: API keys, rate limit, field definitions, automation webhooks, time and ids.
    public struct Configuration: Sendable {
        /// API keys accepted as the user name of HTTP Basic auth (any password, as Freshdesk).
        public var apiKeys: [String]
        /// Requests per minute for the account (Freshdesk Pro: 400). Every authenticated API call counts.
        public var rateLimitPerMinute: Int
        /// Custom company fields defined from the start (more can be added over `POST /api/v2/company_fields`).
        public var companyFields: [CustomField]
        /// Custom contact fields defined from the start.
        public var contactFields: [CustomField]
        /// Automation rules with a "Trigger webhook" action, run on ticket creation and update.
        public var webhooks: [WebhookRule]
        /// Waits before each retry of a failed webhook (Freshdesk: 5, 30 and 60 minutes); their count is the retries.
        public var webhookRetryDelays: [Duration]
        /// A receiver that has not answered within this is a failed attempt.
        public var webhookTimeout: Duration
        /// The clock webhook retries wait on.
        public var clock: any Clock<Duration>
        /// The current time; `nil` uses the system clock. Stamps records and drives the per-minute rate limit.
        public var now: (@Sendable () -> Date)?
        /// Ids start after this (each of companies, contacts, tickets, fields counts up on its own).
        public var idSeed: Int
        /// How long a write takes to reach the search index (`/api/v2/search/companies`), in seconds. Freshdesk says
        /// updates "may take a few minutes to be indexed"; 0 indexes at once.
        public var searchIndexLagSeconds: Int
        /// The last `page` of `GET /api/v2/tickets` Freshdesk serves (300: "A maximum of 300 pages … will be returned");
        /// a later page is a 400. Lower it in tests to reach the cap with few tickets.
        public var maximumTicketListPage: Int
        /// Where the simulator logs (webhook deliveries at debug level).
        public var logger: Logger

        /// - Parameters:
        ///   - apiKeys: accepted API keys.
        ///   - rateLimitPerMinute: requests per minute (default 400).
        ///   - companyFields: custom company fields.
        ///   - contactFields: custom contact fields.
        ///   - webhooks: automation webhook rules.
        ///   - webhookRetryDelays: delays before the retries of a failed webhook (default 5 min, 30 min, 60 min).
        ///   - webhookTimeout: the receiver's deadline (default 10 s).
        ///   - clock: the clock retries wait on.
        ///   - now: the current time (`nil`: system time).
        ///   - idSeed: ids start after this (default 1000).
        ///   - searchIndexLagSeconds: delay before writes are searchable (default 0).
        ///   - maximumTicketListPage: the last page of the ticket list (default 300).
        ///   - logger: the simulator's logger.
        public init(
            apiKeys: [String] = ["fd_key123"],
            rateLimitPerMinute: Int = 400,
            companyFields: [CustomField] = [],
            contactFields: [CustomField] = [],
            webhooks: [WebhookRule] = [],
            webhookRetryDelays: [Duration] = [.seconds(300), .seconds(1800), .seconds(3600)],
            webhookTimeout: Duration = .seconds(10),
            clock: any Clock<Duration> = ContinuousClock(),
            now: (@Sendable () -> Date)? = nil,
            idSeed: Int = 1000,
            searchIndexLagSeconds: Int = 0,
            maximumTicketListPage: Int = 300,
            logger: Logger = Logger(label: "weft.sim.freshdesk")
        ) {
            self.apiKeys = apiKeys
            self.rateLimitPerMinute = rateLimitPerMinute
            self.companyFields = companyFields
            self.contactFields = contactFields
            self.webhooks = webhooks
            self.webhookRetryDelays = webhookRetryDelays
            self.webhookTimeout = webhookTimeout
            self.clock = clock
            self.now = now
            self.idSeed = idSeed
            self.searchIndexLagSeconds = searchIndexLagSeconds
            self.maximumTicketListPage = max(1, maximumTicketListPage)
            self.logger = logger
        }
    }

    /// A custom company or contact field, as an admin creates it in Admin > Support Operations > Company Fields.
    public struct CustomField: Sendable, Hashable, Codable {
        /// The field types the simulator checks values against (Freshdesk's `type` of a custom field).
        public enum FieldType: String, Sendable, Hashable, Codable, CaseIterable {
            case text = "custom_text"
            case paragraph = "custom_paragraph"
            case number = "custom_number"
            case checkbox = "custom_checkbox"
            case date = "custom_date"
            case dropdown = "custom_dropdown"
            case url = "custom_url"
            case phone = "custom_phone_number"
        }

        /// The API name, the key in `custom_fields` and in search queries (`weft_account`).
        public var name: String
        /// The label agents see (`Weft account`).
        public var label: String
        public var type: FieldType
        /// The allowed values of a dropdown.
        public var choices: [String]

        /// A field with the name Freshdesk derives from `label` (`Weft account` → `weft_account`).
        public init(label: String, type: FieldType = .text, choices: [String] = []) {
            self.init(name: Self.name(forLabel: label), label: label, type: type, choices: choices)
        }

        /// A field with an explicit API name.
        public init(name: String, label: String, type: FieldType = .text, choices: [String] = []) {
            self.name = name
            self.label = label
            self.type = type
            self.choices = choices
        }

        /// The API name Freshdesk derives from a label: lower-cased, every run of other characters an underscore.
        /// (Inferred from the API's examples: label "Weft account" is written as `weft_account`.)
        public static func name(forLabel label: String) -> String {
            var name = ""
            var pendingUnderscore = false
            for scalar in label.lowercased().unicodeScalars {
                if (scalar >= "a" && scalar <= "z") || (scalar >= "0" && scalar <= "9") {
                    if pendingUnderscore, !name.isEmpty { name += "_" }
                    pendingUnderscore = false
                    name.unicodeScalars.append(scalar)
                } else {
                    pendingUnderscore = true
                }
            }
            return name
        }
    }

    /// An automation rule ("Ticket creation" or "Ticket updates") whose action is "Trigger webhook": `POST` to `url`
    /// with the custom headers and a JSON body.
    public struct WebhookRule: Sendable, Hashable {
        /// When the rule runs.
        public enum Event: String, Sendable, Hashable, CaseIterable {
            case ticketCreated = "ticket_created"
            case ticketUpdated = "ticket_updated"
        }

        /// What the webhook sends.
        public enum Body: Sendable, Hashable {
            /// An "Advanced" JSON content template with Freshdesk placeholders (`{{ticket.id}}`,
            /// `{{ticket.requester.email}}`…), as pasted in the rule.
            case template(String)
            /// The body Weft's documentation asks admins to paste (`weftTemplate`).
            case weft
        }

        /// The body Weft documents for its Freshdesk automation rule (docs/connectors/freshdesk.md).
        public static let weftTemplate = """
            {"ticket_id": {{ticket.id}}, "company_id": "{{ticket.company.id}}", "requester_email": "{{ticket.requester.email}}", "subject": "{{ticket.subject}}", "status": "{{ticket.status}}"}
            """

        public var url: String
        /// Custom headers, e.g. the shared-secret header Weft checks.
        public var headers: [String: String]
        public var events: Set<Event>
        public var body: Body

        /// - Parameters:
        ///   - url: where to `POST`.
        ///   - headers: custom headers sent with every call.
        ///   - events: when the rule runs (default: creation and updates).
        ///   - body: the JSON content (default: Weft's documented template).
        public init(
            url: String, headers: [String: String] = [:], events: Set<Event> = Set(Event.allCases), body: Body = .weft
        ) {
            self.url = url
            self.headers = headers
            self.events = events
            self.body = body
        }
    }
}
