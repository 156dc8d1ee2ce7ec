public import Hummingbird
public import Logging
import NIOCore
import ServiceLifecycle

/// Serves a router on a host and port (port 0 = any free port) for the duration of a scope.
public enum SimulatorServer {
    /// Starts a server for `router`, runs `body` with the bound port, then stops the server.
    /// - Parameters:
    ///   - router: what to serve.
    ///   - host: the address to bind (loopback by default).
    ///   - port: the port; 0 picks a free one.
    ///   - logger: the server's logger.
    ///   - body: runs while the server is up; receives the bound port.
    public static func withRunning<Context: RequestContext, T: Sendable>(
        router: Router<Context>, host: String = "127.0.0.1", port: Int = 0, logger: Logger,
        _ body: @Sendable @escaping (Int) async throws -> T
    ) async throws -> T where Context.Source == ApplicationRequestContextSource {
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [.init(service: app)], gracefulShutdownSignals: [], logger: logger))
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let boundPort = await iterator.next() else {
                await group.triggerGracefulShutdown()
                throw CancellationError()
            }
            do {
                let result = try await body(boundPort)
                // Graceful: requests in flight are answered before the server closes.
                await group.triggerGracefulShutdown()
                while try await tasks.next() != nil {}
                return result
            } catch {
                await group.triggerGracefulShutdown()
                while (try? await tasks.next()) != nil {}
                throw error
            }
        }
    }
}
