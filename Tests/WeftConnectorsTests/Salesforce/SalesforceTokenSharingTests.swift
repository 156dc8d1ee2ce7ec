import AsyncHTTPClient
import Synchronization
import Testing
import WeftCore
import WeftSimSalesforce

@testable import WeftConnectors

/// Callers share one token request; one of them giving up does not fail the others.
@Suite struct SalesforceTokenSharingTests {
    /// A gate that holds every request until `open()`; a cancelled request leaves it with `CancellationError`.
    final class HoldGate: RequestGate {
        private let state = Mutex<(open: Bool, held: [UInt64: CheckedContinuation<Void, any Error>], next: UInt64)>(
            (false, [:], 0))

        /// Requests waiting at the gate.
        var held: Int { state.withLock { $0.held.count } }

        func open() {
            let waiting = state.withLock { state in
                state.open = true
                defer { state.held = [:] }
                return Array(state.held.values)
            }
            for continuation in waiting { continuation.resume() }
        }

        func acquire() async throws {
            let id = state.withLock { state in
                defer { state.next += 1 }
                return state.next
            }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let admit = state.withLock { state -> Bool in
                        if state.open || Task.isCancelled { return true }
                        state.held[id] = continuation
                        return false
                    }
                    if admit { continuation.resume() }
                }
                try Task.checkCancellation()
            } onCancel: {
                let continuation = state.withLock { $0.held.removeValue(forKey: id) }
                continuation?.resume(throwing: CancellationError())
            }
        }

        func didReceiveRateLimit(retryAfter: Duration?) {}
    }

    static func until(_ condition: () async -> Bool) async {
        while !(await condition()) { await Task.yield() }
    }

    /// An authenticator for a fresh simulated org whose requests pass `HoldGate`.
    static func withAuthenticator(_ body: @escaping @Sendable (HoldGate, SalesforceAuthenticator) async throws -> Void) async throws {
        try await withSalesforce(makeSalesforceSimulator()) { base in
            let gate = HoldGate()
            try await body(
                gate,
                SalesforceAuthenticator(configuration: salesforceConfiguration(base), http: OutboundHTTPClient(client: .shared, gate: gate))
            )
        }
    }

    static func isCancelled(_ result: Result<SalesforceAccessToken, any Error>) -> Bool {
        guard case .failure(let error) = result, let api = error as? SalesforceAPIError else { return false }
        return api.kind == .cancelled
    }

    /// The first caller is cancelled while the token request it started is in flight: it stops waiting with a
    /// cancellation, and the second caller, waiting for the same request, still gets the token from it.
    @Test func aCancelledCallerLeavesTheSharedTokenRequestToTheOthers() async throws {
        try await Self.withAuthenticator { gate, authenticator in
            let first = Task { try await authenticator.token(logger: salesforceLogger) }
            await Self.until { gate.held == 1 }
            let second = Task { try await authenticator.token(logger: salesforceLogger) }
            await Self.until { await authenticator.waiting == 2 }

            first.cancel()
            #expect(Self.isCancelled(await first.result))
            #expect(await authenticator.waiting == 1)
            gate.open()
            let token = try await second.value
            #expect(!token.accessToken.isEmpty)
            #expect(await authenticator.tokenRequests == 1)
        }
    }

    /// Every caller gave up: the request is cancelled, and the next caller starts a new one rather than joining it.
    @Test func whenEveryCallerGivesUpTheRequestIsCancelledAndTheNextStartsAnew() async throws {
        try await Self.withAuthenticator { gate, authenticator in
            let only = Task { try await authenticator.token(logger: salesforceLogger) }
            await Self.until { gate.held == 1 }
            only.cancel()
            #expect(Self.isCancelled(await only.result))
            await Self.until { gate.held == 0 }

            gate.open()
            let token = try await authenticator.token(logger: salesforceLogger)
            #expect(!token.accessToken.isEmpty)
            #expect(await authenticator.tokenRequests == 2)
        }
    }
}
