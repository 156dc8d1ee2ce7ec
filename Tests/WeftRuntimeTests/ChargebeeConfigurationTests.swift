import Foundation
import Testing
import WeftCore
import WeftRuntime

@Suite("Chargebee systems in the configuration")
struct ChargebeeConfigurationTests {
    static let valid = """
        store: { sqlite: ./weft.db }
        systems:
          chargebee:
            type: chargebee
            site: acme-test
            api_key_env: CHARGEBEE_API_KEY
            webhook_username: weft
            webhook_password_env: CHARGEBEE_WEBHOOK_PASSWORD
            catch_up: { interval_seconds: 30, overlap_seconds: 120 }
          odoo: { type: odoo, url: https://acme.odoo.com, database: acme, api_key_env: ODOO_API_KEY }
          zendesk:
            type: zendesk
            base_url: https://acme.zendesk.com
            email: weft@acme.com
            api_token_env: ZENDESK_API_TOKEN
            fields: { tier: weft_tier }
        flows:
          billing_to_erp: { from: chargebee, to: odoo }
          billing_to_desk: { from: chargebee, to: zendesk }
        """

    static func problems(_ text: String) -> [ConfigurationProblem] {
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect((configuration == nil) == !problems.isEmpty)
        return problems
    }

    @Test func aSiteWithCatchUpAndFlowsToOdooAndADeskLoads() throws {
        let (configuration, problems) = ConfigurationLoader.load(text: Self.valid)
        #expect(problems.isEmpty, "\(problems)")
        let loaded = try #require(configuration)
        guard case .chargebee(let chargebee) = loaded.systems["chargebee"] else {
            Issue.record("chargebee missing")
            return
        }
        #expect(loaded.systems["chargebee"]?.type == "chargebee")
        #expect(chargebee.site == "acme-test")
        #expect(chargebee.baseURL == nil)
        #expect(chargebee.apiBaseURL == "https://acme-test.chargebee.com")
        #expect(chargebee.apiKey == .environment("CHARGEBEE_API_KEY"))
        #expect(chargebee.webhookUsername == "weft")
        #expect(chargebee.webhookPasswords == [.environment("CHARGEBEE_WEBHOOK_PASSWORD")])
        #expect(chargebee.catchUpInterval == .seconds(30))
        #expect(chargebee.catchUpOverlap == .seconds(120))
        #expect(loaded.flows.map(\.source) == ["chargebee", "chargebee"])
        #expect(Set(loaded.flows.map(\.target)) == ["odoo", "zendesk"])
    }

