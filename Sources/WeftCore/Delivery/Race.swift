import Synchronization

/// The first of several tasks to finish resumes one continuation; the others are cancelled and left to end on their
/// own. Unlike a task group, which waits for all its children, the winner's answer is not held up by a loser that
/// ignores cancellation (a wait for a pooled connection, a store call blocked in its driver).
public final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var result: Result<T, any Error>?
        var tasks: [Task<Void, Never>] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// The continuation the first result resumes (at once if one came already).
    public func start(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            if let result = state.result { return result }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    /// A contestant, cancelled when another finishes (at once if one has).
    public func add(_ task: Task<Void, Never>) {
        let done = state.withLock { state -> Bool in
            state.tasks.append(task)
            return state.result != nil
        }
        if done { task.cancel() }
    }

    /// Runs `body` and finishes with its result or error.
    public func finish(catching body: () async throws -> T) async {
        do {
            finish(.success(try await body()))
        } catch {
            finish(.failure(error))
        }
    }

    /// The first call wins; later ones are ignored.
    public func finish(_ result: Result<T, any Error>) {
        let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
            guard state.result == nil else { return (nil, []) }
            state.result = result
            defer { state.continuation = nil }
            return (state.continuation, state.tasks)
        }
        for task in tasks { task.cancel() }
        continuation?.resume(with: result)
    }
}
