import Foundation
import Testing
import WeftCore
import WeftRuntime

@Suite("Support desk systems in the configuration")
struct DeskConfigurationTests {
    static let valid = """
        store: { sqlite: ./weft.db }
        systems:
          stripe: { type: stripe, webhook_secret_env: STRIPE_WEBHOOK_SECRET, catch_up: { enabled: false } }
          zendesk:
            type: zendesk
            base_url: https://acme.zendesk.com
            email: weft@acme.com
            api_token_env: ZENDESK_API_TOKEN
            webhook_secret_env: ZENDESK_WEBHOOK_SECRET
            fields: { tier: weft_tier, standing: weft_standing, support_level: weft_support_level }
          freshdesk:
            type: freshdesk
            base_url: https://acme.freshdesk.com
            api_key_env: FRESHDESK_API_KEY
            webhook_secret_env: FRESHDESK_WEBHOOK_SECRET
            webhook_secret_header: X-Acme-Secret
            rate_limit: { per_second: 3 }
            fields: { account: weft_account, tier: weft_tier, overdue_amount: weft_overdue }
        flows:
          to_zendesk: { from: stripe, to: zendesk }
          to_freshdesk: { from: stripe, to: freshdesk }
        """

    @Test func theShippedDeskExampleIsValid() {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/stripe-odoo-desks.yaml")
        let (configuration, problems) = ConfigurationLoader.load(path: example.path)
        #expect(problems.isEmpty, "\(problems)")
        #expect(configuration?.flows.count == 3)
    }

    @Test func bothDesksLoad() throws {
        let (configuration, problems) = ConfigurationLoader.load(text: Self.valid)
        #expect(problems.isEmpty, "\(problems)")
        let loaded = try #require(configuration)
        guard case .desk(let zendesk) = loaded.systems["zendesk"], case .desk(let freshdesk) = loaded.systems["freshdesk"] else {
            Issue.record("desks missing")
            return
        }
        #expect(zendesk.kind == .zendesk)
        #expect(zendesk.email == "weft@acme.com")
        #expect(zendesk.apiKey == .environment("ZENDESK_API_TOKEN"))
        #expect(zendesk.webhookSecrets == [.environment("ZENDESK_WEBHOOK_SECRET")])
        #expect(zendesk.fields == DeskFieldMap(tier: "weft_tier", standing: "weft_standing", supportLevel: "weft_support_level"))
        #expect(freshdesk.kind == .freshdesk)
        #expect(freshdesk.webhookSecretHeader == "X-Acme-Secret")
        #expect(freshdesk.rateLimit == RateLimit(perSecond: 3, burst: 3))
        #expect(freshdesk.fields.account == "weft_account")
        #expect(loaded.flows.map(\.target).sorted() == ["freshdesk", "zendesk"])
    }

    @Test func freshdeskTicketReadsHaveABudgetOfTheirOwn() throws {
        func freshdesk(_ readsLine: String) -> (DeskSystemConfiguration?, [ConfigurationProblem]) {
            let text = Self.valid.replacingOccurrences(
                of: "    rate_limit: { per_second: 3 }\n", with: "    rate_limit: { per_second: 3 }\n\(readsLine)")
            let (configuration, problems) = ConfigurationLoader.load(text: text)
            guard case .desk(let desk)? = configuration?.systems["freshdesk"] else { return (nil, problems) }
            return (desk, problems)
        }
        #expect(freshdesk("").0?.ticketReads == RateLimit(perSecond: 1, burst: 10))
        #expect(freshdesk("    ticket_reads: { per_second: 5, burst: 30 }\n").0?.ticketReads == RateLimit(perSecond: 5, burst: 30))
        #expect(freshdesk("    ticket_reads: { per_second: 4 }\n").0?.ticketReads == RateLimit(perSecond: 4, burst: 4))
        let off = freshdesk("    ticket_reads: { enabled: false }\n")
        #expect(off.1.isEmpty, "\(off.1)")
        #expect(off.0 != nil && off.0?.ticketReads == nil)

        let both = freshdesk("    ticket_reads: { enabled: false, per_second: 2 }\n").1
        #expect(both.contains { $0.line == 18 && $0.message.contains("enabled: false reads nothing") })
        let noRate = freshdesk("    ticket_reads: { burst: 5 }\n").1
        #expect(noRate.contains { $0.line == 18 && $0.message.contains("systems.freshdesk.ticket_reads.per_second is required") })
        let zero = freshdesk("    ticket_reads: { per_second: 0 }\n").1
        #expect(zero.contains { $0.line == 18 && $0.message.contains("ticket_reads.per_second") })
        let unknown = freshdesk("    ticket_reads: { per_minute: 60 }\n").1
        #expect(unknown.contains { $0.message.contains("per_minute") })

        // Zendesk's webhooks say when the ticket changed: it reads no tickets and has no such key.
        let zendesk = Self.valid.replacingOccurrences(
            of: "    email: weft@acme.com\n", with: "    email: weft@acme.com\n    ticket_reads: { per_second: 2 }\n")
        #expect(ConfigurationLoader.load(text: zendesk).1.contains { $0.line == 8 && $0.message.contains("ticket_reads") })
    }

