import Foundation
import Testing
import WeftCore
import WeftRuntime

@Suite("Configuration loading and `weft check` problems")
struct ConfigurationLoaderTests {
    static let valid = """
        store: { sqlite: ./weft.db }
        server: { listen: 127.0.0.1:8080 }
        systems:
          stripe: { type: stripe, api_key_env: STRIPE_API_KEY, webhook_secret_env: STRIPE_WEBHOOK_SECRET }
          odoo:   { type: odoo, url: https://acme.odoo.com, database: acme, api: json2, login: bot@acme.com, api_key_env: ODOO_API_KEY, rate_limit: { per_second: 10, burst: 20 } }
        flows:
          billing_to_erp: { from: stripe, to: odoo }
        ownership:
          odoo: [customer.address, customer.taxID]
          stripe: [subscription.status]
        """

    @Test func validConfigurationLoads() throws {
        let (configuration, problems) = ConfigurationLoader.load(text: Self.valid)
        #expect(problems.isEmpty)
        let loaded = try #require(configuration)
        #expect(loaded.flows == [Flow(name: "billing_to_erp", source: "stripe", target: "odoo")])
        #expect(loaded.ownership.owner(of: .customer, field: "address") == "odoo")
        guard case .odoo(let odoo) = loaded.systems["odoo"] else {
            Issue.record("odoo system missing")
            return
        }
        #expect(odoo.rateLimit == RateLimit(perSecond: 10, burst: 20))
        #expect(odoo.apiKey == .environment("ODOO_API_KEY"))
    }

    /// The pipeline workers' and the delivery loops' nice values: default 10, 0–19, a bad one reported at its line.
    @Test(arguments: ["pipeline", "delivery"])
    func niceValuesAreReadAndBoundedWithTheirLine(_ section: String) throws {
        let nice: (WeftConfiguration) -> Int32 = { section == "pipeline" ? $0.pipeline.nice : $0.delivery.nice }
        let defaults = try #require(ConfigurationLoader.load(text: Self.valid).0)
        #expect(nice(defaults) == 10)
        let set = try #require(ConfigurationLoader.load(text: Self.valid + "\n\(section): { nice: 0 }").0)
        #expect(nice(set) == 0)
        for bad in ["20", "-1", "high"] {
            let (configuration, problems) = ConfigurationLoader.load(text: Self.valid + "\n\(section): { nice: \(bad) }")
            #expect(configuration == nil)
            #expect(problems.contains { $0.line == 11 && $0.message.contains("\(section).nice") }, "\(problems)")
        }
    }

    /// `catch_up.start` of a billing platform: `all` (the default), `now`, or an instant with its offset; anything else,
    /// or an instant in the future, is reported at its line. A system whose catch-up books nothing has no such key.
    @Test func aBillingPlatformsCatchUpStartIsReadWithItsLine() throws {
        func stripe(_ start: String?) -> (StripeSystemConfiguration?, [ConfigurationProblem]) {
            let catchUp = start.map { ", catch_up: { start: \($0) }" } ?? ""
            let text = Self.valid.replacingOccurrences(
                of: "webhook_secret_env: STRIPE_WEBHOOK_SECRET }", with: "webhook_secret_env: STRIPE_WEBHOOK_SECRET\(catchUp) }")
            let (configuration, problems) = ConfigurationLoader.load(text: text)
            guard case .stripe(let stripe)? = configuration?.systems["stripe"] else { return (nil, problems) }
            return (stripe, problems)
        }
        #expect(stripe(nil).0?.catchUpStart == .all)
        #expect(stripe("all").0?.catchUpStart == .all)
        #expect(stripe("now").0?.catchUpStart == .firstStart)
        #expect(stripe("2026-11-01T00:00:00Z").0?.catchUpStart == .at(Date(timeIntervalSince1970: 1_793_491_200)))
        #expect(stripe("'2026-11-01T01:00:00.500+01:00'").0?.catchUpStart == .at(Date(timeIntervalSince1970: 1_793_491_200.5)))
        for bad in ["yesterday", "2026-11-01", "'2026-11-01T00:00:00'", "2999-01-01T00:00:00Z"] {
            let (configuration, problems) = stripe(bad)
            #expect(configuration == nil)
            #expect(problems.contains { $0.line == 4 && $0.message.contains("systems.stripe.catch_up.start") }, "\(bad): \(problems)")
        }
        let desk = """
            store: { sqlite: ./weft.db }
            systems:
              zendesk: { type: zendesk, base_url: https://acme.zendesk.com, email: a@acme.com, api_token_env: T, catch_up: { start: now } }
            """
        #expect(ConfigurationLoader.load(text: desk).1.contains { $0.line == 3 && $0.message.contains("'start'") })
    }

