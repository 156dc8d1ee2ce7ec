import Foundation
public import Hummingbird

/// Adds the simulator admin routes every simulator shares:
/// - `POST /__sim/faults` (JSON `FaultPlan`) sets faults; `DELETE /__sim/faults` clears them; `GET` shows them.
/// - `GET /__sim/requests` lists recorded requests; `DELETE /__sim/requests` forgets them.
/// - `GET /__sim/health` answers `ok` (never faulted), for scripts waiting on a started simulator.
public func addSimulatorAdminRoutes<Context: RequestContext>(
    to router: Router<Context>, faults: FaultInjector, log: RequestLog
) {
    router.get("/__sim/health") { _, _ in "ok" }
    router.get("/__sim/faults") { _, _ in try jsonResponse(faults.plan) }
    router.post("/__sim/faults") { request, context in
        let body = try await request.body.collect(upTo: 64 * 1024)
        do {
            let plan = try JSONDecoder().decode(FaultPlan.self, from: Data(body.readableBytesView))
            faults.set(plan)
            return try jsonResponse(plan)
        } catch {
            throw HTTPError(.badRequest, message: "body must be a JSON fault plan: \(error)")
        }
    }
    router.delete("/__sim/faults") { _, _ in
        faults.clear()
        return Response(status: .noContent)
    }
    router.get("/__sim/requests") { _, _ in try jsonResponse(log.all) }
    router.delete("/__sim/requests") { _, _ in
        log.reset()
        return Response(status: .noContent)
    }
}

func jsonResponse(_ value: some Encodable) throws -> Response {
    let data = try JSONEncoder().encode(value)
    return Response(
        status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data))
    )
}
