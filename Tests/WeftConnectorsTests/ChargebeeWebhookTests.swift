import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization
import Testing
import WeftConnectors
import WeftCore
import WeftSimChargebee
import WeftSimKit

private typealias S = ChargebeeTestSupport

@Suite struct ChargebeeWebhookTests {
    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    let authenticator = ChargebeeWebhookAuthenticator(credentials: [
        .init(username: "weft", password: "new-secret"), .init(username: "weft", password: "old-secret"),
    ])

    @Test func acceptsAnyConfiguredPairAndRejectsTheRest() throws {
        try authenticator.authenticate(authorization: Self.basic("weft", "new-secret"))
        try authenticator.authenticate(authorization: Self.basic("weft", "old-secret"))
        try authenticator.authenticate(authorization: "basic " + Data("weft:new-secret".utf8).base64EncodedString())
        func code(_ header: String?) -> ChargebeeWebhookError.Code? {
            do {
                try authenticator.authenticate(authorization: header)
                return nil
            } catch {
                #expect(!error.description.contains("secret"))
                return error.code
            }
        }
        #expect(code(nil) == .missingHeader)
        #expect(code("") == .missingHeader)
        #expect(code("Bearer new-secret") == .malformedHeader)
        #expect(code("Basic !!!") == .malformedHeader)
        #expect(code("Basic " + Data("no-colon".utf8).base64EncodedString()) == .malformedHeader)
        #expect(code(Self.basic("weft", "wrong")) == .invalidCredentials)
        #expect(code(Self.basic("other", "new-secret")) == .invalidCredentials)
        #expect(code(Self.basic("weft", "new-secret-and-more")) == .invalidCredentials)
        #expect(!authenticator.description.contains("secret"))
    }

    /// The simulator's webhooks reach a receiver that authenticates them and parses their envelopes; a webhook sent
    /// with the wrong password is refused (401) and retried by the simulator, never accepted.
    @Test func simulatorWebhooksAuthenticateAndParse() async throws {
        let accepted = Mutex<[ChargebeeEventEnvelope]>([])
        let refused = Atomic<Int>(0)
        let authenticator = self.authenticator
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            do {
                try authenticator.authenticate(authorization: request.headers[.authorization])
            } catch {
                refused.add(1, ordering: .relaxed)
                return Response(status: .unauthorized)
            }
            let envelope = try ChargebeeEventEnvelope.parse(Data(body.readableBytesView), system: S.system)
            accepted.withLock { $0.append(envelope) }
            return Response(status: .ok)
        }
        try await SimulatorServer.withRunning(router: router, logger: Logger(label: "test.receiver")) { port in
            let url = "http://127.0.0.1:\(port)/hook"
            let simulator = S.makeSimulator(
                clock: S.Clock(),
                webhooks: .init(
                    endpoints: [
                        .init(id: "good", url: url, username: "weft", password: "old-secret"),
                        .init(id: "bad", url: url, username: "weft", password: "guess", eventTypes: ["customer_created"]),
                    ], retryDelays: [.milliseconds(1)], timeout: .seconds(5)))
            await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await simulator.runDelivery() }
                let (customerID, _, _) = simulator.subscribe()
                await simulator.waitUntilDeliveriesSettled()
                group.cancelAll()
                let envelopes = accepted.withLock { $0 }
                #expect(
                    envelopes.map(\.type) == [
                        "customer_created", "subscription_created", "invoice_generated",
                        "payment_succeeded",
                    ])
                #expect(envelopes.allSatisfy { $0.entityKey == EntityKey.of(S.ref(.customer, customerID)) })
                #expect(envelopes.allSatisfy { $0.id.rawValue.hasPrefix("ev_") })
                // The bad endpoint's one event: first attempt and one retry, both refused.
                #expect(refused.load(ordering: .relaxed) == 2)
                #expect(simulator.deliveryAttempts.filter { $0.endpointID == "bad" }.map(\.status) == [401, 401])
            }
        }
    }
}
