import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftRuntime
import WeftServer
import WeftSimHubSpot
import WeftSimKit
import WeftStoreSQLite
import WeftTools

/// Every way a webhook can be bad gets a clear answer and leaves the store untouched.
@Suite("Webhook ingress", .serialized)
struct IngressTests {
    /// Posts a Stripe delivery. `viaTheRouter` asks to close the connection after it (`Connection: close`), which
    /// `WebhookFastPath` leaves to Hummingbird's router (`WebhookFastPathTests`): the same answers must come from both.
    func post(_ url: String, body: Data, signature: String?, viaTheRouter: Bool = false) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if viaTheRouter { request.headers.add(name: "Connection", value: "close") }
        if let signature { request.headers.add(name: "Stripe-Signature", value: signature) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return (Int(response.status.code), text)
    }

    func storedEvents(_ node: TestNode) async throws -> Int {
        try await node.store.listEvents(status: nil, limit: 1000).count
    }

    /// Posts a delivery the store cannot take and expects the 503 a sender retries: `store_unavailable`,
    /// `Retry-After: 5`, and nothing stored.
    func expectRefusedAsStoreUnavailable(_ node: TestNode, _ path: String, headers: [String: String], body: String) async throws {
        let answer = try await send(node, path, headers: headers, body: body)
        #expect(answer.status == 503, "\(answer.body)")
        #expect(answer.body.contains("store_unavailable"))
        #expect(answer.retryAfter == "5")
        #expect(try await storedEvents(node) == 0)
    }

    @Test(arguments: [false, true]) func acceptsOnceAndRecognisesDuplicates(viaTheRouter: Bool) async throws {
        try await TestNode.with { node in
            let event = StripeEventFactory(prefix: "I1").customerCreated("cus_I1", name: "A", email: "a@x.test", at: 1_750_000_000)
            let signer = StripeWebhookSigner(secret: TestNode.webhookSecret)
            let first = try await post(
                "\(node.weftURL)/hooks/stripe", body: event.body, signature: signer.signatureHeader(payload: event.body, at: Date()),
                viaTheRouter: viaTheRouter)
            #expect(first.0 == 200)
            #expect(first.1.contains(#""duplicate":false"#))
            let second = try await post(
                "\(node.weftURL)/hooks/stripe", body: event.body, signature: signer.signatureHeader(payload: event.body, at: Date()),
                viaTheRouter: viaTheRouter)
            #expect(second.0 == 200)
            #expect(second.1.contains(#""duplicate":true"#))
            #expect(try await storedEvents(node) == 1)
        }
    }

    @Test(arguments: [false, true]) func badSignaturesAre401AndStoreNothing(viaTheRouter: Bool) async throws {
        try await TestNode.with { node in
            let event = StripeEventFactory(prefix: "I2").customerCreated("cus_I2", name: "A", email: "a@x.test", at: 1_750_000_000)
            let wrong = StripeWebhookSigner(secret: "whsec_wrong")
            let cases: [String?] = [
                nil, "garbage", "t=1,v0=abc", wrong.signatureHeader(payload: event.body, at: Date()),
                StripeWebhookSigner(secret: TestNode.webhookSecret).signatureHeader(
                    payload: event.body, at: Date().addingTimeInterval(-3600)),
            ]
            for (index, signature) in cases.enumerated() {
                let (status, body) = try await post(
                    "\(node.weftURL)/hooks/stripe", body: event.body, signature: signature, viaTheRouter: viaTheRouter)
                #expect(status == 401, "signature \(signature ?? "none")")
                #expect(body.contains("bad_signature"))
                #expect(!body.contains(TestNode.webhookSecret))
                // A stale timestamp points at the clock, not at the secret.
                #expect(body.contains("clock") == (index == cases.count - 1), "\(body)")
            }
            #expect(try await storedEvents(node) == 0)
        }
    }

    @Test(arguments: [false, true]) func malformedBodiesAre400AndStoreNothing(viaTheRouter: Bool) async throws {
        try await TestNode.with { node in
            let signer = StripeWebhookSigner(secret: TestNode.webhookSecret)
            for text in ["{not json", #"{"id":"evt_1"}"#, "[]", #"{"object":"event","type":"x","created":1,"data":{}}"#] {
                let body = Data(text.utf8)
                let (status, response) = try await post(
                    "\(node.weftURL)/hooks/stripe", body: body, signature: signer.signatureHeader(payload: body, at: Date()),
                    viaTheRouter: viaTheRouter)
                #expect(status == 400, "body \(text)")
                #expect(response.contains("malformed_event"))
            }
            #expect(try await storedEvents(node) == 0)
        }
    }

