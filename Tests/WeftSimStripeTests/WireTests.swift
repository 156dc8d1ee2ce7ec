import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import WeftSimKit

@testable import WeftSimStripe

@Suite struct WireTests {
    private func app(_ simulator: StripeSimulator) -> some ApplicationProtocol {
        let router = Router()
        simulator.addRoutes(to: router)
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    @Test func authFormBodiesAndHeadersOverRealHTTP() async throws {
        let simulator = makeSimulator()
        try await app(simulator).test(.live) { client in
            let anonymous = try await client.execute(uri: "/v1/customers", method: .get)
            #expect(anonymous.status == .unauthorized)
            let anonymousBody = try JSON.parse(anonymous.body.readableBytesView)
            #expect(anonymousBody["error"]["type"] == "invalid_request_error")
            let wrong = try await client.execute(
                uri: "/v1/customers", method: .get, headers: [.authorization: "Bearer sk_test_wrong_key_1234"])
            #expect(wrong.status == .unauthorized)
            #expect(try JSON.parse(wrong.body.readableBytesView)["error"]["message"].string?.hasSuffix("1234") == true)

            let headers: HTTPFields = [
                .authorization: "Bearer sk_test_weft", .contentType: "application/x-www-form-urlencoded",
                HTTPField.Name("Idempotency-Key")!: "create-ada",
            ]
            let body = "email=ada%40example.com&metadata[plan]=pro&preferred_locales[]=en"
            let created = try await client.execute(
                uri: "/v1/customers", method: .post, headers: headers, body: ByteBuffer(string: body))
            #expect(created.status == .ok)
            #expect(created.headers[HTTPField.Name("Request-Id")!]?.hasPrefix("req_") == true)
            let customer = try JSON.parse(created.body.readableBytesView)
            #expect(customer["email"] == "ada@example.com")
            #expect(customer["metadata"] == ["plan": "pro"])
            #expect(customer["preferred_locales"] == ["en"])
            #expect(customer["id"].string?.hasPrefix("cus_") == true)

            let replay = try await client.execute(
                uri: "/v1/customers", method: .post, headers: headers, body: ByteBuffer(string: body))
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try JSON.parse(replay.body.readableBytesView)["id"] == customer["id"])

            let listed = try await client.execute(
                uri: "/v1/customers?limit=1&email=ada%40example.com", method: .get,
                headers: [.authorization: "Bearer sk_test_weft"])
            #expect(try JSON.parse(listed.body.readableBytesView)["data"].array?.count == 1)
        }
    }

    @Test func rateLimitFaultUsesStripeBody() async throws {
        let simulator = makeSimulator()
        simulator.faults.set(FaultPlan(rateLimitRate: 1, retryAfterSeconds: 2))
        try await app(simulator).test(.live) { client in
            let response = try await client.execute(
                uri: "/v1/customers", method: .get, headers: [.authorization: "Bearer sk_test_weft"])
            #expect(response.status == .tooManyRequests)
            #expect(response.headers[.retryAfter] == "2")
            let body = try JSON.parse(response.body.readableBytesView)
            #expect(body["error"]["code"] == "rate_limit")
            let health = try await client.execute(uri: "/__sim/health", method: .get)
            #expect(health.status == .ok)
        }
    }
}

@Suite struct WebhookTests {
    private func endpoint(_ simulator: StripeSimulator, url: String, events: [String] = ["*"]) -> (id: String, secret: String) {
        var parameters = [("url", url)]
        for event in events { parameters.append(("enabled_events[]", event)) }
        let endpoint = simulator.post("/v1/webhook_endpoints", parameters)
        return (endpoint["id"].string ?? "", endpoint["secret"].string ?? "")
    }

    @Test func deliversSignedEventsInOrder() async throws {
        let simulator = makeSimulator(webhooks: fastWebhooks)
        let receiver = WebhookReceiver()
        try await withWebhookSender(simulator, receiver: receiver) { url in
            let (_, secret) = endpoint(simulator, url: url)
            #expect(secret.hasPrefix("whsec_"))
            let (customer, price) = simulator.seedCatalog()
            _ = simulator.post("/v1/subscriptions", [("customer", customer), ("items[0][price]", price)])
            await simulator.waitUntilDeliveriesSettled()
            let received = receiver.received
            #expect(received.map { $0.json["type"].string ?? "" } == simulator.eventTypes())
            for delivery in received {
                let (timestamp, v1) = parseSignature(delivery.signature)
                #expect(timestamp == "1750000000")
                #expect(v1 == [hmacHex(secret: secret, timestamp: timestamp, body: delivery.body)])
            }
            let first = try #require(received.first?.json["id"].string)
            #expect(simulator.get("/v1/events/\(first)")["pending_webhooks"] == 0)
        }
    }