    /// How many of one entity's events a worker claims as a run: default 8, 1 turns runs off, 0 is refused at its line.
    @Test func eventsPerEntityIsReadAndBoundedWithItsLine() throws {
        #expect(try #require(ConfigurationLoader.load(text: Self.valid).0).pipeline.eventsPerEntity == 8)
        let one = try #require(ConfigurationLoader.load(text: Self.valid + "\npipeline: { events_per_entity: 1 }").0)
        #expect(one.pipeline.eventsPerEntity == 1)
        for bad in ["0", "many"] {
            let (configuration, problems) = ConfigurationLoader.load(text: Self.valid + "\npipeline: { events_per_entity: \(bad) }")
            #expect(configuration == nil)
            #expect(problems.contains { $0.line == 11 && $0.message.contains("pipeline.events_per_entity") }, "\(problems)")
        }
    }

    /// How many decoded records the workers keep between batches: default 16,384, 0 keeps none, else refused at its line.
    @Test func theAggregateCacheBoundIsReadWithItsLine() throws {
        #expect(try #require(ConfigurationLoader.load(text: Self.valid).0).pipeline.cacheRecords == 16_384)
        for (text, expected) in [("0", 0), ("2048", 2_048)] {
            let configuration = try #require(ConfigurationLoader.load(text: Self.valid + "\npipeline: { cache_records: \(text) }").0)
            #expect(configuration.pipeline.cacheRecords == expected)
        }
        for bad in ["-1", "lots", "1.5"] {
            let (configuration, problems) = ConfigurationLoader.load(text: Self.valid + "\npipeline: { cache_records: \(bad) }")
            #expect(configuration == nil)
            #expect(problems.contains { $0.line == 11 && $0.message.contains("pipeline.cache_records") }, "\(problems)")
        }
    }

    /// How long after a webhook the helper workers and delivery loops wait (`pipeline.` and `delivery.ingest_yield_ms`):
    /// default 50 ms each, 0 turns it off, 0–1000, else refused at its line; one section's setting leaves the other's.
    @Test func theIngestYieldIsReadAndBoundedWithItsLine() throws {
        let defaults = try #require(ConfigurationLoader.load(text: Self.valid).0)
        #expect(defaults.pipeline.ingestYield == .milliseconds(50) && defaults.delivery.ingestYield == .milliseconds(50))
        for (text, expected) in [("0", Duration.zero), ("1000", .milliseconds(1000)), ("20", .milliseconds(20))] {
            let pipeline = try #require(ConfigurationLoader.load(text: Self.valid + "\npipeline: { ingest_yield_ms: \(text) }").0)
            #expect(pipeline.pipeline.ingestYield == expected && pipeline.delivery.ingestYield == .milliseconds(50))
            let delivery = try #require(ConfigurationLoader.load(text: Self.valid + "\ndelivery: { ingest_yield_ms: \(text) }").0)
            #expect(delivery.delivery.ingestYield == expected && delivery.pipeline.ingestYield == .milliseconds(50))
        }
        for section in ["pipeline", "delivery"] {
            for bad in ["-1", "1001", "soon"] {
                let (configuration, problems) = ConfigurationLoader.load(text: Self.valid + "\n\(section): { ingest_yield_ms: \(bad) }")
                #expect(configuration == nil)
                #expect(problems.contains { $0.line == 11 && $0.message.contains("\(section).ingest_yield_ms") }, "\(problems)")
            }
        }
    }

