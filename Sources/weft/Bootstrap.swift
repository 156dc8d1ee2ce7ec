public import ArgumentParser
public import Logging
import Metrics
import Prometheus
import WeftRuntime

/// Process-wide logging and metrics set-up (the executable's job only; libraries just take a `Logger`).
enum ProcessBootstrap {
    /// Sets up JSON-lines logging to stderr at `level` and a Prometheus metrics registry; returns the registry.
    static func start(logLevel: Logger.Level) -> PrometheusCollectorRegistry {
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: logLevel) }
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
