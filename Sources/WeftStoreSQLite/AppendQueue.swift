import Synchronization

/// Group commit for inbox appends: callers queue their events; whichever caller finds no commit running becomes the
/// leader, commits everything queued in one transaction, then hands leadership to the next waiting caller (so no
/// caller's answer waits behind more than one batch of others). No timer, no spawned task.
final class AppendQueue<Item: Sendable, Output: Sendable>: Sendable {
    enum Signal: Sendable {
        case done(Result<Output, any Error>)
        case lead
    }

    /// A caller's slot: receives either its result or the lead.
    final class Ticket: Sendable {
        private struct State {
            var signal: Signal?
            var continuation: CheckedContinuation<Signal, Never>?
        }
        private let state = Mutex(State())

        func send(_ signal: Signal) {
            let continuation = state.withLock { state -> CheckedContinuation<Signal, Never>? in
                if let continuation = state.continuation {
                    state.continuation = nil
                    return continuation
                }
                state.signal = signal
                return nil
            }
            continuation?.resume(returning: signal)
        }

        func next() async -> Signal {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Signal? in
                    if let signal = state.signal {
                        state.signal = nil
                        return signal
                    }
                    state.continuation = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }

    private struct State {
        var pending: [(item: Item, ticket: Ticket)] = []
        var committing = false
        var batches = 0
    }

    private let state = Mutex(State())

    /// How many batches were committed (for tests of grouping).
    var batchCount: Int { state.withLock { $0.batches } }

    /// Submits `item`; `commit` writes a whole batch and returns one output per item, in order.
    func submit(_ item: Item, commit: @Sendable ([Item]) async throws -> [Output]) async throws -> Output {
        let ticket = Ticket()
        var leading = state.withLock { state -> Bool in
            state.pending.append((item, ticket))
            if state.committing { return false }
            state.committing = true
            return true
        }
        while true {
            if leading {
                let batch = state.withLock { state -> [(item: Item, ticket: Ticket)] in
                    defer { state.pending.removeAll(keepingCapacity: true) }
                    state.batches += 1
                    return state.pending
                }
                do {
                    let outputs = try await commit(batch.map(\.item))
                    for (entry, output) in zip(batch, outputs) { entry.ticket.send(.done(.success(output))) }
                } catch {
                    for entry in batch { entry.ticket.send(.done(.failure(error))) }
                }
                let next = state.withLock { state -> Ticket? in
                    guard let first = state.pending.first else {
                        state.committing = false
                        return nil
                    }
                    return first.ticket
                }
                next?.send(.lead)
                leading = false
            }
            switch await ticket.next() {
            case .done(let result): return try result.get()
            case .lead: leading = true
            }
        }
    }
}