    @Test func oversizeBodiesAre413AndStoreNothing() async throws {
        try await TestNode.with { node in
            let body = Data(repeating: UInt8(ascii: "x"), count: 65 * 1024)
            let signer = StripeWebhookSigner(secret: TestNode.webhookSecret)
            let (status, response) = try await post(
                "\(node.weftURL)/hooks/stripe", body: body, signature: signer.signatureHeader(payload: body, at: Date()))
            #expect(status == 413)
            #expect(response.contains("max_body_bytes"))
            #expect(try await storedEvents(node) == 0)
        }
    }

    /// Without a `Content-Length` (chunked), the body is found too large only while it arrives: the router's
    /// collection stops at the limit and answers 413, and nothing is stored.
    @Test func oversizeChunkedBodiesAre413AndStoreNothing() async throws {
        try await TestNode.with { node in
            let body = Data(repeating: UInt8(ascii: "x"), count: 65 * 1024)
            let signer = StripeWebhookSigner(secret: TestNode.webhookSecret)
            var request = HTTPClientRequest(url: "\(node.weftURL)/hooks/stripe")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Stripe-Signature", value: signer.signatureHeader(payload: body, at: Date()))
            let chunks = stride(from: 0, to: body.count, by: 8 * 1024).map {
                ByteBuffer(bytes: body[$0..<min(body.count, $0 + 8 * 1024)])
            }
            let stream = AsyncStream<ByteBuffer> { continuation in
                for chunk in chunks { continuation.yield(chunk) }
                continuation.finish()
            }
            request.body = .stream(stream, length: .unknown)
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            #expect(response.status.code == 413)
            #expect(text.contains("max_body_bytes"))
            #expect(try await storedEvents(node) == 0)
        }
    }

    @Test(arguments: [false, true]) func storeFailureIs503SoTheSenderRetries(viaTheRouter: Bool) async throws {
        try await TestNode.with(store: { path in
            InterceptingAppendStore.failing(base: try SQLiteStore(path: path, logger: .init(label: "test")))
        }) { node in
            let event = StripeEventFactory(prefix: "I5").customerCreated("cus_I5", name: "A", email: "a@x.test", at: 1_750_000_000)
            let signer = StripeWebhookSigner(secret: TestNode.webhookSecret)
            let (status, body) = try await post(
                "\(node.weftURL)/hooks/stripe", body: event.body, signature: signer.signatureHeader(payload: event.body, at: Date()),
                viaTheRouter: viaTheRouter)
            #expect(status == 503)
            #expect(body.contains("store_unavailable"))
            #expect(try await storedEvents(node) == 0)
        }
    }

    /// A desk's ticket is filed under its account by a store read before it is appended: when that read fails, the
    /// delivery is refused as a failed write is, 503 with `Retry-After` (it was a 500 the desk would not retry), and
    /// nothing is stored.
    @Test func aDeskTicketTheStoreCannotFileIs503() async throws {
        try await withNowhere { nowhere in try await self.deskTicketTheStoreCannotFile(desk: nowhere) }
    }