    /// How many commands one delivery to Odoo carries: default 50, 1 to 1000, anything else refused at its line.
    @Test func anOdooBatchSizeIsReadAndBoundedWithItsLine() throws {
        func odoo(_ size: String) -> (OdooSystemConfiguration?, [ConfigurationProblem]) {
            let text = Self.valid.replacingOccurrences(of: "rate_limit: { per_second: 10, burst: 20 } }", with: "batch_size: \(size) }")
            let (configuration, problems) = ConfigurationLoader.load(text: text)
            guard case .odoo(let odoo)? = configuration?.systems["odoo"] else { return (nil, problems) }
            return (odoo, problems)
        }
        guard case .odoo(let defaults)? = try #require(ConfigurationLoader.load(text: Self.valid).0).systems["odoo"] else {
            Issue.record("odoo system missing")
            return
        }
        #expect(defaults.batchSize == 50)
        #expect(odoo("1").0?.batchSize == 1)
        #expect(odoo("1000").0?.batchSize == 1000)
        for bad in ["0", "1001", "many"] {
            let (configuration, problems) = odoo(bad)
            #expect(configuration == nil)
            #expect(problems.contains { $0.line == 5 && $0.message.contains("systems.odoo.batch_size") }, "\(bad): \(problems)")
        }
    }

    @Test func payloadKeysAreReadByReferenceAndResolved() throws {
        let text = Self.valid.replacingOccurrences(
            of: "store: { sqlite: ./weft.db }",
            with: "store: { sqlite: ./weft.db, payload_keys: [ { id: new, key_env: KEY_NEW }, { id: old, key_file: /run/old } ] }")
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(problems.isEmpty, "\(problems)")
        let store = try #require(configuration).store
        #expect(
            store.payloadKeys == [
                PayloadKeyReference(id: "new", secret: .environment("KEY_NEW")), PayloadKeyReference(id: "old", secret: .file("/run/old")),
            ])
        let single = StoreConfiguration(payloadKeys: [PayloadKeyReference(id: "new", secret: .environment("KEY_NEW"))])
        let cipher = try single.payloadCipher(environment: ["KEY_NEW": Data(repeating: 1, count: 32).base64EncodedString()])
        #expect(cipher?.sealingKeyID == "new")
        #expect(try StoreConfiguration().payloadCipher(environment: [:]) == nil)

        let bad = Self.valid.replacingOccurrences(
            of: "store: { sqlite: ./weft.db }",
            with: "store: { sqlite: ./weft.db, payload_keys: [ { id: a, key: c2VjcmV0 }, { id: a, key_env: X } ] }")
        let (_, badProblems) = ConfigurationLoader.load(text: bad)
        #expect(badProblems.contains { $0.message.contains("key_env or key_file is required") })
        #expect(badProblems.contains { $0.message.contains("id 'a' is given twice") })
    }

    @Test func aPostgresStoreAndRetentionAreReadAndMisusesReported() throws {
        let text = Self.valid.replacingOccurrences(
            of: "store: { sqlite: ./weft.db }",
            with: """
                store:
                  postgres: { url_env: WEFT_DATABASE_URL, max_connections: 8, migrations: manual }
                  retention: { after_days: 14, batch: 500, interval_seconds: 30 }
                """)
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(problems.isEmpty, "\(problems)")
        let store = try #require(configuration).store
        #expect(
            store.postgres
                == PostgresStoreSettings(url: .environment("WEFT_DATABASE_URL"), maximumConnections: 8, applyMigrations: false))
        #expect(store.retention == RetentionSettings(after: .seconds(14 * 86_400), batch: 500, interval: .seconds(30)))
        #expect(StoreConfiguration().retention.after == .seconds(30 * 86_400))

        let bad = Self.valid.replacingOccurrences(
            of: "store: { sqlite: ./weft.db }",
            with: """
                store:
                  sqlite: ./weft.db
                  postgres: { url: postgres://u:pw@h/db, migrations: sometimes }
                  retention: { after_days: 0.5 }
                """)
        let (_, badProblems) = ConfigurationLoader.load(text: bad)
        #expect(badProblems.contains { $0.line == 3 && $0.message.contains("give sqlite or postgres, not both") })
        #expect(badProblems.contains { $0.message.contains("url_env or url_file is required") })
        #expect(badProblems.contains { $0.message.contains("store.retention.after_days") })
        // The inline URL (it holds a password) is never echoed back.
        #expect(!badProblems.contains { $0.message.contains("pw@") })
    }

    @Test func entitlementRulesAreReadAndAmbiguityReportedWithTheLine() throws {
        let text =
            Self.valid + """

                entitlements:
                  tiers:
                    - { name: enterprise, rank: 2, products: [prod_ent], support_level: premium }
                    - { name: pro, rank: 1, prices: [price_pro_monthly, price_pro_yearly] }
                  past_due_support_level: limited
                  grace_days: 3
                """
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(problems.isEmpty, "\(problems)")
        let rules = try #require(configuration).entitlements
        #expect(
            rules.tiers == [
                .init(name: "enterprise", rank: 2, products: ["prod_ent"], supportLevel: "premium"),
                .init(name: "pro", rank: 1, prices: ["price_pro_monthly", "price_pro_yearly"]),
            ])
        #expect(rules.pastDueSupportLevel == "limited" && rules.graceDays == 3 && rules.defaultTier == "standard")

        let bad =
            Self.valid + """

                entitlements:
                  tiers:
                    - { name: pro, rank: 1, products: [prod_a] }
                    - { name: max, rank: 2, products: [prod_a], colour: red }
                  grace_days: -1
                """
        let (_, badProblems) = ConfigurationLoader.load(text: bad)
        let entitlementsLine = Self.valid.split(separator: "\n", omittingEmptySubsequences: false).count + 2
        #expect(badProblems.contains { $0.line == entitlementsLine && $0.message.contains("'prod_a' is listed by tiers 'pro' and 'max'") })
        #expect(badProblems.contains { $0.message.contains("unknown key 'colour'") })
        #expect(badProblems.contains { $0.message.contains("entitlements.grace_days must be a whole number ≥ 0") })
    }

    @Test(arguments: ["stripe-odoo.yaml", "hubspot-odoo.yaml", "salesforce-odoo.yaml"])
    func theShippedExampleIsValid(_ name: String) throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/\(name)")
        let (_, problems) = ConfigurationLoader.load(path: example.path)
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test func inlineSecretsAreRejectedWithTheirLine() {
        let text = Self.valid.replacingOccurrences(of: "api_key_env: ODOO_API_KEY", with: "api_key: hunter2")
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(configuration == nil)
        #expect(problems.contains { $0.line == 5 && $0.message.contains("api_key_env") })
        #expect(!problems.contains { $0.message.contains("hunter2") })
    }

    /// A line that does not parse is reported at its line without being quoted: it may be where a secret was pasted.
    @Test func aLineThatDoesNotParseIsNotQuoted() {
        let text = Self.valid.replacingOccurrences(
            of: "api_key_env: STRIPE_API_KEY,", with: #"api_key: "sk_live_51HsecretABC123" x,"#)
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(configuration == nil)
        #expect(problems.first?.message.hasPrefix("not valid YAML") == true, "\(problems)")
        #expect(!problems.contains { $0.message.contains("sk_live_51HsecretABC123") }, "\(problems)")
    }

    /// A value where an environment variable's name belongs is refused without being repeated, so that the error a
    /// missing variable would give later does not print the secret pasted there.
    @Test(arguments: [
        "postgres://weft:Pa55word@db/weft", "sk_live_51Habc", "whsec_abc", "pat-na1-0a1b2c3d", "Xk9vQ2mLp7RtY4wZ8nB3cD6fH1",
    ])
    func aSecretWhereAVariableNameBelongsIsRefusedUnquoted(_ pasted: String) {
        let text = Self.valid.replacingOccurrences(of: "api_key_env: ODOO_API_KEY", with: "api_key_env: \"\(pasted)\"")
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(configuration == nil)
        #expect(problems.contains { $0.line == 5 && $0.message.contains("must name an environment variable") }, "\(problems)")
        #expect(!problems.contains { $0.message.contains(pasted) })
    }

    static let twoWayAccounts = """
        store: { sqlite: ./weft.db }
        systems:
          hubspot: { type: hubspot, access_token_env: T, accounts: { segment_property: industry } }
          odoo: { type: odoo, url: https://acme.odoo.com, database: acme, api_key_env: K, identity: [email, vat] }
        flows:
          crm_to_erp: { from: hubspot, to: odoo }
          erp_to_crm: { from: odoo, to: hubspot }
        ownership:
          hubspot: [account.name, account.domain, account.phone, account.segment, account.owner, contact.*]
          odoo: [account.address, account.taxID, account.paymentTerms]
        """

    @Test func accountsBothWaysWithAnOwnerForEveryFieldLoad() throws {
        let (configuration, problems) = ConfigurationLoader.load(text: Self.twoWayAccounts)
        #expect(problems.isEmpty, "\(problems)")
        let loaded = try #require(configuration)
        guard case .hubspot(let hubspot)? = loaded.systems["hubspot"], case .odoo(let odoo)? = loaded.systems["odoo"] else {
            Issue.record("systems not read")
            return
        }
        #expect(hubspot.accounts == HubSpotAccountProperties(segment: "industry"))
        #expect(odoo.identityKeys == ["email", "vat"])
        #expect(loaded.ownership.owner(of: .contact, field: "email") == "hubspot")
    }

    /// A HubSpot account property set to null is not synced, as with Salesforce's `accounts`; one left out keeps its
    /// default. (An empty name is refused as everywhere, so null is the way to turn one off.)
    @Test func aHubSpotAccountPropertySetToNullIsNotSynced() throws {
        let text = Self.twoWayAccounts.replacingOccurrences(
            of: "accounts: { segment_property: industry }", with: "accounts: { owner_property: null, payment_terms_property: terms }")
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(problems.isEmpty, "\(problems)")
        guard case .hubspot(let hubspot)? = try #require(configuration).systems["hubspot"] else {
            Issue.record("hubspot not read")
            return
        }
        #expect(hubspot.accounts == HubSpotAccountProperties(segment: "industry", owner: nil, paymentTerms: "terms"))
    }

    /// A CRM's own values (HubSpot's `industry` options, a terms property's codes) translated to Odoo's names.
    @Test func valueMapsAreReadForHubSpotAndSalesforce() throws {
        let text = Self.twoWayAccounts.replacingOccurrences(
            of: "accounts: { segment_property: industry }",
            with: "accounts: { payment_terms_property: terms, segment_values: { COMPUTER_SOFTWARE: Information and communication, "
                + "RETAIL: Wholesale/Retail }, payment_terms_values: { net_30: 30 Days } }")
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(problems.isEmpty, "\(problems)")
        guard case .hubspot(let hubspot)? = try #require(configuration).systems["hubspot"] else {
            Issue.record("hubspot not read")
            return
        }
        let accounts = try #require(hubspot.accounts)
        #expect(
            accounts.segmentValues.pairs == [
                .init(system: "COMPUTER_SOFTWARE", canonical: "Information and communication"),
                .init(system: "RETAIL", canonical: "Wholesale/Retail"),
            ])
        #expect(accounts.paymentTermsValues.system("30 days") == "net_30")

        let salesforce = Self.twoWayAccounts.replacingOccurrences(
            of: "hubspot: { type: hubspot, access_token_env: T, accounts: { segment_property: industry } }",
            with: "salesforce: { type: salesforce, instance_url: https://a.my.salesforce.com, client_id: c, client_secret_env: S, "
                + "accounts: { segment_values: { Technology: Information and communication } } }"
        ).replacingOccurrences(of: "hubspot", with: "salesforce")
        let (loaded, salesforceProblems) = ConfigurationLoader.load(text: salesforce)
        #expect(salesforceProblems.isEmpty, "\(salesforceProblems)")
        guard case .salesforce(let org)? = loaded?.systems["salesforce"] else {
            Issue.record("salesforce not read")
            return
        }
        #expect(org.accounts?.segmentValues.canonical("technology") == "Information and communication")
        #expect(org.accounts?.paymentTermsValues.isEmpty == true)
    }

    /// One CRM value twice (in another case), a value that is not a name, and a map for a field that is not synced
    /// are each refused at their line; several CRM values for one ERP name are fine.
    @Test func valueMapsThatCannotBeReadAreRefusedAtTheirLine() {
        let text = """
            store: { sqlite: ./weft.db }
            systems:
              hubspot:
                type: hubspot
                access_token_env: T
                accounts:
                  segment_property: industry
                  segment_values:
                    RETAIL: Wholesale/Retail
                    WHOLESALE: wholesale/retail
                    retail: Other Services
                    ENERGY: [Energy supply]
                  payment_terms_values: { net_30: 30 Days }
              odoo: { type: odoo, url: https://acme.odoo.com, database: acme, api_key_env: K }
            flows:
              crm_to_erp: { from: hubspot, to: odoo }
            """
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(configuration == nil)
        #expect(!problems.contains { $0.line == 10 }, "\(problems)")
        #expect(problems.contains { $0.line == 11 && $0.message.contains("'retail' and 'RETAIL' are the same value") }, "\(problems)")
        #expect(problems.contains { $0.line == 12 && $0.message.contains("segment_values.ENERGY") }, "\(problems)")
        #expect(
            problems.contains {
                $0.line == 13
                    && $0.message.contains(
                        "payment_terms_values has nothing to translate: systems.hubspot.accounts.payment_terms_property is null")
            }, "\(problems)")
    }

    @Test func accountsBothWaysNeedAnOwnerForEveryField() {
        let text = Self.twoWayAccounts.replacingOccurrences(of: ", account.phone", with: "")
            .replacingOccurrences(of: ", contact.*", with: "")
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(configuration == nil)
        let problem = problems.first { $0.message.contains("no system owns") }
        #expect(problem?.message.contains("account.phone, contact.name, contact.email, contact.phone, contact.jobTitle") == true)
        #expect(problem?.line == 9)
    }

    @Test func anAccountFieldOwnedByAThirdSystemIsRefusedAndBillingFlowsAreNotConcerned() {
        // Stripe's flow carries billing records, not accounts: a HubSpot-owned account field is none of its business.
        let withStripe = Self.twoWayAccounts.replacingOccurrences(
            of: "flows:\n", with: "flows:\n  billing: { from: stripe, to: odoo }\n"
        ).replacingOccurrences(
            of: "systems:\n", with: "systems:\n  stripe: { type: stripe, api_key_env: S, webhook_secret_env: W }\n")
        let (_, problems) = ConfigurationLoader.load(text: withStripe)
        #expect(problems.isEmpty, "\(problems)")
        // But a contact field given to Stripe would be written by HubSpot's flow against its owner.
        let stolen = withStripe.replacingOccurrences(of: ", contact.*]", with: "]")
            .replacingOccurrences(of: "ownership:\n", with: "ownership:\n  stripe: [contact.*]\n")
        let (_, stolenProblems) = ConfigurationLoader.load(text: stolen)
        #expect(
            stolenProblems.contains { $0.message.contains("flows.crm_to_erp writes contact.* from hubspot to odoo, but stripe owns it") })
    }

    @Test func salesforceAccountsAreReadAndNeedOwnersBothWays() throws {
        let text = Self.twoWayAccounts.replacingOccurrences(
            of: "hubspot: { type: hubspot, access_token_env: T, accounts: { segment_property: industry } }",
            with: "salesforce: { type: salesforce, instance_url: https://a.my.salesforce.com, client_id: c, client_secret_env: S, "
                + "vat_field: VAT__c, accounts: { owner_email_field: null, payment_terms_field: Terms__c } }"
        ).replacingOccurrences(of: "hubspot", with: "salesforce")
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(problems.isEmpty, "\(problems)")
        guard case .salesforce(let salesforce)? = configuration?.systems["salesforce"] else {
            Issue.record("salesforce not read")
            return
        }
        #expect(salesforce.accounts == SalesforceAccountFields(segment: "Industry", ownerEmail: nil, paymentTerms: "Terms__c"))
        let (_, missing) = ConfigurationLoader.load(text: text.replacingOccurrences(of: ", account.phone", with: ""))
        #expect(
            missing.contains { $0.message.contains("accounts of salesforce flow both ways with odoo, but no system owns account.phone") })
    }

    @Test func aStatusPropertySetToNullIsNotWritten() throws {
        let text = Self.twoWayAccounts.replacingOccurrences(
            of: "accounts: { segment_property: industry } }",
            with: "accounts: { segment_property: industry }, status_properties: { order_state: null, invoice_status: inv } }")
        let (configuration, problems) = ConfigurationLoader.load(text: text)
        #expect(problems.isEmpty, "\(problems)")
        guard case .hubspot(let hubspot)? = configuration?.systems["hubspot"] else {
            Issue.record("hubspot not read")
            return
        }
        #expect(hubspot.statusProperties == ["invoice_status": "inv"])
    }

    @Test func unknownIdentityKeysAreReportedAtTheirLine() {
        let text = Self.twoWayAccounts.replacingOccurrences(of: "identity: [email, vat]", with: "identity: [email, phone]")
        let (_, problems) = ConfigurationLoader.load(text: text)
        #expect(problems.contains { $0.line == 4 && $0.message.contains("unknown key 'phone' (keys: vat, email_domain, email)") })
    }

    @Test func twoOwnersForOneFieldIsAnError() {
        let text = Self.valid.replacingOccurrences(
            of: "stripe: [subscription.status]", with: "stripe: [subscription.status, customer.address]")
        let (_, problems) = ConfigurationLoader.load(text: text)
        #expect(problems.contains { $0.line == 10 && $0.message.contains("two owners") })
    }

    @Test func flowsMustNameKnownSystemsInTheRightDirection() {
        let text = Self.valid.replacingOccurrences(of: "{ from: stripe, to: odoo }", with: "{ from: odoo, to: hubspot }")
        let (_, problems) = ConfigurationLoader.load(text: text)
        #expect(problems.contains { $0.line == 7 && $0.message.contains("target only") })
        #expect(problems.contains { $0.line == 7 && $0.message.contains("no system 'hubspot'") })
    }

    @Test func unknownKeysAndBadValuesPointAtTheirLines() {
        let text = """
            store: { sqlite: ./weft.db, journal: wal }
            server: { listen: localhost }
            systems:
              odoo: { type: odoo, url: not a url, database: acme, api: soap, api_key_env: K }
            delivery:
              retry: { max_attempts: 0 }
            """
        let (_, problems) = ConfigurationLoader.load(text: text)
        #expect(problems.contains { $0.line == 1 && $0.message.contains("unknown key 'journal'") })
        #expect(problems.contains { $0.line == 2 && $0.message.contains("HOST:PORT") })
        #expect(problems.contains { $0.line == 4 && $0.message.contains("json2, jsonrpc or xmlrpc") })
        #expect(problems.contains { $0.line == 6 && $0.message.contains("max_attempts") })
    }

    @Test func ownershipNamesRealFields() {
        let text = Self.valid.replacingOccurrences(of: "customer.taxID]", with: "customer.shoeSize]")
        let (_, problems) = ConfigurationLoader.load(text: text)
        #expect(problems.contains { $0.line == 9 && $0.message.contains("no field 'shoeSize'") })
    }

    @Test func aFlowMayNotCarryAFieldAThirdSystemOwns() {
        let text = Self.valid + "\n  stripe2: [customer.name]\n"
        let withSystem = text.replacingOccurrences(
            of: "systems:\n", with: "systems:\n  stripe2: { type: stripe, webhook_secret_env: S2, catch_up: { enabled: false } }\n")
        let (_, problems) = ConfigurationLoader.load(text: withSystem)
        #expect(problems.contains { $0.message.contains("stripe2 owns it") })
    }

    @Test func invalidYAMLReportsALine() {
        let (_, problems) = ConfigurationLoader.load(text: "store: { sqlite: ./weft.db\nserver: [")
        #expect(!problems.isEmpty)
        #expect(problems[0].line >= 1)
    }

    @Test func secretsResolveFromEnvironmentAndFiles() throws {
        #expect(try SecretReference.environment("X").resolve(environment: ["X": "v"]) == "v")
        #expect(throws: ConfigurationError.self) { try SecretReference.environment("MISSING").resolve(environment: [:]) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weft-secret-\(UUID().uuidString)").path
        try "  s3cret\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try SecretReference.file(path).resolve() == "s3cret")
        #expect(SecretReference.file(path).description == "file:\(path)")
    }
}