    @Test func filtersByEnabledEvents() async throws {
        let simulator = makeSimulator(webhooks: fastWebhooks)
        let receiver = WebhookReceiver()
        try await withWebhookSender(simulator, receiver: receiver) { url in
            _ = endpoint(simulator, url: url, events: ["invoice.paid"])
            let (customer, price) = simulator.seedCatalog()
            _ = simulator.post("/v1/subscriptions", [("customer", customer), ("items[0][price]", price)])
            await simulator.waitUntilDeliveriesSettled()
            #expect(receiver.received.map { $0.json["type"] } == ["invoice.paid"])
        }
    }

    @Test func rotationSignsWithBothSecrets() async throws {
        let simulator = makeSimulator(webhooks: fastWebhooks)
        let receiver = WebhookReceiver()
        try await withWebhookSender(simulator, receiver: receiver) { url in
            let (id, oldSecret) = endpoint(simulator, url: url)
            let newSecret = try simulator.rotateWebhookSecret(endpoint: id, gracePeriodSeconds: 3600)
            _ = simulator.post("/v1/customers", [("name", "Rotated")])
            await simulator.waitUntilDeliveriesSettled()
            let delivery = try #require(receiver.received.first)
            let (timestamp, v1) = parseSignature(delivery.signature)
            #expect(
                v1 == [
                    hmacHex(secret: newSecret, timestamp: timestamp, body: delivery.body),
                    hmacHex(secret: oldSecret, timestamp: timestamp, body: delivery.body),
                ])
            _ = try simulator.rotateWebhookSecret(endpoint: id, gracePeriodSeconds: 0)
            _ = simulator.post("/v1/customers", [("name", "Again")])
            await simulator.waitUntilDeliveriesSettled()
            #expect(parseSignature(receiver.received.last?.signature ?? "").v1.count == 1)
        }
    }

    @Test func retriesAfterReceiverFailures() async throws {
        let simulator = makeSimulator(webhooks: fastWebhooks)
        let receiver = WebhookReceiver { call in call <= 2 ? 500 : 200 }
        try await withWebhookSender(simulator, receiver: receiver) { url in
            _ = endpoint(simulator, url: url)
            _ = simulator.post("/v1/customers", [("name", "Retry")])
            await simulator.waitUntilDeliveriesSettled()
            #expect(receiver.calls == 3)
            #expect(receiver.received.count == 1)
            #expect(simulator.deliveryAttempts.map(\.attempt) == [1, 2, 3])
            #expect(simulator.deliveryAttempts.map(\.status) == [500, 500, 200])
        }
    }

    @Test func givesUpAfterMaxAttempts() async throws {
        let simulator = makeSimulator(webhooks: fastWebhooks)
        let receiver = WebhookReceiver { _ in 503 }
        try await withWebhookSender(simulator, receiver: receiver) { url in
            _ = endpoint(simulator, url: url)
            let event = simulator.post("/v1/customers", [("name", "Never")])
            _ = event
            await simulator.waitUntilDeliveriesSettled()
            #expect(receiver.calls == 3)
            let stored = simulator.get("/v1/events")["data"][0]
            #expect(stored["pending_webhooks"] == 1)
        }
    }

    @Test func duplicateFaultSendsEventsTwice() async throws {
        let simulator = makeSimulator(webhooks: fastWebhooks)
        let receiver = WebhookReceiver()
        try await withWebhookSender(simulator, receiver: receiver) { url in
            _ = endpoint(simulator, url: url)
            simulator.setWebhookFaults(WebhookFaultPlan(duplicateRate: 1))
            _ = simulator.post("/v1/customers", [("name", "Twice")])
            await simulator.waitUntilDeliveriesSettled()
            let ids = receiver.received.compactMap { $0.json["id"].string }
            #expect(ids.count == 2)
            #expect(Set(ids).count == 1)
        }
    }

    @Test func reorderFaultShufflesAWindow() async throws {
        let simulator = makeSimulator(webhooks: fastWebhooks)
        let receiver = WebhookReceiver()
        try await withWebhookSender(simulator, receiver: receiver) { url in
            _ = endpoint(simulator, url: url)
            simulator.setWebhookFaults(WebhookFaultPlan(reorderWindow: 8))
            for index in 0..<8 { _ = simulator.post("/v1/customers", [("name", "n\(index)")]) }
            await simulator.waitUntilDeliveriesSettled()
            let delivered = receiver.received.compactMap { $0.json["id"].string }
            let created = Array(
                simulator.get("/v1/events", [("limit", "8")])["data"].array?.compactMap { $0["id"].string }.reversed() ?? [])
            #expect(delivered.count == 8)
            #expect(Set(delivered) == Set(created))
            #expect(delivered != created)
        }
    }

    @Test func pauseHoldsDeliveriesUntilResume() async throws {
        let simulator = makeSimulator(webhooks: fastWebhooks)
        let receiver = WebhookReceiver()
        try await withWebhookSender(simulator, receiver: receiver) { url in
            _ = endpoint(simulator, url: url)
            simulator.pauseDeliveries()
            _ = simulator.post("/v1/customers", [("name", "Held")])
            #expect(simulator.pendingDeliveries == 1)
            simulator.resumeDeliveries()
            await simulator.waitUntilDeliveriesSettled()
            #expect(receiver.received.count == 1)
        }
    }
}