    @Test func freshdeskNeedsTheAccountField() {
        let text = Self.valid.replacingOccurrences(
            of: "{ account: weft_account, tier: weft_tier, overdue_amount: weft_overdue }",
            with: "{ tier: weft_tier, status: \"\" }")
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(configuration == nil)
        #expect(problems.contains { $0.message.contains("fields.account is required") && $0.line == 12 })
        #expect(problems.contains { $0.message.contains("fields.status must name a field") && $0.line == 18 })
    }

    @Test func zendeskSignInMustBeComplete() {
        let noEmail = Self.valid.replacingOccurrences(of: "    email: weft@acme.com\n", with: "")
        #expect(ConfigurationLoader.load(text: noEmail).1.contains { $0.message.contains("email is required") })
        let both = Self.valid.replacingOccurrences(
            of: "    api_token_env: ZENDESK_API_TOKEN\n", with: "    api_token_env: ZENDESK_API_TOKEN\n    oauth_token_env: ZD_OAUTH\n")
        #expect(ConfigurationLoader.load(text: both).1.contains { $0.message.contains("not both") })
        let inline = Self.valid.replacingOccurrences(of: "api_token_env: ZENDESK_API_TOKEN", with: "api_token: zd_secret_value")
        let problems = ConfigurationLoader.load(text: inline).1
        #expect(problems.contains { $0.line == 8 && $0.message.contains("api_token_env") })
        #expect(!problems.contains { $0.message.contains("zd_secret_value") })
    }

    @Test func ownershipOfRecordFieldsDoesNotConcernAFlowToADesk() {
        // Odoo owns the address; the flows go from Stripe to the desks, which are sent entitlements, not addresses.
        let text =
            Self.valid.replacingOccurrences(
                of: "systems:\n",
                with: "systems:\n  odoo: { type: odoo, url: https://acme.odoo.com, database: acme, api_key_env: ODOO_KEY }\n")
            + "\nownership: { odoo: [customer.address] }\n"
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(problems.isEmpty, "\(problems)")
        #expect(configuration?.flows.count == 2)
    }

    /// A desk receives a billing system's entitlements; a flow to it from a CRM would be accepted and send nothing, so
    /// `weft check` refuses it at the flow's line.
    @Test func aFlowToADeskFromACRMIsRefused() {
        let text = Self.valid.replacingOccurrences(
            of: "  zendesk:\n", with: "  hubspot: { type: hubspot, access_token_env: T }\n  zendesk:\n"
        ).replacingOccurrences(of: "{ from: stripe, to: zendesk }", with: "{ from: hubspot, to: zendesk }")
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(configuration == nil)
        #expect(
            problems.contains { $0.line == 21 && $0.message.contains("a support desk receives the entitlements") },
            "\(problems)")
    }

    @Test func aDeskIsNeverASourceAndAFieldServesOnePart() {
        let text = Self.valid.replacingOccurrences(of: "{ from: stripe, to: zendesk }", with: "{ from: zendesk, to: freshdesk }")
            .replacingOccurrences(of: "standing: weft_standing", with: "standing: weft_tier")
        let problems = ConfigurationLoader.load(text: text).1
        #expect(problems.contains { $0.line == 20 && $0.message.contains("support desks receive entitlements") })
        #expect(problems.contains { $0.message.contains("weft_tier is named for two parts") })
    }
}