@Suite("Doorbell", .timeLimit(.minutes(1)))
struct DoorbellTests {
    @Test func aRingBeforeWaitingIsNotLost() async {
        let bell = Doorbell()
        bell.ring()
        // Returns at once because of the earlier ring; a lost ring would wait the full hour.
        await bell.wait(upTo: .seconds(3600))
    }

    @Test func ringWakesAWaiter() async {
        let bell = Doorbell()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await bell.wait(upTo: .seconds(3600)) }
            group.addTask {
                // Keep ringing until the waiter has been woken (the group ends when both finish).
                for _ in 0..<1000 {
                    bell.ring()
                    await Task.yield()
                }
            }
        }
    }
}

/// `weft check --secrets`: every secret the file refers to is resolved as `weft serve` would resolve it, and what does
/// not resolve is reported at its line, naming the setting and the variable or path, never a value.
@Suite("Configuration: checking that secrets resolve")
struct SecretCheckTests {
    static let text = """
        store:
          sqlite: ./weft.db
          payload_keys:
            - { id: k1, key_file: \(FileManager.default.temporaryDirectory.path)/weft-no-such-key-file }
        systems:
          stripe:
            type: stripe
            api_key_env: WEFT_T_STRIPE_KEY
            webhook_secrets:
              - { env: WEFT_T_SECRET_NEW }
              - { env: WEFT_T_SECRET_OLD }
          odoo: { type: odoo, url: https://acme.odoo.com, database: acme, api: json2, login: bot@acme.com, api_key_env: WEFT_T_ODOO_KEY }
        flows:
          billing_to_erp: { from: stripe, to: odoo }
        """