    func deskTicketTheStoreCannotFile(desk url: String) async throws {
        let desk = DeskSystemConfiguration(
            kind: .freshdesk, baseURL: url, apiKey: .environment("FD"), webhookSecrets: [.environment("FD_SECRET")],
            fields: DeskFieldMap(account: "weft_account"))
        try await TestNode.with(
            store: { path in
                var store = InterceptingAppendStore.passing(base: try SQLiteStore(path: path, logger: .init(label: "test")))
                store.failBoundSources = true
                return store
            },
            extraSystems: ["freshdesk": .desk(desk)], extraFlows: [Flow(name: "to_freshdesk", source: "stripe", target: "freshdesk")],
            extraEnvironment: ["FD": "key", "FD_SECRET": "s3cret"]
        ) { node in
            try await expectRefusedAsStoreUnavailable(
                node, "/hooks/freshdesk", headers: ["X-Weft-Webhook-Secret": "s3cret"],
                body: #"{"ticket_id": 7, "company_id": "42", "status": "Open", "updated_at": "2026-01-31T12:00:00Z"}"#)
        }
    }

    /// A Chargebee event the store cannot write is refused 503 with `Retry-After` (Chargebee retries it for days),
    /// and nothing is stored: the append the Stripe path is tested on, through Chargebee's own ingress.
    @Test func aChargebeeEventTheStoreCannotWriteIs503() async throws {
        let chargebee = ChargebeeSystemConfiguration(
            baseURL: "http://127.0.0.1:9", webhookUsername: "weft", webhookPasswords: [.environment("CB_HOOK")], catchUpInterval: nil)
        try await TestNode.with(
            store: { path in InterceptingAppendStore.failing(base: try SQLiteStore(path: path, logger: .init(label: "test"))) },
            extraSystems: ["chargebee": .chargebee(chargebee)],
            extraFlows: [Flow(name: "chargebee_to_erp", source: "chargebee", target: "odoo")],
            extraEnvironment: ["CB_HOOK": "pw"]
        ) { node in
            try await expectRefusedAsStoreUnavailable(
                node, "/hooks/chargebee", headers: ["Authorization": "Basic " + Data("weft:pw".utf8).base64EncodedString()],
                body:
                    #"{"id":"ev_1","object":"event","event_type":"customer_created","occurred_at":1750000000,"api_version":"v2","content":{"customer":{"id":"cus_1"}}}"#
            )
        }
    }

    /// Runs `body` with the URL of a server that answers 404 to everything: a CRM or desk Weft is configured with but
    /// that knows nothing, so that what Weft asks of it at start and in the background fails at once.
    func withNowhere(_ body: @Sendable @escaping (String) async throws -> Void) async throws {
        try await SimulatorServer.withRunning(
            router: Router(), logger: Logger(label: "test.nowhere", factory: { _ in SwiftLogNoOpLogHandler() })
        ) {
            port in try await body("http://127.0.0.1:\(port)")
        }
    }

    /// A node with HubSpot, Salesforce, Freshdesk and Zendesk ingresses besides Stripe's, on `store`; the CRMs and desks
    /// themselves know nothing (`withNowhere`), since every case here is decided at the ingress.
    func withEveryIngress(
        store: (@Sendable (String) throws -> any Store)? = nil, _ body: @Sendable @escaping (TestNode) async throws -> Void
    ) async throws {
        try await withNowhere { nowhere in try await self.withEveryIngress(at: nowhere, store: store, body) }
    }

    func withEveryIngress(
        at nowhere: String, store: (@Sendable (String) throws -> any Store)?, _ body: @Sendable @escaping (TestNode) async throws -> Void
    ) async throws {
        let hubspot = HubSpotSystemConfiguration(
            baseURL: nowhere, accessToken: .environment("HS_TOKEN"), clientSecrets: [.environment("HS_SECRET")],
            currency: CurrencyCode(rawValue: "EUR")!, requirements: DealRequirements(), rateLimit: nil,
            catchUpInterval: .seconds(3600))
        let salesforce = SalesforceSystemConfiguration(
            instanceURL: nowhere, authentication: .clientCredentials(clientID: "weft-app", clientSecret: .environment("SF_SECRET")),
            organizationID: Self.salesforceOrg, currency: CurrencyCode(rawValue: "EUR")!, rateLimit: nil,
            catchUpInterval: .seconds(3600))
        let freshdesk = DeskSystemConfiguration(
            kind: .freshdesk, baseURL: nowhere, apiKey: .environment("FD"), webhookSecrets: [.environment("FD_SECRET")],
            fields: DeskFieldMap(account: "weft_account"))
        let zendesk = DeskSystemConfiguration(
            kind: .zendesk, baseURL: nowhere, email: "weft@example.com", apiKey: .environment("ZD"),
            webhookSecrets: [.environment("ZD_SECRET")], fields: DeskFieldMap(account: "weft_account"))
        try await TestNode.with(
            store: store,
            extraSystems: [
                "hubspot": .hubspot(hubspot), "salesforce": .salesforce(salesforce), "freshdesk": .desk(freshdesk),
                "zendesk": .desk(zendesk),
            ],
            extraFlows: [
                Flow(name: "deals_to_erp", source: "hubspot", target: "odoo"),
                Flow(name: "opportunities_to_erp", source: "salesforce", target: "odoo"),
                Flow(name: "to_freshdesk", source: "stripe", target: "freshdesk"),
                Flow(name: "to_zendesk", source: "stripe", target: "zendesk"),
            ],
            extraEnvironment: [
                "HS_TOKEN": "pat-na1-test", "HS_SECRET": Self.hubspotSecret, "SF_SECRET": "sf-secret", "FD": "key",
                "FD_SECRET": "s3cret", "ZD": "token", "ZD_SECRET": "zd-secret",
            ], body)
    }

    static let hubspotSecret = "hubspot-client-secret"
    static let salesforceOrg = "00D5g000004SimAEAS"

    /// HubSpot's v3 signature headers for `body` posted to the node's `/hooks/hubspot`.
    static func hubspotHeaders(_ node: TestNode, body: String) -> [String: String] {
        let timestamp = String(Int64(Date().timeIntervalSince1970 * 1000))
        let signature = HubSpotWebhookSignature.v3(
            method: "POST", uri: "\(node.weftURL)/hooks/hubspot", body: Array(body.utf8), timestamp: timestamp,
            secret: hubspotSecret)
        return ["X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": timestamp]
    }

    /// A Salesforce Outbound Message of the configured org with one Opportunity notification.
    static let salesforceMessage = """
        <?xml version="1.0" encoding="UTF-8"?>
        <soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
        <soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">
        <OrganizationId>\(salesforceOrg)</OrganizationId><ActionId>04k5g000000TestAAA</ActionId>
        <SessionId xsi:nil="true"/>
        <EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00D5g000004SimA</EnterpriseUrl>
        <PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00D5g000004SimA</PartnerUrl>
        <Notification><Id>04l5g000000OneAAA</Id>
        <sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
        <sf:Id>0065g000001AbCdAAK</sf:Id><sf:IsWon>true</sf:IsWon><sf:StageName>Closed Won</sf:StageName>
        </sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>
        """

    /// Posts `body` to `path` with `headers`; the status, `Retry-After` and body of the answer.
    func send(_ node: TestNode, _ path: String, headers: [String: String], body: String, contentType: String = "application/json")
        async throws -> (status: Int, retryAfter: String?, body: String)
    {
        var request = HTTPClientRequest(url: "\(node.weftURL)\(path)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return (Int(response.status.code), response.headers["Retry-After"].first, text)
    }

    /// A HubSpot delivery the store cannot write is refused 503 with `Retry-After` (HubSpot retries a 5xx), and nothing
    /// is stored.
    @Test func aHubSpotDeliveryTheStoreCannotWriteIs503() async throws {
        try await withEveryIngress(store: { path in
            InterceptingAppendStore.failing(base: try SQLiteStore(path: path, logger: .init(label: "test")))
        }) { node in
            let body =
                #"[{"eventId":1,"subscriptionId":2,"portalId":3,"occurredAt":1764547200000,"subscriptionType":"deal.propertyChange","attemptNumber":0,"objectId":42,"propertyName":"dealstage","propertyValue":"closedwon"}]"#
            try await expectRefusedAsStoreUnavailable(node, "/hooks/hubspot", headers: Self.hubspotHeaders(node, body: body), body: body)
        }
    }

    /// A Salesforce Outbound Message the store cannot write is refused with a server SOAP fault, 503 and `Retry-After`
    /// (Salesforce retries what is not acknowledged), never the `Ack`, and nothing is stored.
    @Test func aSalesforceMessageTheStoreCannotWriteIsA503Fault() async throws {
        try await withEveryIngress(store: { path in
            InterceptingAppendStore.failing(base: try SQLiteStore(path: path, logger: .init(label: "test")))
        }) { node in
            let answer = try await send(
                node, "/hooks/salesforce", headers: ["SOAPAction": "\"\""], body: Self.salesforceMessage,
                contentType: "text/xml; charset=utf-8")
            #expect(answer.status == 503, "\(answer.body)")
            #expect(answer.retryAfter == "5")
            #expect(answer.body.contains("<faultcode>soapenv:Server</faultcode>"))
            #expect(answer.body.contains("store_unavailable"))
            #expect(!answer.body.contains("<Ack>true</Ack>"))
            #expect(try await storedEvents(node) == 0)
        }
    }

    /// A body over `max_body_bytes` is refused 413 at every ingress, with the setting to raise named (as a SOAP fault
    /// for Salesforce), and nothing is stored.
    @Test func oversizeBodiesAre413AtEveryIngress() async throws {
        try await withEveryIngress { node in
            let padding = String(repeating: "x", count: 65 * 1024)
            let hubspotBody = #"[{"eventId":1,"padding":"\#(padding)"}]"#
            let cases: [(path: String, headers: [String: String], body: String, contentType: String)] = [
                ("/hooks/hubspot", Self.hubspotHeaders(node, body: hubspotBody), hubspotBody, "application/json"),
                (
                    "/hooks/salesforce", ["SOAPAction": "\"\""],
                    Self.salesforceMessage.replacingOccurrences(of: "<SessionId", with: "<!-- \(padding) --><SessionId"),
                    "text/xml; charset=utf-8"
                ),
                ("/hooks/freshdesk", ["X-Weft-Webhook-Secret": "s3cret"], #"{"ticket_id":7,"padding":"\#(padding)"}"#, "application/json"),
                (
                    "/hooks/zendesk",
                    ["X-Zendesk-Webhook-Signature": "c2lnbmF0dXJl", "X-Zendesk-Webhook-Signature-Timestamp": "2026-01-31T12:00:00Z"],
                    #"{"type":"zen:event-type:ticket.status_changed","padding":"\#(padding)"}"#, "application/json"
                ),
            ]
            for item in cases {
                let answer = try await send(node, item.path, headers: item.headers, body: item.body, contentType: item.contentType)
                #expect(answer.status == 413, "\(item.path): \(answer.body.prefix(300))")
                #expect(answer.body.contains("max_body_bytes"), "\(item.path): \(answer.body.prefix(300))")
                if item.path == "/hooks/salesforce" { #expect(answer.body.contains("<soapenv:Fault>")) }
            }
            #expect(try await storedEvents(node) == 0)
        }
    }

    @Test func rotatedSecretsBothVerify() async throws {
        try await TestNode.with { node in
            let event = StripeEventFactory(prefix: "I6").customerCreated("cus_I6", name: "A", email: "a@x.test", at: 1_750_000_000)
            // Stripe signs with both secrets during a roll; one of them is the configured one.
            let signer = StripeWebhookSigner(secrets: ["whsec_new_unknown", TestNode.webhookSecret])
            let (status, _) = try await post(
                "\(node.weftURL)/hooks/stripe", body: event.body, signature: signer.signatureHeader(payload: event.body, at: Date()))
            #expect(status == 200)
        }
    }
}

/// A store whose inbox writes go where the test says (`failing`: they fail, as on a full disk or a database gone), and
/// whose commits of processing fail from the `failCommitsFrom`-th call on (counting from 1; `nil`: never) or part way
/// (`partialCommitAfter`); everything else is the real store.
struct InterceptingAppendStore: Store {
    typealias Completion = @Sendable (Result<[AppendResult], any Error>) -> Void
    let base: any Store
    let intercept: @Sendable ([IncomingEvent], @escaping Completion) -> Void
    var failCommitsFrom: Int? = nil
    /// Commits only the first this many results of a call, then throws `PartialCommitError` (`nil`: commits all).
    var partialCommitAfter: Int? = nil
    /// Whether `boundSources` fails (a read a delivery needs before its append).
    var failBoundSources = false
    /// Whether `hasUnfinishedWork` fails (the read `/readyz` makes).
    var failUnfinishedWork = false
    let commits = Calls()
    /// Run after each commit the base store made, before the caller hears of it: what a reader sees at that moment.
    var afterCommit: (@Sendable () -> Void)? = nil
    /// Told the owner of each event claim, before it is made.
    var onClaim: (@Sendable (String) -> Void)? = nil
    /// Awaited before each commit of processing reaches the base store.
    var beforeCommit: (@Sendable () async -> Void)? = nil
    /// Awaited before each claim of events or commands reaches the base store; what it throws, the claim throws.
    var beforeClaim: (@Sendable () async throws -> Void)? = nil
    /// Told the versions the caller already holds of each aggregate load (`loadAggregates(_:known:)`).
    var onLoad: (@Sendable ([EntityKey: Int64]) -> Void)? = nil
    struct Unavailable: Error {}
    final class Calls: Sendable { let count = Mutex(0) }

    static func passing(base: any Store) -> InterceptingAppendStore {
        InterceptingAppendStore(base: base) { events, completion in base.append(events, completion: completion) }
    }

    static func failing(base: any Store) -> InterceptingAppendStore {
        InterceptingAppendStore(base: base) { _, completion in completion(.failure(Unavailable())) }
    }

    func append(_ events: [IncomingEvent]) async throws -> [AppendResult] {
        try await withCheckedThrowingContinuation { continuation in
            intercept(events) { continuation.resume(with: $0) }
        }
    }
    func append(_ events: [IncomingEvent], completion: @escaping Completion) { intercept(events, completion) }
    func claimEvents(limit: Int, owner: String, lease: Duration, now: Date) async throws -> [InboxEvent] {
        try await base.claimEvents(limit: limit, owner: owner, lease: lease, now: now)
    }
    func claimEvents(limit: Int, perEntity: Int, owner: String, lease: Duration, now: Date) async throws -> [InboxEvent] {
        onClaim?(owner)
        try await beforeClaim?()
        return try await base.claimEvents(limit: limit, perEntity: perEntity, owner: owner, lease: lease, now: now)
    }
    func commitProcessed(_ results: [ProcessedEvent], owner: String, now: Date) async throws -> [EventSeq] {
        let call = commits.count.withLock { calls in
            calls += 1
            return calls
        }
        if let failCommitsFrom, call >= failCommitsFrom { throw Unavailable() }
        await beforeCommit?()
        if let partialCommitAfter, results.count > partialCommitAfter {
            let committed = try await base.commitProcessed(Array(results.prefix(partialCommitAfter)), owner: owner, now: now)
            throw PartialCommitError(committed: committed, underlying: Unavailable())
        }
        let committed = try await base.commitProcessed(results, owner: owner, now: now)
        afterCommit?()
        return committed
    }
    func releaseEvents(_ seqs: [EventSeq], owner: String) async throws { try await base.releaseEvents(seqs, owner: owner) }
    func claimCommands(target: SystemName, limit: Int, owner: String, lease: Duration, now: Date) async throws -> [OutboxCommand] {
        try await beforeClaim?()
        return try await base.claimCommands(target: target, limit: limit, owner: owner, lease: lease, now: now)
    }
    func completeCommands(_ results: [CommandResult], owner: String, now: Date) async throws {
        try await base.completeCommands(results, owner: owner, now: now)
    }
    func releaseCommands(_ ids: [CommandID], owner: String) async throws { try await base.releaseCommands(ids, owner: owner) }
    func nextCommandDue(target: SystemName) async throws -> Date? { try await base.nextCommandDue(target: target) }
    func listEvents(status: EventStatus?, limit: Int) async throws -> [InboxEvent] {
        try await base.listEvents(status: status, limit: limit)
    }
    func listStoredCommands(filter: CommandFilter, limit: Int) async throws -> [StoredCommand] {
        try await base.listStoredCommands(filter: filter, limit: limit)
    }
    func replayDeadCommands(filter: CommandFilter, actor: String, now: Date) async throws -> DeadLetterReplay {
        try await base.replayDeadCommands(filter: filter, actor: actor, now: now)
    }
    func replayFailedEvents(seqs: [EventSeq]?, actor: String, now: Date) async throws -> Int {
        try await base.replayFailedEvents(seqs: seqs, actor: actor, now: now)
    }
    func binding(of ref: ExternalRef, in target: SystemName) async throws -> TargetRecordID? { try await base.binding(of: ref, in: target) }
    func boundSources(of record: TargetRecordID, in target: SystemName) async throws -> [ExternalRef] {
        if failBoundSources { throw Unavailable() }
        return try await base.boundSources(of: record, in: target)
    }
    func cursor(_ name: String) async throws -> String? { try await base.cursor(name) }
    func setCursor(_ name: String, to value: String) async throws { try await base.setCursor(name, to: value) }
    func stats(now: Date) async throws -> StoreStats { try await base.stats(now: now) }
    func hasUnfinishedWork() async throws -> Bool {
        if failUnfinishedWork { throw Unavailable() }
        return try await base.hasUnfinishedWork()
    }
    func loadAggregates(_ keys: [EntityKey], known: [EntityKey: Int64]) async throws -> AggregateLoad {
        onLoad?(known)
        return try await base.loadAggregates(keys, known: known)
    }
    func aggregateKeys(prefix: String, after: EntityKey?, limit: Int) async throws -> [EntityKey] {
        try await base.aggregateKeys(prefix: prefix, after: after, limit: limit)
    }
    func audit(_ entry: AuditEntry) async throws { try await base.audit(entry) }
    func prune(before: Date, limit: Int) async throws -> PruneCounts { try await base.prune(before: before, limit: limit) }
    func renewCommandLeases(_ ids: [CommandID], owner: String, until: Date) async throws -> Int {
        try await base.renewCommandLeases(ids, owner: owner, until: until)
    }
    func auditLog(limit: Int) async throws -> [AuditEntry] { try await base.auditLog(limit: limit) }
}
