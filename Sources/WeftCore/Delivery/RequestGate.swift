/// Admission for outbound requests to one target: every HTTP request awaits `acquire()` first, so a configured rate
/// holds at the wire however many workers share the target.
public protocol RequestGate: Sendable {
    /// Waits until one more request may be sent. Throws `CancellationError` when the task is cancelled.
    func acquire() async throws
    /// The target answered 429 (or equivalent): hold all requests for `retryAfter`, or a default pause when `nil`.
    func didReceiveRateLimit(retryAfter: Duration?)
}

/// A gate that admits everything (tests, simulators).
public struct OpenGate: RequestGate {
    public init() {}
    public func acquire() async throws { try Task.checkCancellation() }
    public func didReceiveRateLimit(retryAfter: Duration?) {}
}
