import Foundation
import HTTPTypes
public import Hummingbird
import NIOCore
import WeftSimKit

extension ChargebeeSimulator {
    /// Mounts the API under `/api/v2` (behind the API fault middleware) and the admin routes under `/__sim`:
    /// - `POST /__sim/subscriptions/{id}/renew`: the term ends (renewal, trial end, start, scheduled cancel);
    /// - `POST /__sim/invoices/{id}/dunning_retry`, `POST /__sim/invoices/{id}/exhaust_dunning`: dunning steps;
    /// - `POST /__sim/customers/{id}/payment_outcome` (`outcome=succeed|decline`): the customer's card;
    /// - `GET|POST|DELETE /__sim/webhooks/faults`, `POST /__sim/webhooks/pause|resume`,
    ///   `GET /__sim/webhooks/deliveries`, `GET /__sim/webhooks/settled`;
    /// - the shared `/__sim/faults`, `/__sim/requests`, `/__sim/health` (WeftSimKit).
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        addSimulatorAdminRoutes(to: router, faults: faults, log: requestLog)
        let api = router.group("api/v2").add(
            middleware: FaultMiddleware(faults: faults, log: requestLog) { status in
                let error = status == 429 ? ChargebeeError.rateLimited : ChargebeeError.internalError(status: status)
                return ("application/json;charset=utf-8", String(decoding: error.body.bytes, as: UTF8.self))
            })
        for method in [HTTPRequest.Method.get, .post] {
            api.on("**", method: method) { request, _ in try await self.serve(request) }
        }
        for path in [
            "/__sim/subscriptions/:id/renew", "/__sim/invoices/:id/dunning_retry", "/__sim/invoices/:id/exhaust_dunning",
            "/__sim/customers/:id/payment_outcome",
        ] {
            router.post(RouterPath(path)) { request, _ in try await self.serve(request) }
        }
        addWebhookAdminRoutes(to: router)
    }

    private func serve(_ request: Request) async throws -> Response {
        let method = request.method.rawValue
        var params = FormBody(encoded: request.uri.query ?? "")
        if request.method == .post {
            let body = try await request.body.collect(upTo: 4 << 20)
            let form = FormBody(encoded: String(buffer: body))
            if !form.pairs.isEmpty { params = form }
        }
        let idempotencyName = HTTPField.Name("chargebee-idempotency-key")!
        let (reply, replayed) = handle(
            method: method, path: request.uri.path, params: params, authorization: request.headers[.authorization],
            idempotencyKey: request.headers[idempotencyName])
        var headers: HTTPFields = [.contentType: "application/json;charset=utf-8"]
        if replayed { headers[HTTPField.Name("chargebee-idempotency-replayed")!] = "true" }
        for (name, value) in reply.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(
            status: .init(code: reply.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: reply.body.bytes)))
    }

    private func addWebhookAdminRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/__sim/webhooks/faults") { _, _ in Self.json(try JSONEncoder().encode(self.webhookFaults)) }
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
        router.get("/__sim/webhooks/deliveries") { _, _ in Self.json(try JSONEncoder().encode(self.deliveryAttempts)) }
        router.get("/__sim/webhooks/settled") { _, _ in
            await self.waitUntilDeliveriesSettled()
            return Self.json(Array(#"{"pending":0}"#.utf8))
        }
    }

    private static func json(_ bytes: some Sequence<UInt8>) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: Array(bytes))))
    }
}
