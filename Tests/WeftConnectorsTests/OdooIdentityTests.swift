import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing
import WeftCore
import WeftSimKit
import WeftSimOdoo

@testable import WeftConnectors

/// An Odoo simulator on a free port and a client for it, shared by the account, identity and partner-reader tests.
enum OdooPartnerTestSupport {
    static let apiKey = "weft-odoo-api-key"
    static let logger = Logger(label: "test.odoo.accounts")

    /// A wall clock the test moves (the simulator stamps `write_date` with it).
    final class Clock: Sendable {
        private let seconds = Mutex<TimeInterval>(1_780_000_000)
        var now: Date { Date(timeIntervalSince1970: seconds.withLock { $0 }) }
        func advance(_ by: TimeInterval) { seconds.withLock { $0 += by } }
    }

    /// A rate gate that refuses one request once `arm`'s condition holds, as Weft's gate does when a graceful shutdown
    /// ends a wait for a token (`CancellationError`), then admits every request again.
    final class CancelOnceGate: RequestGate {
        private let state = Mutex<(condition: (@Sendable () -> Bool)?, refused: Int)>((nil, 0))

        /// Refuses the first request asked for once `condition` holds.
        func arm(when condition: @escaping @Sendable () -> Bool) { state.withLock { $0.condition = condition } }
        /// How many requests were refused.
        var refused: Int { state.withLock { $0.refused } }

        func acquire() async throws {
            let refuse = state.withLock { state -> Bool in
                guard let condition = state.condition, condition() else { return false }
                state.condition = nil
                state.refused += 1
                return true
            }
            if refuse { throw CancellationError() }
        }

        func didReceiveRateLimit(retryAfter: Duration?) {}
    }

    /// Runs `body` against a fresh simulator of Odoo `version` (with Odoo Accounting's payments without a journal
    /// entry when `accounting`), over `transport`.
    static func withOdoo<T: Sendable>(
        transport: OdooTransportKind = .json2, identityKeys: [OdooIdentityKey] = [.vat, .emailDomain, .email],
        clock: Clock = Clock(), version: Int = 19, accounting: Bool = false, enterprise: Bool = false,
        onlineRelease: String? = nil, gate: any RequestGate = OpenGate(),
        _ body: @Sendable @escaping (OdooSimulator, OdooClient) async throws -> T
    ) async throws -> T {
        let simulator = OdooSimulator(
            configuration: .init(
                version: version, database: "odoo", apiKeys: [apiKey], enterprise: enterprise, accounting: accounting,
                now: { clock.now }, onlineRelease: onlineRelease))
        let router = Router()
        simulator.addRoutes(to: router)
        return try await SimulatorServer.withRunning(router: router, logger: Logger(label: "test.odoo.sim")) { port in
            let client = OdooClient(
                configuration: OdooConfiguration(
                    url: "http://127.0.0.1:\(port)", database: "odoo", login: "admin", apiKey: apiKey, transport: transport,
                    identityKeys: identityKeys),
                httpClient: .shared, gate: gate)
            return try await body(simulator, client)
        }
    }

    static func account(_ id: String) -> ExternalRef { ExternalRef(system: "hubspot", kind: .account, id: id) }
    static func contact(_ id: String) -> ExternalRef { ExternalRef(system: "hubspot", kind: .contact, id: id) }

    /// Creates a partner over the API (as an Odoo user would) and returns its id.
    static func partner(_ client: OdooClient, _ values: [String: JSONValue]) async throws -> Int64 {
        try await client.create(model: "res.partner", values: [values], logger: logger)[0]
    }

    /// Creates a company partner; `bound` gives it a `weft.*` external id.
    static func company(
        _ client: OdooClient, _ name: String, vat: String? = nil, website: String? = nil, email: String? = nil, bound: String? = nil
    ) async throws -> Int64 {
        var values: [String: JSONValue] = ["name": .string(name), "is_company": true]
        if let vat { values["vat"] = .string(vat) }
        if let website { values["website"] = .string(website) }
        if let email { values["email"] = .string(email) }
        let id = try await partner(client, values)
        if let bound { try await client.bindExternalIDs([(bound, id)], model: "res.partner", logger: logger) }
        return id
    }

