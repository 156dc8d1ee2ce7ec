public import Hummingbird

/// Applies a `FaultInjector` to every request and records it in a `RequestLog`.
///
/// Injected failures use the simulated system's own error body, rendered by `errorBody`.
public struct FaultMiddleware<Context: RequestContext>: RouterMiddleware {
    let faults: FaultInjector
    let log: RequestLog
    let errorBody: @Sendable (_ status: Int) -> (contentType: String, body: String)

    /// - Parameters:
    ///   - faults: the injector to consult.
    ///   - log: where requests are recorded.
    ///   - errorBody: renders the simulated system's error body for an injected status.
    public init(
        faults: FaultInjector, log: RequestLog,
        errorBody: @escaping @Sendable (_ status: Int) -> (contentType: String, body: String)
    ) {
        self.faults = faults
        self.log = log
        self.errorBody = errorBody
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        switch faults.decide(path: path) {
        case .proceed(let delay):
            if delay > .zero { try await Task.sleep(for: delay) }
            do {
                let response = try await next(request, context)
                log.record(method: request.method.rawValue, path: path, status: response.status.code)
                return response
            } catch let error as any HTTPResponseError {
                log.record(method: request.method.rawValue, path: path, status: error.status.code)
                throw error
            }
        case .fail(let status, let retryAfter, let delay):
            if delay > .zero { try await Task.sleep(for: delay) }
            log.record(method: request.method.rawValue, path: path, status: status)
            let rendered = errorBody(status)
            var headers: HTTPFields = [.contentType: rendered.contentType]
            if let retryAfter { headers[.retryAfter] = String(retryAfter) }
            return Response(
                status: .init(code: status), headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: rendered.body))
            )
        }
    }
}