    @Test func unsetEmptyAndUnreadableSecretsAreReportedAtTheirLines() throws {
        let environment = ["WEFT_T_STRIPE_KEY": "sk_test_value_never_printed", "WEFT_T_SECRET_OLD": "", "WEFT_T_ODOO_KEY": "odoo-key"]
        #expect(ConfigurationLoader.load(text: Self.text).1.isEmpty)
        let problems = ConfigurationLoader.secretProblems(text: Self.text, environment: environment)
        #expect(problems.map(\.line) == [4, 10, 11])
        #expect(problems[0].message.hasPrefix("store.payload_keys[k1].key_file: secret file "))
        #expect(problems[0].message.contains("weft-no-such-key-file"))
        #expect(problems[1].message == "systems.stripe.webhook_secrets[].env: environment variable WEFT_T_SECRET_NEW is not set")
        #expect(problems[2].message == "systems.stripe.webhook_secrets[].env: environment variable WEFT_T_SECRET_OLD is not set")
        #expect(!problems.contains { $0.message.contains("sk_test_value_never_printed") || $0.message.contains("odoo-key") })
    }

    /// `weft check --secrets` loads once: a file whose secrets do not resolve is not a configuration, and its problems
    /// are the secrets'; without an environment the same file loads.
    @Test func loadingWhileResolvingSecretsRefusesTheFileOnTheirProblems() throws {
        let environment = ["WEFT_T_STRIPE_KEY": "k", "WEFT_T_SECRET_OLD": "b", "WEFT_T_ODOO_KEY": "c"]
        let (configuration, problems) = ConfigurationLoader.load(text: Self.text, resolvingSecretsIn: environment)
        #expect(configuration == nil)
        #expect(problems == ConfigurationLoader.secretProblems(text: Self.text, environment: environment))
        #expect(problems.map(\.line) == [4, 10])
        #expect(ConfigurationLoader.load(text: Self.text).0 != nil)
    }

