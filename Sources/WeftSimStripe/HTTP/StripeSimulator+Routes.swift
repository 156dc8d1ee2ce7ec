import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
import WeftSimKit

extension StripeSimulator {
    /// Mounts the Stripe API under `/v1` (behind the API fault middleware) and the admin routes under `/__sim`.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        addSimulatorAdminRoutes(to: router, faults: faults, log: requestLog)
        let api = router.group("v1").add(
            middleware: FaultMiddleware(faults: faults, log: requestLog) { status in
                let error = status == 429 ? StripeError.rateLimited : StripeError.apiError(status: status)
                return ("application/json", String(decoding: error.body(requestID: "req_simulated").prettyBytes, as: UTF8.self))
            })
        for method in [HTTPRequest.Method.get, .post, .delete] {
            api.on("**", method: method) { request, _ in try await self.serve(request) }
        }
        addWebhookAdminRoutes(to: router)
    }

    private func serve(_ request: Request) async throws -> Response {
        let method = request.method.rawValue
        var params: FormParams
        if request.method == .post {
            let body = try await request.body.collect(upTo: 4 << 20)
            params = FormParams(encoded: String(buffer: body))
            if params.pairs.isEmpty, let query = request.uri.query { params = FormParams(encoded: query) }
        } else {
            params = FormParams(encoded: request.uri.query ?? "")
        }
        let (reply, replayed) = handle(
            method: method, path: request.uri.path, params: params,
            authorization: request.headers[.authorization],
            idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!])
        var headers: HTTPFields = [
            .contentType: "application/json",
            HTTPField.Name("Request-Id")!: reply.requestID,
            HTTPField.Name("Stripe-Version")!: configuration.apiVersion,
        ]
        if let key = request.headers[HTTPField.Name("Idempotency-Key")!], method == "POST" {
            headers[HTTPField.Name("Idempotency-Key")!] = key
        }
        if replayed {
            headers[HTTPField.Name("Idempotent-Replayed")!] = "true"
            headers[HTTPField.Name("Original-Request")!] = reply.requestID
        }
        for (name, value) in reply.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(
            status: .init(code: reply.status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: reply.body.prettyBytes)))
    }

    private func addWebhookAdminRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/__sim/webhooks/faults") { _, _ in
            Self.json(try JSONEncoder().encode(self.webhookFaults))
        }
        router.post("/__sim/webhooks/faults") { request, _ in
            let body = try await request.body.collect(upTo: 64 * 1024)
            guard let plan = try? JSONDecoder().decode(WebhookFaultPlan.self, from: Data(body.readableBytesView)) else {
                throw HTTPError(.badRequest, message: "body must be a JSON webhook fault plan")
            }
            self.setWebhookFaults(plan)
            return Self.json(try JSONEncoder().encode(plan))
        }
        router.delete("/__sim/webhooks/faults") { _, _ in
            self.setWebhookFaults(WebhookFaultPlan())
            return Response(status: .noContent)
        }
        router.post("/__sim/webhooks/pause") { _, _ in
            self.pauseDeliveries()
            return Response(status: .noContent)
        }
        router.post("/__sim/webhooks/resume") { _, _ in
            self.resumeDeliveries()
            return Response(status: .noContent)
        }
        router.get("/__sim/webhooks/deliveries") { _, _ in
            Self.json(try JSONEncoder().encode(self.deliveryAttempts))
        }
        router.get("/__sim/webhooks/settled") { _, _ in
            await self.waitUntilDeliveriesSettled()
            return Self.json(Array(#"{"pending":0}"#.utf8))
        }
        router.post("/__sim/webhook_endpoints/:id/rotate_secret") { request, context in
            let id = context.parameters.get("id") ?? ""
            let query = FormParams(encoded: request.uri.query ?? "")
            let grace = try query.root.int("grace_period_seconds")
            do {
                let secret = try self.rotateWebhookSecret(endpoint: id, gracePeriodSeconds: grace)
                let body: JSON = ["id": .string(id), "secret": .string(secret)]
                return Self.json(body.prettyBytes)
            } catch {
                throw HTTPError(.notFound, message: "No such webhook endpoint: '\(id)'")
            }
        }
        router.post("/__sim/customers/:id/payment_method") { request, context in
            let id = context.parameters.get("id") ?? ""
            let body = try await request.body.collect(upTo: 64 * 1024)
            let params = FormParams(encoded: String(buffer: body))
            let method = try params.root.string("payment_method")
            self.forcePaymentMethod(method.flatMap { $0.isEmpty ? nil : $0 }, forCustomer: id)
            return Response(status: .noContent)
        }
        router.post("/__sim/subscriptions/:id/renew") { _, context in
            let result = self.renewSubscription(context.parameters.get("id") ?? "")
            return Response(
                status: .init(code: result.status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: result.body)))
        }
    }

    private static func json(_ bytes: some Sequence<UInt8>) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(bytes))))
    }
}