    @Test func baseURLOverridesTheSiteAndPasswordsRotateAsAList() throws {
        let text = Self.valid.replacingOccurrences(
            of: """
                    webhook_password_env: CHARGEBEE_WEBHOOK_PASSWORD
                    catch_up: { interval_seconds: 30, overlap_seconds: 120 }
                """,
            with: """
                    base_url: http://127.0.0.1:9999
                    webhook_passwords: [{ env: NEW_PASSWORD }, { file: /run/secrets/old-password }]
                    catch_up: { enabled: false }
                """)
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(problems.isEmpty, "\(problems)")
        guard case .chargebee(let chargebee) = try #require(configuration).systems["chargebee"] else {
            Issue.record("chargebee missing")
            return
        }
        #expect(chargebee.apiBaseURL == "http://127.0.0.1:9999")
        #expect(chargebee.webhookPasswords == [.environment("NEW_PASSWORD"), .file("/run/secrets/old-password")])
        #expect(chargebee.catchUpInterval == nil)
    }

    @Test func problemsAreReportedOnTheirLines() {
        let text = """
            store: { sqlite: ./weft.db }
            systems:
              chargebee:
                type: chargebee
                site: Acme.Test
                catch_up: { interval_seconds: 0 }
              cb2:
                type: chargebee
                base_url: not a url
                webhook_username: "we:ft"
                webhook_password_env: P
                catch_up: { enabled: false }
            """
        let problems = Self.problems(text)
        let messages = problems.map(\.description)
        // Line 4: the system's mapping (what is missing); line 5: the site; line 6: catch-up; 9 and 10: cb2's values.
        #expect(problems.contains { $0.line == 5 && $0.message.contains("site must be the site name only") }, "\(messages)")
        #expect(problems.contains { $0.line == 4 && $0.message.contains("webhook_username is required") }, "\(messages)")
        #expect(problems.contains { $0.line == 4 && $0.message.contains("webhook_password_env") }, "\(messages)")
        #expect(problems.contains { $0.line == 6 && $0.message.contains("catch_up.interval_seconds") }, "\(messages)")
        #expect(problems.contains { $0.line == 9 && $0.message.contains("base_url must be a URL") }, "\(messages)")
        #expect(problems.contains { $0.line == 10 && $0.message.contains("must not contain ':'") }, "\(messages)")
    }

    @Test func aSiteOrBaseURLAndAnAPIKeyForCatchUpAreRequired() {
        let text = """
            store: { sqlite: ./weft.db }
            systems:
              chargebee:
                type: chargebee
                webhook_username: weft
                webhook_password_env: P
            """
        let problems = Self.problems(text)
        #expect(problems.contains { $0.line == 4 && $0.message.contains("site (e.g. acme-test) or base_url is required") })
        #expect(problems.contains { $0.line == 4 && $0.message.contains("catch-up from /api/v2/events needs api_key_env") })
    }

    @Test func inlineSecretsAreRejectedWithoutEchoingThem() {
        for (key, value) in [("webhook_password", "hunter2-inline"), ("api_key", "cb_live_inline"), ("password", "p4ss-inline")] {
            let text = Self.valid.replacingOccurrences(
                of: "    webhook_username: weft\n", with: "    webhook_username: weft\n    \(key): \(value)\n")
            let problems = Self.problems(text)
            #expect(
                problems.contains { $0.line == 8 && $0.message.contains("secrets are never written in the config") },
                "\(key): \(problems)")
            #expect(!problems.contains { $0.message.contains(value) })
        }
    }

    @Test func chargebeeIsASourceOnlyAndFlowsFromItAreChecked() {
        let text =
            Self.valid
                + """

                  back: { from: odoo, to: chargebee }
                  nowhere: { from: chargebee, to: hubspot }
                """
        let problems = Self.problems(text)
        #expect(problems.contains { $0.line == 20 && $0.message.contains("odoo system; Odoo is a target only") })
        #expect(problems.contains { $0.line == 20 && $0.message.contains("chargebee system; Chargebee is a source only") })
        #expect(problems.contains { $0.line == 21 && $0.message.contains("names no system 'hubspot'") })
    }

    @Test func anUnknownTypeNamesChargebeeAmongTheChoices() {
        let problems = Self.problems(
            """
            store: { sqlite: ./weft.db }
            systems:
              billing: { type: recurly }
            """)
        #expect(problems.contains { $0.line == 3 && $0.message.contains("stripe, chargebee, odoo, zendesk, freshdesk or hubspot") })
    }

    /// The example of a company moving from Stripe to Chargebee loads as shipped.
    @Test func theMigrationExampleLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/stripe-chargebee-odoo.yaml").path
        let (configuration, problems) = ConfigurationLoader.load(path: path)
        #expect(problems.isEmpty, "\(problems)")
        let loaded = try #require(configuration)
        #expect(loaded.systems["stripe"]?.type == "stripe")
        #expect(loaded.systems["chargebee"]?.type == "chargebee")
        #expect(Set(loaded.flows.map(\.source)) == ["stripe", "chargebee"])
        #expect(Set(loaded.flows.map(\.target)) == ["odoo"])
        guard case .chargebee(let chargebee) = loaded.systems["chargebee"] else { return }
        #expect(chargebee.webhookPasswords.count == 2)
        #expect(chargebee.apiBaseURL == "https://acme.chargebee.com")
    }
}