    @Test func aConfigurationWhoseSecretsAllResolveHasNoProblem() throws {
        let key = FileManager.default.temporaryDirectory.appendingPathComponent("weft-key-\(UUID().uuidString)")
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("weft-empty-\(UUID().uuidString)")
        try Data("c2VjcmV0LWtleS1vZi0zMi1ieXRlcy1sb25nISE=\n".utf8).write(to: key)
        try Data("  \n".utf8).write(to: empty)
        defer {
            try? FileManager.default.removeItem(at: key)
            try? FileManager.default.removeItem(at: empty)
        }
        let environment = [
            "WEFT_T_STRIPE_KEY": "k", "WEFT_T_SECRET_NEW": "a", "WEFT_T_SECRET_OLD": "b", "WEFT_T_ODOO_KEY": "c",
        ]
        let resolving = Self.text.replacingOccurrences(
            of: "\(FileManager.default.temporaryDirectory.path)/weft-no-such-key-file", with: key.path)
        #expect(ConfigurationLoader.secretProblems(text: resolving, environment: environment).isEmpty)
        // A file holding only whitespace is as good as none.
        let blank = Self.text.replacingOccurrences(
            of: "\(FileManager.default.temporaryDirectory.path)/weft-no-such-key-file", with: empty.path)
        let problems = ConfigurationLoader.secretProblems(text: blank, environment: environment)
        #expect(problems.count == 1 && problems.first?.line == 4 && problems.first?.message.contains("is empty") == true)
    }
}