    static func binding(_ client: OdooClient, _ name: String) async throws -> Int64? {
        try await client.externalIDs([name], model: "res.partner", logger: logger)[name]
    }

    static func record(_ simulator: OdooSimulator, _ model: String, _ id: Int64) -> [String: JSONValue] {
        simulator.records(model: model).first { $0["id"]?.intValue == id } ?? [:]
    }

    /// The record id the `weft.<name>` external id points to, if bound.
    static func boundID(_ simulator: OdooSimulator, _ name: String) -> Int64? {
        simulator.records(model: "ir.model.data").first { $0["name"]?.stringValue == name }?["res_id"]?.intValue
    }
}

@Suite("Odoo identity resolution: an account finds the partner Odoo already has")
struct OdooIdentityTests {
    typealias Support = OdooPartnerTestSupport

    func foundID(_ match: OdooMatch) -> Int64? {
        if case .found(let id, _, _) = match { return id }
        return nil
    }

    /// A batch in which some names are bound already (a redelivered batch re-binds what it found): those are left
    /// as they are and reported, the rest are bound in one more call, not one call per binding.
    @Test func bindingABatchWithSomeNamesTakenCreatesTheRestInOneCall() async throws {
        try await Support.withOdoo { simulator, client in
            let ids = try await [
                Support.company(client, "A"), Support.company(client, "B"), Support.company(client, "C"),
                Support.company(client, "D"),
            ]
            try await client.bindExternalIDs([("bind_b", ids[1]), ("bind_d", ids[3])], model: "res.partner", logger: Support.logger)
            simulator.requestLog.reset()
            let taken = try await client.bindExternalIDs(
                [("bind_a", ids[0]), ("bind_b", ids[0]), ("bind_c", ids[2]), ("bind_d", ids[2])], model: "res.partner",
                logger: Support.logger)
            #expect(taken == ["bind_b", "bind_d"])
            for (name, id) in [("bind_a", ids[0]), ("bind_b", ids[1]), ("bind_c", ids[2]), ("bind_d", ids[3])] {
                #expect(try await Support.binding(client, name) == id, "\(name)")
            }
            let creates = simulator.requestLog.all.filter { $0.path.hasSuffix("/ir.model.data/create") }
            #expect(creates.map(\.status) == [422, 200])
            // A name twice in one batch: the second is reported taken, as when it was bound concurrently.
            let twice = try await client.bindExternalIDs(
                [("bind_e", ids[0]), ("bind_e", ids[1])], model: "res.partner", logger: Support.logger)
            #expect(twice == ["bind_e"])
            #expect(try await Support.binding(client, "bind_e") == ids[0])
        }
    }

    @Test func normalisesTaxIDsWebsitesAndEmails() {
        #expect(OdooIdentity.normalizedVAT("be 0123.456-789") == "BE0123456789")
        #expect(OdooIdentity.normalizedVAT(" - ") == nil)
        #expect(OdooIdentity.host(ofWebsite: "https://www.Acme.com/about?x=1") == "acme.com")
        #expect(OdooIdentity.host(ofWebsite: "acme.com:8080") == "acme.com")
        #expect(OdooIdentity.host(ofWebsite: "localhost") == nil)
        #expect(OdooIdentity.domain(ofEmail: " Ann@Sub.Acme.COM ") == "sub.acme.com")
        // A free-mail domain is never a company's domain, whether given as the domain or taken from emails.
        #expect(OdooIdentity(ref: Support.account("1"), domain: "gmail.com").domain == nil)
        let account = Account(ref: Support.account("1"), name: "Acme")
        let fromContacts = OdooIdentity.account(
            account,
            contacts: [
                Contact(ref: Support.contact("1"), email: "ann@acme.com"), Contact(ref: Support.contact("2"), email: "bob@gmail.com"),
            ])
        #expect(fromContacts.domain == "acme.com")
        let disagreeing = OdooIdentity.account(
            account,
            contacts: [
                Contact(ref: Support.contact("1"), email: "ann@acme.com"), Contact(ref: Support.contact("2"), email: "bob@globex.io"),
            ])
        #expect(disagreeing.domain == nil)
        #expect(OdooClient.likeEscaped("a_b%c") == "a\\_b\\%c")
    }

