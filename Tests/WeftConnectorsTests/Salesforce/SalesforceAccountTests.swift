import Foundation
import Synchronization
import Testing
import WeftCore
import WeftSimKit
import WeftSimSalesforce
import _CryptoExtras

@testable import WeftConnectors

/// Salesforce accounts against the simulator over HTTP: snapshots (Account, owner email, VAT, Contacts) read by id and
/// by what was touched, decoded into the canonical account and contacts, and `AccountSync`s written back with sObject
/// Collections (fields written and cleared, contacts, the owner by email) with every failure classified.
@Suite struct SalesforceAccountTests {
    static let version = "/services/data/v62.0"
    static let mapping = SalesforceAccountMapping(vatField: "VAT_Number__c", paymentTermsField: "Payment_Terms__c")

    /// The simulator's clock, moved by the test; it starts at the current second (JWT assertions are checked
    /// against it).
    final class Clock: Sendable {
        let start = Int(Date().timeIntervalSince1970) * 1000
        private let millis: Mutex<Int>
        init() { millis = Mutex(start) }
        var now: Int { millis.withLock { $0 } }
        func advance(seconds: Int) { millis.withLock { $0 += seconds * 1000 } }
    }

    static func simulator(
        _ clock: Clock,
        accountFields: [SalesforceSimulator.CustomField] = [.init(name: "VAT_Number__c"), .init(name: "Payment_Terms__c")],
        picklists: Bool = false
    ) -> SalesforceSimulator {
        var fields = SalesforceSimulator.Configuration.defaultCustomFields
        fields["Account", default: []] += accountFields
        return SalesforceSimulator(
            configuration: .init(
                connectedApps: [
                    salesforceConsumerKey: .init(
                        jwtPublicKeyPEM: salesforceKey.publicKey.pemRepresentation, preAuthorizedUsernames: [salesforceUsername],
                        clientSecret: salesforceClientSecret, clientCredentialsRunAs: salesforceUsername)
                ],
                customFields: fields, idSeed: 29, now: { clock.now }, stateAndCountryPicklists: picklists))
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    @discardableResult
    static func call(_ simulator: SalesforceSimulator, _ method: String, _ path: String, _ body: String? = nil, expect: Int)
        throws -> SimJSON
    {
        let result = simulator.call(method, version + path, body: body)
        guard result.status == expect else {
            throw Failure(description: "\(method) \(path) answered \(result.status): \(String(decoding: result.body, as: UTF8.self))")
        }
        return result.json
    }

    static func create(_ simulator: SalesforceSimulator, _ type: String, _ body: String) throws -> String {
        guard let id = try call(simulator, "POST", "/sobjects/\(type)", body, expect: 201)["id"].string else {
            throw Failure(description: "no id for the new \(type)")
        }
        return id
    }

    static func user(_ simulator: SalesforceSimulator, _ email: String, username: String? = nil, active: Bool = true) throws
        -> String
    {
        try create(
            simulator, "User",
            #"{"Username":"\#(username ?? email)","LastName":"Rep","FirstName":"Sales","Alias":"srep","Email":"\#(email)","#
                + #""IsActive":\#(active),"TimeZoneSidKey":"Europe/Berlin","LocaleSidKey":"de_DE","#
                + #""EmailEncodingKey":"UTF-8","LanguageLocaleKey":"en_US"}"#)
    }

    /// Acme (owned by `owner`, with VAT, terms, website and a two-line street) with two contacts.
    static func acme(_ simulator: SalesforceSimulator, owner: String) throws -> (account: String, contacts: [String]) {
        let account = try create(
            simulator, "Account",
            #"{"Name":"Acme GmbH","Phone":"+49 30 1234","Website":"https://www.Acme.example/about","Industry":"Manufacturing","#
                + #""BillingStreet":"Hauptstr. 1\nHinterhaus","BillingCity":"Berlin","BillingPostalCode":"10115","#
                + #""BillingCountry":"de","VAT_Number__c":"DE123456789","Payment_Terms__c":"30 Days","OwnerId":"\#(owner)"}"#)
        let ada = try create(
            simulator, "Contact",
            #"{"AccountId":"\#(account)","FirstName":"Ada","LastName":"Lovelace","Email":"Ada@Acme.example","#
                + #""Phone":"+49 30 1","Title":"CFO"}"#)
        let bob = try create(simulator, "Contact", #"{"AccountId":"\#(account)","LastName":"Builder"}"#)
        return (account, [ada, bob])
    }

    static func reader(_ base: String, pageSize: Int = 2000) -> SalesforceAccountReader {
        var reader = SalesforceAccountReader(
            client: salesforceClient(salesforceConfiguration(base)), mapping: mapping, system: "salesforce")
        reader.pageSize = pageSize
        return reader
    }

    static func writer(_ base: String, mapping: SalesforceAccountMapping = mapping, gate: any RequestGate = OpenGate())
        -> SalesforceAccountWriter
    {
        SalesforceAccountWriter(
            client: salesforceClient(salesforceConfiguration(base), gate: gate), mapping: mapping, system: "salesforce")
    }

    static func ref(_ kind: EntityKind, _ id: String) -> ExternalRef { ExternalRef(system: "salesforce", kind: kind, id: id) }

    static func collectionWrites(_ simulator: SalesforceSimulator) -> [RequestLog.Entry] {
        simulator.requestLog.all.filter { $0.method == "PATCH" && $0.path == "\(version)/composite/sobjects" }
    }

    static func rejection(_ outcome: DeliveryOutcome) -> String? {
        if case .reject(let failure) = outcome { return failure.message }
        return nil
    }

    // MARK: Reading

    @Test func aSnapshotIsTheAccountWithItsOwnerVATAndContacts() async throws {
        let clock = Clock()
        let simulator = Self.simulator(clock)
        try await withSalesforce(simulator) { base in
            let owner = try Self.user(simulator, "Jane.Doe@Weft.example")
            let (account, contacts) = try Self.acme(simulator, owner: owner)
            clock.advance(seconds: 90)
            try Self.call(simulator, "PATCH", "/sobjects/Contact/\(contacts[1])", #"{"Title":"Foreman"}"#, expect: 204)

            let snapshots = try await Self.reader(base).snapshots(
                accountIDs: [account, String(account.prefix(15)), "not-an-id"], logger: salesforceLogger)
            #expect(snapshots.count == 1)
            let snapshot = try #require(snapshots.first)
            #expect(snapshot.accountID == account)
            #expect(snapshot.entityKey(system: "salesforce") == EntityKey.of(Self.ref(.account, account)))
            #expect(snapshot.modifiedAt == Date(timeIntervalSince1970: Double(clock.start) / 1000 + 90))

            let expected = Account(
                ref: Self.ref(.account, account), name: "Acme GmbH", domain: "acme.example", phone: "+49 30 1234",
                segment: "Manufacturing", owner: "jane.doe@weft.example",
                address: PostalAddress(line1: "Hauptstr. 1", line2: "Hinterhaus", city: "Berlin", postalCode: "10115", country: "DE"),
                taxID: "DE123456789", paymentTerms: "30 Days",
                identity: AccountIdentity(taxID: "DE123456789", domain: "acme.example"))
            #expect(snapshot.account(system: "salesforce", mapping: Self.mapping) == expected)
            #expect(
                snapshot.contacts(system: "salesforce") == [
                    Contact(
                        ref: Self.ref(.contact, contacts[0]), account: Self.ref(.account, account), name: "Ada Lovelace",
                        email: "ada@acme.example", phone: "+49 30 1", jobTitle: "CFO"),
                    Contact(
                        ref: Self.ref(.contact, contacts[1]), account: Self.ref(.account, account), name: "Builder",
                        jobTitle: "Foreman"),
                ])
            // Without VAT and terms mapped, and without the owner, those fields are not read.
            let plain = snapshot.account(system: "salesforce", mapping: SalesforceAccountMapping(ownerEmailField: nil))
            #expect(plain.taxID == nil && plain.paymentTerms == nil && plain.owner == nil && plain.segment == "Manufacturing")

            // The payload round-trips; reading the same state again is the same event.
            #expect(SalesforceAccountSnapshot.parse(snapshot.payload) == snapshot)
            let again = try await Self.reader(base).snapshots(accountIDs: [account], logger: salesforceLogger)
            #expect(again.first?.eventID(system: "salesforce") == snapshot.eventID(system: "salesforce"))
            #expect(snapshot.eventID(system: "salesforce").rawValue.hasPrefix("salesforce:account:\(account):"))
        }
    }

    @Test func theIntegrationUserOwnsWhatItCreatesAndADeletedAccountIsReadDeleted() async throws {
        let clock = Clock()
        let simulator = Self.simulator(clock)
        try await withSalesforce(simulator) { base in
            let account = try Self.create(simulator, "Account", #"{"Name":"Globex"}"#)
            let contact = try Self.create(simulator, "Contact", #"{"AccountId":"\#(account)","LastName":"Scorpio"}"#)
            try Self.call(simulator, "DELETE", "/sobjects/Account/\(account)", expect: 204)

            let snapshot = try #require(
                try await Self.reader(base).snapshots(accountIDs: [account], logger: salesforceLogger).first)
            #expect(snapshot.deleted)
            let read = snapshot.account(system: "salesforce", mapping: Self.mapping)
            #expect(read.deleted == true)
            #expect(read.owner == salesforceUsername)
            #expect(read.address == nil && read.domain == nil)
            // The account's contacts went to the recycle bin with it.
            #expect(snapshot.contacts(system: "salesforce").map(\.deleted) == [true])
            #expect(snapshot.contacts(system: "salesforce").map(\.ref.id) == [contact])
        }
    }

    @Test func touchedAccountsAreThoseEditedAndThoseWhoseContactsWereEdited() async throws {
        let clock = Clock()
        let simulator = Self.simulator(clock)
        try await withSalesforce(simulator) { base in
            let a = try Self.create(simulator, "Account", #"{"Name":"A"}"#)
            let b = try Self.create(simulator, "Account", #"{"Name":"B"}"#)
            let c = try Self.create(simulator, "Account", #"{"Name":"C"}"#)
            let contact = try Self.create(simulator, "Contact", #"{"AccountId":"\#(b)","LastName":"Bee"}"#)
            _ = try Self.create(simulator, "Contact", #"{"LastName":"Private"}"#)  // no account
            let reader = Self.reader(base, pageSize: 2)
            let t0 = Int64(clock.start)

            let all = try await reader.touchedAccountIDs(since: t0, logger: salesforceLogger)
            #expect(all.ids == [a, b, c].sorted())
            #expect(all.newest == t0)

            clock.advance(seconds: 60)
            try Self.call(simulator, "PATCH", "/sobjects/Contact/\(contact)", #"{"Title":"Owner"}"#, expect: 204)
            let byContact = try await reader.touchedAccountIDs(since: t0 + 1000, logger: salesforceLogger)
            #expect(byContact.ids == [b])
            #expect(byContact.newest == t0 + 60_000)

            clock.advance(seconds: 60)
            try Self.call(simulator, "PATCH", "/sobjects/Account/\(a)", #"{"Phone":"+1 555"}"#, expect: 204)
            let byAccount = try await reader.touchedAccountIDs(since: byContact.newest + 1000, logger: salesforceLogger)
            #expect(byAccount.ids == [a])
            #expect(byAccount.newest == t0 + 120_000)

            clock.advance(seconds: 60)
            try Self.call(simulator, "DELETE", "/sobjects/Account/\(c)", expect: 204)
            let byDeletion = try await reader.touchedAccountIDs(since: byAccount.newest + 1000, logger: salesforceLogger)
            #expect(byDeletion.ids == [c])

            // Paged by (SystemModstamp, Id), two rows a page, every query over queryAll.
            let queries = simulator.requestLog.all.filter { $0.path.hasSuffix("/queryAll") }
            #expect(queries.count >= 8)
            #expect(!simulator.requestLog.all.contains { $0.path.hasSuffix("/query") })

            #expect(try await reader.accountIDs(forContacts: [contact, "junk"], logger: salesforceLogger) == [b])
        }
    }

    @Test func theDecoderReportsTheAccountAndEachContactUnderTheAccount() async throws {
        let clock = Clock()
        let simulator = Self.simulator(clock)
        try await withSalesforce(simulator) { base in
            let owner = try Self.user(simulator, "jane@weft.example")
            let (account, contacts) = try Self.acme(simulator, owner: owner)
            let snapshot = try #require(
                try await Self.reader(base).snapshots(accountIDs: [account], logger: salesforceLogger).first)
            let key = snapshot.entityKey(system: "salesforce")
            let event = InboxEvent(
                seq: EventSeq(1), system: "salesforce", eventID: snapshot.eventID(system: "salesforce"),
                type: SalesforceAccountSnapshot.eventType, entityKey: key, occurredAt: snapshot.modifiedAt,
                receivedAt: snapshot.modifiedAt, payload: snapshot.payload, traceID: TraceID("trace"), status: .pending,
                attempts: 0, outcome: nil)
            let decoder = SalesforceEventDecoder(
                system: "salesforce", mapping: SalesforceOpportunityMapping(), accounts: Self.mapping)
            let decoded = try decoder.decode(event)

            #expect(decoded.entityKey == key)
            #expect(decoded.ignoredReason == nil)
            #expect(decoded.changes.map(\.ref) == [Self.ref(.account, account)] + contacts.map { Self.ref(.contact, $0) })
            #expect(decoded.changes.allSatisfy { $0.version == SourceVersion(millis: Int64(clock.start)) })
            let fields = decoded.changes[0].fields
            #expect(fields["taxID"] == "DE123456789")
            #expect(fields["owner"] == "jane@weft.example")
            #expect(fields["identity"] == ["taxID": "DE123456789", "domain": "acme.example"])
            #expect(decoded.changes[2].fields["email"] == .null)  // stated, so a removed value is removed
            #expect(decoded.changes[1].fields["account"]?["id"] == .string(account))

            var broken = event
            broken.payload = Data("{}".utf8)
            #expect(throws: SalesforceOutboundMessageError.self) { try decoder.decode(broken) }
        }
    }

    // MARK: Writing

    @Test func theNamedFieldsAreWrittenAndNilClearsThemInOneCallPerObject() async throws {
        let clock = Clock()
        let simulator = Self.simulator(clock)
        try await withSalesforce(simulator) { base in
            let owner = try Self.user(simulator, "jane@weft.example")
            let (account, contacts) = try Self.acme(simulator, owner: owner)
            let other = try Self.create(simulator, "Account", #"{"Name":"Other","Industry":"Retail"}"#)
            let written = Account(
                ref: Self.ref(.account, account), name: "Ignored", domain: "acme.example", segment: "Ignored",
                address: PostalAddress(line1: "Neue Str. 5", line2: "3. OG", city: "Hamburg", postalCode: "20095", country: "DE"),
                taxID: "DE999999999", paymentTerms: nil)
            let syncs = [
                AccountSync(
                    account: written, contacts: [], fields: ["address", "taxID", "paymentTerms", "domain"], contactFields: []),
                AccountSync(
                    account: Account(ref: Self.ref(.account, other), segment: nil, owner: nil), contacts: [],
                    fields: ["segment", "owner"], contactFields: []),
                AccountSync(
                    account: written,
                    contacts: [
                        Contact(ref: Self.ref(.contact, contacts[0]), name: "Ada King", email: "ada@king.example", jobTitle: nil),
                        Contact(ref: Self.ref(.contact, contacts[1]), name: "Bob", phone: "+49 40 2"),
                        Contact(ref: ExternalRef(system: "odoo", kind: .contact, id: "7"), name: "Not Salesforce's"),
                    ],
                    fields: [], contactFields: ["name", "email", "jobTitle", "phone"]),
            ]
            let outcomes = await Self.writer(base).sync(syncs, logger: salesforceLogger)

            let delivered = DeliveryOutcome.delivered(record: TargetRecordID(model: "Account", id: account), note: nil)
            #expect(outcomes == [delivered, .delivered(record: TargetRecordID(model: "Account", id: other), note: nil), delivered])
            let acme = try #require(simulator.record("Account", id: account))
            #expect(acme["BillingStreet"] == "Neue Str. 5\n3. OG")
            #expect(acme["BillingCity"] == "Hamburg")
            #expect(acme["BillingState"] == .null)
            #expect(acme["VAT_Number__c"] == "DE999999999")
            #expect(acme["Payment_Terms__c"] == .null)  // named with no value: cleared
            #expect(acme["Website"] == "acme.example")
            #expect(acme["Name"] == "Acme GmbH")  // not named: left as Salesforce has it
            #expect(acme["Industry"] == "Manufacturing")
            #expect(acme["OwnerId"]?.string == owner)
            let otherRecord = try #require(simulator.record("Account", id: other))
            #expect(otherRecord["Industry"] == .null)
            #expect(otherRecord["OwnerId"]?.string != nil)  // every account keeps an owner

            let ada = try #require(simulator.record("Contact", id: contacts[0]))
            #expect(ada["FirstName"] == "Ada" && ada["LastName"] == "King")
            #expect(ada["Email"] == "ada@king.example" && ada["Title"] == .null && ada["Phone"] == .null)
            let bob = try #require(simulator.record("Contact", id: contacts[1]))
            #expect(bob["FirstName"] == .null && bob["LastName"] == "Bob" && bob["Phone"] == "+49 40 2")

            // Accounts in one Collections call, contacts in another.
            #expect(Self.collectionWrites(simulator).count == 2)

            // Written back and read again, the account shows what was written.
            let read = try #require(
                try await Self.reader(base).snapshots(accountIDs: [account], logger: salesforceLogger).first
            ).account(system: "salesforce", mapping: Self.mapping)
            #expect(read.address == written.address && read.taxID == "DE999999999" && read.domain == "acme.example")
        }
    }

    /// In an org with State and Country/Territory Picklists the text fields hold names ("United States") and refuse
    /// the ISO codes Weft keeps: with `addressCodes` the state and country are read and written as their codes. The
    /// start check tells an org's kind from its describe and names the setting when it does not match.
    @Test func withStateAndCountryPicklistsTheAddressIsReadAndWrittenAsCodes() async throws {
        let clock = Clock()
        let simulator = Self.simulator(clock, picklists: true)
        try await withSalesforce(simulator) { base in
            let account = try Self.create(
                simulator, "Account",
                #"{"Name":"Acme Inc","BillingCity":"San Francisco","BillingCountryCode":"US","BillingStateCode":"CA"}"#)
            var codes = Self.mapping
            codes.addressCodes = true
            let client = salesforceClient(salesforceConfiguration(base))
            let snapshot = try #require(
                try await SalesforceAccountReader(client: client, mapping: codes, system: "salesforce")
                    .snapshots(accountIDs: [account], logger: salesforceLogger).first)
            let read = snapshot.account(system: "salesforce", mapping: codes)
            #expect(read.address == PostalAddress(city: "San Francisco", state: "CA", country: "US"))

            let moved = Account(
                ref: Self.ref(.account, account), address: PostalAddress(city: "Toronto", state: "ON", country: "CA"))
            let sync = AccountSync(account: moved, contacts: [], fields: ["address"], contactFields: [])
            let outcomes = await Self.writer(base, mapping: codes).sync([sync], logger: salesforceLogger)
            #expect(outcomes == [.delivered(record: TargetRecordID(model: "Account", id: account), note: nil)])
            let record = try #require(simulator.record("Account", id: account))
            #expect(record["BillingCountry"] == "Canada" && record["BillingState"] == "Ontario")
            #expect(record["BillingCountryCode"] == "CA" && record["BillingStateCode"] == "ON")

            // A state the org's picklists lack for the country (few countries have states by default) would refuse the
            // whole account: it is written without the state, and the delivery says so.
            let munich = Account(ref: Self.ref(.account, account), address: PostalAddress(city: "Munich", state: "BY", country: "DE"))
            let stateless = await Self.writer(base, mapping: codes).sync(
                [AccountSync(account: munich, contacts: [], fields: ["address"], contactFields: [])], logger: salesforceLogger)
            guard case .delivered(_, let note?) = stateless[0] else {
                Issue.record("expected a delivery with a note, got \(stateless)")
                return
            }
            #expect(note.contains("Salesforce has no state BY for the account's country"), "\(note)")
            let german = try #require(simulator.record("Account", id: account))
            #expect(german["BillingCountryCode"] == "DE" && german["BillingStateCode"] == .null && german["BillingCity"] == "Munich")

            // Without the setting, the country's code written as text is refused, naming the field.
            let asText = await Self.writer(base).sync([sync], logger: salesforceLogger)
            #expect(Self.rejection(asText[0])?.contains("There's a problem with this country") == true, "\(asText)")

            #expect(try await client.addressPicklistProblems(system: "sf", configured: true, logger: salesforceLogger).isEmpty)
            let unset = try await client.addressPicklistProblems(system: "sf", configured: false, logger: salesforceLogger)
            #expect(unset.count == 1 && unset[0].contains("set systems.sf.state_country_picklists: true"), "\(unset)")
        }
        let plain = Self.simulator(clock)
        try await withSalesforce(plain) { base in
            let client = salesforceClient(salesforceConfiguration(base))
            #expect(try await client.addressPicklistProblems(system: "sf", configured: false, logger: salesforceLogger).isEmpty)
            let wrong = try await client.addressPicklistProblems(system: "sf", configured: true, logger: salesforceLogger)
            #expect(wrong.count == 1 && wrong[0].contains("remove the setting"), "\(wrong)")
        }
    }

    /// Salesforce's `Industry` picklist has its own values (`Technology`); Odoo its industry names. With a map each
    /// side sees its own, and what is read and written back is the same value.
    @Test func valueMapsShowEachSideItsOwnValues() async throws {
        let clock = Clock()
        let simulator = Self.simulator(clock)
        var mapping = Self.mapping
        mapping.segmentValues = try ValueMap([
            .init(system: "Technology", canonical: "Information and communication"),
            .init(system: "Retail", canonical: "Wholesale/Retail"),
        ])
        mapping.paymentTermsValues = try ValueMap([.init(system: "Net 30", canonical: "30 Days")])
        let mapped = mapping
        try await withSalesforce(simulator) { base in
            let account = try Self.create(
                simulator, "Account", #"{"Name":"Acme","Industry":"Technology","Payment_Terms__c":"Net 30"}"#)
            let other = try Self.create(simulator, "Account", #"{"Name":"Other","Industry":"Energy"}"#)
            let snapshots = try await Self.reader(base).snapshots(accountIDs: [account, other], logger: salesforceLogger)
            let read = Dictionary(
                uniqueKeysWithValues: snapshots.map { ($0.accountID, $0.account(system: "salesforce", mapping: mapped)) })
            #expect(read[account]?.segment == "Information and communication")
            #expect(read[account]?.paymentTerms == "30 Days")
            #expect(read[other]?.segment == "Energy")  // unnamed: as Salesforce has it

            let sync = AccountSync(
                account: Account(ref: Self.ref(.account, account), segment: "wholesale/retail", paymentTerms: "30 Days"),
                contacts: [], fields: ["segment", "paymentTerms"], contactFields: [])
            let outcomes = await Self.writer(base, mapping: mapped).sync([sync], logger: salesforceLogger)
            #expect(outcomes == [.delivered(record: TargetRecordID(model: "Account", id: account), note: nil)])
            let written = try #require(simulator.record("Account", id: account))
            #expect(written["Industry"] == "Retail")
            #expect(written["Payment_Terms__c"] == "Net 30")
        }
    }

    /// Before the node starts, the value maps are checked against the Account's describe: values a restricted
    /// picklist lacks and a mapped field the Account does not have are problems; an unrestricted picklist (the
    /// standard Industry) takes other values, so those are only logged.
    @Test func valueMapsAreCheckedAgainstTheAccountsPicklists() async throws {
        let simulator = Self.simulator(
            Clock(),
            accountFields: [.init(name: "Payment_Terms__c", type: .picklist, picklistValues: ["Net 30", "Net 45"], restricted: true)])
        try await withSalesforce(simulator) { base in
            func problems(_ mapping: SalesforceAccountMapping) async throws -> [String] {
                try await SalesforceAccountReader(
                    client: salesforceClient(salesforceConfiguration(base)), mapping: mapping, system: "crm"
                ).valueMapProblems(logger: salesforceLogger)
            }
            let right = SalesforceAccountMapping(
                paymentTermsField: "Payment_Terms__c",
                segmentValues: try ValueMap([.init(system: "Technology", canonical: "Information and communication")]),
                paymentTermsValues: try ValueMap([.init(system: "Net 30", canonical: "30 Days")]))
            #expect(try await problems(right) == [])
            // Industry is not restricted: a value it lacks is stored by Salesforce, so it is not a problem.
            var unrestricted = right
            unrestricted.segmentValues = try ValueMap([.init(system: "Tech", canonical: "Information and communication")])
            #expect(try await problems(unrestricted) == [])

            var restricted = right
            restricted.paymentTermsValues = try ValueMap([
                .init(system: "net 30", canonical: "30 Days"), .init(system: "Net 60", canonical: "60 Days"),
            ])
            let found = try await problems(restricted)
            #expect(found.count == 1)
            #expect(
                found.first?.hasPrefix(
                    "systems.crm.accounts.payment_terms_values names net 30 (the option is Net 30), Net 60, which the Account's "
                        + "picklist Payment_Terms__c has no active value for") == true, "\(found)")

            let missing = SalesforceAccountMapping(
                segmentField: "Sector__c", segmentValues: try ValueMap([.init(system: "A", canonical: "Agriculture")]))
            #expect(
                try await problems(missing).first?.hasPrefix("the Account has no field Sector__c (systems.crm.accounts.segment_field)")
                    == true)
        }
    }

    @Test func theOwnerIsTheActiveUserWithThatEmail() async throws {
        let clock = Clock()
        let simulator = Self.simulator(clock)
        try await withSalesforce(simulator) { base in
            let jane = try Self.user(simulator, "jane@weft.example")
            _ = try Self.user(simulator, "max@weft.example", active: false)
            // Two active users share an email: the one whose username is the email is chosen.
            _ = try Self.user(simulator, "sam@weft.example", username: "sam.admin@weft.example")
            let sam = try Self.user(simulator, "sam@weft.example")
            let accounts = try (0..<4).map { try Self.create(simulator, "Account", #"{"Name":"Account \#($0)"}"#) }
            func sync(_ index: Int, _ owner: String) -> AccountSync {
                AccountSync(
                    account: Account(ref: Self.ref(.account, accounts[index]), name: "Renamed \(index)", owner: owner),
                    contacts: [], fields: ["owner", "name"], contactFields: [])
            }
            let outcomes = await Self.writer(base).sync(
                [sync(0, "Jane@Weft.example"), sync(1, "nobody@weft.example"), sync(2, "max@weft.example"), sync(3, "sam@weft.example")],
                logger: salesforceLogger)

            #expect(outcomes[0] == .delivered(record: TargetRecordID(model: "Account", id: accounts[0]), note: nil))
            #expect(simulator.record("Account", id: accounts[0])?["OwnerId"]?.string == jane)
            #expect(simulator.record("Account", id: accounts[0])?["Name"] == "Renamed 0")
            let unknown = try #require(Self.rejection(outcomes[1]))
            #expect(unknown.contains("no active user with the Email nobody@weft.example"))
            #expect(unknown.contains(accounts[1]))
            #expect(Self.rejection(outcomes[2])?.contains("max@weft.example") == true)  // inactive
            // A rejected owner leaves the whole account unwritten.
            #expect(simulator.record("Account", id: accounts[1])?["Name"] == "Account 1")
            #expect(simulator.record("Account", id: accounts[3])?["OwnerId"]?.string == sam)

            // One query for every email (the writer queries nothing else).
            #expect(simulator.requestLog.all.filter { $0.method == "GET" && $0.path.hasSuffix("/query") }.count == 1)
        }
    }

    @Test func deletedAndUnknownAccountsAreRejectedAndMissingContactsNoted() async throws {
        let clock = Clock()
        let simulator = Self.simulator(clock)
        try await withSalesforce(simulator) { base in
            let live = try Self.create(simulator, "Account", #"{"Name":"Live"}"#)
            let gone = try Self.create(simulator, "Account", #"{"Name":"Gone"}"#)
            let goneContact = try Self.create(simulator, "Contact", #"{"AccountId":"\#(live)","LastName":"Left"}"#)
            try Self.call(simulator, "DELETE", "/sobjects/Account/\(gone)", expect: 204)
            try Self.call(simulator, "DELETE", "/sobjects/Contact/\(goneContact)", expect: 204)
            let unknown = "001" + String(gone.dropFirst(3).prefix(9)) + "ZZZ"
            func sync(_ id: String) -> AccountSync {
                AccountSync(
                    account: Account(ref: Self.ref(.account, id), phone: "+1 555"),
                    contacts: [Contact(ref: Self.ref(.contact, goneContact), email: "left@acme.example")], fields: ["phone"],
                    contactFields: ["email"])
            }
            let outcomes = await Self.writer(base).sync(
                [sync(gone), sync(live), sync(unknown), sync("0065g00000AbCdEAAV"), sync("acme")], logger: salesforceLogger)

            let deleted = try #require(Self.rejection(outcomes[0]))
            #expect(deleted.contains("Salesforce has no account \(gone)") && deleted.contains("recycle bin"))
            guard case .delivered(_, let note) = outcomes[1] else { Issue.record("\(outcomes[1])"); return }
            #expect(note?.contains("Salesforce has no contact \(goneContact)") == true)
            #expect(simulator.record("Account", id: live)?["Phone"] == "+1 555")
            #expect(Self.rejection(outcomes[2])?.contains("Salesforce has no account") == true)
            #expect(Self.rejection(outcomes[3])?.contains("is not a Salesforce Account id") == true)
            #expect(Self.rejection(outcomes[4])?.contains("is not a Salesforce Account id") == true)
        }
    }

    @Test func aMissingFieldIsRejectedNamingItAndALockedAccountRetried() async throws {
        let clock = Clock()
        let simulator = Self.simulator(clock)
        try await withSalesforce(simulator) { base in
            let first = try Self.create(simulator, "Account", #"{"Name":"First"}"#)
            let second = try Self.create(simulator, "Account", #"{"Name":"Second"}"#)
            let third = try Self.create(simulator, "Account", #"{"Name":"Third"}"#)
            simulator.setRecordLocked(second)
            let mapping = SalesforceAccountMapping(vatField: "Tax_Number__c")
            let outcomes = await Self.writer(base, mapping: mapping).sync(
                [
                    AccountSync(
                        account: Account(ref: Self.ref(.account, first), taxID: "DE1"), contacts: [], fields: ["taxID"],
                        contactFields: []),
                    AccountSync(
                        account: Account(ref: Self.ref(.account, second), name: "Locked"), contacts: [], fields: ["name"],
                        contactFields: []),
                    AccountSync(
                        account: Account(ref: Self.ref(.account, third), name: "Written"), contacts: [], fields: ["name"],
                        contactFields: []),
                ], logger: salesforceLogger)

            let missing = try #require(Self.rejection(outcomes[0]))
            #expect(missing.contains("Tax_Number__c (taxID)"))
            #expect(missing.contains("Setup → Object Manager → Account"))
            guard case .retry(let failure) = outcomes[1] else { Issue.record("\(outcomes[1])"); return }
            #expect(failure.message.contains("UNABLE_TO_LOCK_ROW"))
            #expect(outcomes[2] == .delivered(record: TargetRecordID(model: "Account", id: third), note: nil))
            #expect(Self.collectionWrites(simulator).count == 1)
        }
    }

    @Test func theRequestLimitHoldsTheGateAndRetriesEverySync() async throws {
        let clock = Clock()
        let simulator = Self.simulator(clock)
        try await withSalesforce(simulator) { base in
            let account = try Self.create(simulator, "Account", #"{"Name":"Limited"}"#)
            let gate = RecordingGate()
            let writer = Self.writer(base, gate: gate)
            // Authenticate first, then use up the day's allocation.
            _ = try await writer.client.queryPage("SELECT Id FROM Account LIMIT 1", logger: salesforceLogger)
            simulator.setApiUsage(used: 15_000)
            let sync = AccountSync(
                account: Account(ref: Self.ref(.account, account), name: "New"), contacts: [], fields: ["name"], contactFields: [])
            let outcomes = await writer.sync([sync, sync], logger: salesforceLogger)

            #expect(outcomes.count == 2)
            for outcome in outcomes {
                guard case .retry(let failure) = outcome else { Issue.record("\(outcome)"); continue }
                #expect(failure.kind == .rateLimited)
            }
            #expect(gate.recorded.count == 1)
            #expect(simulator.record("Account", id: account)?["Name"] == "Limited")
        }
    }
}