    @Test func findsACompanyByVATWhateverItsSeparatorsAndBindsIt() async throws {
        try await Support.withOdoo { simulator, client in
            let acme = try await Support.company(client, "Acme SA", vat: "be 0123.456.789")
            _ = try await Support.company(client, "Other SA", vat: "BE0999999999")
            // A person with the same VAT is not a company.
            _ = try await Support.partner(client, ["name": "Ann", "vat": "BE0123456789"])
            let identity = OdooIdentity(ref: Support.account("1"), taxID: "BE-0123-456-789")
            let match = try await client.resolveCompany(identity, keys: [.vat], fields: ["name"], logger: Support.logger)
            guard case .found(let id, let record, let via) = match else {
                Issue.record("expected a match, got \(match)")
                return
            }
            #expect(id == acme && via == "vat" && record["name"] == "Acme SA")
            #expect(try await Support.binding(client, "hubspot_account_1") == acme)
            // The next lookup goes by binding, with no key search.
            simulator.resetCalls()
            let again = try await client.resolveCompany(identity, keys: [.vat], fields: [], logger: Support.logger)
            #expect(foundID(again) == acme)
            #expect(simulator.calls.filter { $0.model == "res.partner" && $0.odooMethod == "search_read" }.isEmpty)
        }
    }

    @Test func findsACompanyByDomainInItsWebsiteOrItsEmail() async throws {
        try await Support.withOdoo { _, client in
            _ = try await Support.company(client, "Not Acme", website: "https://notacme.com")
            let acme = try await Support.company(client, "Acme", website: "http://www.acme.com/en/")
            let globex = try await Support.company(client, "Globex", email: "billing@globex.io")
            let byWebsite = try await client.resolveCompany(
                OdooIdentity(ref: Support.account("1"), domain: "acme.com"), keys: [.emailDomain], fields: [], logger: Support.logger)
            #expect(foundID(byWebsite) == acme)
            let byEmail = try await client.resolveCompany(
                OdooIdentity.account(
                    Account(ref: Support.account("2"), name: "Globex"), contacts: [Contact(ref: Support.contact("9"), email: "h@globex.io")]
                ),
                keys: [.emailDomain], fields: [], logger: Support.logger)
            #expect(foundID(byEmail) == globex)
        }
    }

    @Test func findsACompanyByExactEmailIgnoringCase() async throws {
        try await Support.withOdoo { _, client in
            _ = try await Support.company(client, "Initech Sales", email: "sales@initech.com")
            let billing = try await Support.company(client, "Initech", email: "billing@initech.com")
            let customer = Customer(ref: Support.account("3"), name: "Initech", email: "Billing@Initech.com")
            let match = try await client.resolveCompany(
                OdooIdentity.customer(customer), keys: [.email], fields: [], logger: Support.logger)
            #expect(foundID(match) == billing)
        }
    }

    @Test func aFreeMailDomainNeverMatches() async throws {
        try await Support.withOdoo { simulator, client in
            _ = try await Support.company(client, "Someone's company", email: "someone@gmail.com")
            let customer = Customer(ref: Support.account("4"), name: "Buyer", email: "buyer@gmail.com")
            simulator.resetCalls()
            let match = try await client.resolveCompany(
                OdooIdentity.customer(customer), keys: [.emailDomain], fields: [], logger: Support.logger)
            guard case .notFound = match else {
                Issue.record("gmail.com must not identify a company: \(match)")
                return
            }
            // Only the external id and `ref` were looked up: there was no key to search by.
            #expect(simulator.calls.filter { $0.model == "res.partner" && $0.odooMethod == "search_read" }.count == 1)
        }
    }

    @Test func equalCandidatesAreAmbiguousAndOtherKeysBreakTies() async throws {
        try await Support.withOdoo { _, client in
            let first = try await Support.company(client, "Acme BE", vat: "BE0123456789")
            let second = try await Support.company(client, "Acme Belgium", vat: "BE 0123 456 789", website: "acme.be")
            let plain = try await client.resolveCompany(
                OdooIdentity(ref: Support.account("1"), taxID: "BE0123456789"), keys: [.vat, .emailDomain], fields: [],
                logger: Support.logger)
            guard case .ambiguous(let message) = plain else {
                Issue.record("expected ambiguity, got \(plain)")
                return
            }
            #expect(message.hasPrefix("ambiguous match for hubspot/account/1: partners \(first), \(second) share VAT BE0123456789"))
            #expect(message.contains("hubspot_account_1"))
            #expect(try await Support.binding(client, "hubspot_account_1") == nil)
            // The one that also matches the domain wins.
            let tieBroken = try await client.resolveCompany(
                OdooIdentity(ref: Support.account("1"), taxID: "BE0123456789", domain: "acme.be"), keys: [.vat, .emailDomain],
                fields: [], logger: Support.logger)
            #expect(foundID(tieBroken) == second)
        }
    }

    @Test func theEarliestKeyWithCandidatesDecides() async throws {
        try await Support.withOdoo { _, client in
            let byDomain = try await Support.company(client, "Acme web", website: "acme.com")
            let byVAT = try await Support.company(client, "Acme legal", vat: "FR123")
            let identity = OdooIdentity(ref: Support.account("1"), taxID: "FR123", domain: "acme.com")
            #expect(
                foundID(try await client.resolveCompany(identity, keys: [.emailDomain, .vat], fields: [], logger: Support.logger))
                    == byDomain)
            let other = OdooIdentity(ref: Support.account("2"), taxID: "FR123", domain: "acme.com")
            #expect(
                foundID(try await client.resolveCompany(other, keys: [.vat, .emailDomain], fields: [], logger: Support.logger)) == byVAT)
        }
    }

    @Test func aPartnerBoundToAnotherAccountOfTheSameCRMIsNotTaken() async throws {
        try await Support.withOdoo { _, client in
            _ = try await Support.company(client, "Acme (HubSpot 2)", website: "acme.com", bound: "hubspot_account_2")
            // Made by a deal's order that crashed before binding: its `ref` says whose it is.
            _ = try await Support.partner(
                client, ["name": "Acme (HubSpot 3)", "is_company": true, "website": "acme.com", "ref": "hubspot_account_3"])
            let identity = OdooIdentity(ref: Support.account("1"), domain: "acme.com")
            guard case .notFound = try await client.resolveCompany(identity, keys: [.emailDomain], fields: [], logger: Support.logger)
            else {
                Issue.record("two HubSpot companies sharing a domain must keep two partners")
                return
            }
            // A partner bound to a record of another system (a Stripe customer) is fair game.
            let stripe = try await Support.company(client, "Acme (Stripe)", website: "acme.com", bound: "stripe_customer_cus_1")
            #expect(foundID(try await client.resolveCompany(identity, keys: [.emailDomain], fields: [], logger: Support.logger)) == stripe)
            #expect(try await Support.binding(client, "stripe_customer_cus_1") == stripe)
            #expect(try await Support.binding(client, "hubspot_account_1") == stripe)
        }
    }

    @Test func aPersonIsFoundByEmailUnderItsCompanyAndBound() async throws {
        try await Support.withOdoo { _, client in
            let acme = try await Support.company(client, "Acme")
            let globex = try await Support.company(client, "Globex")
            let globexAnn = try await Support.partner(client, ["name": "Ann (Globex)", "email": "ann@acme.com", "parent_id": .int(globex)])
            let loose = try await Support.partner(client, ["name": "Ann", "email": "ann@acme.com"])
            let ann = try await Support.partner(client, ["name": "Ann Acme", "email": "ANN@acme.com", "parent_id": .int(acme)])
            let found = try await client.resolvePersons(
                [OdooIdentity(ref: Support.contact("7"), email: "ann@acme.com")], company: acme, fields: [], logger: Support.logger)
            #expect(found[Support.contact("7")]?["id"]?.intValue == ann)
            #expect(try await Support.binding(client, "hubspot_contact_7") == ann)
            // Another company's person is found for that company; without company, only a person without company.
            let other = try await client.resolvePersons(
                [OdooIdentity(ref: Support.contact("8"), email: "ann@acme.com")], company: globex, fields: [], logger: Support.logger)
            #expect(other[Support.contact("8")]?["id"]?.intValue == globexAnn)
            let third = try await client.resolvePersons(
                [OdooIdentity(ref: Support.contact("9"), email: "ann@acme.com")], company: nil, fields: [], logger: Support.logger)
            #expect(third[Support.contact("9")]?["id"]?.intValue == loose)
        }
    }
}
